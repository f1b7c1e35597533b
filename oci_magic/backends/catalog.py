"""Code models by name: where each lives on the Hugging Face Hub, and what it costs.

A name is accepted wherever a model path is (``--model``, ``%oci model``, ``$OCI_MODEL``,
``c.OciMagics.model_path``), and so is ``REPO_ID/FILE.gguf``. ``oci model pull NAME`` fetches one
into the Hugging Face cache; :mod:`.models` finds it there. Nothing here touches the network.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class Spec:
    """What to fetch: one GGUF file of a Hub repo (its first part, when it is split)."""

    repo: str  # "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"
    file: str  # path inside the repo
    revision: str = "main"
    name: str = ""  # the catalog name, "" for a REPO_ID/FILE given by hand

    @property
    def label(self) -> str:
        return self.name or f"{self.repo}/{self.file}"

    @property
    def files(self) -> List[str]:
        """Every file to download: the parts ``-00001-of-0000N.gguf`` … of a split GGUF (llama.cpp
        loads them by the first), else the file alone."""
        match = _SPLIT.search(self.file)
        if not match:
            return [self.file]
        total = int(match.group(2))
        stem = self.file[:match.start()]
        return [f"{stem}-{i:05d}-of-{total:05d}.gguf" for i in range(1, total + 1)]


@dataclass(frozen=True)
class Entry:
    name: str
    repo: str
    file: str
    size: int  # bytes, all parts together
    license: str
    note: str
    sha256: str = ""  # of the whole file, where checked here (split files: the Hub's ETag of each part)
    verified: bool = False  # size and sha256 checked against a copy of the file; else approximate
    candidates: int = 1  # replies per round by default (OciMagics.candidates = 0): what oci bench notebooks chose

    @property
    def spec(self) -> Spec:
        return Spec(self.repo, self.file, name=self.name)


# The Qwen 0.5B and 1.5B sizes and sha256 are those of the files the benchmarks run on, the
# official Q4_K_M files of these repos. The 3B, 7B and OpenCodeInterpreter entries could not be
# checked from here (no Hub access): repo, file name and size are from their model pages, the size
# is approximate, and a pull checks each file against the Hub's own sha256 (its ETag) anyway.
CATALOG: Dict[str, Entry] = {e.name: e for e in [
    Entry("qwen2.5-coder-0.5b", "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
          491_400_064, "Apache-2.0", "smallest real code model; fast on any CPU, simple tasks",
          "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", verified=True),
    Entry("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
          1_117_320_768, "Apache-2.0", "the recommended start: good pandas code on any laptop",
          "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", verified=True,
          candidates=2),  # the suite: 33 -> 37 of 66 in fresh kernels, 29 -> 33 in one session, 1.3-1.4x the time
    Entry("qwen2.5-coder-3b", "Qwen/Qwen2.5-Coder-3B-Instruct-GGUF", "qwen2.5-coder-3b-instruct-q4_k_m.gguf",
          2_100_000_000, "Qwen Research (non-commercial)", "better fixes; 8 GB RAM laptops"),
    Entry("qwen2.5-coder-7b", "Qwen/Qwen2.5-Coder-7B-Instruct-GGUF",
          "qwen2.5-coder-7b-instruct-q4_k_m-00001-of-00002.gguf",
          4_680_000_000, "Apache-2.0", "strong; published in 2 parts; Apple M-series or a recent CPU, 16 GB RAM"),
    Entry("opencodeinterpreter-ds-6.7b", "mradermacher/OpenCodeInterpreter-DS-6.7B-GGUF",
          "OpenCodeInterpreter-DS-6.7B.Q4_K_M.gguf", 4_080_000_000, "DeepSeek License (deepseek-coder base)",
          "the paper's model, trained for this generate-run-fix loop (community quantization)"),
]}


def lookup(name: str) -> Optional[Entry]:
    return CATALOG.get(name.strip().lower())


def candidates_for(path: str) -> int:
    """Replies per round a model gets when the option is left to it: its entry's, found by the
    file's name wherever the file lies (a pulled copy, a benchmark's, one put there by hand); 1
    for a model the catalog has not measured. Only the 1.5B chose more than one: the 0.5B
    solved no more with two candidates, for twice the time."""
    base = os.path.basename(path).lower()
    for entry in CATALOG.values():
        if base == os.path.basename(entry.file).lower():
            return entry.candidates
    return 1


def parse(value: str) -> Optional[Spec]:
    """A catalog name or ``REPO_ID/FILE.gguf`` (``REPO_ID/FILE.gguf@REVISION`` too) as a Spec;
    None for anything else (a path). An existing file always wins over the REPO_ID/FILE form."""
    value = value.strip()
    entry = lookup(value)
    if entry is not None:
        return entry.spec
    if value.startswith(("/", "~", ".", "\\")) or os.path.isabs(value) or os.path.exists(os.path.expanduser(value)):
        return None
    body, _, revision = value.partition("@")
    parts = body.split("/")
    if len(parts) >= 3 and all(parts) and parts[-1].lower().endswith(".gguf"):
        return Spec("/".join(parts[:2]), "/".join(parts[2:]), revision or "main")
    return None


def require(value: str) -> Spec:
    """``value`` as a Spec, or UnknownModel naming the catalog (for pull and rm, which need one)."""
    from ..errors import UnknownModel

    spec = parse(value)
    if spec is None:
        raise UnknownModel(value, names())
    return spec


def looks_like_name(value: str) -> bool:
    """No path separator, no .gguf and no such file: meant as a catalog name."""
    value = value.strip()
    return ("/" not in value and os.sep not in value and not value.lower().endswith(".gguf")
            and not value.startswith("~") and not os.path.exists(value))


def human_size(size: Optional[int]) -> str:
    if size is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def names() -> List[str]:
    return list(CATALOG)


def size_of(spec: Spec) -> Tuple[Optional[int], bool]:
    """The catalog's size for ``spec`` and whether it is exact; (None, False) when unknown."""
    entry = lookup(spec.name) if spec.name else None
    return (entry.size, entry.verified) if entry else (None, False)
