"""What each item of a result is, by the task's words: the email addresses, domains, links or
names it asks for, in the case it asks for.

"Pull every email address out of notes into a list named emails" ran and left ``['ann.lee@example
.com', 'to', 'CARL_99@mail.net,']``; "the distinct domains in emails (the part after the @)" left
``'company.co.uk today.'``; "the names in scores, from the highest score to the lowest, in ranking"
left ``('ann', 13)`` pairs; "every word capitalized like 'Alice Smith'" left ``'alice SMITH'``.
Each ran and ended "ok". Three rules of :mod:`.sanity`: ``items`` (:func:`items`), ``order``
(:func:`order`: sorted, distinct) and ``case`` (:func:`case`).
"""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional

from ..execution.result import Execution
from ..values import summarize
from .checks import targets
from .kinds import kinds
from .stated import is_pandas, texts

# What an item is, where the task names it: the kind, the words that name it, what one looks like,
# and how to get it whole. A word that is a variable the code did not make is an input, not a kind
# ("the domains in emails": `emails` is the list they come from).
_EMAIL = re.compile(r"[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s'\"<>]*[^\s'\"<>.,;:!?)\]]")
KINDS = (
    ("email addresses", re.compile(r"\be-?mails?(?:\s+address(?:es)?)?\b", re.I), _EMAIL,
     "An email address is name@domain with nothing around it: match it whole, e.g. "
     "`re.findall(r'[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+', text)`."),
    ("domains", re.compile(r"\bdomains?\b", re.I), _DOMAIN,
     "A domain is what follows the @ of an address, and nothing after it: `address.split('@')[1]` "
     "on an address found whole."),
    ("links", re.compile(r"\b(?:urls?|links?|web\s+address(?:es)?)\b", re.I), _URL,
     "A link starts with http://, https:// or www. and ends before a space or the punctuation after it."),
)
# Names, words, tags: one string each. Not where the task asks for them with something else ("the
# names and scores as pairs") or in groups ("a list of lists", "the groups of words").
_NAMES = re.compile(r"\b(names|words|tags|titles)\b(?!\s+(?:and|with|together|along|plus|next)\b)", re.I)
_PAIRS = re.compile(r"\b(?:pairs?|tuples?|records?|groups?|counts?)\b|\blists?\s+of\s+(?:lists|tuples|dicts)\b"
                    r"|\b(?:names|words|tags|titles)\s+(?:and|with)\b", re.I)


# a mapping whose values the task says are names: "a class -> student name mapping", "map each id
# to its name" (the 1.5B kept `idxmax()`'s row labels, {'7a': 1, ...}, and ended "ok")
_TO_NAME = re.compile(r"(?:->|→|\bto\s+(?:its|their|the|his|her|a)\b)\s*(?:[\w']+\s+){0,2}?(names?|words?|titles?|tags?)\b"
                      r"(?!\s+(?:lengths?|counts?|sizes?|columns?|ids?|numbers?|index|indices|positions?)\b)", re.I)


def _values(value: Any) -> Optional[List[Any]]:
    """The values of a dict or Series (the first 200); None for anything else."""
    if isinstance(value, Mapping):
        return list(value.values())[:200]
    return _items(value) if is_pandas(value, "Series") else None


def _items(value: Any) -> Optional[List[Any]]:
    """The items of a list, tuple, set or Series (the first 200); None for anything else."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)[:200]
    if is_pandas(value, "Series"):
        return value.dropna().head(200).tolist()
    return None


def _made(task: str, code: str, execution: Execution) -> List[str]:
    """The results: names the task names that the code created, and names it asks for that the
    code changed."""
    named = set(re.findall(r"[A-Za-z_]\w*", task))
    return [n for n in execution.created if n in named] + [n for n in execution.changed if n in targets(task, code=code)]


def items(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A result whose items are not what the task says they are: text that is not an email
    address where it asks for email addresses (a word, an address with the comma after it), a
    domain with text after it, names or words kept as (name, score) pairs."""
    made = _made(task, code, execution)
    inputs = {n for n in namespace if n not in execution.created}
    said = {kind for kind, named, _, _ in KINDS for m in named.finditer(task) if m.group(0) not in inputs}
    for name in made:
        found = _items(namespace.get(name))
        if not found:
            continue
        if len(said) == 1:
            kind, _, shape, how = next(k for k in KINDS if k[0] in said)
            wrong = [v for v in found if not (isinstance(v, str) and shape.fullmatch(v))]
            if wrong:
                shown = list(dict.fromkeys(repr(v) for v in wrong))[:3]
                return f"`{name}` should hold {kind}, but {len(wrong)} of its {len(found)} items are not: {', '.join(shown)}. {how}"
        plural = _NAMES.search(task)
        if not said and plural and not _PAIRS.search(task):
            wrong = [v for v in found if not isinstance(v, str)]
            if wrong:
                what = plural.group(1).lower()
                shown = ", ".join(repr(v) if isinstance(v, (tuple, list, int, float)) else summarize(v) for v in wrong[:3])
                return (f"the task asks for {what} in `{name}`, but {len(wrong)} of its {len(found)} items are not text: "
                        f"{shown}. Keep only the {what}, one string each (e.g. `[name for name, count in pairs]`).")
    return _mapped(task, code, made, namespace)


def _mapped(task: str, code: str, made: List[str], namespace: Mapping[str, Any]) -> Optional[str]:
    """A mapping the task says goes to names (words, titles) whose values are not text."""
    to = _TO_NAME.search(task)
    if to is None or _PAIRS.search(task):
        return None
    for name in made:
        found = _values(namespace.get(name))
        wrong = [v for v in found or [] if not isinstance(v, str)]
        if found and len(wrong) == len(found):
            what = to.group(1).lower().rstrip("s") + "s"
            label = (" `idxmax()` gives the row label of the highest, not its name: read the name from that row "
                     "(`df.loc[df.groupby(key)[col].idxmax()]`).") if "idxmax" in code else ""
            return (f"the task asks for {what} as the values of `{name}`, but they are not text: "
                    f"{', '.join(repr(v) for v in wrong[:3])}.{label}")
    return None


# "sorted alphabetically", "the sorted list of the distinct domains": a list in order, each item once.
# Not "sorted by their first word" (a key), "highest first" (the other way), "break ties alphabetically".
_SORTED = re.compile(r"\bsorted\b(?!\s+(?:by|on|according|from|in\s+(?:reverse|descending)))|\balphabetical(?:ly)?\b"
                     r"|\bin\s+ascending\s+order\b", re.I)
_OTHER_ORDER = re.compile(r"\b(?:descending|reverse\w*|highest|largest|biggest|most|ties|tied|chronological\w*)\b", re.I)
_DISTINCT = re.compile(r"\b(?:distinct|unique)\b|\b(?:without|no)\s+(?:duplicates|repeats)\b|\beach\s+(?:one\s+)?once\b", re.I)


def order(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A list the task asks for sorted that is not (alphabetically: by its text, or by its text in
    lower case), or asks for distinct items that holds one twice."""
    ordered = bool(_SORTED.search(task)) and not _OTHER_ORDER.search(task)
    distinct = bool(_DISTINCT.search(task))
    if not (ordered or distinct):
        return None
    for name in _made(task, code, execution):
        found = _items(namespace.get(name))
        if not found or isinstance(namespace.get(name), (set, frozenset)) or \
                not (all(isinstance(v, str) for v in found) or all(isinstance(v, (int, float)) for v in found)):
            continue
        seen = [v for i, v in enumerate(found) if v in found[:i]]
        if distinct and seen:
            return (f"the task asks for distinct items in `{name}`, but {seen[0]!r} is there more than once "
                    f"({len(found)} items, {len(set(found))} distinct). Keep each once (`sorted(set(...))`).")
        plain = found == sorted(found)
        if ordered and not (plain or isinstance(found[0], str) and found == sorted(found, key=str.lower)):
            at = next(i for i in range(1, len(found)) if found[i] < found[i - 1])
            return (f"the task asks for `{name}` sorted, but it is not: {found[at - 1]!r} comes before {found[at]!r}. "
                    f"Sort it (`sorted(...)`, `.sort_values()`).")
    return None


# The case the task asks text to be in: "every word capitalized like 'Alice Smith'", "in title case",
# "in lower case", "upper-cased". Not a case the task says the text came in: "typed differently
# (upper case, extra spaces)".
_TITLE = re.compile(r"\b(?:capitali[sz]ed?|capitali[sz]e|title[- ]?case[ds]?|proper\s+case)\b", re.I)
_EVERY = re.compile(r"\b(?:every|each|all)\s+words?\b|\btitle[- ]?case|\bproper\s+case", re.I)
_LOWER_UPPER = re.compile(r"\b(?:in|to|into|as|all)\s+(lower|upper)[- ]?case\b|\b(lower|upper)[- ]?cased\b"
                          r"|\b(lower|upper)case\s+(?:the|it|them|each|every|all)\b", re.I)
_QUOTED = re.compile(r"['\"]([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)['\"]")


def _cased(word: str, how: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return True
    if how == "lower":
        return word == word.lower()
    if how == "upper":
        return word == word.upper()
    # capitalized: its first letter upper, and not shouted (a two-letter 'NY' may stay)
    return letters[0].isupper() and (len(letters) <= 2 or not all(c.isupper() for c in letters))


def case(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """Text the code made that is not in the case the task asks for: `'alice SMITH'` where every
    word should be capitalized like 'Alice Smith', `'Mail.net'` where the domains should be in
    lower case."""
    lower_upper = _LOWER_UPPER.search(task)
    if lower_upper:
        how = next(g for g in lower_upper.groups() if g).lower()
    elif _TITLE.search(task):
        how = "every" if _EVERY.search(task) or _QUOTED.search(task) else "first"
    else:
        return None
    said = {"lower": "in lower case", "upper": "in upper case", "every": "with every word capitalized",
            "first": "capitalized"}[how]
    fix = {"lower": "`.str.lower()` on a column, `.lower()` on a string",
           "upper": "`.str.upper()` on a column, `.upper()` on a string",
           "every": "`.str.title()` on a column, `.title()` on a string",
           "first": "`.str.capitalize()` on a column, `.capitalize()` on a string"}[how]
    for _, where, values in texts(task, code, execution, namespace, asked=kinds(task, code)):
        wrong = [t for t in values if t.strip() and not all(_cased(w, "first" if how == "every" else how)
                                                              for w in (t.split() if how in ("every", "lower", "upper") else t.split()[:1]))]
        if wrong:
            return (f"{where} is not {said} in {len(wrong)} of {len(values)} values "
                    f"({', '.join(repr(t) for t in wrong[:3])}), but the task asks for it. Change the case ({fix}).")
    return None
