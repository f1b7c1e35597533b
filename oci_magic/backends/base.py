"""The backend interface: one method that streams a reply, and what a call reports with it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Sequence

from ..errors import PromptTooLong

# {"role": "system" | "user" | "assistant", "content": str}, optionally "parts": List[str] whose
# concatenation is the content, tokenized one by one by backends that tokenize (stable prefixes).
Message = Dict[str, Any]

FALLBACK_CTX = 4096  # a model or server that does not say its context size
MAX_DEFAULT_CTX = 8192  # a trained context is used up to this unless configured: KV memory on a laptop
MESSAGE_OVERHEAD = 8  # chat-template tokens around each message, roughly
MIN_ROOM = 16  # the fewest tokens a reply must have room for


def context_size(requested: Optional[int], trained: Optional[int] = None) -> int:
    """The context window a backend uses: the configured size, else the trained one (capped)."""
    if requested and requested > 0:
        return int(requested)
    return min(trained or FALLBACK_CTX, MAX_DEFAULT_CTX)


@dataclass(frozen=True)
class GenerationParams:
    temperature: float
    max_tokens: int
    seed: Optional[int] = None  # None: random


@dataclass
class Usage:
    """What one generation cost. ``reused_tokens`` came from the KV cache, ``evaluated`` did not."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    first_token_seconds: float = 0.0
    seconds: float = 0.0
    threads: int = 0  # CPU threads the reply used (0: not a local model)

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens

    @property
    def tokens_per_second(self) -> float:
        gen = self.seconds - self.first_token_seconds
        return self.generated_tokens / gen if gen > 0 else 0.0


class Completion:
    """One reply as it streams: iterate for its text pieces; ``usage`` is complete once the stream
    is closed or exhausted. Closing early (the loop does, at the end of the code block) stops the
    backend's work at once."""

    def __init__(self, pieces: Iterator[str], usage: Usage):
        self._pieces = pieces
        self.usage = usage

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def text(self) -> str:
        """The whole reply (non-streaming use)."""
        try:
            return "".join(self)
        finally:
            self.close()


class Backend:
    """Subclasses implement :meth:`stream`; everything else has a usable default."""

    name = "backend"
    kind = "backend"  # the registry name it was made by
    timed = True  # its replies come at the model's own speed (a replay's do not: no tok/s to show)
    n_ctx = MAX_DEFAULT_CTX

    def stream(self, messages: Sequence[Message], params: GenerationParams, usage: Usage) -> Iterator[str]:
        """Yield the assistant's reply to ``messages`` piece by piece; fill in ``usage`` as it goes
        (a generator's ``finally`` is the place for the totals)."""
        raise NotImplementedError

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        usage = Usage()
        return Completion(self.stream(messages, params, usage), usage)

    def count_tokens(self, text: str) -> int:
        """Token count used for context budgets; a backend with a tokenizer overrides it."""
        return len(text) // 4 + 1

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """How many tokens ``messages`` take as a prompt; a backend with a chat template overrides it."""
        return sum(self.count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)

    def check_fits(self, messages: Sequence[Message]) -> int:
        """The prompt's size; raise PromptTooLong when it leaves no room for a reply."""
        needed = self.prompt_tokens(messages)
        if needed + MIN_ROOM > self.n_ctx:
            raise PromptTooLong(needed, self.n_ctx)
        return needed

    def describe(self) -> Dict[str, object]:
        return {"name": self.name, "backend": self.kind, "n_ctx": self.n_ctx}

    def close(self) -> None:
        """Free what the backend holds (a model's weights and KV cache)."""


