"""The parts of text the task says are written in an order: "full_name in staff is written 'Last,
First'. Add two columns to staff, first and last" ran and left ``first`` = 'Smith' for 'Smith,
Alice' -- the parts swapped, reported a success (the 1.5B in both modes, on two seeds).

The ``parts`` rule of :mod:`.sanity`: a quoted pattern of two to four words and the marks between
them ('Last, First', 'City - Country', 'key=value'), new columns named after its words, and a text
column of the same table whose values have the mark: each such column must hold the part at its
word's place in the pattern. Judged only where most rows hold another place's part.
"""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Tuple

from ..execution.result import Execution
from .stated import columns, is_pandas

_PATTERN = re.compile(r"""(['"])([A-Za-z]+(?:\s*[,;=|/-]\s*|\s+)[A-Za-z]+(?:(?:\s*[,;=|/-]\s*|\s+)[A-Za-z]+){0,2})\1""")
_MARK = re.compile(r"\s*([,;=|/-])\s*|\s+")
_ROWS = 200


def pattern(task: str) -> Optional[Tuple[List[str], str, str]]:
    """(the words, lower-cased, the mark between them, the pattern as quoted) of the first quoted
    pattern of the task whose words are all set apart by one mark; None where there is none."""
    for found in _PATTERN.finditer(task):
        text = found.group(2)
        marks = {m.group(1) or " " for m in _MARK.finditer(text)}
        words = [w.lower() for w in _MARK.split(text) if w and w.strip() and not _MARK.fullmatch(w)]
        if len(marks) == 1 and len(set(words)) == len(words) >= 2:
            return words, marks.pop(), found.group(0)
    return None


def _split(text: Any, mark: str, count: int) -> Optional[List[str]]:
    if not isinstance(text, str):
        return None
    parts = text.split() if mark == " " else text.split(mark)
    return [p.strip() for p in parts] if len(parts) == count else None


def parts(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A column named after a word of the task's quoted pattern that holds another word's part."""
    found = pattern(task)
    if found is None:
        return None
    words, mark, quoted = found
    for name in execution.created + execution.changed:
        table = namespace.get(name)
        if not is_pandas(table, "DataFrame"):
            continue
        had = (execution.before.get(name) or {}).get("columns", {})  # a column it had is not the code's split
        named = {c: words.index(c.lower()) for c in columns(table) if c.lower() in words and c not in had}
        if not named:
            continue
        # the text split: a column of this table, or of a table the code read (`split = places['where']
        # .str.split(...)`: the same rows, by label)
        inputs = [namespace.get(n) for n in execution.before if n != name]
        sources = [(c, s) for t in [table] + [t for t in inputs if is_pandas(t, "DataFrame")]
                   for c, s in columns(t).items() if c not in named and s.dtype.kind == "O"]
        for source, values in sources:
            rows = [(i, _split(v, mark, len(words))) for i, v in values.head(_ROWS).items()]
            rows = [(i, p) for i, p in rows if p and i in table.index]
            if len(rows) < max(2, len(values.head(_ROWS).dropna()) // 2):
                continue  # not this column: most of its values are not written in the pattern
            for column, place in named.items():
                held = [(i, p, str(table.at[i, column]).strip()) for i, p in rows]
                other = [(i, p, v) for i, p, v in held if v != p[place] and v in p]
                if len(other) * 2 > len(held):
                    i, p, v = other[0]
                    at = p.index(v)
                    return (f"column `{column}` of `{name}` holds {v!r} for {values.at[i]!r}, but the task says "
                            f"`{source}` is written {quoted}: that is the {words[at]!r} part. "
                            f"`{column}` is part {place + 1} of {len(words)} (split at {mark!r}, index [{place}]).")
    return None

