"""A scripted backend that answers with recorded replies, and a wrapper that records them.

``ReplayBackend`` is this package's MockTransport: the refinement loop, teaching demos and tests
run on it with no model at all.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from typing import Iterable, Iterator, List, Sequence, Union

from ..errors import ReplayError, ReplayExhausted
from .base import Backend, Capabilities, Completion, GenerationParams, Message, Replies, Usage

_PIECES = re.compile(r"\s*\S+|\s+")


class ReplayBackend(Backend):
    """Answers each call with the next recorded reply, streamed in word-sized pieces."""

    name = kind = "replay"
    capabilities = Capabilities(timed=False, candidates=64)  # as many as were recorded

    def __init__(self, replies: Iterable[Union[str, List[str]]], source: str = "<replies>"):
        self.replies: List[Union[str, List[str]]] = list(replies)  # a list: the candidates of one call
        self.source = source
        self.calls: List[List[Message]] = []  # the prompts it was sent, for inspection

    @classmethod
    def from_file(cls, path: str) -> "ReplayBackend":
        return cls(load_replies(path), source=str(path))

    def describe(self):
        return {"name": self.name, "backend": "replay", "path": os.path.abspath(self.source)
                if os.path.isfile(self.source) else None, "n_ctx": self.n_ctx, "replies": len(self.replies)}

    def stream(self, messages: Sequence[Message], params: GenerationParams, usage: Usage) -> Iterator[str]:
        index = len(self.calls)
        if index >= len(self.replies):
            raise ReplayExhausted(
                f"replay file {self.source} has {len(self.replies)} replies; call {index + 1} asked for another"
            )
        self.calls.append(list(messages))
        # Counts only: replayed text has no generation speed worth showing.
        usage.prompt_tokens = self.prompt_tokens(messages)
        reply = self.replies[index]
        for piece in _PIECES.findall(reply if isinstance(reply, str) else reply[0]) or [""]:
            usage.generated_tokens += 1
            yield piece

    def generate_many(self, messages: Sequence[Message], params: Sequence[GenerationParams], done) -> Replies:
        """The next recorded entry: a list holds one call's candidates (a string: just one)."""
        index = len(self.calls)
        if index >= len(self.replies):
            raise ReplayExhausted(
                f"replay file {self.source} has {len(self.replies)} replies; call {index + 1} asked for another")
        self.calls.append(list(messages))
        entry = self.replies[index]
        texts = ([entry] if isinstance(entry, str) else list(entry))[: len(params)]
        usages = [Usage(prompt_tokens=self.prompt_tokens(messages)) for _ in texts]

        def pieces():
            for i, text in enumerate(texts):
                so_far = ""
                for piece in _PIECES.findall(text) or [""]:
                    usages[i].generated_tokens += 1
                    so_far += piece
                    yield i, piece
                    if done(i, so_far):
                        break

        return Replies(pieces(), len(texts), usages)


class RecordingBackend(Backend):
    """Passes calls to ``inner`` and keeps each complete raw reply, for ``--record``."""

    def __init__(self, inner: Backend):
        self.inner = inner
        self.replies: List[str] = []
        self.name, self.kind, self.n_ctx, self.n_threads = inner.name, inner.kind, inner.n_ctx, inner.n_threads
        self.capabilities, self.load_seconds, self.lock = inner.capabilities, inner.load_seconds, inner.lock

    def generate(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        inner = self.inner.generate(messages, params)
        return Completion(self._record(inner), inner.usage)

    def generate_many(self, messages: Sequence[Message], params: Sequence[GenerationParams], done) -> Replies:
        inner = self.inner.generate_many(messages, params, done)

        def pieces():
            try:
                yield from inner
            finally:
                inner.close()
                self.replies.append(list(inner.texts))  # one entry: the call's candidates

        return Replies(pieces(), len(inner.texts), inner.usages)

    def _record(self, inner: Completion) -> Iterator[str]:
        parts: List[str] = []
        try:
            for piece in inner:
                parts.append(piece)
                yield piece
        finally:
            inner.close()
            self.replies.append("".join(parts))  # an interrupted reply is recorded as far as it got

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return self.inner.prompt_tokens(messages)

    def describe(self):
        return self.inner.describe()

    def prefix_tokens(self, messages):
        return self.inner.prefix_tokens(messages)

    def prefill(self, tokens, stop, threads=0, batch_seconds=0.25):
        return self.inner.prefill(tokens, stop, threads, batch_seconds)

    @property
    def cached_tokens(self) -> int:
        return self.inner.cached_tokens

    def clear_cache(self) -> None:
        self.inner.clear_cache()

    def save_state(self, step: int = 0):
        return self.inner.save_state(step)

    def save(self, path: str) -> None:
        save_replies(path, self.replies)


def load_replies(path: str) -> List[str]:
    """Read a replay file: a JSON list of strings. Raise ReplayError with a one-line reason."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ReplayError(f"replay file not found: {path}") from None
    except IsADirectoryError:
        raise ReplayError(f"replay path is a directory, not a file: {path}") from None
    except OSError as exc:
        raise ReplayError(f"cannot read replay file {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ReplayError(f"replay file is not UTF-8 text: {path}") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"replay file is not valid JSON ({exc.msg} at line {exc.lineno}): {path}") from None
    if not isinstance(data, list) or not all(
            isinstance(r, str) or (isinstance(r, list) and r and all(isinstance(c, str) for c in r)) for r in data):
        raise ReplayError(f"replay file must hold a JSON list of strings (the model's replies; a list of strings for "
                          f"a round's candidates): {path}")
    if not data:
        raise ReplayError(f"replay file holds no replies: {path}")
    return data


def check_record_path(path: str) -> None:
    """Refuse, before any work, a --record path that cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ReplayError(f"--record: folder does not exist: {folder}")
    if os.path.isdir(path):
        raise ReplayError(f"--record: {path} is a directory")
    if not os.access(folder, os.W_OK):
        raise ReplayError(f"--record: folder is not writable: {folder}")


def save_replies(path: str, replies: List[str]) -> None:
    """Write atomically, so an interrupted save never leaves half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".oci-record-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(replies, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
