"""What the failing line was working on, read from the live frame when the code raised.

A bare traceback tells a small model *that* ``float('n/a')`` failed, not that ``raw`` is a column of
strings like ``'$1,200'``; so the feedback also gets, for the innermost line of the notebook's or
the generated code: the names on it with their type, size and first values, and for a missing
key, attribute or name the ones that exist and the closest matches.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import difflib
import io
import keyword
import linecache
import re
import types
from typing import Any, Callable, List, Mapping, Optional, Tuple

from ..conversions import HOLDS_TEXT, column_advice, from_error
from ..values import separator, summarize, unsplit_advice

MAX_FACTS = 8
FAILS_ON = "fails on"  # how the fact on a function applied to a column is found among an error's facts
HAS_NO = "has no"  # how the fact on a missing key (a column, a dict key) is found among them
WHOLE_VALUES = "is pandas' replace"  # how the fact on a Series.replace meant for characters is found
REMADE = "made it anew"  # how the fact on a table the code made again, without a key the kernel's has, is found
MAX_TRIED = 200  # values of a column a failed .apply(f) is tried on again, one at a time
MAX_KEYS = 30
SAMPLES = 3
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_DATA = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
# arithmetic or a reduction on text: "unsupported operand type(s) for -: 'str' and 'str'", "can't
# multiply sequence by non-int", "Cannot perform reduction 'mean' with string dtype", ...
_ON_TEXT = re.compile(r"operand type\(s\) for .*'str'|can't multiply sequence|reduction '\w+' with string"
                      r"|dtype '(str|object)' does not support|can only concatenate str|"
                      r"not supported between instances of 'str' and|ufunc '\w+' not supported for the input types")
_JOIN = re.compile(r"\.(?:merge|join)\(|\bmerge\(")
_COLUMN = re.compile(r"\[\s*(['\"])([^'\"]+)\1\s*\]")
# `calls['duration'].apply(to_minutes)`, `s.map(parse)`: a function of the code's applied to a Series
_APPLY = re.compile(r"\b([A-Za-z_]\w*)(?:\[\s*(['\"])([^'\"]+)\2\s*\]|\.([A-Za-z_]\w*))?\.(?:apply|map)\(\s*([A-Za-z_]\w*)\s*[,)]")


def failure_facts(error: BaseException, is_code: Callable[[str], bool]) -> List[str]:
    """Facts about ``error`` at the innermost frame whose file ``is_code`` (a cell); never raises."""
    try:
        return _facts(error, is_code)[:MAX_FACTS]
    except Exception:  # a broken __len__ or property in user data must not break the feedback
        return []


def _facts(error: BaseException, is_code: Callable[[str], bool]) -> List[str]:
    frame, line = _failing_frame(error, is_code)
    scope: Mapping[str, Any] = {**frame.f_globals, **frame.f_locals} if frame is not None else {}
    facts: List[str] = []
    names = _names(line)
    for name in names:
        if name in scope and not isinstance(scope[name], _NOT_DATA) and not name.startswith("__"):
            facts.append(f"`{name}` is {summarize(scope[name], SAMPLES)}")
    if isinstance(error, TypeError) and _ON_TEXT.search(str(error)) or \
            isinstance(error, ValueError) and from_error("ValueError", str(error)):  # a failed conversion
        facts += _text_operands(line, [(n, scope[n]) for n in names if n in scope])
        if frame is not None:
            facts = _whole_values(linecache.getlines(frame.f_code.co_filename), scope) + facts
    if isinstance(error, KeyError) and error.args:
        facts += _missing_key(error.args[0], [(n, scope[n]) for n in names if n in scope], line)
    elif isinstance(error, AttributeError) and getattr(error, "name", None) and getattr(error, "obj", None) is not None:
        public = [a for a in dir(error.obj) if not a.startswith("_")]
        facts += _closest(error.name, public, f"{type(error.obj).__name__} has")
    elif isinstance(error, NameError) and getattr(error, "name", None):
        facts += _closest(error.name, [n for n in scope if not n.startswith("_")], "defined names include")
    return _applied(error, is_code) + facts


def _applied(error: BaseException, is_code: Callable[[str], bool]) -> List[str]:
    """For ``series.apply(f)`` that raised inside ``f``: every value of the Series ``f`` fails on,
    not only the first. ``f`` had met those values already; each call is tried on one clock."""
    tb, found = error.__traceback__, None
    while tb is not None and found is None:  # the outermost line of the code's that applies a function
        filename = tb.tb_frame.f_code.co_filename
        match = _APPLY.search(linecache.getline(filename, tb.tb_lineno)) if is_code(filename) else None
        if match:
            found = (match, {**tb.tb_frame.f_globals, **tb.tb_frame.f_locals}, tb.tb_next)
        tb = tb.tb_next
    if found is None:
        return []
    (match, scope, inner), (name, _, key, attr, fname) = found, found[0].groups()
    series, function = scope.get(name), scope.get(fname)
    while inner is not None and inner.tb_frame.f_code is not getattr(function, "__code__", None):
        inner = inner.tb_next
    if inner is None:  # raised by pandas before or around the function (bad arguments), not in it
        return []
    if series is not None and (key or attr):
        series = series[key] if key and key in getattr(series, "columns", ()) else getattr(series, attr or "", None)
    if not callable(function) or getattr(series, "ndim", 0) != 1 or not type(series).__module__.startswith("pandas"):
        return []
    from .timeout import ExecutionTimeout, time_limit  # here: the clock is only needed on a failed apply

    failed: List[str] = []
    tried = series.head(MAX_TRIED)
    try:
        with contextlib.redirect_stdout(io.StringIO()), time_limit(1.0, is_code):
            for label, value in tried.items():
                try:
                    function(value)
                except Exception as raised:
                    failed.append(f"{value!r} (row {label!r}: {type(raised).__name__}: {str(raised)[:60]})")
    except ExecutionTimeout:
        return []
    if not failed:
        return []
    where = f"`{name}[{key!r}]`" if key else f"`{name}.{attr}`" if attr else f"`{name}`"
    return [f"`{fname}` {FAILS_ON} {len(failed)} of the {len(tried)} values of {where}: {', '.join(failed[:4])}. "
            f"Make it handle such values (return float('nan') for them, say), or clean them before the call."]


def _failing_frame(error: BaseException, is_code: Callable[[str], bool]):
    """The innermost frame in notebook or generated code, and its source line."""
    found, tb = (None, ""), error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if is_code(filename):
            found = (tb.tb_frame, linecache.getline(filename, tb.tb_lineno).strip())
        tb = tb.tb_next
    return found


def _names(line: str) -> List[str]:
    """Identifiers the line reads, in order, once each (not keywords or builtins)."""
    try:
        nodes = [n.id for n in ast.walk(ast.parse(line.rstrip(":") or "pass")) if isinstance(n, ast.Name)]
    except SyntaxError:  # the head of a block (``for x in y:``) or part of a statement
        nodes = _WORD.findall(line)
    return [n for n in dict.fromkeys(nodes) if not keyword.iskeyword(n) and not hasattr(builtins, n)]


def _text_operands(line: str, values) -> List[str]:
    """What the text a failing computation met should become: for the columns the line names (or
    Series, or strings) that hold numbers or dates written as text, what is in the way."""
    found: List[str] = []
    columns = [m.group(2) for m in _COLUMN.finditer(line)]
    for name, value in values:
        if isinstance(value, str):
            candidates = [(f"`{name}`", value)]
        elif type(value).__module__.startswith("pandas") and hasattr(value, "dtype"):
            candidates = [(f"`{name}`", value)]
        elif type(value).__module__.startswith("pandas") and hasattr(value, "columns"):
            candidates = [(f"`{name}[{c!r}]`", value[c]) for c in columns if c in value.columns]
        else:
            continue
        for label, column in candidates:
            said = column_advice([column] if isinstance(column, str) else _texts(column))
            if said:
                found.append(f"{label} {HOLDS_TEXT} {said}")
    return list(dict.fromkeys(found))[:2]


def _whole_values(lines: List[str], scope: Mapping[str, Any]) -> List[str]:
    """pandas' ``.replace(',', '')`` on a Series where the code meant to remove a character inside
    each text (``s.str.replace('$', '').replace(',', '')``, Qwen2.5-Coder-0.5B, three rounds): it
    swaps whole values equal to ',' and leaves '1,200' as it was. Only for marks (no letters or
    digits), on what is surely pandas: the result of a ``.str`` method, or a DataFrame, its column
    or a Series of the code's names."""
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        mark, on = node.args[0].value, node.func.value
        if not mark or any(c.isalnum() for c in mark) or isinstance(on, ast.Attribute) and on.attr == "str":
            continue
        text_method = (isinstance(on, ast.Call) and isinstance(on.func, ast.Attribute)
                       and isinstance(on.func.value, ast.Attribute) and on.func.value.attr == "str")
        base = on.value if isinstance(on, ast.Subscript) else on
        known = isinstance(base, ast.Name) and type(scope.get(base.id)).__module__.startswith("pandas")
        if text_method or known:
            return [f"`{ast.unparse(node)}` {WHOLE_VALUES}: it swaps whole values equal to {mark!r} and leaves "
                    f"text that only contains {mark!r} as it was. To remove {mark!r} inside each value, use "
                    f"`.str.replace({mark!r}, '', regex=False)`."]
    return []


def _texts(series: Any) -> List[str]:
    """The first text values of a column of text, or of a mixed one (numbers, then text appended)."""
    if getattr(series, "ndim", 0) != 1 or series.dtype.kind not in "OSU" and str(series.dtype) not in ("string", "str"):
        return []
    return [v for v in series.head(200).tolist() if isinstance(v, str)][:20]  # head first: a column may be huge


def _keys(container: Any) -> Optional[List[Any]]:
    columns = getattr(container, "columns", None)
    if columns is not None and type(container).__module__.startswith("pandas"):
        return list(columns)
    if isinstance(container, Mapping):
        return list(container.keys())
    return None


def _missing_key(key: Any, values: List[Tuple[str, Any]], line: str) -> List[str]:
    """For ``customers['order_id']`` or ``pd.merge(customers, orders, on='cust_id')`` that raised
    KeyError: the table on the line without the key and what it has; for a merge, the table that
    has it (key columns named differently are joined with left_on/right_on)."""
    for name, value in values:
        keys = _keys(value)
        # a table's missing key is a column only where it is text: `games.loc[15, 'team']` misses a row
        if keys is None or key in keys or (hasattr(value, "columns") and not isinstance(key, str)):
            continue
        shown = ", ".join(repr(k) for k in keys[:MAX_KEYS]) + (", …" if len(keys) > MAX_KEYS else "")
        what = "columns" if hasattr(value, "columns") else "keys"
        facts = [f"`{name}` {HAS_NO} {key!r}; its {what} are: {shown}"]
        sep = separator(str(keys[0])) if what == "columns" and len(keys) == 1 else None
        if sep is not None and str(key) in [f.strip() for f in str(keys[0]).split(sep)]:
            facts.append(unsplit_advice("The table", str(keys[0]), sep))  # read with the wrong separator
        holders = [n for n, v in values if n != name and key in (_keys(v) or ())]
        if holders and _JOIN.search(line):
            facts[0] += (f"; `{holders[0]}` has {key!r}. To join on key columns with different names, "
                         f"use left_on= and right_on=.")
        return facts + _closest(str(key), [str(k) for k in keys], "closest")
    return []


_HAS_NO = re.compile(rf"^`(\w+)` {HAS_NO} (.+?); its ")


def remade(facts: List[str], before: Mapping[str, Any], rebound: Callable[[str], bool]) -> List[str]:
    """For ``by_team['total_points']`` that raised KeyError after the code made ``by_team`` anew
    (the 0.5B, in one session, copied the earlier cell's groupby without the renaming that cell
    did): the table the kernel held has the key. ``before``: the names' objects as the code
    started; ``rebound(name)``: whether the code bound the name to another object."""
    for fact in facts:
        found = _HAS_NO.match(fact)
        if found is None:
            continue
        name = found.group(1)
        try:
            key = ast.literal_eval(found.group(2))
        except (SyntaxError, ValueError):
            return []
        old = before.get(name)
        if old is not None and rebound(name) and key in (_keys(old) or ()):
            return [f"`{name}` in the kernel has {key!r}, but the code {REMADE} (without it): use `{name}` as the "
                    f"kernel holds it; do not make it again."]
        return []
    return []


def _closest(word: str, candidates: List[str], lead: str) -> List[str]:
    near = difflib.get_close_matches(str(word), candidates, n=3, cutoff=0.6)
    return [f"{lead}: {', '.join(near)} (closest to {word!r})"] if near else []
