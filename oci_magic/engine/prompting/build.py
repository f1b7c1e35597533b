"""The one function that builds a run's first prompt; a run and prefill both call it.

``first_prompt`` is pure: from the notebook as it is now, the history window, the last
conversation, the run's settings and what it knows of the model's tokens, it returns the prompt
and the window after it. Only a run keeps that window (:mod:`oci_magic.engine.memory`); prefill
calls the same function with an empty task and drops it, so what it reads is exactly the prefix
the next run will send.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

from ...backends.base import Message, Prompt
from ...context.notebook import Count, NotebookContext
from .history import Window, layout, new_data
from .render import SYSTEM_PROMPT, task_section
from .turns import Conversation, continue_from

if TYPE_CHECKING:  # settings imports this package's ContextSpec
    from ..settings import RunSettings


@dataclass(frozen=True)
class Tokens:
    """What the builder knows of the model: its token count and window, and which loaded model's
    cache a conversation lives in (one continues only on that one)."""

    count: Count
    n_ctx: int
    model: object = None
    blocks: Optional[Count] = None  # the count of cell blocks, memoized across runs (default: count)


def token_budget(n_ctx: int, max_tokens: int, rounds: int, fixed: int, feedback_tokens: int) -> int:
    """Tokens left for context once the fixed prompt and every round's reply and feedback fit."""
    return max(0, n_ctx - fixed - rounds * max_tokens - (rounds - 1) * feedback_tokens - 64)


def first_prompt(task: str, notebook: NotebookContext, window: Window, conversation: Optional[Conversation],
                 settings: "RunSettings", tokens: Tokens) -> Tuple[Prompt, Window]:
    """The run's first prompt and the window after it: ``conversation`` continued when it fits,
    else the notebook laid out fresh within the budget every round's reply and feedback leave.

    ``spec.token_budget`` caps both: a long session's prompt stays the size a fresh kernel's
    would have at most (the newest cells, the older ones that define names the task uses, the
    variables), and a conversation is continued only while it is no longer than that either."""
    spec, gen = settings.context, settings.generation
    count = tokens.count
    system, asked = count(SYSTEM_PROMPT), count(task)
    # focused, a run after new data (or whose task stands alone: "Write a function f(x) ...") lays
    # the notebook out afresh (the transcript holds earlier tasks); a follow-up continues it
    if spec.continues and settings.continue_runs and not new_data(notebook, spec, task):
        limit = token_budget(tokens.n_ctx, gen.max_tokens, settings.rounds, 0, settings.feedback_tokens)
        if spec.token_budget:
            limit = min(limit, system + asked + spec.token_budget)
        messages = continue_from(conversation, notebook, task, tokens.model, limit, count)
        if messages is not None:
            return messages, window
    if spec.cells == 0 and not spec.variables:
        return plain(task), window
    budget = token_budget(tokens.n_ctx, gen.max_tokens, settings.rounds, system + asked, settings.feedback_tokens)
    if spec.token_budget:
        budget = min(budget, spec.token_budget)
    context, window = layout(notebook, spec, budget, count, tokens.blocks or count, window, task)
    # the task last and on its own: prefill reads everything before it while the kernel is idle
    parts = context.parts + [task_section(task)]
    return with_system(parts), window


def with_system(parts: Sequence[str], system: str = SYSTEM_PROMPT) -> Prompt:
    """The system prompt, then one user message of ``parts``."""
    return Message.of("system", system), Message.of("user", *parts)


def plain(task: str, context: str = "", system: str = SYSTEM_PROMPT) -> Prompt:
    """A prompt of the task after ``context`` as one text (no notebook layout): ``--context
    none``, benchmarks, HumanEval."""
    sections = [context.rstrip()] if context.strip() else []
    return with_system(["\n\n".join(sections + [task_section(task)])], system)
