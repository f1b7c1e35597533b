"""The backend interface: one generation method that streams text."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ..settings import GenerationParams

# {"role": "system" | "user" | "assistant", "content": str}, optionally "parts": List[str] whose
# concatenation is the content, tokenized one by one by backends that tokenize (stable prefixes).
Message = Dict[str, Any]


@dataclass
class Usage:
    """What one generation cost. ``reused_tokens`` came from the KV cache, ``evaluated`` did not."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    first_token_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens

    @property
    def tokens_per_second(self) -> float:
        gen = self.seconds - self.first_token_seconds
        return self.generated_tokens / gen if gen > 0 else 0.0


class Backend:
    """Subclasses implement :meth:`generate`; everything else has a usable default."""

    name = "backend"
    n_ctx = 8192
    last_usage: Optional[Usage] = None

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Yield the assistant's reply to ``messages`` piece by piece as it is produced."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        """Token count used for context budgets; a backend with a tokenizer overrides it."""
        return len(text) // 4 + 1

    def describe(self) -> Dict[str, object]:
        return {"name": self.name, "n_ctx": self.n_ctx}


def complete(backend: Backend, messages: List[Message], params: GenerationParams) -> str:
    """Collect a whole reply (non-streaming use)."""
    return "".join(backend.generate(messages, params))
