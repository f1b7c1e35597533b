"""A loaded llama.cpp context's state: to and from the disk store (:mod:`.statecache`), and the
thread count it evaluates with. Uses llama-cpp-python's ``Llama`` internals (``input_ids``,
``n_tokens``, ``_ctx``) the way its own ``save_state``/``load_state`` do, without their copy of
the whole logits array."""
from __future__ import annotations

import contextlib
import ctypes
from typing import Callable, List, Optional, Sequence

from .statecache import StateStore, common_prefix, remove


STEP = 256  # tokens a state must add to the last saved one to be saved again


class KVStates:
    """The loaded context's state to and from the disk store (None: no disk cache)."""

    GAIN = 32  # a saved state is loaded when it covers this many more tokens than the live cache

    def __init__(self, llm, llama_cpp, store: Optional[StateStore]):
        self.llm, self.lib, self.store = llm, llama_cpp, store
        self.saved: List[int] = []  # the tokens of the last state saved or loaded
        self._abort = None

    def restore(self, tokens: Sequence[int]) -> int:
        """Load the saved state that shares the longest prefix with ``tokens`` when it beats the
        live cache. Returns the tokens it brought (0: none). A bad entry is skipped and removed."""
        llm = self.llm
        if self.store is None:
            return 0
        have = common_prefix(llm._input_ids[: llm.n_tokens].tolist(), tokens)
        if have + self.GAIN > len(tokens):
            return 0  # the live cache holds (nearly) all of it: rounds 2, 3... read no folder
        best = self.store.best(tokens)
        if best is None or best[0] < have + self.GAIN:
            return 0
        loaded = self.store.load(best[1])
        if loaded is None:
            return 0
        saved, data = loaded
        if len(saved) > llm._n_ctx:  # cannot happen for the same n_ctx (part of the folder's key)
            return 0
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if self.lib.llama_state_set_data(llm._ctx.ctx, buffer, len(data)) != len(data):
            llm.n_tokens = 0  # a state llama.cpp rejects leaves nothing usable in the cache
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            remove(best[1])
            return 0
        llm.input_ids[: len(saved)] = saved
        llm.n_tokens = len(saved)
        llm._requires_eval = True  # the logits are restored, not decoded: generate evaluates again
        self.saved = list(saved)
        return best[0] - have

    def save(self, step: int = STEP) -> Optional[str]:
        """Save the live state unless it adds fewer than ``step`` tokens to the last one saved: a
        state is tens of MB, and a cell adds a few dozen tokens (a restart then reads those few)."""
        llm = self.llm
        tokens = llm._input_ids[: llm.n_tokens].tolist()
        if self.store is None or len(tokens) - common_prefix(tokens, self.saved) < max(1, step):
            return None
        size = self.lib.llama_state_get_size(llm._ctx.ctx)
        buffer = (ctypes.c_uint8 * int(size))()
        n = self.lib.llama_state_get_data(llm._ctx.ctx, buffer, size)
        path = self.store.save(tokens, bytes(buffer[: int(n)]))
        if path:
            self.saved = tokens
        return path

    @contextlib.contextmanager
    def stoppable(self, stop: Callable[[], bool]):
        """Within the block, llama.cpp asks ``stop()`` between the steps of its computation (an
        abort callback) and ends a decode within milliseconds when it says so: the decode raises
        RuntimeError, and what it had written to the cache is removed, so the cache stays
        consistent. Only for background work: a callback per step costs a single-token decode
        about 5 %. llama.cpp's note that it removed those entries is not printed (it would land in
        whatever cell ran last)."""
        import logging

        ctx, quiet = self.llm._ctx.ctx, logging.getLogger("llama-cpp-python")
        level = quiet.level
        self._abort = self.lib.ggml_abort_callback(lambda _: bool(stop()))  # kept alive while set
        self.lib.llama_set_abort_callback(ctx, self._abort, None)
        quiet.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            quiet.setLevel(level)
            self.lib.llama_set_abort_callback(ctx, ctypes.cast(None, self.lib.ggml_abort_callback), None)
            self._abort = None

    @contextlib.contextmanager
    def threads(self, n: int):
        """Evaluate with ``n`` threads for the block (fewer for background prefill)."""
        ctx = self.llm._ctx.ctx
        before = (self.lib.llama_n_threads(ctx), self.lib.llama_n_threads_batch(ctx))
        if n and n != before[1]:
            self.lib.llama_set_n_threads(ctx, n, n)
        try:
            yield
        finally:
            if n and n != before[1]:
                self.lib.llama_set_n_threads(ctx, *before)
