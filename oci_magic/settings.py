"""Plain settings the engine receives. The magic fills them from traits and per-call options."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

CONTEXT_CHOICES = ("all", "vars", "none")


@dataclass(frozen=True)
class GenerationParams:
    temperature: float = 0.2
    max_tokens: int = 512
    seed: Optional[int] = None


@dataclass(frozen=True)
class ContextSpec:
    """How much of the notebook to send: ``cells`` None = all earlier cells, 0 = none."""

    cells: Optional[int] = None
    variables: bool = True
    token_budget: Optional[int] = None  # None: sized from n_ctx, max_tokens and rounds

    @property
    def continues(self) -> bool:
        """Whether a run may continue the previous conversation: only one that sends everything
        (asking for fewer cells or no variables means starting from a fresh prompt)."""
        return self.cells is None and self.variables

    @classmethod
    def parse(cls, text: str) -> "ContextSpec":
        """``all`` | ``vars`` | ``none`` | N (the last N cells plus variables)."""
        text = str(text).strip().lower()
        if text == "all":
            return cls()
        if text == "vars":
            return cls(cells=0)
        if text == "none":
            return cls(cells=0, variables=False)
        if text.isdigit():
            return cls(cells=int(text))
        raise ValueError(f"--context must be all, vars, none or a number of cells, not {text!r}")


@dataclass(frozen=True)
class RunSettings:
    rounds: int = 3
    execute: bool = True
    generation: GenerationParams = field(default_factory=GenerationParams)
    context: ContextSpec = field(default_factory=ContextSpec)
    feedback_chars: int = 2000
    stop_after_code: bool = True  # end a reply at its first complete ```python block

    @property
    def feedback_tokens(self) -> int:
        """Room one round's feedback may take in the prompt (about 3 characters a token, with the
        request to fix the code after it)."""
        return self.feedback_chars // 3 + 40

    def __post_init__(self):
        if not 1 <= self.rounds <= 50:
            raise ValueError(f"rounds must be between 1 and 50, not {self.rounds}")
        if not 0.0 <= self.generation.temperature <= 5.0:
            raise ValueError(f"temperature must be between 0 and 5, not {self.generation.temperature}")
        if not 1 <= self.generation.max_tokens <= 32768:
            raise ValueError(f"max-tokens must be between 1 and 32768, not {self.generation.max_tokens}")
        if self.generation.seed is not None and not 0 <= self.generation.seed < 2**32:
            raise ValueError(f"seed must be between 0 and 4294967295, not {self.generation.seed}")
