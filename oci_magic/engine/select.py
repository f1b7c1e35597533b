"""Choosing among a round's candidates by what they did (selection by execution agreement).

Each candidate that ran in its trial and passed the round's checks gets a signature of what it
did: the values of the names it created or changed (tables by content, floats to 9 significant
digits), what it printed or showed, the data of the figures it drew. Candidates with the same
signature agree; the biggest group wins, a tie goes to the group of the earliest candidate (the
first is sampled at the run's own temperature). Without one that passed, the same among those
that ran but missed a check; without one that ran, the error most of them hit is the feedback.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

_FLOAT = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")
DIGITS = 9


def _number(x: float) -> Any:
    if math.isnan(x) or math.isinf(x):
        return repr(x)
    return float(f"{x:.{DIGITS}g}")


def canon(value: Any, depth: int = 0) -> Any:
    """A hashable stand-in for ``value`` that equal results share."""
    if depth > 4:
        return type(value).__name__
    if isinstance(value, bool) or value is None or isinstance(value, (int, str, bytes)):
        return value
    if isinstance(value, float):
        return _number(value)
    module = type(value).__module__.split(".")[0]
    try:
        if module == "pandas" and hasattr(value, "shape"):
            frame = value.to_frame() if hasattr(value, "to_frame") and getattr(value, "ndim", 2) == 1 else value
            cells = tuple(tuple(canon(v, depth + 1) for v in row) for row in frame.itertuples(index=False, name=None))
            return ("table", tuple(map(str, frame.columns)), tuple(canon(i, depth + 1) for i in frame.index), cells)
        if module == "numpy":
            if getattr(value, "ndim", 0) == 0:
                return canon(value.item(), depth)
            return ("array", value.shape, tuple(canon(v, depth + 1) for v in value.ravel().tolist()))
    except Exception:
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canon(v, depth + 1) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(map(repr, value))))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), canon(v, depth + 1)) for k, v in value.items())))
    if callable(value):
        return ("callable", getattr(value, "__qualname__", type(value).__name__))
    return (type(value).__name__, repr(value)[:200])


def signature(trial, names: Sequence[str], kept: Optional[Dict[str, List[int]]] = None) -> tuple:
    """What a trial did, as a value equal trials share: the values of ``names`` (the results the
    candidates have in common: a loop variable or a helper of one does not make it differ), what
    it printed and showed last, its figures, the files it wrote, and what its functions returned
    on the probe calls at the ``kept`` positions (:mod:`.probes`)."""
    from ..execution.trials import RESULT
    from .probes import compared

    values = tuple((n, canon(trial.namespace.get(n))) for n in names)
    behaviour = {n: [_numbers(v) if isinstance(v, str) else canon(v) for v in row] for n, row in trial.behaviour.items()}
    # a function compared by what it returns is the answer; the calls a candidate prints or shows
    # to try it out are not (one prints its example, another two, a third none: the same function)
    tried = any(kept and kept.get(n) for n in behaviour)
    printed = "" if tried else _numbers(" ".join(trial.printed.split()))
    shown = None if tried else canon(trial.namespace.get(RESULT))
    return (values, printed, shown, canon(trial.figures), tuple(sorted(trial.execution.wrote)), compared(behaviour, kept or {}))


def _numbers(text: str) -> str:
    """Floats in printed text (and in the repr a subprocess reports) to DIGITS significant digits."""
    return _FLOAT.sub(lambda m: repr(_number(float(m.group()))), text)


def results(trials: Sequence, asked: Sequence[str]) -> List[str]:
    """The names to compare trials by: the user's names any of them changed (a side effect is a
    difference), and those the task asks for that they made -- or, where it names none, the
    names every one of them created."""
    changed = set().union(*(t.execution.changed for t in trials)) if trials else set()
    made = [set(t.execution.created) | set(t.execution.changed) for t in trials]
    named = {n for n in asked if any(n in m for m in made)}
    if not named and made:
        named = set.intersection(*made)
    return sorted(named | changed)


def groups(signatures: Dict[int, tuple]) -> Dict[int, int]:
    """candidate index -> group number (groups numbered by their earliest candidate)."""
    first: Dict[tuple, int] = {}
    found = {}
    for index in sorted(signatures):
        found[index] = first.setdefault(signatures[index], len(first))
    return found


def winner(found: Dict[int, int]) -> Tuple[Optional[int], int]:
    """(the earliest candidate of the biggest group, its size); (None, 0) for none."""
    if not found:
        return None, 0
    sizes = Counter(found.values())
    best = max(sizes.values())
    group = min(g for g, n in sizes.items() if n == best)  # groups are numbered earliest first
    return min(i for i, g in found.items() if g == group), best


def common_error(errors: Dict[int, str]) -> Optional[int]:
    """The earliest candidate with the error most of them hit."""
    if not errors:
        return None
    counts = Counter(errors.values())
    best = max(counts.values())
    return min(i for i, e in errors.items() if counts[e] == best)
