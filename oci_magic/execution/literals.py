"""Data written out in code: which assignments bind a name to literal data, and whether that data
is what the name held.

Small models copy a setup cell's source (``prices = pd.DataFrame({...})``) instead of using the
variable. Where the copy equals what the kernel held, the code still does the task; where the
data changed after its cell, or came from a file, the code works on other data than the user's.
Telling the two apart takes the copy's own value -- not what the name holds when the code ends,
which an in-place task changes either way (fill the missing ages of a rebuilt, equal table).
"""
from __future__ import annotations

import ast
import builtins
import types
from typing import Callable, List, Mapping, Optional

from .rollback import fingerprint

_BUILDERS = {"DataFrame", "Series", "array", "dict", "list"}
_LIBRARIES = {"pandas", "numpy"}  # whose constructors a copy may call
_UNKNOWN = object()


def literal(value: ast.AST) -> bool:
    """Data written out: a container of constants, or a DataFrame/Series/array/dict/list of them."""
    if isinstance(value, (ast.Dict, ast.List, ast.Tuple, ast.Set)):
        return all(isinstance(n, (ast.Constant, ast.Dict, ast.List, ast.Tuple, ast.Set, ast.Load, ast.UnaryOp,
                                  ast.USub, ast.expr_context)) for n in ast.walk(value)) and len(list(ast.walk(value))) > 3
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        return name in _BUILDERS and bool(value.args or value.keywords) and all(
            literal(a) for a in list(value.args) + [k.value for k in value.keywords if k.arg in (None, "data")])
    return False


def assignments(code: str, existing: Callable[[str], bool]) -> List[tuple]:
    """(name, value node) of each top-level ``name = <data written out>`` for a name ``existing``."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    return [(t.id, node.value) for node in tree.body if isinstance(node, ast.Assign) and literal(node.value)
            for t in node.targets if isinstance(t, ast.Name) and existing(t.id)]


def _allowed(value: object) -> bool:
    """What a copy's constructor may be: dict, list, or pandas'/numpy's (a module or a name of theirs)."""
    if value is dict or value is list:
        return True
    if isinstance(value, types.ModuleType):
        return value.__name__.split(".")[0] in _LIBRARIES
    return (getattr(value, "__module__", None) or "").split(".")[0] in _LIBRARIES


def value(node: ast.expr, namespace: Mapping[str, object]) -> object:
    """The value of data written out (``literal(node)``), built with the constructors the namespace
    names; _UNKNOWN where one is anything else or building it fails."""
    scope = {}
    for name in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
        found = namespace.get(name, getattr(builtins, name, _UNKNOWN))
        if not _allowed(found):
            return _UNKNOWN
        scope[name] = found
    try:
        return eval(compile(ast.Expression(node), "<data written out>", "eval"), {"__builtins__": {}}, scope)
    except Exception:  # a constructor that refuses this data: not judged
        return _UNKNOWN


def rewritten(code: str, namespace: Mapping[str, object], before: Mapping[str, Optional[int]]) -> List[str]:
    """The names the code binds to data written out that is not what they held: ``before`` holds
    their fingerprints as the code started (None: not judged)."""
    found = []
    for name, node in assignments(code, lambda n: before.get(n) is not None):
        made = value(node, namespace)
        mark = None if made is _UNKNOWN else fingerprint(made)
        if mark is not None and mark != before[name]:
            found.append(name)
    return list(dict.fromkeys(found))
