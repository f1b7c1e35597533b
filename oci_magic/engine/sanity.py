"""The values code left that are wrong on their face, computed without knowing the answer.

Code that runs without an error can still have done the wrong thing in ways its values show:
``sum(pd.to_numeric(values, errors='coerce'))`` is NaN when one value is text, a coercion turns a
whole column into NaN, a column the task wants as numbers still holds ``'$1,200'``, a merge on
keys that do not match blanks every new column, "a list called top3" is left as a DataFrame. Each
rule reads the names the code created or changed (and, for tables, what they held before:
:func:`~oci_magic.execution.rollback.profile`) and says what it saw, with the values, as feedback
for another round.
"""
from __future__ import annotations

import ast
import functools
import math
import re
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence

from ..conversions import column_advice
from ..execution.result import Execution
from ..values import separator, summarize, unsplit_advice
from .checks import targets
from .figures import missing_labels
from .items import case, items, order
from .kinds import NOT_NAMES as _NOT_NAMES, kinds, wrong_kind
from .parts import parts
from .shapes import header_row, many_totals, none_dropped, one_per
from .stated import columns as _columns, fill, is_pandas as _pandas, listed_columns, stray_spaces

_NUMBERS = re.compile(r"\b(numbers?|numeric|numerical|floats?|integers?|ints?|as a number|amounts?)\b", re.I)
_NUMERIC_TEXT = re.compile(r"^\s*[-+(]?\s*[$€£¥]?\s*[-+]?(\d[\d,.' ]*)(\s*%|\s*[kKmM]|\s*[$€£¥])?\s*\)?\s*$")
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


def unsplit(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A table of one column whose name holds several (``'station;temp;rain'``): a file read with
    the wrong separator (a European CSV's ';', a tab, a '|'); whatever else is judged of it is moot."""
    for name in execution.created + execution.changed:
        value = namespace.get(name)
        if _pandas(value, "DataFrame") and value.shape[1] == 1:
            sep = separator(str(value.columns[0]))
            if sep is not None:
                return unsplit_advice(f"`{name}`", str(value.columns[0]), sep)
    return None


def coerced(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A column that was mostly set before and is mostly NaN now (or a new one that is)."""
    read = _read(code)
    for name in execution.created + execution.changed:
        before = execution.before.get(name, {"rows": 0, "columns": {}})
        for column, values in _columns(namespace.get(name)).items():
            rows, set_now = len(values), int(values.notna().sum())
            if rows < 2 or set_now > rows / 2:
                continue
            # a name bound to another table (one the code never reads, or of other rows: an earlier
            # task's `staff` replaced by a merge) had no conversion: its old column says nothing
            other = bool(before["rows"]) and (before["rows"] != rows or (read is not None and name not in read))
            was = None if other else before["columns"].get(column)
            if was is not None and was[0] - set_now >= rows / 4:
                return (f"Column `{column}` of `{name}` is missing in {rows - set_now} of {rows} rows now; before the "
                        f"code it held {', '.join(was[1])}. The conversion did not understand those values: "
                        f"clean them first (strip symbols, thousands separators) instead of coercing them to NaN.")
            if was is None and name in execution.changed and set_now == 0:
                return f"{'Column' if other else 'The new column'} `{column}` of `{name}` is missing (NaN) in every row."
    return None


def text_numbers(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """Numbers left as text where the task asks for numbers."""
    if not _NUMBERS.search(task):
        return None
    asked = set(new_columns(task) + listed_columns(task))  # "add a column price_usd": `price` may stay text
    for name in execution.created + execution.changed:
        value = namespace.get(name)
        before = execution.before.get(name, {"columns": {}})["columns"]
        for column, values in _columns(value).items():
            if asked and column not in asked and _pandas(value, "DataFrame"):
                continue
            if values.dtype.kind not in "OSU" and str(values.dtype) not in ("string", "str"):
                continue
            sample = [v for v in values.dropna().head(20).tolist()]
            was = before.get(column)
            if was is not None and was[1] == [repr(v) for v in sample[:len(was[1])]]:
                continue  # a column the code left as it was (it added another)
            if sample and all(isinstance(v, str) and _NUMERIC_TEXT.match(v) for v in sample):
                where = f"column `{column}` of `{name}`" if _pandas(value, "DataFrame") else f"`{name}`"
                return (f"{where} still holds text ({', '.join(repr(v) for v in sample[:3])}), but the task asks for "
                        f"numbers. " + (column_advice(sample) or "Convert the values to numbers."))
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and _NUMERIC_TEXT.match(v) for v in value[:20]):
            return (f"`{name}` holds text ({', '.join(repr(v) for v in value[:3])}), but the task asks for numbers. "
                    + (column_advice(list(value[:20])) or ""))
    return None


def merge_lost(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A merge or join that blanked the columns it brought (keys that did not match). One that
    lost every row is an empty result (:func:`nan_result`)."""
    if not _MERGE.search(code):
        return None
    read = _read(code)  # a name the code only binds (an earlier task's `staff`) is not where a column came from
    inputs = [p for n, p in execution.before.items() if p["rows"] and (read is None or n in read)]
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


@functools.lru_cache(maxsize=64)  # two rules ask of the same code each round
def _read(code: str) -> Optional[FrozenSet[str]]:
    """The names ``code`` reads; None when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def new_columns(task: str) -> List[str]:
    """The columns the task asks to add, in its order."""
    found = [m.group(1) for pattern in _NEW_COLUMN for m in pattern.finditer(task)]
    return [c for c in dict.fromkeys(found) if c.lower() not in _NOT_NAMES and not c.lower().endswith("ing")]


def missing_column(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A column the task asks to add (or lists by name) that no table the task names or the code made
    has: the result stored under another name (``tax`` for ``with_tax``, ``points`` for
    ``total_points``), where the next cell will not find it."""
    asked = list(dict.fromkeys(new_columns(task) + listed_columns(task)))
    if not asked:
        return None
    names = [n for n in dict.fromkeys(re.findall(r"[A-Za-z_]\w*", task) + execution.created + execution.changed)
             if _pandas(namespace.get(n), "DataFrame")]
    if not names:
        return None  # no table to look in (the result may be a Series or a dict)
    def has(n: str) -> List[str]:  # a column kept as the index counts (one row per team: `team`)
        return [str(c) for c in namespace[n].columns] + [str(i) for i in namespace[n].index.names]

    missing = [c for c in asked if not any(c in has(n) for n in names)]
    if not missing:
        return None
    said, named = ", ".join(f"`{c}`" for c in missing), kinds(task, code)
    absent = [n for n, kind in named.items() if kind == "DataFrame" and n not in namespace]
    if absent:  # "make a DataFrame summary with the columns ...": the columns are not the first thing missing
        tables = ", ".join(f"`{n}`" for n in names if n in execution.created)
        return (f"the task asks for a DataFrame `{absent[0]}` with the column{'s' * (len(missing) > 1)} {said}, but there is no `{absent[0]}`"
                + (f" (the code made {tables})" if tables else "") + f". Store the result in `{absent[0]}`.")
    # the table the result went to: one the task asks for that the code made, else the one it
    # changed, else one it made (code that re-creates `games` from literals has not made the result)
    made = execution.changed + execution.created
    wanted = [n for n in [*targets(task, code=code), *named] if n in names and n in made]
    table = (wanted + [n for n in names if n in execution.changed] + [n for n in names if n in made] + names)[0]
    shown = ", ".join(str(c) for c in list(namespace[table].columns)[:12])
    return (f"the task asks for {'a column' if len(missing) == 1 else 'columns'} {said}, but `{table}` has "
            f"{'none' if len(missing) == 1 else 'none of them'} (its columns: {shown}). Name the "
            f"{'new column' if len(missing) == 1 else 'columns'} {said} exactly.")


CHECKS: Dict[str, Callable[[str, str, Execution, Mapping[str, Any]], Optional[str]]] = {
    "split": unsplit, "header": header_row, "nan": nan_result, "one": many_totals, "per": one_per, "dupes": none_dropped,
    "coerced": coerced, "text": text_numbers, "merge": merge_lost, "column": missing_column, "kind": wrong_kind,
    "items": items, "order": order, "labels": missing_labels, "spaces": stray_spaces, "case": case, "parts": parts,
    "fill": fill}
RULES = tuple(CHECKS)  # every rule, in the order they are tried


# rules on the form of the same text (a clean-up task lists several): what each saw is said at
# once -- told only of its spaces, the 1.5B fixed them and left the case wrong, three rounds running
FORM = ("spaces", "case")


def sanity(task: str, code: str, execution: Execution, namespace: Mapping[str, Any], rules: Sequence[str] = RULES) -> Optional[str]:
    """What the first rule that fires saw (and the other rules on the text's form, with it), or
    None. Never raises: data it cannot read is not judged."""
    said: List[str] = []
    for rule in rules:
        if said and rule not in FORM:
            continue
        try:
            found = CHECKS[rule](task, code, execution, namespace)
        except Exception:
            continue
        if found:
            said.append(found)
            if rule not in FORM:
                break
    return "The values it left look wrong: " + " Also, ".join(said) if said else None


def rules(text: str) -> List[str]:
    """``"nan,merge"`` -> ["nan", "merge"]; ValueError for a rule that does not exist."""
    found = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in found if r not in CHECKS]
    if unknown:
        raise ValueError(f"sanity rules are {', '.join(RULES)}, not {', '.join(unknown)}")
    return found
