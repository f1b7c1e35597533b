"""What a task says a result is -- a list, a Series, a dict, a string, a number, the Axes -- and
the :mod:`.sanity` rule ``kind``: a result left as something else ("a list called top3" left a
DataFrame, ``ax`` the PathCollection ``plt.scatter`` returned). :func:`kinds` also tells the checks
and the other rules which names a task asks to make.
"""
from __future__ import annotations

import builtins
import keyword
import numbers
import re
from collections.abc import Mapping as _Mapping
from typing import Any, Dict, Mapping, Optional

from ..execution.plots import is_axes
from ..execution.result import Execution
from ..values import summarize
from .checks import NAME, parameters
from .stated import is_pandas as _pandas

# Words around a name that are not one: "add a column with_tax" is a name, "the number of days" not.
NOT_NAMES = {"a", "an", "the", "with", "of", "for", "that", "which", "to", "from", "in", "per", "where", "and", "or", "each",
             "every", "new", "named", "called", "holding", "containing", "showing", "giving", "saying", "telling", "marking",
             "counting", "equal", "is", "it", "its", "their", "this", "so", "as", "by", "on", "at", "whose", "when"}


# What a task calls a result, in the forms tasks write it: "a list called top3", "a DataFrame by_team",
# "a list of floats stored in numbers", "monthly, a Series", "spend, a dict", "ranking (a list)",
# "(a string like 'A') in leader", "per_month as a dict", "domains: the sorted list", "store the
# Axes as ax", "a class -> student name mapping in best". Never "the number of rows in df" (no
# "the" before a kind but the Axes; "of ..." only after a list or a dict).
_KINDS = {"list": "list", "series": "Series", "dataframe": "DataFrame", "table": "DataFrame",
          "dict": "dict", "dictionary": "dict", "mapping": "dict", "string": "string", "str": "string",
          "axes": "Axes", "set": "set", "number": "number", "float": "number", "integer": "number", "int": "number"}
_KIND = "(" + "|".join(sorted(set(_KINDS) - {"axes"}, key=len, reverse=True)) + ")"  # "string" before "str"; the Axes only after "the"
_LINK = r"(?:(?:called|named|stored\s+in|kept\s+in|in|as|into)\s+)?(?:a\s+variable\s+)?"
_KIND_NAMED = (
    re.compile(r"\ban?\s+(?:[\w'-]+\s+){0,2}?" + _KIND + r"(\s+of\s+\w+)?\s+" + _LINK + NAME, re.I),
    re.compile(r"\bthe\s+(axes)()\s+" + _LINK + NAME, re.I),
    re.compile(r"\b(mapping)()\s+(?:in|as|into)\s+" + NAME, re.I),
    re.compile(r"\(an?\s+" + _KIND + r"\b()[^)]*\)\s+(?:in|as|into)\s+" + NAME, re.I),
)
_NAMED_KIND = re.compile(NAME + r"(?:,\s+an?|\s+\(an?|\s+as\s+an?|:\s+(?:the|an?))\s+(?:[\w'-]+\s+){0,2}?"
                         + _KIND + r"\b(\s+of\b)?(?!\s+(?:called|named)\b)", re.I)  # "in scores as a list called top3"


def kinds(task: str, code: str = "") -> Dict[str, str]:
    """``{name: kind}`` for the results the task says what they are ("a list called top3"); never
    a keyword or a parameter of a function the task or ``code`` defines ("returns a list of size n")."""
    found = [(m.group(3), m.group(1), m.group(2)) for pattern in _KIND_NAMED for m in pattern.finditer(task)]
    found += [(m.group(1), m.group(2), m.group(3)) for m in _NAMED_KIND.finditer(task)]
    skip = parameters(task) | (parameters(code) if code else set())
    pairs: Dict[str, str] = {}
    for name, kind, of in found:
        kind = _KINDS[kind.lower()]
        if (of and kind not in ("list", "dict", "set")) or keyword.iskeyword(name) or hasattr(builtins, name) \
                or name in skip or name.lower() in NOT_NAMES:  # "the number of days": no number named there
            continue
        pairs.setdefault(name, kind)
    return pairs


def _is(value: Any, kind: str) -> bool:
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind in ("Series", "DataFrame"):
        return _pandas(value, kind)
    if kind == "dict":  # a Series keyed the same way reads the same: best['7a'], .items()
        return isinstance(value, _Mapping) or _pandas(value, "Series")
    if kind == "string":
        return isinstance(value, str)
    if kind == "set":
        return isinstance(value, (set, frozenset))
    if kind == "number":
        return isinstance(value, numbers.Number) and not isinstance(value, bool)
    return is_axes(value)


_SAID = {"Axes": "the matplotlib Axes"}
_HOW = {"list": "Convert it with `list(...)` or `.tolist()`.", "Axes": "Keep the Axes the plot was drawn on "
        "(`fig, ax = plt.subplots()`, or `ax = plt.gca()`), not what the plotting call returned.",
        "Series": "Select the one column, or use `.squeeze()`.",
        "dict": "Build a dict from the keys to the values (`dict(zip(keys, values))`, `series.to_dict()`)."}


def wrong_kind(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A result the task says is a list (a Series, a dict, the Axes ...) that the code left as
    something else: ``top3`` a DataFrame, ``ax`` the PathCollection ``plt.scatter`` returned."""
    made = set(execution.created + execution.changed)
    for name, kind in kinds(task, code).items():
        if name not in made or name not in namespace or _is(namespace[name], kind):
            continue
        said = _SAID.get(kind, "a " + kind)
        return (f"the task asks for `{name}` as {said}, but it is not: `{name}` is {summarize(namespace[name])}. "
                + _HOW.get(kind, f"Store it as {said}."))
    return None
