"""The backends one kernel has made, one per kind: loading another model frees the previous one,
since a laptop rarely holds two at once. Which model a run gets, and whether making it is worth a
"loading …" line, is each backend type's own declaration (:class:`~oci_magic.backends.BackendType`)."""
from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import Callable, Dict, Optional, Sequence, Tuple

from .. import backends
from ..backends import BackendSpec, Choice, ModelOptions
from ..backends.base import Backend
from .events import Listener, ModelLoaded, ModelLoading

Key = Tuple[str, int]  # (kind, load number): which loaded backend's cache a conversation lives in


class Loader:
    def __init__(self, before_unload: Callable[[], None] = lambda: None):
        self.override: Optional[str] = None  # %oci model NAME|PATH: the kernel's choice, until `default`
        self._before_unload = before_unload  # e.g. background prefill stops before a model is freed
        self._loaded: Dict[str, Tuple[BackendSpec, Backend, int]] = {}  # kind -> (spec, backend, load number)
        self._loads = 0
        self._lock = threading.RLock()  # a background preload and a run's load are one at a time

    def choose(self, where: ModelOptions) -> Choice:
        return backends.backend_type(where.backend).choose(where, self.override)

    def get(self, where: ModelOptions, listeners: Sequence[Listener] = ()) -> Tuple[Backend, Optional[Key]]:
        """The backend for ``where`` and the key of its cache (None: made for this run alone)."""
        kind = backends.backend_type(where.backend)
        choice = kind.choose(where, self.override)
        spec = BackendSpec(kind.name, choice.model, where.url, where.n_ctx, where.n_threads, where.n_gpu_layers,
                           where.kv_folder, where.kv_bytes, where.share_cores, where.sequences or choice.candidates)
        if choice.fresh:
            return kind.create(spec), None
        with self._lock:
            current = self._loaded.get(kind.name)
            if current is not None and _serves(current[0], spec):
                return current[1], (kind.name, current[2])
            if current is None or current[0] != spec:
                self.unload(kind.name)
                if kind.loads:
                    _emit(listeners, ModelLoading(os.path.basename(choice.model), choice.source))
                backend = kind.create(spec)
                self._loads += 1
                current = self._loaded[kind.name] = (spec, backend, self._loads)
                if kind.loads:
                    _emit(listeners, ModelLoaded(backend.name, backend.load_seconds, backend.n_ctx, backend.n_threads))
            return current[1], (kind.name, current[2])

    def loaded(self, kind: str) -> Optional[Backend]:
        current = self._loaded.get(kind)
        return current[1] if current else None

    def prefillable(self) -> Optional[Tuple[Backend, Key]]:
        """A loaded backend that can read a prompt's start while the kernel is idle, and its key."""
        for kind, (_, backend, number) in list(self._loaded.items()):
            if backend.capabilities.prefill:
                return backend, (kind, number)
        return None

    def unload(self, kind: Optional[str] = None) -> None:
        for name in [kind] if kind else list(self._loaded):
            current = self._loaded.pop(name, None)
            if current is None:
                continue
            backend = current[1]
            self._before_unload()  # no background batch may run on a model being freed
            if backend.capabilities.saves_state:
                try:
                    backend.save_state(1)  # all it read, for the next kernel or a switch back
                except Exception:  # a full disk must not keep the model from going
                    pass
            backend.close()


def _serves(loaded: BackendSpec, wanted: BackendSpec) -> bool:
    """A model loaded with room for more candidates than a run asks for serves it as it is:
    switching between --candidates 2 and 1 does not load the weights again."""
    return loaded.sequences > wanted.sequences and loaded == replace(wanted, sequences=loaded.sequences)


def _emit(listeners: Sequence[Listener], event) -> None:
    for listener in listeners:
        listener(event)
