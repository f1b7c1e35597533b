"""Data a reply reads again: a line that loads a name the notebook already holds from a file
that is not there (``orders = pd.read_csv('orders.csv')`` with ``orders`` in memory) is left out,
as a comment, before the code runs.

Why: small models write notebook code as scripts are written, loading their data first. Such a
line can only raise (the file is not there, and nothing in the code writes it), and a model shown
the FileNotFoundError -- with a note that the data is in ``orders`` -- often writes it again:
Qwen2.5-Coder-0.5B did so in every round of the tasks where it started so (``oci bench notebooks``,
fresh kernels and one session). Commented out, the rest of the code works on the variable the
task named. The line stays where it was, so tracebacks keep their line numbers.

The same holds for data typed in again (``copies``): ``games = pd.DataFrame({...})`` where the
notebook holds ``games`` and the task names it as its input. Small models copy a setup cell's
literals into their answer, or invent data; in a fresh kernel the copy equals the data, but in a
notebook the data came from a file, or changed after the cell that made it, or an earlier ``%%oci``
changed it -- and the copy silently computes the answer from what the data was (``signal-vs-ma3``:
the 0.5B re-created ``stock`` without the ``ma3`` column the task before had added). A name the
task asks to make (``targets``, ``kinds``), a parameter of the function it asks for, or a name it
never names is not touched: a demo input of a function (``text = 'Hello World'``) stays.
"""
from __future__ import annotations

import ast
import os
import re
from typing import Container, FrozenSet, Optional, Tuple

from ..execution.literals import literal
from .checks import parameters, targets
from .prompting.names import task_names
from .kinds import kinds

# pandas' and numpy's loaders (pd.read_csv, np.loadtxt ...) and the json module's
_READERS = {"read_csv", "read_table", "read_json", "read_excel", "read_parquet", "read_feather", "read_pickle",
            "read_fwf", "loadtxt", "genfromtxt", "load"}


def leave_out_rereads(code: str, names: Optional[Container[str]], task: Optional[str] = None, files: bool = True
                      ) -> Tuple[str, Tuple[str, ...]]:
    """``code`` with each such line commented out (``files``), and those lines as the model wrote
    them. With ``task``, also each line that types in again the data of a name the task reads."""
    if names is None:
        return code, ()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code, ()
    inputs = _inputs(task, code) if task else frozenset()
    lines = code.split("\n")
    left_out = []
    for node in tree.body:
        path, name = _reads(node), _copied(node, inputs)
        # a path the code names twice may be written first: then the read works
        if files and path is not None and node.targets[0].id in names and code.count(path) == 1 and not os.path.exists(path):
            note = f"  # left out: `{node.targets[0].id}` is in memory and there is no file {path!r}"
        elif name is not None and name in names:
            note = f"  # left out: `{name}` is in memory; the task works on it as it is"
        else:
            continue
        first, last = node.lineno - 1, node.end_lineno - 1
        if any(other is not node and other.lineno - 1 <= last and other.end_lineno - 1 >= first for other in tree.body):
            continue  # shares a line with other code (a = ...; b = ...)
        left_out.append("\n".join(lines[first:last + 1]))
        lines[first:last + 1] = ["# " + line for line in lines[first:last + 1]]
        lines[last] += note
    return ("\n".join(lines), tuple(left_out)) if left_out else (code, ())


def _inputs(task: str, code: str) -> FrozenSet[str]:
    """The names the task reads: those it names, less those it asks to make (a name a task asks
    to make and also reads -- "store the result in orders" -- counts as made) and the parameters
    of the function it asks for or the code defines."""
    made = set(targets(task)) | set(kinds(task)) | parameters(code) | parameters(task)
    made |= {w for m in _MAKES.finditer(task) for w in re.findall(r"\w+", m.group(1))}
    return frozenset(task_names(task) - made)


# "make df hold ...", "replace prices with ...", "set up a new table t": the words after such a
# verb, up to a preposition, are made, not read ("create a summary of sales" still reads sales)
_MAKES = re.compile(r"\b(?:make|create|build|set(?:\s+up)?|define|redefine|replace|reset|initiali[sz]e|overwrite|"
                    r"construct|generate)\s+((?:(?!(?:of|from|in|for|with|by|on|to|into|and|as|that|where)\b)"
                    r"`?[\w-]+`?\s*){1,4})", re.I)


def _copied(node: ast.stmt, inputs: FrozenSet[str]) -> Optional[str]:
    """The name of ``name = <literal data>`` (a statement of its own) for a name in ``inputs``."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return None
    name = node.targets[0].id
    return name if name in inputs and literal(node.value) else None


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
