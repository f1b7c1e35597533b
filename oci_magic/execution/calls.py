"""Calling a function generated code defined, to see what it does: on copies of the arguments,
within a time limit, its printing kept off the screen; never raises for what the function does."""
from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .executor import _evalue, is_cell, notebook_frames
from .timeout import ExecutionTimeout, time_limit



@dataclass(frozen=True)
class Raised:
    """A probe call that raised or ran out of time (a value no function returns by accident)."""

    error: str  # the exception's name, "TimeoutError" for a call the clock cut


@dataclass(frozen=True)
class Call:
    ok: bool
    value: Any = None
    error: str = ""  # "ValueError: ..." when it raised
    frames: Sequence[str] = ()  # the generated code's frames of that error


def call(function: Callable, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None,
         seconds: float = 5.0) -> Call:
    """``function(*args, **kwargs)`` on deep copies (a function that changes its argument must not
    change the user's data). ■ still stops the run: only the function's own errors are caught."""
    try:
        args, kwargs = copy.deepcopy(list(args)), copy.deepcopy(dict(kwargs or {}))
    except Exception:  # an argument that cannot be copied is not called with
        return Call(True)
    try:
        with contextlib.redirect_stdout(io.StringIO()), time_limit(seconds, is_cell):
            return Call(True, function(*args, **kwargs))
    except ExecutionTimeout:
        return Call(False, error=f"TimeoutError: it did not return within {seconds:g} s")
    except Exception as error:
        return Call(False, error=f"{type(error).__name__}: {_evalue(error)}", frames=notebook_frames(error, short=True))


def probe(namespace: Mapping[str, Any], probes: Mapping[str, Sequence[Tuple[tuple, dict]]], sigint,
          seconds: float) -> Dict[str, List[Any]]:
    """What each function of ``namespace`` named in ``probes`` returned on each of its calls (on
    deep copies of the arguments), or Raised(error name) -- SystemExit included: what a function
    does with an input is its behaviour. The calls share one clock of ``seconds``; those it did not
    reach count as timed out. A real ■ (``sigint`` saw it) goes through. The caller provides the
    guards (no exits, memory limit, output kept off the screen)."""
    found: Dict[str, List[Any]] = {}
    calls = [(name, args, kwargs) for name, made in probes.items() if callable(namespace.get(name)) for args, kwargs in made]

    def rest(why: str) -> None:
        for name, _, _ in calls[sum(map(len, found.values())):]:
            found.setdefault(name, []).append(Raised(why))

    try:
        with time_limit(seconds, is_cell):
            for name, args, kwargs in calls:
                try:
                    value = namespace[name](*copy.deepcopy(args), **copy.deepcopy(kwargs))
                except KeyboardInterrupt:
                    raise
                except BaseException as error:
                    value = Raised(type(error).__name__)
                found.setdefault(name, []).append(value)
    except ExecutionTimeout:
        if sigint.received:
            raise
        rest("TimeoutError")
    except KeyboardInterrupt:  # the code raised it
        if sigint.received or not sigint.available:
            raise
        rest("KeyboardInterrupt")
    return found
