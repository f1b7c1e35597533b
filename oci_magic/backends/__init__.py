"""Backends by name: where replies come from.

``llama`` runs a GGUF model in this process, ``openai`` asks an OpenAI-compatible server,
``replay`` answers with recorded replies and needs no model. Another package adds its own with
:func:`register`, or through the ``oci_magic.backends`` entry point group (a factory taking a
:class:`BackendSpec`). Factories import their heavy modules when called, never before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

from ..errors import UnknownBackend
from .base import Backend, Completion, GenerationParams, Message, Usage

ENTRY_POINT_GROUP = "oci_magic.backends"


@dataclass(frozen=True)
class BackendSpec:
    """What a run asks of its backend; equal specs share one loaded backend."""

    kind: str  # the registered name
    model: str  # llama: a GGUF path; openai: the server's model name ("" = its first); replay: the file
    url: str
    n_ctx: int  # 0: the model's own (capped)
    n_threads: int  # 0: all cores this process may use
    n_gpu_layers: int  # -1: all
    kv_folder: str = ""  # llama: the prompt cache on disk ("": none)
    kv_bytes: int = 0
    share_cores: bool = False  # llama: use only the cores other processes leave free


Factory = Callable[[BackendSpec], Backend]
_factories: Dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    _factories[name.lower()] = factory


def names() -> List[str]:
    return sorted(_factories)


def factory(name: str) -> Factory:
    name = name.lower()
    if name not in _factories:
        from importlib.metadata import entry_points

        found = entry_points()
        points = found.select(group=ENTRY_POINT_GROUP) if hasattr(found, "select") else found.get(ENTRY_POINT_GROUP, [])
        for point in points:
            if point.name.lower() == name:
                register(name, point.load())
    if name not in _factories:
        raise UnknownBackend(f"no backend named {name!r}; known: {', '.join(names())}")
    return _factories[name]


def create(spec: BackendSpec) -> Backend:
    return factory(spec.kind)(spec)


def _llama(spec: BackendSpec) -> Backend:
    from .llama import LlamaBackend

    return LlamaBackend(spec.model, n_ctx=spec.n_ctx, n_threads=spec.n_threads, n_gpu_layers=spec.n_gpu_layers,
                        kv_folder=spec.kv_folder, kv_bytes=spec.kv_bytes, share_cores=spec.share_cores)


def _openai(spec: BackendSpec) -> Backend:
    from .openai import OpenAIBackend

    return OpenAIBackend(spec.url, model=spec.model, n_ctx=spec.n_ctx)


def _replay(spec: BackendSpec) -> Backend:
    from .replay import ReplayBackend

    return ReplayBackend.from_file(spec.model)


register("llama", _llama)
register("openai", _openai)
register("replay", _replay)

__all__ = ["Backend", "BackendSpec", "Completion", "GenerationParams", "Message", "Usage", "create", "factory",
           "names", "register"]
