"""Notes for a round whose code raised, on what the error alone does not say: a file that is not
there (and what is there instead, or that the "path" is the data itself), a name looked up in a
module that does not have it. :func:`~.checks.check` adds them to the error's feedback."""
from __future__ import annotations

import ast
import os
import re
import sys
from typing import Callable, Optional

from ..execution.result import Execution


_NO_FILE = re.compile(r"No such file or directory: ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
_LISTED = 8  # files named in a note


def missing_file_note(execution: Execution, exists: Callable[[str], bool]) -> Optional[str]:
    """For code that opened a file that is not there, what is there instead. Small models read
    ``orders.csv`` when the notebook holds ``orders`` (in a session, after an earlier task read a
    file), or pass CSV text to ``read_csv`` as a path; a file named a little differently is read
    by its exact name once the model sees the folder."""
    found = _NO_FILE.search(execution.evalue or "") if execution.ename == "FileNotFoundError" else None
    if found is None:
        return None
    try:
        path = str(ast.literal_eval(found.group(1)))
    except (SyntaxError, ValueError):
        return None
    if "\n" in path or path.lstrip()[:1] in ("{", "["):
        json_too = " (JSON text: json.loads(text))" if path.lstrip()[:1] in ("{", "[") else ""
        return ("The text passed as a file name is the data itself: read it from memory, wrapped in "
                f"io.StringIO(text){json_too}, not as a path.")
    folder, name = os.path.split(path)
    stem = os.path.splitext(name)[0]
    if stem.isidentifier() and exists(stem):
        return (f"There is no file {name!r}: the data is already in the kernel as `{stem}`. "
                f"Use `{stem}` as it is; do not read it from a file.")
    try:
        with os.scandir(folder or ".") as entries:
            files = sorted(e.name for e in entries if e.is_file() and not e.name.startswith("."))
    except OSError:
        return f"There is no folder {folder!r}." if folder else None
    ext = os.path.splitext(name)[1].lower()
    alike = [f for f in files if f.lower().endswith(ext)] if ext else files
    where = f"the folder {folder!r}" if folder else "the working folder"
    if not alike:
        return (f"There is no file {name!r}, and {where} has no {ext + ' ' if ext else ''}files: use the data "
                f"the notebook holds in its variables.")
    more = f" and {len(alike) - _LISTED} more" if len(alike) > _LISTED else ""
    return f"There is no file {name!r}; {where} has: {', '.join(alike[:_LISTED])}{more}."


_NO_ATTRIBUTE = re.compile(r"^module '([\w.]+)' has no attribute '(\w+)'$")
# where a name a model looked up in the wrong module usually lives (only modules already loaded
# are searched: a note never imports anything)
_HOMES = ("io", "json", "re", "math", "statistics", "collections", "itertools", "functools", "datetime",
          "string", "os.path", "pandas", "numpy")


def moved_name_note(execution: Execution) -> Optional[str]:
    """For ``pd.compat.StringIO`` (AttributeError: module 'pandas.compat' has no attribute
    'StringIO'), where the name is: the 1.5B wrote the same lookup in all three rounds when told
    only the error (csv text to a table)."""
    found = _NO_ATTRIBUTE.match((execution.evalue or "").split("\n")[0]) if execution.ename == "AttributeError" else None
    if found is None:
        return None
    module, name = found.groups()
    for home in _HOMES:
        loaded = sys.modules.get(home)
        if home != module and loaded is not None and hasattr(loaded, name):
            short = {"pandas": "pd", "numpy": "np"}.get(home)
            use = f"`{short}.{name}`" if short else f"`from {home} import {name}`"
            return f"`{name}` is not in `{module}`; it is in `{home}`: use {use}."
    return None
