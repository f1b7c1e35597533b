"""The notebook context sent with a task: earlier cells, their outputs, the user's variables and
the last error, rendered deterministically and fitted into a token budget.

Gathering takes plain values (the input history, the output values, recorded errors, the user
namespace) so it can be tested without a kernel; the magic passes IPython's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..text import clip, strip_ansi
from ..values import summarize
from .variables import user_variables

SOURCE_CHARS = 4000
OUTPUT_CHARS = 1200
ERROR_CHARS = 600
VARIABLE_SHARE = 3  # variables may take up to 1/3 of the budget
Count = Callable[[str], int]  # a tokenizer's token count of a text
_SKIP_PREFIXES = ("%load_ext oci_magic", "%reload_ext oci_magic", "%oci")


@dataclass
class Cell:
    source: str
    output: str = ""
    error: str = ""
    number: int = 0  # its input-history number: identifies it, never rendered (volatile-free prompt)


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
        cells.append(Cell(source.rstrip(), output, errors.get(n, ""), n))
    variables, modules = user_variables(namespace, hidden, samples)
    last = cells[-1].error if cells and cells[-1].error else None
    return NotebookContext(cells, variables, modules, last)


def render_cell(cell: Cell) -> str:
    text = f"```python\n{clip(cell.source, SOURCE_CHARS)}\n```"
    if cell.output:
        text += f"\nOutput:\n```\n{clip(strip_ansi(cell.output), OUTPUT_CHARS)}\n```"
    if cell.error:
        text += f"\nThis cell raised: {clip(strip_ansi(cell.error), 300)}"
    return text


def modules_line(modules: Dict[str, str]) -> str:
    return "Imported modules: " + ", ".join(n if n == m else f"{n} ({m})" for n, m in sorted(modules.items()))


def variable_line(name: str, summary: str) -> str:
    return f"- {name}: {summary}"


def error_section(error: str) -> str:
    return "## Last error\n" + clip(strip_ansi(error), ERROR_CHARS)


def render_variables(context: NotebookContext, budget: int, count: Count) -> str:
    lines: List[str] = [modules_line(context.modules)] if context.modules else []
    used = sum(count(line) for line in lines)
    for shown, (name, summary) in enumerate(context.variables):
        line = variable_line(name, summary)
        used += count(line)
        if used > budget:
            lines.append(f"- … and {len(context.variables) - shown} more")
            break
        lines.append(line)
    return "## Variables in the kernel\n" + "\n".join(lines) if lines else ""


def token_budget(n_ctx: int, max_tokens: int, rounds: int, fixed: int, feedback_tokens: int) -> int:
    """Tokens left for context once the fixed prompt and every round's reply and feedback fit."""
    return max(0, n_ctx - fixed - rounds * max_tokens - (rounds - 1) * feedback_tokens - 64)
