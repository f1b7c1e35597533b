"""Data a reply reads again: a line that loads a name the notebook already holds from a file
that is not there (``orders = pd.read_csv('orders.csv')`` with ``orders`` in memory) is left out,
as a comment, before the code runs.

Why: small models write notebook code as scripts are written, loading their data first. Such a
line can only raise (the file is not there, and nothing in the code writes it), and a model shown
the FileNotFoundError -- with a note that the data is in ``orders`` -- often writes it again:
Qwen2.5-Coder-0.5B did so in every round of the tasks where it started so (``oci bench notebooks``,
fresh kernels and one session). Commented out, the rest of the code works on the variable the
task named. The line stays where it was, so tracebacks keep their line numbers.
"""
from __future__ import annotations

import ast
import os
from typing import Container, Optional, Tuple

# pandas' and numpy's loaders (pd.read_csv, np.loadtxt ...) and the json module's
_READERS = {"read_csv", "read_table", "read_json", "read_excel", "read_parquet", "read_feather", "read_pickle",
            "read_fwf", "loadtxt", "genfromtxt", "load"}


def leave_out_rereads(code: str, names: Optional[Container[str]]) -> Tuple[str, Tuple[str, ...]]:
    """``code`` with each such line commented out, and those lines as the model wrote them."""
    if names is None:
        return code, ()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code, ()
    lines = code.split("\n")
    left_out = []
    for node in tree.body:
        path = _reads(node)
        if path is None or node.targets[0].id not in names or code.count(path) > 1 or os.path.exists(path):
            continue  # a path the code names twice may be written first: then the read works
        first, last = node.lineno - 1, node.end_lineno - 1
        if any(other is not node and other.lineno - 1 <= last and other.end_lineno - 1 >= first for other in tree.body):
            continue  # shares a line with other code (a = ...; b = ...)
        left_out.append("\n".join(lines[first:last + 1]))
        note = f"  # left out: `{node.targets[0].id}` is in memory and there is no file {path!r}"
        lines[first:last + 1] = ["# " + line for line in lines[first:last + 1]]
        lines[last] += note
    return ("\n".join(lines), tuple(left_out)) if left_out else (code, ())


def _reads(node: ast.stmt) -> Optional[str]:
    """The path of ``name = reader('path', ...)``, a statement of its own, or None."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return None
    call = node.value
    if not isinstance(call, ast.Call) or not call.args:
        return None
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    first = call.args[0]
    if name not in _READERS or not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    path = first.value
    return path if path and "\n" not in path and not path.lstrip().startswith(("{", "[")) else None
