"""The values code left that are wrong on their face, computed without knowing the answer.

Code that runs without an error can still have done the wrong thing in ways its values show:
``sum(pd.to_numeric(values, errors='coerce'))`` is NaN when one value is text, a coercion turns a
whole column into NaN, a column the task wants as numbers still holds ``'$1,200'``, a merge on
keys that do not match blanks every new column. Each rule reads the names the code created or
changed (and, for tables, what they held before: :func:`~oci_magic.execution.rollback.profile`)
and says what it saw, with the values, as feedback for another round.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ..execution.result import Execution
from ..values import summarize

RULES = ("nan", "coerced", "text", "merge", "column")
_NUMBERS = re.compile(r"\b(numbers?|numeric|numerical|floats?|integers?|ints?|as a number|amounts?)\b", re.I)
_NUMERIC_TEXT = re.compile(r"^\s*[-+(]?\s*[$€£¥]?\s*[-+]?(\d[\d,.' ]*)(\s*%|\s*[kKmM])?\s*\)?\s*$")
_MERGE = re.compile(r"\.(merge|join)\(|pd\.merge\(|pd\.concat\(")
# The column a task asks to add, in the forms tasks write it: "add a column with_tax", "into a new
# column frac", "as a column named ma3", "add a balance column". Not "two columns, first and last"
# nor "the price column" (an input): only a new column with its name beside the word.
_COL = r"['\"`]?([A-Za-z_][A-Za-z0-9_]*)['\"`]?"
_NEW_COLUMN = (
    re.compile(r"\b(?:add\w*|put\w*|stor\w*|sav\w*|creat\w*|mak\w*|into|as|in)\s+(?:a|an|the)?\s*(?:new\s+)?column\s+"
               r"(?:(?:named|called)\s+)?" + _COL + r"(?![\w.(\[])", re.I),
    re.compile(r"\badd\w*\s+(?:a|an|one)\s+(?:new\s+)?" + _COL + r"\s+column\b", re.I),
    re.compile(r"\bcolumn\s+(?:named|called)\s+" + _COL, re.I),
)
_NOT_NAMES = {"a", "an", "the", "with", "of", "for", "that", "which", "to", "from", "in", "per", "where", "and", "or",
              "each", "every", "new", "named", "called", "holding", "containing", "showing", "giving", "saying",
              "telling", "marking", "counting", "equal", "is", "it", "its", "their", "this", "so", "as", "by", "on",
              "at", "whose", "when"}


def _pandas(value: Any, kind: str) -> bool:
    cls = type(value)
    return cls.__module__.split(".")[0] == "pandas" and cls.__name__ == kind


def _columns(value: Any) -> Dict[str, Any]:
    if _pandas(value, "DataFrame"):
        return {str(c): value[c] for c in list(value.columns)[:50] if getattr(value[c], "ndim", 1) == 1}
    if _pandas(value, "Series"):
        return {str(value.name): value}
    return {}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0 and value != value)


def nan_result(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A result that is NaN or None, or empty where what it came from was not."""
    for name in execution.created + execution.changed:
        value = namespace.get(name)
        if callable(value) or name not in namespace:
            continue
        if _missing(value):
            shown = "None" if value is None else "NaN"
            return f"`{name}` is {shown}: a result of NaN or None means some values were not numbers or were missing."
        size = len(value) if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) else None
        if size == 0 and any(p["rows"] for p in execution.before.values()):
            return f"`{name}` is empty ({summarize(value)}), but the data it came from is not."
    return None


def coerced(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A column that was mostly set before and is mostly NaN now (or a new one that is)."""
    for name in execution.created + execution.changed:
        before = execution.before.get(name, {"rows": 0, "columns": {}})
        for column, values in _columns(namespace.get(name)).items():
            rows, set_now = len(values), int(values.notna().sum())
            if rows < 2 or set_now > rows / 2:
                continue
            was = before["columns"].get(column)
            if was is not None and was[0] - set_now >= rows / 4:
                return (f"Column `{column}` of `{name}` is missing in {rows - set_now} of {rows} rows now; before the "
                        f"code it held {', '.join(was[1])}. The conversion did not understand those values: "
                        f"clean them first (strip symbols, thousands separators) instead of coercing them to NaN.")
            if was is None and name in execution.changed and set_now == 0:
                return f"The new column `{column}` of `{name}` is missing (NaN) in every row."
    return None


def text_numbers(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """Numbers left as text where the task asks for numbers."""
    if not _NUMBERS.search(task):
        return None
    for name in execution.created + execution.changed:
        value = namespace.get(name)
        before = execution.before.get(name, {"columns": {}})["columns"]
        for column, values in _columns(value).items():
            if values.dtype.kind not in "OSU" and str(values.dtype) not in ("string", "str"):
                continue
            sample = [v for v in values.dropna().head(20).tolist()]
            was = before.get(column)
            if was is not None and was[1] == [repr(v) for v in sample[:len(was[1])]]:
                continue  # a column the code left as it was (it added another)
            if sample and all(isinstance(v, str) and _NUMERIC_TEXT.match(v) for v in sample):
                where = f"column `{column}` of `{name}`" if _pandas(value, "DataFrame") else f"`{name}`"
                return (f"{where} still holds text ({', '.join(repr(v) for v in sample[:3])}), but the task asks for "
                        f"numbers. Convert the values to numbers.")
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and _NUMERIC_TEXT.match(v) for v in value[:20]):
            return f"`{name}` holds text ({', '.join(repr(v) for v in value[:3])}), but the task asks for numbers."
    return None


def merge_lost(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A merge or join that blanked the columns it brought (keys that did not match). One that
    lost every row is an empty result (:func:`nan_result`)."""
    if not _MERGE.search(code):
        return None
    inputs = [p for p in execution.before.values() if p["rows"]]
    for name in execution.created + execution.changed:
        value = namespace.get(name)
        if not _pandas(value, "DataFrame"):
            continue
        for column, values in _columns(value).items():
            rows, set_now = len(values), int(values.notna().sum())
            if rows >= 2 and set_now <= rows / 2 and any(
                    column in p["columns"] and p["columns"][column][0] >= 0.8 * p["rows"] for p in inputs):
                return (f"After the merge, column `{column}` of `{name}` is missing in {rows - set_now} of {rows} rows, "
                        f"though it was set in the table it came from: the keys did not match. Merge on the columns "
                        f"that hold the same values (the same type too: 101 is not '101').")
    return None


def new_columns(task: str) -> List[str]:
    """The columns the task asks to add, in its order."""
    found = [m.group(1) for pattern in _NEW_COLUMN for m in pattern.finditer(task)]
    return [c for c in dict.fromkeys(found) if c.lower() not in _NOT_NAMES and not c.lower().endswith("ing")]


def missing_column(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A column the task asks to add that no table the task names or the code made has: the
    result stored under another name (``tax`` for ``with_tax``), where the next cell will not
    find it."""
    asked = new_columns(task)
    if not asked:
        return None
    names = [n for n in dict.fromkeys(re.findall(r"[A-Za-z_]\w*", task) + execution.created + execution.changed)
             if _pandas(namespace.get(n), "DataFrame")]
    if not names:
        return None  # no table to look in (the result may be a Series or a dict)
    for column in asked:
        if any(column in [str(c) for c in namespace[n].columns] for n in names):
            continue
        table = next((n for n in names if n in execution.changed), names[0])
        has = ", ".join(str(c) for c in list(namespace[table].columns)[:12])
        return (f"the task asks for a column `{column}`, but `{table}` has none (its columns: {has}). "
                f"Name the new column `{column}` exactly.")
    return None


CHECKS: Dict[str, Callable[[str, str, Execution, Mapping[str, Any]], Optional[str]]] = {
    "nan": nan_result, "coerced": coerced, "text": text_numbers, "merge": merge_lost,
    "column": missing_column}


def sanity(task: str, code: str, execution: Execution, namespace: Mapping[str, Any],
           rules: Sequence[str] = RULES) -> Optional[str]:
    """What the first rule that fires saw, or None. Never raises: data it cannot read is not judged."""
    for rule in rules:
        try:
            found = CHECKS[rule](task, code, execution, namespace)
        except Exception:
            continue
        if found:
            return "The values it left look wrong: " + found
    return None


def rules(text: str) -> List[str]:
    """``"nan,merge"`` -> ["nan", "merge"]; ValueError for a rule that does not exist."""
    found = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in found if r not in CHECKS]
    if unknown:
        raise ValueError(f"sanity rules are {', '.join(RULES)}, not {', '.join(unknown)}")
    return found
