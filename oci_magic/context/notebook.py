"""The notebook as plain values: earlier cells, their outputs and errors, the user's variables
and the last error. Rendering and fitting it into a prompt is the prompt builder's
(:mod:`oci_magic.engine.prompting`).

Gathering takes plain values (the input history, the output values, recorded errors, the user
namespace) so it can be tested without a kernel; the magic passes IPython's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..values import summarize
from .variables import user_variables

Count = Callable[[str], int]  # a tokenizer's token count of a text
_SKIP_PREFIXES = ("%load_ext oci_magic", "%reload_ext oci_magic", "%oci")


def is_oci_cell(source: str) -> bool:
    """Whether a cell's source is an ``%%oci`` run (a task, not code)."""
    return source.lstrip().startswith("%%oci")


@dataclass
class Cell:
    source: str
    output: str = ""
    error: str = ""
    number: int = 0  # its input-history number: identifies it, never rendered (volatile-free prompt)
    generated: bool = False  # an %%oci cell: shown as its task and the code that worked (as typed when none did)


@dataclass
class NotebookContext:
    cells: List[Cell] = field(default_factory=list)
    variables: List[Tuple[str, str]] = field(default_factory=list)
    modules: Dict[str, str] = field(default_factory=dict)
    last_error: Optional[str] = None


def gather(inputs: Sequence[str], outputs: Mapping[int, Any], errors: Mapping[int, str],
           generated: Mapping[int, str], current: int, namespace: Mapping[str, Any],
           hidden: Iterable[str] = (), samples: int = 0) -> NotebookContext:
    """``inputs[n]`` is cell n's source (``inputs[0]`` unused), ``current`` the running cell's number.

    ``generated[n]`` replaces an ``%%oci`` cell n by its task and the code that ran, since the
    code it ran never enters the input history.
    """
    cells = []
    for n in range(1, min(current, len(inputs))):
        source = generated.get(n, inputs[n])
        if not source.strip() or source.lstrip().startswith(_SKIP_PREFIXES):
            continue
        output = summarize(outputs[n]) if n in outputs else ""
        run = n in generated or is_oci_cell(source)
        cells.append(Cell(source.rstrip(), output, errors.get(n, ""), n, run))
    variables, modules = user_variables(namespace, hidden, samples)
    last = cells[-1].error if cells and cells[-1].error else None
    return NotebookContext(cells, variables, modules, last)
