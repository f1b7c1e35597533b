"""A backend for any OpenAI-compatible server: llama.cpp's ``llama-server``, llama-cpp-python's
``llama_cpp.server``, vLLM, Ollama -- for when one laptop is not enough.

Stdlib only (``urllib`` and server-sent events read line by line): no client library to install,
and one streaming POST is all the loop needs. Closing the stream (the loop does when a reply's
code block is complete) closes the connection, which stops generation on the server.

Prefix reuse happens on the server: llama.cpp's server keeps the KV cache of a slot and reuses the
longest common prefix, vLLM with prefix caching on; the append-only layout serves them too. The
server's prompt-cache figures are read from the reply when it reports them (llama-server's
``timings.cache_n``, OpenAI's ``usage.prompt_tokens_details.cached_tokens``).
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Dict, Iterator, Optional, Sequence

from ..errors import GenerationError
from .base import Backend, GenerationParams, Message, Usage, context_size

API_KEY_ENV = "OCI_API_KEY"


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
    kind = "openai"

    """Streams chat completions from ``url``. ``model`` empty: the server's first listed model."""

    def __init__(self, url: str, model: str = "", api_key: Optional[str] = None, n_ctx: int = 0,
                 timeout: float = 600.0):
        self.url = base_url(url)
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        self.n_ctx = context_size(n_ctx)
        self.timeout = timeout
        self.name = f"openai:{model}" if model else "openai"
        self.load_seconds = 0.0

    # -- HTTP ---------------------------------------------------------------------------------
    def _request(self, path: str, body: Optional[dict] = None):
        headers = {"Accept": "text/event-stream" if body else "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read(400).decode("utf-8", "replace").strip()
            raise GenerationError(f"{self.url}{path}: HTTP {exc.code} {exc.reason}: {' '.join(detail.split())}") from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GenerationError(f"cannot reach {self.url}: {reason}") from None

    def models(self):
        with self._request("/models") as response:
            try:
                return [m.get("id", "") for m in json.load(response).get("data", [])]
            except (ValueError, AttributeError, TypeError):
                raise GenerationError(f"{self.url}/models did not return a model list") from None

    def _model_name(self) -> str:
        if not self.model:
            names = self.models()
            self.model = names[0] if names else "default"
            self.name = f"openai:{os.path.basename(self.model)}"
        return self.model

    # -- Backend ------------------------------------------------------------------------------
    def stream(self, messages: Sequence[Message], params: GenerationParams, usage: Usage) -> Iterator[str]:
        body = {
            "model": self._model_name(),
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if params.seed is not None:
            body["seed"] = params.seed
        # an estimate until the server reports (it does not when the loop stops reading early)
        usage.prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
        start = time.perf_counter()
        response = self._request("/chat/completions", body)
        try:
            for event in _events(response):
                _read_usage(event, usage)
                for choice in event.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
                    if piece:
                        if not usage.first_token_seconds:
                            usage.first_token_seconds = time.perf_counter() - start
                        usage.generated_tokens += 1  # one streamed piece per token; the final usage corrects it
                        yield piece
        finally:
            response.close()  # on an early stop this drops the connection: the server stops generating
            usage.seconds = time.perf_counter() - start

    def describe(self) -> Dict[str, object]:
        return {"name": self.name, "backend": "openai", "url": self.url, "model": self.model, "n_ctx": self.n_ctx}


def _events(response) -> Iterator[dict]:
    """The JSON payloads of a server-sent event stream, until ``[DONE]``."""
    data = []
    for raw in _lines(response):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
            continue
        if line or not data:
            continue  # comments, event names, keep-alives
        payload, data = "\n".join(data), []
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            raise GenerationError(f"the server sent something that is not JSON: {payload[:120]!r}") from None
        if "error" in event:
            error = event["error"]
            raise GenerationError(f"the server reported: {error.get('message', error) if isinstance(error, dict) else error}")
        yield event


def _lines(response) -> Iterator[bytes]:
    """The response's lines as they arrive; a connection lost mid-stream is a GenerationError."""
    lines = iter(response)
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            return
        except (OSError, http.client.HTTPException) as exc:  # reset, read timeout, incomplete read
            raise GenerationError(f"the stream from the server broke off: {exc or type(exc).__name__}") from None
        yield raw


def _read_usage(event: dict, usage: Usage) -> None:
    reported = event.get("usage") or {}
    if reported.get("prompt_tokens"):
        usage.prompt_tokens = reported["prompt_tokens"]
    if reported.get("completion_tokens"):
        usage.generated_tokens = reported["completion_tokens"]
    cached = (reported.get("prompt_tokens_details") or {}).get("cached_tokens")
    timings = event.get("timings") or {}
    if timings.get("cache_n") is not None:
        cached = timings["cache_n"]
        if not reported.get("prompt_tokens"):  # llama-server's own counts replace our estimate
            usage.prompt_tokens = timings.get("prompt_n", 0) + cached
    if cached:
        usage.reused_tokens = int(cached)
