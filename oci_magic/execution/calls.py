"""Calling a function generated code defined, to see what it does: on copies of the arguments,
within a time limit, its printing kept off the screen; never raises for what the function does."""
from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from .executor import _evalue, is_cell, notebook_frames
from .timeout import ExecutionTimeout, time_limit


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
