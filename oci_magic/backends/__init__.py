"""Backends by name: where replies come from.

``llama`` runs a GGUF model in this process, ``openai`` asks an OpenAI-compatible server,
``replay`` answers with recorded replies and needs no model. Each is registered as a
:class:`BackendType`: how to make one, which model a run asks it for (and why), and whether making
one takes long enough to say so ("loading …" / "loaded …"). Another package adds its own with
:func:`register`, or through the ``oci_magic.backends`` entry point group (a factory taking a
:class:`BackendSpec`). Factories import their heavy modules when called, never before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from ..errors import UnknownBackend
from .base import Backend, Capabilities, Completion, GenerationParams, Message, Prompt, Usage

ENTRY_POINT_GROUP = "oci_magic.backends"


@dataclass(frozen=True)
class ModelOptions:
    """Where a run's replies come from, before a model is chosen or loaded."""

    backend: str  # a registered backend name: llama, openai, replay, or a plugin's
    model: str  # this run's --model ("": not given)
    model_path: str  # the configured default model file ("": $OCI_MODEL, else the embedded one)
    url: str
    remote_model: str
    replay: str  # this run's --replay file: a fresh replay each run
    replay_path: str  # one replay file answering every run, continuing across runs
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    kv_folder: str = ""  # the prompt cache on disk ("": none)
    kv_bytes: int = 0
    share_cores: bool = False
    sequences: int = 1  # the most candidates a run asks for in one round (0: the model's choice)


@dataclass(frozen=True)
class BackendSpec:
    """What a run asks of its backend; equal specs share one loaded backend."""

    kind: str  # the registered name
    model: str  # llama: a GGUF path; openai: the server's model name ("" = its first); replay: the file
    url: str
    n_ctx: int  # 0: the model's own (capped)
    n_threads: int  # 0: all cores this process may use
    n_gpu_layers: int  # -1: all
    kv_folder: str = ""  # the prompt cache on disk ("": none); a backend without one ignores it
    kv_bytes: int = 0
    share_cores: bool = False  # use only the cores other processes leave free
    sequences: int = 1  # replies one call may decode together (llama: the context's room for them)


@dataclass(frozen=True)
class Choice:
    """The model a run asks its backend for, and why that one."""

    model: str  # what BackendSpec.model gets
    source: str  # --model, %oci model, $OCI_MODEL, config, embedded default, --replay, ...
    fresh: bool = False  # made for this run alone and never kept (a run's own --replay file starts over)
    candidates: int = 1  # replies per round when the run leaves it to the model (candidates = 0)


Factory = Callable[[BackendSpec], Backend]
Chooser = Callable[[ModelOptions, Optional[str]], Choice]  # (options, %oci model override) -> choice


def named_model(where: ModelOptions, override: Optional[str] = None) -> Choice:
    """A server's model: --model, else the configured remote_model ("": the server's first)."""
    return Choice(where.model, "--model") if where.model else Choice(where.remote_model, "config")


@dataclass(frozen=True)
class BackendType:
    name: str
    create: Factory
    choose: Chooser = named_model
    loads: bool = False  # making one takes seconds (a model's weights): runs say "loading" and "loaded"


_types: Dict[str, BackendType] = {}


def register(name: str, factory: Factory, *, choose: Chooser = named_model, loads: bool = False) -> None:
    _types[name.lower()] = BackendType(name.lower(), factory, choose, loads)


def names() -> List[str]:
    return sorted(_types)


def backend_type(name: str) -> BackendType:
    name = name.lower()
    if name not in _types:
        from importlib.metadata import entry_points

        found = entry_points()
        points = found.select(group=ENTRY_POINT_GROUP) if hasattr(found, "select") else found.get(ENTRY_POINT_GROUP, [])
        for point in points:
            if point.name.lower() == name:
                register(name, point.load())
    if name not in _types:
        raise UnknownBackend(f"no backend named {name!r}; known: {', '.join(names())}")
    return _types[name]


def create(spec: BackendSpec) -> Backend:
    return backend_type(spec.kind).create(spec)


def _llama(spec: BackendSpec) -> Backend:
    from .llama import LlamaBackend

    return LlamaBackend(spec.model, n_ctx=spec.n_ctx, n_threads=spec.n_threads, n_gpu_layers=spec.n_gpu_layers,
                        kv_folder=spec.kv_folder, kv_bytes=spec.kv_bytes, share_cores=spec.share_cores,
                        sequences=spec.sequences)


def _llama_model(where: ModelOptions, override: Optional[str] = None) -> Choice:
    from .catalog import candidates_for
    from .models import choose_model

    choice = choose_model(where.model, override, where.model_path)
    return Choice(choice.path, choice.source, candidates=candidates_for(choice.path))


def _openai(spec: BackendSpec) -> Backend:
    from .openai import OpenAIBackend

    return OpenAIBackend(spec.url, model=spec.model, n_ctx=spec.n_ctx)


def _replay(spec: BackendSpec) -> Backend:
    from .replay import ReplayBackend

    return ReplayBackend.from_file(spec.model)


def _replay_file(where: ModelOptions, override: Optional[str] = None) -> Choice:
    if where.replay:
        return Choice(where.replay, "--replay", fresh=True)
    return Choice(where.replay_path, "replay_path")


register("llama", _llama, choose=_llama_model, loads=True)
register("openai", _openai)
register("replay", _replay, choose=_replay_file)

__all__ = ["Backend", "BackendSpec", "BackendType", "Capabilities", "Choice", "Completion", "GenerationParams",
           "Message", "ModelOptions", "Prompt", "Usage", "backend_type", "create", "names", "register"]
