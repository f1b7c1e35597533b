"""One-line descriptions of values, cheap and bounded: for the model's view of variables, and for
the facts fed back when code fails.

Only a few well-known types are ever ``repr``-ed (numbers, short strings, small builtin
containers, item by item); everything else is described from its type and a few attributes
(``shape``, ``dtype``, ``columns``) and, where ``samples`` asks, its first few values -- which
show the model that ``price`` holds ``'$1,200'`` strings, not numbers. A 10-million-row DataFrame
costs about what an int costs, and a user object's slow or side-effecting ``__repr__`` is never
called."""
from __future__ import annotations

import datetime
import decimal
import fractions
import inspect
import itertools
import pathlib
import types
from typing import Any, Iterable, Optional

MAX_STR = 60
MAX_ITEMS = 4
MAX_COLUMNS = 24
_SCALARS = (bool, int, float, complex, decimal.Decimal, fractions.Fraction, datetime.date, datetime.datetime,
            datetime.time, datetime.timedelta, pathlib.PurePath, type(None))
_CONTAINERS = (list, tuple, set, frozenset, dict)


def short(text: str, limit: int = MAX_STR) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module.split('.')[0]}.{cls.__qualname__}"


def _scalar(value: Any) -> Optional[str]:
    if isinstance(value, _SCALARS):
        text = repr(value)
        return short(text, 40) if not isinstance(value, int) or len(text) < 40 else f"<int of {len(text)} digits>"
    if isinstance(value, str):
        return repr(short(value)) + (f" (len {len(value)})" if len(value) > MAX_STR else "")
    if isinstance(value, (bytes, bytearray)):
        return f"{type(value).__name__} len={len(value)}"
    return None


def _items(values: Iterable[Any]) -> str:
    shown = [(_scalar(v) or _type_name(v)) for v in itertools.islice(values, MAX_ITEMS)]
    return ", ".join(shown)


def _container(value: Any) -> str:
    n = len(value)
    kind = type(value).__name__
    if isinstance(value, dict):
        keys = _items(value.keys())
        return f"{kind} len={n} keys: {keys}{', …' if n > MAX_ITEMS else ''}"
    if isinstance(value, (set, frozenset)):
        return f"{kind} len={n}"  # no ordering to show cheaply
    return f"{kind} len={n} [{_items(value)}{', …' if n > MAX_ITEMS else ''}]"


def _samples(values: Iterable[Any], n: int) -> str:
    shown = [_scalar(v) or _type_name(v) for v in (_plain(v) for v in itertools.islice(values, n))]
    return f" e.g. {', '.join(shown)}" if shown else ""


def _plain(value: Any) -> Any:
    """numpy's scalars as Python's (``1.5``, not ``numpy.float64``)."""
    item = getattr(value, "item", None)
    return item() if item is not None and type(value).__module__ == "numpy" else value


def _frame_like(value: Any, samples: int = 0) -> Optional[str]:
    """pandas DataFrame / Series, numpy / torch / jax arrays, by duck typing (no imports)."""
    cls = type(value)
    module = cls.__module__.split(".")[0]
    if module == "pandas" and cls.__name__ == "DataFrame":
        columns = list(itertools.islice(value.columns, MAX_COLUMNS))
        dtypes = value.dtypes
        head = value.head(samples) if samples else None
        cols = (", " if head is None else "; ").join(
            f"{c} ({dtypes.iloc[i]})" + ("" if head is None else _samples(head.iloc[:, i], samples))
            for i, c in enumerate(columns))
        more = f", … {value.shape[1] - len(columns)} more" if value.shape[1] > len(columns) else ""
        return f"pandas.DataFrame shape={value.shape} columns: {cols}{more}"
    if module == "pandas" and cls.__name__ == "Series":
        return (f"pandas.Series len={len(value)} dtype={value.dtype} name={value.name!r}"
                + (_samples(value.head(samples), samples) if samples else ""))
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if isinstance(shape, tuple) and dtype is not None and not isinstance(value, type):
        flat = getattr(value, "flat", None) if samples and module == "numpy" else None
        return f"{_type_name(value)} shape={shape} dtype={dtype}" + (_samples(flat, samples) if flat is not None else "")
    return None


def _callable(value: Any) -> Optional[str]:
    if isinstance(value, type):
        return f"class {value.__qualname__}" if value.__module__ == "__main__" else f"class {value.__module__}.{value.__qualname__}"
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        try:
            signature = str(inspect.signature(value))
        except (TypeError, ValueError):
            signature = "(...)"
        return f"function {value.__name__}{short(signature, 120)}"
    return None


def summarize(value: Any, samples: int = 0) -> str:
    """A one-line description of ``value``, with its first ``samples`` values where it is a table
    or an array; never raises."""
    try:
        return (_scalar(value) or _frame_like(value, samples) or _callable(value)
                or (_container(value) if type(value) in _CONTAINERS else None)
                or _type_name(value))
    except Exception:  # a property that raises must not break the prompt
        return _type_name(value)


def separator(header: str) -> Optional[str]:
    """The separator a one-column table's name still holds (``'station;temp;rain'`` -> ``';'``):
    a file read with the wrong one; None for a name that is one field."""
    for sep in (";", "\t", "|", ","):
        fields = [f.strip() for f in header.split(sep)]
        if len(fields) > 1 and all(0 < len(f) <= 40 for f in fields):
            return sep
    return None


UNSPLIT = "the fields were not split"  # how the advice is found among an error's facts


def unsplit_advice(name: str, header: str, sep: str) -> str:
    decimal = " (and decimal=',' if its numbers are written like 12,5)" if sep == ";" else ""
    return (f"{name} has one column, {header!r}: {UNSPLIT}. The data is separated by {sep!r}: "
            f"read it with sep={sep!r}{decimal}.")
