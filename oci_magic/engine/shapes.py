"""Results of the wrong shape, computed without knowing the answer: a file's header line read as
its first row of data, many values where the task asks for one total, more rows than keys where it
asks for one row per key (or no column per key), every row kept where the task says some repeat.

Four rules of :mod:`.sanity` (``header``, ``one``, ``per``, ``dupes``), kept here because each
compares a result's rows or size with what the task or the data says it should be.
"""
from __future__ import annotations

import numbers
import re
from typing import Any, List, Mapping, Optional

from ..execution.result import Execution
from ..values import summarize
from .checks import WORDS, targets
from .stated import is_pandas

_NUMBER = re.compile(r"^\s*[-+]?[$€£]?\s*\d[\d,.' ]*%?\s*$")


def _text(value: Any) -> str:
    return str(value).strip().lower()


def header_row(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A table whose first row is its header: ``read_csv(path, names=[...])`` or ``header=None`` on
    a file that has a header line. Its columns then hold text (the names) above the numbers."""
    for name in execution.created + execution.changed:
        value = namespace.get(name)
        if not is_pandas(value, "DataFrame") or len(value) < 2 or value.shape[1] < 2:
            continue
        first = [_text(v) for v in value.iloc[0].tolist()]
        labels = [_text(c) for c in value.columns]
        numbered = all(isinstance(c, numbers.Integral) for c in value.columns)
        below = [str(v) for v in value.iloc[1:6].to_numpy().ravel().tolist()]
        wordy = all(re.fullmatch(r"[a-z_][\w .-]*", f) for f in first)
        if first == labels or (numbered and wordy and any(_NUMBER.match(v) for v in below)):
            shown = ", ".join(repr(str(v)) for v in value.iloc[0].tolist()[:6])
            how = "read it with header=0 and without names=" if first == labels else "read it with header=0"
            return (f"the first row of `{name}` holds {shown}: the file's header line was read as data, so every "
                    f"column holds text. {how[0].upper() + how[1:]} (rename the columns after, if needed).")
    return None


# "the total value of df", "the sum of qty times price": one number. Not "the total per region",
# "each column's sum", "totals by month", a running total.
_ONE_TOTAL = re.compile(r"\bthe\s+(?:grand\s+|overall\s+)?(?:total|sum)\b", re.I)
_MANY = re.compile(r"\b(?:each|every|per|by|for\s+all|group\w*|running|cumulative|rolling|totals|sums|subtotals?|"
                   r"column-?wise|row-?wise|for\s+every)\b", re.I)


def _many(value: Any) -> Optional[int]:
    """How many numbers ``value`` holds, where it is a sequence of them (a Series, an array, a list)."""
    if is_pandas(value, "Series") or is_pandas(value, "DataFrame") or type(value).__module__ == "numpy":
        size = getattr(value, "size", None)
        return int(size) if size is not None and getattr(value, "ndim", 0) >= 1 else None
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, numbers.Number) for v in value):
        return len(value)
    return None


def _mentions(name: str, task: str) -> List[int]:
    """Where the task names ``name`` as a name: not inside a word, after a dot or before a call."""
    return [m.start() for m in re.finditer(rf"(?<![\w.]){re.escape(name)}(?![\w(])", task)]


def many_totals(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """Several numbers stored where the task asks for the total: ``df['qty'] * df['price'].sum()``
    multiplies each row by the sum instead of adding the products up."""
    if not _ONE_TOTAL.search(task) or _MANY.search(task):
        return None
    made = set(execution.created + execution.changed)
    # the result the task names first: a target ("store ... in X"), else a name the code made that
    # the task names ("Store the total value of df (the sum ...) in total_value": too far for targets)
    mentions = {n: _mentions(n, task) for n in execution.created if n.lower() not in WORDS}
    named = sorted((n for n in mentions if mentions[n]), key=lambda n: -mentions[n][-1])  # the last named first
    names: List[str] = [n for n in dict.fromkeys(targets(task, code=code) + named) if n in made and n in namespace]
    for name in names[:1]:
        count = _many(namespace[name])
        if count is not None and count > 1:
            return (f"the task asks for one total in `{name}`, but `{name}` holds {count} values "
                    f"({summarize(namespace[name], 3)}). Add them up to one number.")
    return None


# "Some people are in contacts twice", "drop the duplicate rows", "dedupe": the task says rows repeat
_DUPLICATES = re.compile(r"\b(?:duplicat\w*|de-?dup\w*|twice|more\s+than\s+once)\b", re.I)
_MAYBE = re.compile(r"\bif\s+(?:any|there\s+are)\b|\bany\s+duplicat", re.I)  # none may repeat
_DROPS = re.compile(r"\.drop_duplicates\(|\.duplicated\(")


def none_dropped(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """Duplicates dropped where none were found: the result keeps every row of the table it came
    from, but the task says some repeat. ``drop_duplicates(subset='email')`` on emails written in
    other capitals or with spaces finds no two the same."""
    if not _DUPLICATES.search(task) or _MAYBE.search(task) or not _DROPS.search(code):
        return None
    read = set(re.findall(r"[A-Za-z_]\w*", code))
    for name in execution.created + execution.changed:
        value = namespace.get(name)
        if not is_pandas(value, "DataFrame"):
            continue
        for source, was in execution.before.items():
            if source in read and was["rows"] > 1 and was["rows"] == len(value) and set(was["columns"]) & set(map(str, value.columns)):
                return (f"`{name}` still has all {len(value)} rows of `{source}`: no duplicates were dropped, but the "
                        f"task says some rows repeat. Rows that are the same but written differently (capitals, "
                        f"spaces) match only once the key is normalized (e.g. `.str.strip().str.lower()`): drop "
                        f"duplicates on the normalized key.")
    return None


# "one row per date, one column per sensor", "one row for each customer": a table keyed by the values
# of a column of the table the code read
_ONE_PER = re.compile(r"\bone\s+(row|column)\s+(?:per|for\s+(?:each|every))\s+([A-Za-z_]\w*)", re.I)


def _keys(word: str, code: str, execution: Execution, namespace: Mapping[str, Any]):
    """(table, column, values) of a table the code used whose column ``word`` names ('date',
    'team' for "teams"); None where none does ("one row per user" of a JSON text)."""
    forms = {word.lower(), word.lower()[:-1] if word.lower().endswith("s") else word.lower() + "s"}
    read = set(re.findall(r"[A-Za-z_]\w*", code))
    for source in execution.before:
        value = namespace.get(source)
        if source in read and is_pandas(value, "DataFrame"):
            for column in value.columns:
                if str(column).lower() in forms and getattr(value[column], "ndim", 1) == 1:
                    return source, column, value[column]
    return None


def one_per(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A table with more rows than the keys the task says it has one row per (the readings grouped
    by date *and* sensor, never reshaped), or without a column for each key it says it has one
    column per (``pivot_table(values=['value'], ...)``: columns ``('value', 's1')``)."""
    asks = [(m.group(1).lower(), m.group(2)) for m in _ONE_PER.finditer(task)]
    if not asks:
        return None
    made = execution.created + execution.changed
    named = [n for n in execution.created if _mentions(n, task)]
    for name in [n for n in dict.fromkeys(targets(task, code=code) + named) if n in made]:
        table = namespace.get(name)
        if not is_pandas(table, "DataFrame"):
            continue
        for what, word in asks:
            found = _keys(word, code, execution, namespace)
            if found is None:
                continue
            source, column, values = found
            keys = list(dict.fromkeys(values.dropna().tolist()))
            if what == "row" and len(table) > len(keys):
                return (f"the task asks for one row per {word}, but `{name}` has {len(table)} rows for the {len(keys)} "
                        f"values of `{source}[{column!r}]` ({', '.join(repr(k) for k in keys[:4])}"
                        f"{', ...' if len(keys) > 4 else ''}). Aggregate to one row each: `.groupby({column!r})` or "
                        f"`pivot_table(index={column!r}, ...)`.")
            shown = list(table.columns)
            if what == "column" and not {str(k) for k in keys} & {str(c) for c in shown}:
                pairs = any(isinstance(c, tuple) for c in shown)
                return (f"the task asks for one column per {word} ({', '.join(repr(k) for k in keys[:4])}), but the "
                        f"columns of `{name}` are {', '.join(repr(c) for c in shown[:4])}"
                        + (": pairs, from a list of values. Pass values= one column name" if pairs else
                           f". Make the values of `{source}[{column!r}]` the columns: "
                           f"`pivot_table(index=..., columns={column!r}, values=...)`") + ".")
    return None
