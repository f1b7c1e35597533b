"""Undo what a failed round did to the user's top-level names.

Before generated code runs we keep the bindings of the user's names (name -> object, a shallow dict
copy: cheap, whatever the size of the objects). When the round fails, times out or is interrupted,
names it rebound or deleted get their old objects back and names it created are removed.

What this cannot undo: changes *inside* objects (``df.drop(..., inplace=True)``, ``lst.append``),
files, and other side effects. ``--isolate`` narrows the first gap: the names the code mentions are
replaced by deep copies before it runs (when they are small enough to copy quickly), so in-place
changes land on the copies; a failed round then puts the untouched originals back, a successful one
keeps the changed copies, as if the code had run on the originals, and the originals of the
copies it only read.
"""
from __future__ import annotations

import ast
import copy
import gc
import re
import sys
import types
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, MutableMapping, Optional, Set, Tuple

# IPython's own bookkeeping in the user namespace: output/input history and ``_``, ``__``, ``___``.
_HISTORY = re.compile(r"^(_+|_i+|_i?\d+|_oh|_ih|_dh)$")
_NOT_DATA = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
_MAX_OBJECTS = 200_000  # a size walk stops here: an object graph this big is not "small"


def tracked(name: str, namespace: Mapping[str, object], hidden: Mapping[str, object]) -> bool:
    """A name of the user's, not IPython's (history, In/Out, exit, get_ipython) or a dunder."""
    if _HISTORY.match(name) or (name.startswith("__") and name.endswith("__")):
        return False
    return not (name in hidden and hidden[name] is namespace.get(name))


@dataclass
class Snapshot:
    bindings: Dict[str, object]
    copies: Dict[str, object] = field(default_factory=dict)  # name -> the copy --isolate put there

    def restore(self, namespace: MutableMapping[str, object], hidden: Mapping[str, object]) -> Tuple[List[str], List[str]]:
        """Put the old bindings back; return (restored, removed) names, sorted."""
        restored, removed = [], []
        for name in [n for n in namespace if n not in self.bindings and tracked(n, namespace, hidden)]:
            if name in hidden:  # IPython's own (In, Out, exit, get_ipython) rebound by the code
                namespace[name] = hidden[name]
                restored.append(name)
            else:
                del namespace[name]
                removed.append(name)
        for name, old in self.bindings.items():
            current = namespace.get(name, _MISSING)
            if current is old:
                continue
            namespace[name] = old
            if name not in self.copies or current is not self.copies[name]:  # only isolated: not news
                restored.append(name)
        return sorted(restored), sorted(removed)


    def changes(self, namespace: Mapping[str, object], hidden: Mapping[str, object],
                before: Mapping[str, Optional[int]]) -> Tuple[List[str], List[str], List[str]]:
        """After a round that worked: (names it created, existing names it rebound or changed in
        place, names in ``before`` known to be the same). ``before``: fingerprints of the names
        the code used; in-place changes are seen for those."""
        created = sorted(n for n in namespace if n not in self.bindings and tracked(n, namespace, hidden))
        changed, same = [], []
        for name in self.bindings:
            if self.rebound(namespace, name):
                changed.append(name)
            elif name in before and before[name] is not None:
                (changed if fingerprint(namespace.get(name, _MISSING)) != before[name] else same).append(name)
        return created, sorted(changed), sorted(same)

    def rebound(self, namespace: Mapping[str, object], name: str) -> bool:
        """Whether the code bound (or deleted) ``name``, an existing name: it holds neither the old
        object nor the copy ``--isolate`` put there."""
        current = namespace.get(name, _MISSING)
        return name in self.bindings and current is not self.bindings[name] and current is not self.copies.get(name)


_MISSING = object()
_FINGERPRINT_ROWS = 200_000  # beyond this, hashing a table each round costs too much to judge it


def fingerprint(value: object) -> Optional[int]:
    """A hash of a small table's, array's or builtin container's contents, to see an in-place
    change; None where it would be slow or cannot be computed (then nothing is judged)."""
    try:
        module = type(value).__module__.split(".")[0]
        if module == "pandas" and hasattr(value, "shape"):
            if len(value) > _FINGERPRINT_ROWS:
                return None
            import pandas  # already loaded: the value is a pandas object

            labels = tuple(map(str, getattr(value, "columns", [getattr(value, "name", None)])))
            kinds = str(getattr(value, "dtypes", getattr(value, "dtype", "")))
            rows = pandas.util.hash_pandas_object(value, index=True).to_numpy()  # in order: a sort is a change
            return hash((value.shape, labels, kinds, rows.tobytes()))
        if module == "numpy" and hasattr(value, "tobytes"):
            return hash((value.shape, str(value.dtype), value.tobytes())) if value.nbytes <= 50 * 2**20 else None
        if isinstance(value, (list, tuple, dict, set)) and len(value) <= 100_000:
            return hash(repr(value))
    except Exception:  # unhashable cells, a broken __repr__: no judgement
        return None
    return None


PROFILE_SAMPLES = 3


def profile(value: object) -> Optional[dict]:
    """A small table's shape before code runs: its rows, and per column how many values are set
    and the first few, to tell afterwards what the code did to them (a column coerced to NaN, a
    merge that blanked one); None for anything else or anything too big."""
    try:
        cls = type(value)
        if cls.__module__.split(".")[0] != "pandas" or cls.__name__ not in ("DataFrame", "Series"):
            return None
        if len(value) > _FINGERPRINT_ROWS:
            return None
        frame = value.to_frame() if cls.__name__ == "Series" else value
        columns = {}
        for name in list(frame.columns)[:50]:
            column = frame[name]
            if getattr(column, "ndim", 1) != 1:  # a duplicated column name
                continue
            set_ = column.dropna()
            first = set_.head(PROFILE_SAMPLES)
            # (values set, the first few of them, dtype, their row labels: to tell a value overwritten)
            columns[str(name)] = (int(len(set_)), [repr(v) for v in first.tolist()], str(column.dtype),
                                  first.index.tolist())
        return {"rows": int(len(frame)), "columns": columns}
    except Exception:  # a broken frame: nothing is judged
        return None


def snapshot(namespace: Mapping[str, object], hidden: Mapping[str, object]) -> Snapshot:
    return Snapshot({n: v for n, v in namespace.items() if tracked(n, namespace, hidden)})


def mentioned_names(code: str) -> Set[str]:
    """Names the code reads or writes at any depth (a superset of what it can touch by name)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def deep_size(obj: object, limit: int) -> Optional[int]:
    """Bytes reachable from ``obj`` (``sys.getsizeof`` summed over the object graph, which counts a
    DataFrame's or array's data too), or None once it passes ``limit``: then it is not small."""
    guess = _table_size(obj)
    if guess is not None and guess > limit:  # a big table is known big without a walk over its values
        return None
    total, seen, todo = 0, set(), [obj]
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, _NOT_DATA):
            continue
        seen.add(id(item))
        try:
            total += sys.getsizeof(item)
        except Exception:  # a broken __sizeof__ in user code
            return None
        if total > limit or len(seen) > _MAX_OBJECTS:
            return None
        todo.extend(gc.get_referents(item))
    return total


def _table_size(obj: object, sample: int = 1000) -> Optional[int]:
    """A pandas table's size from its buffers and a sample of its text values: milliseconds, where
    ``sys.getsizeof`` reads every string of every row (0.11 s a round at a million rows); None for
    anything else. Text columns are counted twice where their buffers already hold the text: an
    estimate that errs towards "big", which is used as it is."""
    try:
        if type(obj).__module__.split(".")[0] != "pandas" or type(obj).__name__ not in ("DataFrame", "Series"):
            return None
        frame = obj.to_frame() if type(obj).__name__ == "Series" else obj
        total = int(frame.memory_usage(index=True, deep=False).sum())
        rows = len(frame)
        for position, dtype in enumerate(frame.dtypes):
            if rows and (dtype.kind == "O" or str(dtype) in ("str", "string")):
                values = frame.iloc[::max(1, rows // sample), position].tolist()
                total += sum(sys.getsizeof(v) for v in values) * rows // len(values)
        return total
    except Exception:  # a frame pandas cannot measure: the walk decides
        return None


def keep_originals(snap: Snapshot, namespace: MutableMapping[str, object], same: Iterable[str]) -> List[str]:
    """After a round that worked, bind the originals again where the code only read the copies
    (their fingerprints are unchanged), so that isolation costs the user no identity: ``df is
    frame`` and the objects other things hold stay the user's. A copy that anything else refers to
    now (a new name, a list, the output history) is kept, as the code left it. Returns the names."""
    kept = []
    for name in same:
        duplicate = snap.copies.get(name)
        # four references: the namespace, snap.copies, `duplicate` and getrefcount's argument
        if duplicate is not None and namespace.get(name) is duplicate and sys.getrefcount(duplicate) <= 4:
            namespace[name] = snap.bindings[name]
            kept.append(name)
    return kept


def isolate(snap: Snapshot, namespace: MutableMapping[str, object], names: Iterable[str],
            limit: int) -> Tuple[List[str], List[str]]:
    """Replace the mentioned user names by deep copies (one memo, so names that shared an object
    still share its copy). Return (copied, left as they were: too big or not copyable)."""
    memo: dict = {}
    copied, left = [], []
    for name in sorted(set(names) & set(snap.bindings)):
        value = snap.bindings[name]
        if isinstance(value, _NOT_DATA):
            continue
        if deep_size(value, limit) is None:
            left.append(name)
            continue
        try:
            duplicate = copy.deepcopy(value, memo)
        except Exception:
            left.append(name)
            continue
        namespace[name] = snap.copies[name] = duplicate
        copied.append(name)
    return copied, left
