"""Imports a reply forgot: a well-known name the code uses (``np``, ``pd``, ``Counter``, ``List``)
that nothing binds -- not the code, not the notebook -- gets its import line, added to the code
before it runs, so the cell that is kept runs on its own after a restart too.

Why: a model that writes ``Counter(words)`` in a notebook that never imported it raises a
NameError, and a small one shown that error often writes the same code again (Qwen2.5-Coder-0.5B
repeated such code for two to four rounds in ``oci bench notebooks``); inside a function nobody
calls yet the name fails only later, in the user's next cell. For these names the import a person
would add is not in doubt. Where a name has two readings (``datetime`` the module or its class,
``time``, ``pprint``), the one that fits how the code uses the name wins: every attribute it
reads exists, and it is callable where the code calls it; where neither fits, nothing is added and
the error speaks as before.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
from typing import Container, Dict, Optional, Tuple

_MODULES = ("json re math os sys random statistics itertools functools collections string csv io copy heapq "
            "bisect operator textwrap glob pathlib calendar decimal fractions hashlib base64 uuid shutil tempfile "
            "zipfile gzip pickle pprint unicodedata difflib typing dataclasses enum warnings logging numpy pandas "
            "matplotlib seaborn scipy sklearn").split()
_MEMBERS = {
    "collections": "Counter defaultdict OrderedDict deque namedtuple ChainMap",
    "datetime": "date timedelta timezone",
    "functools": "reduce partial lru_cache wraps",
    "itertools": "chain groupby combinations permutations islice accumulate zip_longest",
    "pathlib": "Path",
    "io": "StringIO BytesIO",
    "decimal": "Decimal",
    "fractions": "Fraction",
    "dataclasses": "dataclass asdict",
    "enum": "Enum",
    "typing": "List Dict Tuple Set FrozenSet Optional Union Any Callable Iterable Iterator Sequence Mapping "
              "Generator TypedDict Literal",
}

# match statements' captures (Python 3.10+)
_CAPTURES = tuple(getattr(ast, kind) for kind in ("MatchAs", "MatchStar") if hasattr(ast, kind))
_MAPPINGS = tuple(getattr(ast, kind) for kind in ("MatchMapping",) if hasattr(ast, kind))

# name -> the import lines that could bind it, in the order they are tried
KNOWN: Dict[str, Tuple[str, ...]] = {name: (f"import {name}",) for name in _MODULES}
KNOWN.update({member: (f"from {module} import {member}",) for module, members in _MEMBERS.items()
              for member in members.split()})
KNOWN.update({
    "np": ("import numpy as np",),
    "pd": ("import pandas as pd",),
    "plt": ("import matplotlib.pyplot as plt",),
    "mpl": ("import matplotlib as mpl",),
    "sns": ("import seaborn as sns",),
    "datetime": ("import datetime", "from datetime import datetime"),
    "time": ("import time", "from datetime import time"),
    "pprint": ("import pprint", "from pprint import pprint"),
})


# a conventional alias -> its import ("import numpy as np")
_ALIASES = {name: lines[0] for name, lines in KNOWN.items() if lines[0].endswith(f" as {name}")}


def add_imports(code: str, defined: Optional[Container[str]]) -> Tuple[str, Tuple[str, ...]]:
    """``code`` with the imports it lacks put after its leading imports (or first), and those
    lines. ``defined``: the names the code will find (the notebook's); None where that is not
    known -- then nothing is added, as for code that does not parse or imports ``*``."""
    if defined is None:
        return code, ()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):  # IPython syntax (%magic, !cmd) or broken code: left as it is
        return code, ()
    code, rewritten = _aliases_as_modules(code, tree)
    if rewritten:
        tree = ast.parse(code)
    bound = _bound(tree)
    if bound is None:
        return code, ()
    uses = _uses(tree)
    added = []
    for name in sorted(uses, key=lambda n: uses[n][0]):
        if name in bound or name in defined or name not in KNOWN:
            continue
        line = next((option for option in KNOWN[name] if _fits(option, uses[name][1], uses[name][2])), None)
        if line is not None:
            added.append(line)
    lines = tuple(rewritten + added)
    if not added:
        return code, lines
    after = 0  # the line after the code's own leading imports
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            break
        after = node.end_lineno or after
    source = code.split("\n")
    return "\n".join(source[:after] + added + source[after:]), lines


def _aliases_as_modules(code: str, tree: ast.AST) -> Tuple[str, list]:
    """``import io, np, pd`` -> ``import io; import numpy as np; import pandas as pd``, on the
    same line (tracebacks keep their line numbers). A notebook's prompt lists its modules by the
    names they go by (``np (numpy)``); Qwen2.5-Coder-0.5B copied that list into an import line in
    one long session (3 to 5 of the suite's 66 tasks a run) and every later try failed with "No
    module named 'np'". Only for a name no installed module has."""
    source, lines = code.split("\n"), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import) or node.lineno != node.end_lineno:
            continue
        wrong = [a.name for a in node.names if a.asname is None and a.name in _ALIASES and not _installed(a.name)]
        text = source[node.lineno - 1]
        if not wrong or text[node.end_col_offset:].strip().split("#")[0].strip() or text[:node.col_offset].strip():
            continue  # only a statement alone on its line is rewritten
        kept = [a for a in node.names if a.name not in wrong]
        parts = ([f"import {', '.join(a.name + (f' as {a.asname}' if a.asname else '') for a in kept)}"] if kept else []) + \
            [_ALIASES[name] for name in wrong]
        source[node.lineno - 1] = text[:node.col_offset] + "; ".join(parts) + text[node.end_col_offset:]
        lines += [f"{_ALIASES[name]}  # in place of import {name}" for name in wrong]
    return "\n".join(source), lines


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _bound(tree: ast.AST) -> Optional[set]:
    """Every name the code binds anywhere (any scope: a name bound somewhere is left alone), or
    None when it imports ``*`` and could bind anything."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, _CAPTURES) and getattr(node, "name", None):
            names.add(node.name)
        elif isinstance(node, _MAPPINGS) and node.rest:
            names.add(node.rest)
    return names


def _uses(tree: ast.AST) -> Dict[str, Tuple[int, set, bool]]:
    """name -> (first line it is read on, attributes read off it, whether it is called)."""
    uses: Dict[str, Tuple[int, set, bool]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            line, attributes, called = uses.get(node.id, (node.lineno, set(), False))
            uses[node.id] = (min(line, node.lineno), attributes, called)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in uses:
            uses[node.value.id][1].add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in uses:
            line, attributes, _ = uses[node.func.id]
            uses[node.func.id] = (line, attributes, True)
    return uses


def _fits(line: str, attributes: set, called: bool) -> bool:
    """The object ``line`` binds exists here, has every attribute the code reads off it, and
    can be called if the code calls it."""
    statement = ast.parse(line).body[0]
    if isinstance(statement, ast.ImportFrom):
        module, member = statement.module or "", statement.names[0].name
    else:
        module, member = statement.names[0].name, None
    try:
        if importlib.util.find_spec(module.split(".")[0]) is None:
            return False
        found = importlib.import_module(module)
        if member is not None:
            found = getattr(found, member)
    except Exception:  # noqa: BLE001 -- a module that fails to import is as good as absent
        return False
    return all(hasattr(found, a) for a in attributes) and (callable(found) or not called)

