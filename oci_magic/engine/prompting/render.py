"""The words of a prompt: the fixed system prompt, the task, and the notebook rendered as text
(cells with their outputs and errors, the variables, the last error). Deterministic, and free of
volatile text (no execution counts, no timestamps), so the same notebook renders to the same
tokens run after run."""
from __future__ import annotations

from typing import Dict, List, Sequence

from ...context.notebook import Cell, Count, NotebookContext
from ...text import clip, strip_ansi

SYSTEM_PROMPT = """\
You are a Python code interpreter inside a Jupyter notebook. Write Python code that does the \
user's task. The code runs in the user's live kernel: the variables and imports listed below \
already exist, so use them instead of recreating them. Print or display the results the task asks \
for. Reply with the complete code in one ```python block."""

SOURCE_CHARS = 4000
OUTPUT_CHARS = 1200
ERROR_CHARS = 600


def task_section(task: str) -> str:
    return "## Task\n" + task.strip()


def fix_task(source: str, frames: Sequence[str], error: str) -> str:
    """``%oci fix``: the cell that raised, as a task. The model rewrites the cell (it runs in the
    same kernel, on the same variables), not just the failing line."""
    trace = ("Traceback (most recent call last):\n" + "\n".join(frames) + "\n") if frames else ""
    return (f"This notebook cell raised an error. Fix it: write the corrected cell, doing what it was meant to "
            f"do.\n```python\n{source.strip()}\n```\n{trace}{error}")


def render_cell(cell: Cell) -> str:
    text = f"```python\n{clip(cell.source, SOURCE_CHARS)}\n```"
    if cell.output:
        text += f"\nOutput:\n```\n{clip(strip_ansi(cell.output), OUTPUT_CHARS)}\n```"
    if cell.error:
        text += f"\nThis cell raised: {clip(strip_ansi(cell.error), 300)}"
    return text


def block(cell: Cell) -> str:
    """A cell as one part of the prompt."""
    return render_cell(cell) + "\n\n"


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
