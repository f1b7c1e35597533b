"""The prompt builder: every word the model is sent, and the one pure function that lays out a
run's first prompt (:func:`first_prompt`), which a run and prefill both call.

``render`` (the texts), ``history`` (the notebook as an append-only history within a budget, the
window), ``turns`` (continuing the last run's conversation), ``feedback`` (after a round that did
not work, and the next round's prompt), ``build`` (the first prompt)."""
from .build import Tokens, first_prompt, plain, token_budget, with_system
from .history import BlockCounts, ContextSpec, Window
from .render import SYSTEM_PROMPT, fix_task, task_section
from .turns import Conversation

__all__ = ["BlockCounts", "ContextSpec", "Conversation", "SYSTEM_PROMPT", "Tokens", "Window", "first_prompt",
           "fix_task", "plain", "task_section", "token_budget", "with_system"]
