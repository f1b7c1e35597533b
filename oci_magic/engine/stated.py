"""What a task says in words of the tables and text it wants, held against the values the code
left (:mod:`.sanity` rules: ``column`` reads :func:`listed_columns`, ``spaces`` is
:func:`stray_spaces`, ``fill`` is :func:`fill`: :func:`unfilled` and :func:`overwritten`; text
results are found by :func:`texts`).

"Summarize games per team into ... two columns: total_points (sum of points) and avg_rebounds"
ran and left columns ``points`` and ``rebounds``; "Add two columns to staff, first and last,
holding the two parts without stray spaces" left ``' Alice'``; "single spaces between words" left
``'Carol  De La Cruz'``; "fill in the missing ages with the median of the same pclass" filled one
of three. Each ran without an error and the run ended "ok". The words the task uses
are enough to see it: no answer is needed.
"""
from __future__ import annotations

import ast
import re
from typing import Any, Dict, List, Mapping, Optional

from ..execution.result import Execution
from .checks import targets


def is_pandas(value: Any, kind: str) -> bool:
    """``value`` is a pandas ``kind`` (a DataFrame, a Series), or a subclass of one."""
    return any(c.__module__.split(".")[0] == "pandas" and c.__name__ == kind for c in type(value).__mro__)


def columns(value: Any) -> Dict[str, Any]:
    """``{name: Series}`` for a DataFrame's first 50 columns, a Series as its one; else nothing."""
    if is_pandas(value, "DataFrame"):
        return {str(c): value[c] for c in list(value.columns)[:50] if getattr(value[c], "ndim", 1) == 1}
    if is_pandas(value, "Series"):
        return {str(value.name): value}
    return {}


# Columns a task lists by name after the word: "two columns: total_points (sum of points) and
# avg_rebounds (mean rebounds)", "exactly the columns id, name and city", "add two columns to staff,
# first and last". Two names at least, each alone between commas and "and": one name after "column"
# is a new column (sanity.new_columns) or an input ("the price column"), and "quarters as columns,
# total revenue in the cells" lists nothing.
_AFTER = re.compile(r"\bcolumns\b(?:\s+(?:to|of|in|for)\s+`?[A-Za-z_]\w*`?)?\s*[:,]?\s*(?:(?:named|called)\s+)?([^.;\n]{0,160})", re.I)
_AWAY = re.compile(r"\b(?:drop|remov|delet|without|except|exclud|ignor|renam|hide|skip)\w*", re.I)
_ONE = re.compile(r"[`'\"]?([A-Za-z_][A-Za-z0-9_]*)[`'\"]?")
_NOT_COLUMNS = {"a", "an", "the", "and", "or", "of", "with", "to", "in", "for", "as", "by", "that", "which", "each",
                "every", "one", "two", "three", "four", "five", "rows", "columns", "sorted", "where", "then", "so", "it",
                "them", "both", "all"}


def listed_columns(task: str) -> List[str]:
    """The columns the task lists by name (two or more), in its order."""
    found: List[str] = []
    for m in _AFTER.finditer(task):
        if _AWAY.search(re.split(r"[.;!?]\s", task[:m.start()])[-1]):
            continue  # "drop the columns tmp_a and tmp_b": they must not be there
        pieces = re.split(r"(\s*,\s*(?:and\s+)?|\s+and\s+)", re.sub(r"\s*\([^)]*\)", "", m.group(1)).strip())
        names = []
        for i in range(0, len(pieces), 2):
            # the last name may run on into the sentence: "... and `price` in small"
            last = i > 0 and "and" in pieces[i - 1]
            one = (_ONE.match if last else _ONE.fullmatch)(pieces[i].strip())
            if one is None or one.group(1).lower() in _NOT_COLUMNS or (last and not re.match(r"\s|$", pieces[i].strip()[one.end():])):
                break
            names.append(one.group(1))
            if last:
                break
        if len(names) >= 2:
            found += names
    return list(dict.fromkeys(found))


# The task says the text must hold no stray whitespace: "without stray spaces", "no spaces at the
# ends", "single spaces between words", "strip the whitespace", "trimmed".
_SPACES = re.compile(r"\b(?:stray|extra|leading|trailing|surrounding|double)\s+(?:spaces?|whitespace|blanks?)\b"
                     r"|\bspaces?\s+(?:at|on|around)\s+(?:the|both|either)\s+(?:ends?|sides?)\b"
                     r"|\bsingle\s+spaces?\b|\bwhitespace\b|\bstrip(?:ped|s)?\b|\btrim(?:med|s)?\b", re.I)
_KEEP = re.compile(r"\bsingle\s+spaces?\b|\bone\s+space\b|\bspaces?\s+between\b", re.I)  # words stay apart
_INNER = re.compile(r"\bsingle\s+spaces?\b|\b(?:stray|extra|double)\s+(?:spaces?|whitespace|blanks?)\b|\bwhitespace\b", re.I)


def assigned(code: str) -> Dict[str, set]:
    """``{table: {column, ...}}`` the code assigns to by name: ``df['city'] = ...``,
    ``df.loc[:, 'city'] = ...``, ``df['n'] += 1``."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return {}
    found: Dict[str, set] = {}
    for node in ast.walk(tree):
        for target in node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []:
            if not isinstance(target, ast.Subscript):
                continue
            table = target.value.value if isinstance(target.value, ast.Attribute) else target.value  # df.loc[...]
            keys = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
            if isinstance(table, ast.Name):
                found.setdefault(table.id, set()).update(k.value for k in keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return found


def _new(values: Any, name: str, column: str, execution: Execution, code: str) -> bool:
    """The code made these values: a column it assigns (rows typed in after the table's cell sit at
    its end, past the first values a profile keeps), a new column, a changed one, or a new table's
    column that no table before the code had (``unique_contacts['email']`` is ``contacts['email']``
    with rows left out)."""
    if column in assigned(code).get(name, ()):
        return True
    before = execution.before.get(name)
    if before is not None and column in before["columns"]:
        was = before["columns"][column][1]
        return was != [repr(v) for v in values.dropna().head(len(was)).tolist()]
    return not any(column in p["columns"] for p in execution.before.values())


def texts(task: str, code: str, execution: Execution, namespace: Mapping[str, Any], asked=()):
    """(name, where, text values) for each text result the code made: a name the task names that
    the code changed, or one it asks to be made (or is in ``asked``); not a helper the code made on
    the way ("the two parts" and a `parts`). A table gives its new or changed text columns."""
    named, asked = set(re.findall(r"[A-Za-z_]\w*", task)), set(targets(task, code=code)) | set(asked)
    made = [n for n in execution.changed if n in named] + [n for n in execution.created if n in asked]
    for name in made:
        value = namespace.get(name)
        for c, s in columns(value).items():
            if (s.dtype.kind == "O" or str(s.dtype) in ("string", "str")) and _new(s, name, c, execution, code):
                where = f"column `{c}` of `{name}`" if is_pandas(value, "DataFrame") else f"`{name}`"
                yield name, where, [t for t in s.dropna().head(200).tolist() if isinstance(t, str)]
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value[:200]):
            yield name, f"`{name}`", list(value[:200])
        elif isinstance(value, str) and name in execution.created:
            yield name, f"`{name}`", [value]


def stray_spaces(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """Text the code made in a name the task names that still has spaces at its ends (or runs of
    spaces inside) where the task says it should not."""
    if not _SPACES.search(task):
        return None
    inner = bool(_INNER.search(task))
    seen = []
    for name, where, values in texts(task, code, execution, namespace):
        ends = [t for t in values if t != t.strip()]
        runs = [t for t in values if inner and re.search(r"\S\s{2,}\S", t)]
        if ends:
            return (f"{where} still has spaces at the ends in {len(ends)} of {len(values)} values "
                    f"({', '.join(repr(t) for t in ends[:3])}), but the task says there should be none. "
                    f"Strip them (`.str.strip()` on a column, `.strip()` on a string).")
        if runs:
            # `.split(' ')` cuts at every single space: a run of them leaves empty parts that the join puts
            # back (the 1.5B wrote it again in the round after it was shown `.str.split()`)
            one = re.search(r"\.split\(\s*(['\"]) \1\s*\)", code)
            return (f"{where} still has more than one space between words in {len(runs)} of {len(values)} values "
                    f"({', '.join(repr(t) for t in runs[:3])}). "
                    + (f"`{one.group(0)[1:]}` cuts at each single space, so a run of spaces leaves empty parts; "
                       f"`split()` with no argument splits at any run of spaces: " if one else "Collapse each run of spaces to one ")
                    + "(`.str.split().str.join(' ')` on a column, `' '.join(s.split())` on a string).")
        if name not in seen:
            seen.append(name)
    for name in seen if _KEEP.search(task) else ():
        joined = _joined(name, namespace.get(name), execution)
        if joined:
            return joined
    return None


def _profiled(name: str, column: str, rows: int, execution: Execution) -> Optional[tuple]:
    """The column as it was before the code (rollback.profile: set values, first ones, dtype, their
    rows): this name's, or for a new table (`filled = df.assign(...)`) that of a table of the same
    rows the column came from."""
    tables = [p for n, p in execution.before.items() if (n == name or name in execution.created)
              and p["rows"] == rows and column in p["columns"]]
    return tables[0]["columns"][column] if tables else None


def _then_and_now(was: Optional[tuple], values: Any):
    """(row, repr before, value now) for the first values a profiled column had set, where the row
    is still there once."""
    if was is None or len(was) < 4 or not values.index.is_unique:
        return
    for label, old in zip(was[3], was[1]):
        if label in values.index:
            now = values.loc[label]
            yield label, old, now.item() if hasattr(now, "item") else now


def _joined(name: str, value: Any, execution: Execution) -> Optional[str]:
    """Words the code ran together where the task asks for single spaces between them: `'  alice
    SMITH '` became `'Alicesmith'` (every space removed, not the extra ones)."""
    for column, values in columns(value).items():
        for label, shown, now in _then_and_now(_profiled(name, column, len(values), execution), values):
            try:
                old = ast.literal_eval(shown)
            except (ValueError, SyntaxError):
                continue
            if isinstance(old, str) and isinstance(now, str) and len(old.split()) > 1 and len(now.split()) == 1:
                where = f"column `{column}` of `{name}`" if is_pandas(value, "DataFrame") else f"`{name}`"
                return (f"{where} lost the spaces between words: {old!r} became {now!r}. Keep one space between "
                        f"words (`.str.split().str.join(' ')` on a column, `' '.join(s.split())` on a string) "
                        f"instead of removing every space.")
    return None


# "Fill in the missing ages with the median of the same pclass": every missing value has a fill. Not
# a fill from a neighbour ("forward", "the previous reading"): the first of each group has none.
_FILL = re.compile(r"\b(?:fill\w*|impute\w*|replac\w*)\b[^.;]{0,60}?\b(?:missing|nan|null|empty|blank|gaps?|none)\b"
                   r"|\b(?:missing|nan|null|empty|blank)\b[^.;]{0,40}?\b(?:filled|imputed|replaced)\b", re.I)
_NEIGHBOUR = re.compile(r"\b(?:forward|backward|previous|next|last|earlier|later|preceding|ffill|bfill|interpolat\w*|"
                        r"carr(?:y|ied))\b", re.I)


def unfilled(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A column the code filled only in part, where the task asks for the missing values filled:
    ``df['age'].fillna(df.groupby('pclass')['age'].median())`` fills by index label, so only the
    rows whose label is a pclass get a value."""
    if not _FILL.search(task) or _NEIGHBOUR.search(task):
        return None
    for name in _filled(execution, namespace):
        value = namespace.get(name)
        for column, values in columns(value).items():
            rows, now = len(values), int(values.notna().sum())
            was = [p["columns"][column][0] for n, p in execution.before.items()
                   if p["rows"] == rows and column in p["columns"] and (n == name or name in execution.created)]
            if not was or not min(was) < now < rows:
                continue
            left = [str(i) for i in values.index[values.isna()][:5]]
            where = f"column `{column}` of `{name}`" if is_pandas(value, "DataFrame") else f"`{name}`"
            return (f"{where} is still missing in {rows - now} of {rows} rows ({', '.join(left)}) after the fill, "
                    f"which filled {now - min(was)} of its {rows - min(was)} missing values. A Series of one value per "
                    f"group fills by index label, not by group: use `.transform(...)` for one value per row.")
    return None


def _filled(execution: Execution, namespace: Mapping[str, Any]) -> List[str]:
    """Where a fill's result may be: the tables and Series the code changed, and those it made --
    unless it changed one (an in-place fill), when what it made is a step on the way (the 1.5B's
    correct `median_ages = df.groupby('pclass')['age'].transform('median')` before the fillna)."""
    changed = [n for n in execution.changed if columns(namespace.get(n))]
    return changed or list(execution.created)


def _same(was: str, now: Any) -> bool:
    """A profiled value (its repr) and what that cell holds now: equal, as numbers where both are."""
    try:
        return float(ast.literal_eval(was)) == float(now)
    except (ValueError, TypeError, SyntaxError, OverflowError):
        return was == repr(now)


def overwritten(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A fill that changed values that were there: ``df['age'] = df.groupby('pclass')['age']
    .transform('median')`` gives every row its group's median, not only the missing ones. Judged
    on a column that had missing values before and the first values that were set in it."""
    if not _FILL.search(task):
        return None
    for name in _filled(execution, namespace):
        value = namespace.get(name)
        for column, values in columns(value).items():
            was = _profiled(name, column, len(values), execution)
            if was is None or was[0] >= len(values):  # no value was missing: nothing to fill
                continue
            for label, old, now in _then_and_now(was, values):
                if not _same(old, now):
                    where = f"column `{column}` of `{name}`" if is_pandas(value, "DataFrame") else f"`{name}`"
                    return (f"the fill changed values that were not missing: {where} was {old} in row {label!r} and "
                            f"is {now!r} now. Fill only the missing ones: "
                            f"`df['{column}'] = df['{column}'].fillna(...)` keeps the others.")
    return None


def fill(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """The fill rule: missing values left after the fill, or present ones changed by it."""
    return unfilled(task, code, execution, namespace) or overwritten(task, code, execution, namespace)
