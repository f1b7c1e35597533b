"""A later ``%%oci`` continues the previous run's conversation, so it pays only for what is new.

After a run, its whole transcript -- system prompt, notebook context, task, the model's replies
and the feedback -- sits in llama.cpp's KV cache. Starting the next run from a fresh prompt would
keep only the history prefix and re-evaluate the previous run's cell, the variables and the task.
Continuing appends one user turn instead: the cells run since, the variables that are new or
changed, the last error, and the new task. A run that failed or was interrupted is continued too
(its turn says the task was left unsolved): starting fresh would read the variables and the task
again, about a third of the prompt. When the continued transcript would not fit the budget (or the
model, the context option or the notebook's history changed) the run starts fresh with the
append-only layout of :mod:`.history`.

The new turn's parts are its head, one per new cell, the variables and error, then the task:
prefill reads all but the task while the kernel is idle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

from ...backends.base import MESSAGE_OVERHEAD, Message, Prompt
from ...context.notebook import Count, NotebookContext
from .render import block, error_section, modules_line, task_section, variable_line

DONE = "That code ran without errors."
UNSOLVED = ("That task was left unsolved{why}. Whatever its code changed is in the variables below. "
            "Now a new request.")


@dataclass(frozen=True)
class Conversation:
    """A finished run, solved or not: what the model has seen, to continue from."""

    messages: Prompt  # ends with the run's last reply
    last_cell: int  # input-history number of that run's own %%oci cell
    variables: Dict[str, str] = field(default_factory=dict)  # name -> summary, as last shown
    modules: Dict[str, str] = field(default_factory=dict)
    model: object = None  # which loaded model's cache holds it
    unsolved: Optional[str] = None  # None: its code worked; else why not ("" when unknown)

    @classmethod
    def after(cls, transcript: Sequence[Message], cell: int, context: NotebookContext, model,
              unsolved: Optional[str] = None) -> "Conversation":
        return cls(tuple(transcript), cell, dict(context.variables), dict(context.modules), model, unsolved)


def next_turn(previous: Conversation, context: NotebookContext, task: str) -> Message:
    """The user turn that brings the model from ``previous`` to now."""
    head = DONE if previous.unsolved is None else UNSOLVED.format(why=f": {previous.unsolved}" if previous.unsolved else "")
    new = [c for c in context.cells if c.number > previous.last_cell]
    parts = [head + "\n\n"]
    if new:
        parts[0] += "## Cells run since\n\n"
        parts += [block(c) for c in new]
    sections = []
    modules = {n: m for n, m in context.modules.items() if previous.modules.get(n) != m}
    lines = [modules_line(modules)] if modules else []
    lines += [variable_line(n, s) for n, s in context.variables if previous.variables.get(n) != s]
    gone = sorted(set(previous.variables) - {n for n, _ in context.variables})
    if gone:
        lines.append("No longer defined: " + ", ".join(gone))
    if lines:
        sections.append("## Variables new or changed\n" + "\n".join(lines))
    if context.last_error:
        sections.append(error_section(context.last_error))
    if sections:
        parts.append("\n\n".join(sections) + "\n\n")
    parts.append(task_section(task))  # last and on its own: prefill reads all before it
    return Message.of("user", *parts)


def tokens(messages: Sequence[Message], count: Count) -> int:
    return sum(count(m.content) + MESSAGE_OVERHEAD for m in messages)


def continue_from(previous: Optional[Conversation], context: NotebookContext, task: str, model,
                  limit: int, count: Count) -> Optional[Prompt]:
    """The continued prompt, or None when the run should start fresh. ``limit``: the most prompt
    tokens the run may start with (the window less every round's reply and feedback)."""
    if previous is None or previous.model != model:
        return None
    if context.cells and context.cells[-1].number < previous.last_cell:
        return None  # the history restarted (a kernel reset): the transcript describes another session
    messages = previous.messages + (next_turn(previous, context, task),)
    return messages if tokens(messages, count) <= limit else None
