"""The in-process llama.cpp backend (llama-cpp-python). ``llama_cpp`` is imported on first use.

Prompts are token lists (:mod:`.chat`); llama.cpp reuses the longest common prefix of the last
prompt, and the prompt cache on disk (:mod:`.kvstate`) carries it across kernels.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import replace
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from ..errors import ModelError, PromptTooLong
from .cpu import free_threads, usable_cpus
from .base import MIN_ROOM, Backend, Capabilities, GenerationParams, Message, Replies, Usage, context_size
from . import buildcheck, decode, parallel
from .chat import ChatTokenizer
from .gguf import GGUFInfo, read_gguf
from .kvstate import STEP, KVStates
from .statecache import StateStore, model_key


CHUNK_MIN, CHUNK_MAX = 16, 512  # tokens per prefill chunk (the first one ever measures the speed)
BURST = 0.1  # seconds: a prefill job stopped sooner met a burst of cells, which no chunk size would fit


@contextlib.contextmanager
def _sequences(llama_cpp, count: int):
    """A context made within has room for ``count`` sequences in one unified KV cache (the
    prompt's cells shared). llama-cpp-python's Llama takes no such option: its default context
    parameters are amended while it is made."""
    if count <= 1:
        yield
        return
    module = llama_cpp.llama_cpp
    original = module.llama_context_default_params

    def params():
        made = original()
        made.n_seq_max, made.kv_unified = count, True
        return made

    module.llama_context_default_params = params
    try:
        yield
    finally:
        module.llama_context_default_params = original


def machine_threads() -> int:
    return len(usable_cpus())


def llama_cpp_build() -> Dict[str, object]:
    """Version and system info of the installed llama-cpp-python (imports it)."""
    import llama_cpp

    return {
        "version": getattr(llama_cpp, "__version__", "?"),
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
    }


class LlamaBackend(Backend):
    """One loaded ``llama_cpp.Llama``; keep the object to keep its KV cache."""

    name = kind = "llama"
    capabilities = Capabilities(prefix_cache=True, prefill=True, saves_state=True, drafts=True)

    def __init__(self, model_path: str, n_ctx: int = 0, n_threads: int = 0, n_gpu_layers: int = -1,
                 seed: Optional[int] = None, kv_folder: str = "", kv_bytes: int = 0, share_cores: bool = False,
                 sequences: int = 1):
        self.info: GGUFInfo = read_gguf(model_path)  # fails fast, before the slow import and load
        self.model_path = os.path.abspath(model_path)
        self.name = os.path.splitext(os.path.basename(self.model_path))[0]  # general.name is often noise
        self.n_ctx = context_size(n_ctx, self.info.context_length)
        self.n_threads = int(n_threads) if n_threads and n_threads > 0 else machine_threads()
        self.share_cores = share_cores  # each reply uses only the cores other processes leave free

        start = time.perf_counter()
        import llama_cpp

        self.gpu_offload = bool(llama_cpp.llama_supports_gpu_offload())
        # a build whose first decode would crash the kernel is found in a child first
        buildcheck.check(self.model_path, llama_cpp)
        self.n_gpu_layers = n_gpu_layers if self.gpu_offload else 0
        self.sequences = max(1, int(sequences))
        if self.sequences > 1:  # several replies decoded together (parallel.py): one cache, shared cells
            self.capabilities = replace(self.capabilities, candidates=self.sequences)
        try:
            with _sequences(llama_cpp, self.sequences):
                self.llm = llama_cpp.Llama(
                    model_path=self.model_path,
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_gpu_layers=self.n_gpu_layers,
                    seed=seed if seed is not None else llama_cpp.LLAMA_DEFAULT_SEED,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"llama.cpp could not load {self.model_path}: {exc}") from None
        self.load_seconds = time.perf_counter() - start
        self._chat = self._make_chat_tokenizer()
        self._last_prompt = None  # (messages key, tokens)
        self.drafter = decode.Drafter(0)  # what drafting costs and earns on this model, across replies
        self.draft_stats: Dict[str, int] = {}  # decodes, drafted and kept tokens, all replies
        self.chunk = CHUNK_MIN  # prefill's next chunk, tokens: learned across jobs (see prefill)
        # One user of llama.cpp's context at a time: a generation, a prefill batch, a state save.
        self.lock = threading.RLock()
        self.states = KVStates(self.llm, llama_cpp, StateStore(
            os.path.join(kv_folder, model_key(self.model_path, self.n_ctx, f"{llama_cpp.__version__}/{self.sequences}")),
            kv_bytes)
            if kv_folder and kv_bytes > 0 else None)

    def _make_chat_tokenizer(self) -> ChatTokenizer:
        llm = self.llm
        bos, eos = llm.token_bos(), llm.token_eos()
        add_bos = bool(llm._model.add_bos_token()) and bos >= 0

        def text(token: int) -> str:
            return llm._model.token_get_text(token) if token >= 0 else ""

        def tokenize(data: bytes, special: bool) -> List[int]:
            return llm.tokenize(data, add_bos=False, special=special) if data else []

        return ChatTokenizer(tokenize, self.info.chat_template, text(bos), text(eos), bos if add_bos else None)

    def tokenize_messages(self, messages: Sequence[Message]) -> List[int]:
        """The prompt's tokens. The fit check and the generation that follows tokenize the same
        messages: the last result is kept, so a long prompt is tokenized once."""
        key = tuple(messages)
        if self._last_prompt is None or self._last_prompt[0] != key:
            self._last_prompt = (key, self._chat(messages))
        return self._last_prompt[1]

    def prefix_tokens(self, messages: Sequence[Message]) -> List[int]:
        """The tokens a prompt shares with the next one (all but the task's part)."""
        return self._chat(messages, prefix=True)

    @property
    def cached_tokens(self) -> int:
        return int(self.llm.n_tokens) if self.llm is not None else 0

    def clear_cache(self) -> None:
        with self.lock:
            if self.llm is not None:
                self.llm.n_tokens = 0  # the next eval drops the cache beyond this

    def prefill(self, tokens: Sequence[int], stop: Callable[[], bool], threads: int = 0,
                batch_seconds: float = 1.0) -> int:
        """Evaluate into the KV cache what of ``tokens`` is not there yet, until done or
        ``stop()``, in chunks of about ``batch_seconds`` of reading (near llama.cpp's own batch
        speed: a chunk of 64 tokens reads within ~10 % of the fastest size on every model measured).
        llama.cpp asks ``stop()`` inside each chunk, so a cell that starts or a reply that wants
        the model waits milliseconds, not the chunk; the chunk in flight is then lost. The chunk
        size is kept across jobs: a stopped chunk halves the next one and each chunk that
        completes doubles it, up to ``batch_seconds`` of reading, so a kernel that runs a short
        cell every half second still reads the notebook between them instead of losing every
        chunk (a job stopped within ``BURST`` seconds leaves the size as it was: cells run back to
        back leave no gap to fit). Returns the tokens evaluated."""
        done, have = 0, None
        tokens = tokens[: self.n_ctx - MIN_ROOM]  # a prompt past the window is refused at the run anyway
        with self.lock:
            if self.llm is None:
                return 0
            self.states.restore(tokens)
        began = time.perf_counter()  # the gap a cell left is measured from here, not from a disk load
        while not stop():
            with self.lock:
                llm = self.llm
                if llm is None or stop():
                    break
                if have is None or llm.n_tokens != have:  # first, or something else used the model
                    have = llm.longest_token_prefix(llm._input_ids[: llm.n_tokens].tolist(), tokens)
                if have >= len(tokens):
                    break
                chunk = list(tokens[have: have + self.chunk])
                start = time.perf_counter()
                with self.states.threads(threads or self.n_threads), self.states.stoppable(stop):
                    llm.n_tokens = have  # eval() drops the cache beyond this
                    try:
                        llm.eval(chunk)
                    except RuntimeError:  # stopped mid-chunk (or a failed decode): what it wrote is gone
                        if stop():
                            if time.perf_counter() - began > BURST:
                                self.chunk = max(CHUNK_MIN, self.chunk // 2)
                            break
                        raise
                seconds = time.perf_counter() - start
            done += len(chunk)
            have += len(chunk)
            if len(chunk) == self.chunk:  # a full chunk measures the speed; the prompt's tail does not
                rate = len(chunk) / seconds if seconds > 0 else 1e4
                fits = max(CHUNK_MIN, min(CHUNK_MAX, int(rate * batch_seconds) // 16 * 16))
                self.chunk = min(fits, 2 * self.chunk)
        with self.lock:  # the notebook is read and the kernel still idle: time the drafter's batches now
            if self.llm is not None and not self.drafter.calibrated and self.llm.n_tokens > 16 and not stop():
                with self.states.threads(threads or self.n_threads), self.states.stoppable(stop):
                    try:
                        self.drafter.calibrate(decode.LlamaStep(self.llm, 0.0, None).time_batch,
                                               self.n_ctx - self.llm.n_tokens - 2, stop)
                    except RuntimeError:  # stopped mid-decode: the next idle time goes on
                        pass
        return done

    def save_state(self, step: int = STEP) -> Optional[str]:
        """Save the cache's state to disk (the prompt cache across kernel restarts) when it adds
        ``step`` tokens or more to the last one saved."""
        with self.lock:
            return self.states.save(step) if self.llm is not None else None

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(self.tokenize_messages(messages))

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8", "replace"), add_bos=False, special=False)) if text else 0

    def stream(self, messages: Sequence[Message], params: GenerationParams, usage: Usage) -> Iterator[str]:
        tokens = self.tokenize_messages(messages)
        room = self.n_ctx - len(tokens)
        if room < MIN_ROOM:
            raise PromptTooLong(len(tokens), self.n_ctx)
        with self.lock:  # held until the reply ends: a prefill batch waits, never interleaves
            usage.threads = free_threads(self.n_threads) if self.share_cores and self.n_threads > 1 else self.n_threads
            with self.states.threads(usage.threads):
                yield from self._generate(tokens, room, params, usage)

    def generate_many(self, messages: Sequence[Message], params: Sequence[GenerationParams], done) -> Replies:
        """Up to ``capabilities.candidates`` replies decoded together in one batch per step."""
        if len(params) == 1 or len(params) > self.capabilities.candidates:
            return super().generate_many(messages, params, done)
        tokens = self.tokenize_messages(messages)
        if self.n_ctx - len(tokens) < MIN_ROOM * len(params):
            raise PromptTooLong(len(tokens), self.n_ctx)
        usages = [Usage() for _ in params]

        def pieces() -> Iterator:
            with self.lock:
                threads = free_threads(self.n_threads) if self.share_cores and self.n_threads > 1 else self.n_threads
                with self.states.threads(threads):
                    self.states.restore(tokens)
                    yield from parallel.generate_many(self.llm, tokens, params, max(p.max_tokens for p in params),
                                                      usages, done)
            for u in usages:
                u.threads = threads

        return Replies(pieces(), len(params), usages)

    def _generate(self, tokens: List[int], room: int, params: GenerationParams, usage: Usage) -> Iterator[str]:
        self.states.restore(tokens)
        self.drafter.limit = params.draft
        step = decode.LlamaStep(self.llm, params.temperature, params.seed)
        reply = decode.generate(step, tokens, min(params.max_tokens, room), usage,
                                self.drafter if params.draft > 0 else None, self.draft_stats)
        try:
            yield from reply
        finally:
            reply.close()  # an interrupted reply stops now, not at garbage collection

    def close(self) -> None:
        with self.lock:  # never free the model under a prefill batch
            llm, self.llm = getattr(self, "llm", None), None
            if llm is not None and hasattr(llm, "close"):
                llm.close()  # frees the weights and the KV cache now, not at some later collection

    def describe(self) -> Dict[str, object]:
        return {
            "name": self.name,
            "backend": "llama.cpp",
            "model_name": self.info.name,
            "path": self.model_path,
            "architecture": self.info.architecture,
            "n_ctx": self.n_ctx,
            "n_ctx_train": self.info.context_length,
            "n_threads": self.n_threads,
            "n_gpu_layers": self.n_gpu_layers,
            "gpu_offload": self.gpu_offload,
            "load_seconds": round(self.load_seconds, 3),
        }
