"""Inputs to call the candidates' functions on, so that candidates which define a function are
compared by what the function does, not by its name.

A candidate that only defines ``slugify`` leaves one name behind whose value is a function; every
candidate's is "a function", so selection by execution agreement (:mod:`.select`) would see them
all agree. Called on the same inputs, two functions that return the same values agree, and the
biggest group of those is the vote (MBR-exec, Shi et al. 2022; CodeT). The inputs come from the
task: its examples' arguments (``f('x') -> 'y'``, ``>>> f(x)``), then each argument varied in
kind-preserving ways (a number one larger, a string reversed or with its last number moved by one,
a list reversed or a shorter one),
since candidates that all pass the stated example agree on it by construction. An input that most
candidates' functions reject is dropped from the comparison (:func:`answered`): it is more likely
outside what the task allows than a sign of which answer is right.
"""
from __future__ import annotations

import ast
import re
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

from ..execution.calls import Raised
from .exercise import examples

Call = Tuple[tuple, dict]
MAX_PROBES = 10  # per function: the examples' own inputs first


def defined(code: str) -> List[str]:
    """The top-level functions ``code`` defines."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def inputs(task: str, codes: Iterable[str]) -> Dict[str, List[Call]]:
    """Function name -> the calls to compare candidates by, for each function a candidate defines
    and the task gives an example of. Pure: the same task and codes give the same calls."""
    found: Dict[str, List[Call]] = {}
    names = dict.fromkeys(n for code in codes if code for n in defined(code))
    for name in names:  # examples() finds only calls the task writes out
        stated = [(args, kwargs) for _, args, kwargs, _ in examples(task, name)]
        calls = list(stated)
        for args, kwargs in stated:
            for i, value in enumerate(args):
                calls += [(args[:i] + (v,) + args[i + 1:], kwargs) for v in variants(value)]
        unique: Dict[str, Call] = {}
        for call in calls:
            unique.setdefault(repr(call), call)
        if unique:
            found[name] = list(unique.values())[:MAX_PROBES]
    return found


def variants(value: Any) -> List[Any]:
    """The same kind of value, changed: what a right answer and a wrong one may disagree on."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [value + 1, value + 3] if value >= 0 else [value - 1, -value]
    if isinstance(value, float):
        return [value + 1.5, value * 2]
    if isinstance(value, str):
        out = [value[::-1], value + value[:3]] + _numbers_moved(value)
        return [v for v in out if v != value and len(v) <= 200]
    if isinstance(value, (list, tuple)):
        kind = type(value)
        out = [kind(reversed(value)), kind(value[1:]) if len(value) > 1 else None,
               kind(list(value) + list(value[:1])) if value else None]
        return [v for v in out if v is not None and v != value and len(v) <= 200]
    return []


def _numbers_moved(text: str) -> List[str]:
    """The text with its last run of digits one smaller and one larger, width kept ('2024-02-30'
    -> '2024-02-29', '2024-02-31'; '1h 30m' -> '1h 29m', '1h 31m'): dates, durations, amounts and
    codes written in text are where parsers go wrong at the edges."""
    runs = list(re.finditer(r"\d+", text))
    if not runs:
        return []
    last = runs[-1]
    digits, out = last.group(), []
    for step in (-1, 1):
        number = int(digits) + step
        if number >= 0:
            out.append(text[:last.start()] + str(number).zfill(len(digits)) + text[last.end():])
    return out


def answered(behaviours: Sequence[Mapping[str, Sequence[Any]]]) -> Dict[str, List[int]]:
    """Function name -> the positions of its calls to compare by: those that most candidates
    defining it answered with a value. An input that half of them or more reject is likelier
    outside what the task allows than a sign of which answer is right; one that a single
    candidate rejects (raises, never returns) is a difference in behaviour like any other."""
    kept: Dict[str, List[int]] = {}
    for name in sorted(set().union(*behaviours) if behaviours else ()):
        rows = [b[name] for b in behaviours if name in b]
        width = min(len(r) for r in rows)
        kept[name] = [j for j in range(width) if 2 * sum(isinstance(r[j], Raised) for r in rows) < len(rows)]
    return kept


def compared(behaviour: Mapping[str, Sequence[Any]], kept: Mapping[str, Sequence[int]]) -> tuple:
    """What one candidate's functions returned at the kept positions, as a hashable value (any
    error, or running out of time, as one outcome: "it did not return")."""
    return tuple((name, tuple(Raised("") if isinstance(behaviour[name][j], Raised) else behaviour[name][j] for j in positions)
                  if name in behaviour else None)
                 for name, positions in sorted(kept.items()))
