"""The words sent to the model. The system prompt is fixed text (a stable KV-cache prefix); the
first user message carries the notebook context and the task; each later round appends the
model's reply and the feedback, so the transcript only grows.

Layout of the first user message, most stable first: the notebook history (append-only across
runs), the volatile part (variables, last error), the task. When the context is a
:class:`~oci_magic.history.PromptContext` the message also carries ``parts`` -- its content cut
where token boundaries must not move -- which a tokenizing backend tokenizes one by one."""
from __future__ import annotations

from typing import List

from ..backends.base import Message

SYSTEM_PROMPT = """\
You are a Python code interpreter inside a Jupyter notebook. Write Python code that does the \
user's task. The code runs in the user's live kernel: the variables and imports listed below \
already exist, so use them instead of recreating them. Print or display the results the task asks \
for. Reply with the complete code in one ```python block."""


ATTEMPTS_HEAD = "## Earlier attempts at this task failed"
ATTEMPTS_TAIL = ("Write new code for the task that avoids these mistakes. Use the variables that already "
                 "exist; do not recreate them. Reply with the complete code in one ```python block.")


def fix_task(source: str, frames: List[str], error: str) -> str:
    """``%oci fix``: the cell that raised, as a task. The model rewrites the cell (it runs in the
    same kernel, on the same variables), not just the failing line."""
    trace = ("Traceback (most recent call last):\n" + "\n".join(frames) + "\n") if frames else ""
    return (f"This notebook cell raised an error. Fix it: write the corrected cell, doing what it was meant to "
            f"do.\n```python\n{source.strip()}\n```\n{trace}{error}")


def task_section(task: str) -> str:
    return "## Task\n" + task.strip()


def first_message(task: str, context: str) -> str:
    parts = [context.rstrip()] if context.strip() else []
    parts.append(task_section(task))
    return "\n\n".join(parts)


def initial_messages(task: str, context="", system: str = SYSTEM_PROMPT) -> List[Message]:
    history = getattr(context, "history", None)
    if history is None:
        return [{"role": "system", "content": system}, {"role": "user", "content": first_message(task, str(context))}]
    # the task last and on its own: prefill reads everything before it while the kernel is idle
    parts = list(history) + ([context.volatile] if context.volatile else []) + [task_section(task)]
    return [{"role": "system", "content": system}, {"role": "user", "content": "".join(parts), "parts": parts}]


def with_attempts(first: List[Message], attempts: List[str]) -> List[Message]:
    """The first prompt with the failed attempts appended to its last message, as one more part:
    everything before it stays a cached prefix."""
    note = "\n\n" + ATTEMPTS_HEAD + "\n" + "\n".join(attempts) + "\n\n" + ATTEMPTS_TAIL
    last = dict(first[-1])
    last["parts"] = list(last.get("parts") or [last["content"]]) + [note]
    last["content"] = last["content"] + note
    return list(first[:-1]) + [last]


def extend(messages: List[Message], reply: str, feedback: str) -> List[Message]:
    """The next round's prompt: everything so far, the raw reply (as generated), the feedback."""
    return messages + [{"role": "assistant", "content": reply}, {"role": "user", "content": feedback}]
