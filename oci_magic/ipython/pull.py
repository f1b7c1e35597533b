"""``%oci pull NAME`` and ``%oci models`` in a notebook, and the one-line hint that the embedded
model is a demo. The download itself is :mod:`oci_magic.backends.pull` (huggingface_hub, imported
only here, on use)."""
from __future__ import annotations

import os
from typing import Optional

from ..backends import catalog
from ..backends.models import embedded_model_path

RECOMMENDED = "qwen2.5-coder-1.5b"
DEMO_HINT = (f"%%oci · SmolLM2-135M is a tiny demo model: for real code run %oci pull {RECOMMENDED} "
             f"(1.1 GB, once), then %oci model {RECOMMENDED} · c.OciMagics.demo_hint = False hides this")


def pull_model(value: Optional[str]) -> None:
    """Download ``value`` (a catalog name or REPO_ID/FILE.gguf) with a progress bar: the
    ipywidgets one in a notebook, text in a terminal. Raises OciError (one line)."""
    if not value:
        from ..errors import UnknownModel

        raise UnknownModel("", catalog.names())
    from tqdm.auto import tqdm

    from ..backends.pull import pull

    spec = catalog.require(value)
    size, exact = catalog.size_of(spec)
    print(f"%oci pull · {spec.label} from {spec.repo}" + (f" ({'' if exact else '~'}{catalog.human_size(size)})"
                                                            if size else ""), flush=True)
    result = pull(spec, tqdm_class=tqdm, echo=lambda line: print(f"%oci pull · {line}", flush=True),
                  command="%oci pull")
    state = "downloaded" if result.downloaded else "already downloaded"
    print(f"%oci pull · {spec.label}: {state}, {catalog.human_size(result.size)} · use it with "
          f"%oci model {spec.label} (this kernel) or %%oci --model {spec.label} (one run)", flush=True)


def models_text() -> str:
    from ..backends.local import rows, table

    return table(rows())


def demo_hint(model: Optional[dict]) -> Optional[str]:
    """The hint, when the run's model (its record's ``model``) is the embedded file."""
    path = (model or {}).get("path")
    embedded = embedded_model_path()
    if not path or not embedded:
        return None
    try:
        return DEMO_HINT if os.path.samefile(path, embedded) else None
    except OSError:
        return None
