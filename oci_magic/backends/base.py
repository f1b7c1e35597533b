"""The backend interface: messages in, a streamed reply out, what the call cost, and what a
backend can do beyond that, declared as :class:`Capabilities` (never probed with ``hasattr``)."""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import PromptTooLong

FALLBACK_CTX = 4096  # a model or server that does not say its context size
MAX_DEFAULT_CTX = 8192  # a trained context is used up to this unless configured: KV memory on a laptop
MESSAGE_OVERHEAD = 8  # chat-template tokens around each message, roughly
MIN_ROOM = 16  # the fewest tokens a reply must have room for


@dataclass(frozen=True)
class Message:
    """One chat message. Its ``parts`` join to its content; a backend that tokenizes takes them
    one by one, so a part's tokens never depend on what follows it: a prompt that only grows keeps
    a token-stable prefix for the KV cache."""

    role: str  # "system" | "user" | "assistant"
    parts: Tuple[str, ...]

    @classmethod
    def of(cls, role: str, *parts: str) -> "Message":
        return cls(role, tuple(parts))

    @property
    def content(self) -> str:
        return "".join(self.parts)

    def plus(self, part: str) -> "Message":
        """This message with one more part at its end (everything before stays a cached prefix)."""
        return Message(self.role, self.parts + (part,))


Prompt = Tuple[Message, ...]


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
    draft: int = 0  # most tokens drafted from the context per step, where the backend drafts (0: none)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do besides streaming a reply; the engine reads these, nothing else.
    Each flag names the methods of :class:`Backend` that then work."""

    prefix_cache: bool = False  # it reuses the longest common prefix of the previous prompt (a KV cache)
    prefill: bool = False  # prefix_tokens(), prefill(), cached_tokens, clear_cache(): read a prompt's start while idle
    saves_state: bool = False  # save_state(): its cache goes to disk, for the next kernel
    drafts: bool = False  # it honours GenerationParams.draft: drafted tokens checked in one decode, same output
    candidates: int = 1  # the most replies one call can return
    timed: bool = True  # its replies come at the model's own speed (a replay's do not: no tok/s to show)


@dataclass
class Usage:
    """What one generation cost, filled in as the reply streams. ``reused_tokens`` came from the
    KV cache, ``evaluated`` did not."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    first_token_seconds: float = 0.0
    seconds: float = 0.0
    threads: int = 0  # CPU threads the reply used (0: not a local model)
    drafted: int = 0  # tokens drafted from the context and checked in a batch (GenerationParams.draft)
    accepted: int = 0  # of which kept: generated without a decode of their own

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


class Replies:
    """Several replies to one prompt as they are generated (together, where the backend can):
    iterate for ``(index, piece)``; ``texts`` and ``usages`` are complete once it is exhausted or
    closed. Reply 0 comes first among pieces generated at the same step: it streams to the view."""

    def __init__(self, pieces: Iterator[Tuple[int, str]], count: int, usages: Optional[List[Usage]] = None):
        self._pieces = pieces
        self.texts = [""] * count
        self.usages = usages if usages is not None else [Usage() for _ in range(count)]

    def __iter__(self) -> Iterator[Tuple[int, str]]:
        for index, piece in self._pieces:
            self.texts[index] += piece
            yield index, piece

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()


Done = Callable[[int, str], bool]  # (reply index, its text so far) -> that reply is complete


class Backend:
    """Subclasses implement :meth:`Backend.stream` and declare :attr:`Backend.capabilities`; everything else has
    a usable default. The methods a capability names are implemented where it is declared."""

    name = "backend"
    kind = "backend"  # the registry name it was made by
    capabilities = Capabilities()
    n_ctx = MAX_DEFAULT_CTX
    n_threads = 0  # CPU threads of this process it computes with (0: none, a remote or scripted one)
    load_seconds = 0.0  # how long making it took (a model's weights)

    @functools.cached_property
    def lock(self) -> threading.RLock:
        """Held by whoever uses the model's state: a reply, a prefill batch, a state save."""
        return threading.RLock()

    def stream(self, messages: Sequence[Message], params: GenerationParams, usage: Usage) -> Iterator[str]:
        """Yield the assistant's reply to ``messages`` piece by piece; fill in ``usage`` as it goes
        (a generator's ``finally`` is the place for the totals)."""
        raise NotImplementedError

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        usage = Usage()
        return Completion(self.stream(messages, params, usage), usage)

    def generate_many(self, messages: Sequence[Message], params: Sequence[GenerationParams], done: Done) -> Replies:
        """One reply per ``params`` to the same prompt, each ended once ``done`` says so. Here one
        after another; a backend that declares ``capabilities.candidates`` > 1 makes up to that many
        in one call (together in one batch, or as requests served at once)."""
        usages = [Usage() for _ in params]

        def pieces() -> Iterator[Tuple[int, str]]:
            for index, p in enumerate(params):
                completion = self.generate(messages, p)
                text = ""
                try:
                    for piece in completion:
                        text += piece
                        yield index, piece
                        if done(index, text):
                            break
                finally:
                    completion.close()
                    usages[index] = completion.usage

        return Replies(pieces(), len(params), usages)

    def count_tokens(self, text: str) -> int:
        """Token count used for context budgets; a backend with a tokenizer overrides it."""
        return len(text) // 4 + 1

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """How many tokens ``messages`` take as a prompt; a backend with a chat template overrides it."""
        return sum(self.count_tokens(m.content) + MESSAGE_OVERHEAD for m in messages)

    def check_fits(self, messages: Sequence[Message]) -> int:
        """The prompt's size; raise PromptTooLong when it leaves no room for a reply."""
        needed = self.prompt_tokens(messages)
        if needed + MIN_ROOM > self.n_ctx:
            raise PromptTooLong(needed, self.n_ctx)
        return needed

    # -- capabilities.prefill ------------------------------------------------------------------
    def prefix_tokens(self, messages: Sequence[Message]) -> List[int]:
        """The tokens a prompt shares with the next one: all but the last message's last part."""
        raise NotImplementedError(f"the {self.kind} backend cannot prefill")

    def prefill(self, tokens: Sequence[int], stop: Callable[[], bool], threads: int = 0,
                batch_seconds: float = 0.25) -> int:
        """Evaluate into the cache what of ``tokens`` is not there yet, until done or ``stop()``;
        the tokens evaluated."""
        raise NotImplementedError(f"the {self.kind} backend cannot prefill")

    @property
    def cached_tokens(self) -> int:
        """Tokens its cache holds now."""
        return 0

    def clear_cache(self) -> None:
        """Forget the cached prompt: the next one is read from its start."""

    # -- capabilities.saves_state ----------------------------------------------------------------
    def save_state(self, step: int = 0) -> Optional[str]:
        """Save the cache's state to disk when it adds ``step`` tokens or more to the last one
        saved; the file written, or None."""
        return None

    def describe(self) -> Dict[str, object]:
        return {"name": self.name, "backend": self.kind, "n_ctx": self.n_ctx}

    def close(self) -> None:
        """Free what the backend holds (a model's weights and KV cache)."""
