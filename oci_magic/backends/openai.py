"""A backend for any OpenAI-compatible server: llama.cpp's ``llama-server``, llama-cpp-python's
``llama_cpp.server``, vLLM, Ollama -- for when one laptop is not enough.

Built on the ``openai`` client library, imported when a backend is made (not at ``%load_ext``:
it costs about 0.4 s). Closing the stream (the loop does when a reply's code block is complete)
closes the HTTP response, which drops the connection and stops generation on the server.

Prefix reuse happens on the server: llama.cpp's server keeps the KV cache of a slot and reuses the
longest common prefix, vLLM with prefix caching on; the append-only layout serves them too. The
server's prompt-cache figures are read from the reply when it reports them (llama-server's
``timings.cache_n``, OpenAI's ``usage.prompt_tokens_details.cached_tokens``).
"""
from __future__ import annotations

import json
import os
import queue
import threading
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

from ..errors import GenerationError
from .base import Backend, Capabilities, GenerationParams, Message, Replies, Usage, context_size

API_KEY_ENV = "OCI_API_KEY"
NO_KEY = "not-needed"  # the client will not start without a key; local servers ignore it
MAX_RETRIES = 1  # one retry of a refused connection or a 5xx, then a one-line error (not the default 2)
CONNECT_TIMEOUT = 10.0  # a host that never answers fails in seconds; a slow reply may take `timeout`


def base_url(url: str) -> str:
    """``http://host:8080``, ``…/v1`` or ``…/v1/chat/completions`` -> ``http://host:8080/v1``."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise GenerationError(f"--url must start with http:// or https://, not {url!r}")
    for tail in ("/chat/completions", "/completions"):
        if url.endswith(tail):
            url = url[: -len(tail)]
    return url if url.endswith("/v1") else url + "/v1"


class OpenAIBackend(Backend):
    """Streams chat completions from ``url``. ``model`` empty: the server's first listed model."""

    kind = "openai"
    # llama-server's slots, vLLM's prefix caching; candidates: requests at once, which a served engine batches
    capabilities = Capabilities(prefix_cache=True, candidates=8)

    def __init__(self, url: str, model: str = "", api_key: Optional[str] = None, n_ctx: int = 0,
                 timeout: float = 600.0):
        import openai  # here, not at the top: loading the extension must not pay for it

        self.url = base_url(url)
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        self.n_ctx = context_size(n_ctx)
        self.timeout = timeout
        self.name = f"openai:{model}" if model else "openai"
        self._client = openai.OpenAI(base_url=self.url, api_key=self.api_key or NO_KEY, max_retries=MAX_RETRIES,
                                     timeout=openai.Timeout(timeout, connect=CONNECT_TIMEOUT))

    def models(self) -> List[str]:
        with _one_line_errors(self.url):
            try:
                return [model.id for model in self._client.models.list().data]
            except (AttributeError, TypeError, ValueError, KeyError):  # the client parses leniently
                raise GenerationError(f"{self.url}/models did not return a model list") from None

    def _model_name(self) -> str:
        if not self.model:
            names = self.models()
            self.model = names[0] if names else "default"
            self.name = f"openai:{os.path.basename(self.model)}"
        return self.model

    # -- Backend ------------------------------------------------------------------------------
    def stream(self, messages: Sequence[Message], params: GenerationParams, usage: Usage) -> Iterator[str]:
        request = dict(
            model=self._model_name(),
            messages=[{"role": m.role, "content": m.content} for m in messages],
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            stream=True,
            stream_options={"include_usage": True},
        )
        if params.seed is not None:
            request["seed"] = params.seed
        # an estimate until the server reports (it does not when the loop stops reading early)
        usage.prompt_tokens = sum(self.count_tokens(m.content) for m in messages)
        start = time.perf_counter()
        with _one_line_errors(self.url):
            chunks = self._client.chat.completions.create(**request)
        try:
            with _one_line_errors(self.url, streaming=True):
                for chunk in chunks:
                    _read_usage(chunk, usage)
                    for choice in chunk.choices or []:
                        piece = getattr(getattr(choice, "delta", None), "content", None)
                        if piece:
                            if not usage.first_token_seconds:
                                usage.first_token_seconds = time.perf_counter() - start
                            usage.generated_tokens += 1  # one streamed piece per token; the final usage corrects it
                            yield piece
        finally:
            chunks.close()  # on an early stop this drops the connection: the server stops generating
            usage.seconds = time.perf_counter() - start

    def generate_many(self, messages: Sequence[Message], params: Sequence[GenerationParams], done) -> Replies:
        """One streaming request per reply, all at once (a served engine batches them; not every
        server takes ``n``); the first error ends them all."""
        if len(params) == 1:
            return super().generate_many(messages, params, done)
        self._model_name()  # once, before the threads
        found: "queue.Queue" = queue.Queue()
        usages, stop = [Usage() for _ in params], threading.Event()

        def work(index: int, p: GenerationParams) -> None:
            completion, text = None, ""
            try:
                completion = self.generate(messages, p)
                for piece in completion:
                    if stop.is_set():
                        break
                    text += piece
                    found.put((index, piece))
                    if done(index, text):
                        break
            except Exception as exc:  # GenerationError, one line: the caller raises it
                found.put((index, exc))
            finally:
                if completion is not None:
                    completion.close()
                    usages[index] = completion.usage
                found.put((index, None))

        threads = [threading.Thread(target=work, args=(i, p), daemon=True) for i, p in enumerate(params)]
        for thread in threads:
            thread.start()

        def pieces():
            finished = 0
            try:
                while finished < len(threads):
                    index, item = found.get()
                    if item is None:
                        finished += 1
                    elif isinstance(item, Exception):
                        raise item
                    else:
                        yield index, item
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=30)

        return Replies(pieces(), len(params), usages)

    def describe(self) -> Dict[str, object]:
        return {"name": self.name, "backend": "openai", "url": self.url, "model": self.model, "n_ctx": self.n_ctx}


@contextmanager
def _one_line_errors(url: str, streaming: bool = False) -> Iterator[None]:
    """The client's exceptions (with httpx's beneath) as one-line GenerationErrors saying what happened."""
    import openai

    try:
        yield
    except openai.APIStatusError as exc:
        where = exc.request.url if exc.request is not None else url
        raise GenerationError(f"{where}: HTTP {exc.status_code} {exc.response.reason_phrase}: "
                              f"{_text(exc.body) or exc.message}") from None
    except openai.APIConnectionError as exc:  # refused, reset, timed out, a body cut short
        reason = exc.__cause__ or exc.message
        if streaming:
            raise GenerationError(f"the stream from the server broke off: {_text(reason)}") from None
        raise GenerationError(f"cannot reach {url}: {_text(reason)}") from None
    except openai.APIError as exc:  # an {"error": ...} event in the stream
        raise GenerationError(f"the server reported: {_text(exc.body) or exc.message}") from None
    except json.JSONDecodeError as exc:
        raise GenerationError(f"the server sent something that is not JSON: {exc.doc[:120]!r}") from None


def _text(detail: object) -> str:
    """A server's error detail (a string, or a dict with a message) on one short line."""
    if isinstance(detail, dict):
        detail = detail.get("message", detail)
    return " ".join(str(detail if detail is not None else "").split())[:400]


def _read_usage(chunk, usage: Usage) -> None:
    reported = chunk.usage
    if getattr(reported, "prompt_tokens", None):
        usage.prompt_tokens = reported.prompt_tokens
    if getattr(reported, "completion_tokens", None):
        usage.generated_tokens = reported.completion_tokens
    cached = getattr(getattr(reported, "prompt_tokens_details", None), "cached_tokens", None)
    timings = (chunk.model_extra or {}).get("timings") or {}  # llama-server's own field, kept as an extra
    if isinstance(timings, dict) and timings.get("cache_n") is not None:
        cached = timings["cache_n"]
        if not getattr(reported, "prompt_tokens", None):  # llama-server's own counts replace our estimate
            usage.prompt_tokens = timings.get("prompt_n", 0) + cached
    if cached:
        usage.reused_tokens = int(cached)
