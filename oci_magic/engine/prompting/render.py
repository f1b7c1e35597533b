"""The words of a prompt: the fixed system prompt, the task, and the notebook rendered as text
(cells with their outputs and errors, the variables, the last error). Deterministic, and free of
volatile text (no execution counts, no timestamps), so the same notebook renders to the same
tokens run after run."""
from __future__ import annotations

from typing import Collection, Dict, Iterable, List, Optional, Sequence, Tuple

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


def render_variables(context: NotebookContext, budget: int, count: Count,
                     wanted: Optional[Collection[str]] = None) -> Tuple[str, List[str]]:
    """The variables within ``budget``, in name order, and the names left out: those whose
    summaries had no room and, given ``wanted``, those not among it. When the summaries do not all
    fit (a long session holds many), the names they leave are still listed bare, as far as they
    fit: the model knows they exist. Names not ``wanted`` are not listed at all (a focused prompt
    shows about what a fresh kernel would; nor are modules not ``wanted``: in one session the line
    grew by every module an earlier answer imported, and that alone turned the 0.5B's answers to
    later tasks). Independent of the task, so prefill, which lays the notebook out before the task
    is known, reads the same text."""
    modules = {n: m for n, m in context.modules.items() if wanted is None or n in wanted}
    head = [modules_line(modules)] if modules else []
    summarized = [(n, s) for n, s in context.variables if wanted is None or n in wanted]
    others = [n for n, _ in context.variables if wanted is not None and n not in wanted]
    lines = [variable_line(n, s) for n, s in summarized]
    if not head and not lines:
        return "", others
    used = sum(count(line) for line in head)
    costs = [count(line) for line in lines]
    rest: List[str] = []
    if used + sum(costs) > budget:
        # room for the bare names first (a third at most): that a name exists is worth more than a summary
        bare = min(count(OTHERS) + sum(count(n) + 1 for n, _ in summarized), budget // 3)
        kept = fitting(costs, budget - bare - used)
        used += sum(costs[:kept])
        rest = [n for n, _ in summarized[kept:]]
        lines = lines[:kept] + [_others(rest, budget - used, count)]
    left = set(others).union(rest)
    return "## Variables in the kernel\n" + "\n".join(head + lines), [n for n, _ in context.variables if n in left]


def named_variables(context: NotebookContext, names: Collection[str], budget: int, count: Count) -> str:
    """Summaries of the variables in ``names`` (the task mentions them, the list had no room), as
    far as ``budget`` allows."""
    summaries = dict(context.variables)
    lines = [variable_line(n, summaries[n]) for n in sorted(names) if n in summaries]
    lines = lines[:fitting((count(line) for line in lines), budget - count(NAMED))]
    return NAMED + "\n".join(lines) if lines else ""


def _others(names: Sequence[str], budget: int, count: Count) -> str:
    """The names left out, listed without summaries as far as ``budget`` allows."""
    room = budget - count(OTHERS) - count(" … and 999 more")
    listed = names[:fitting((count(n) + 1 for n in names), room)]
    more = len(names) - len(listed)
    if not listed:
        return f"- … and {more} more"
    return OTHERS + ", ".join(listed) + (f" … and {more} more" if more else "")


def fitting(costs: Iterable[int], budget: int) -> int:
    """How many of the first items fit in ``budget``, given their costs in order."""
    used = kept = 0
    for cost in costs:
        used += cost
        if used > budget:
            break
        kept += 1
    return kept


OTHERS = "- also defined (summaries left out): "
NAMED = "## Variables the task names\n"
