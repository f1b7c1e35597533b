"""What is downloaded: the catalog with each model's state, other GGUF files pulled by hand, and
``oci model rm``. Reads the Hugging Face cache; never the network."""
from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from typing import List

from . import catalog
from .models import cached_parts, hub_cache_dir


@dataclass
class Row:
    name: str
    size: str
    state: str  # "downloaded", "partial 120 MB", "-"
    where: str  # the path to load, "" when not downloaded
    license: str = ""
    note: str = ""


def _folder(repo: str) -> str:
    return os.path.join(hub_cache_dir(), "models--" + repo.replace("/", "--"))


def _partial_bytes(repo: str) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(_folder(repo), "blobs", "*.incomplete")))


def state(spec: catalog.Spec) -> Row:
    parts = cached_parts(spec)
    size, exact = catalog.size_of(spec)
    if parts and all(parts):
        size, exact = sum(os.path.getsize(p) for p in parts), True
        return Row(spec.label, catalog.human_size(size), "downloaded", parts[0])
    partial = _partial_bytes(spec.repo)
    shown = catalog.human_size(size) if exact or size is None else "~" + catalog.human_size(size)
    return Row(spec.label, shown, f"partial {catalog.human_size(partial)}" if partial else "-", "")


def rows() -> List[Row]:
    """The catalog, then any other GGUF file in the cache (pulled as REPO_ID/FILE)."""
    result, known = [], set()
    for entry in catalog.CATALOG.values():
        row = state(entry.spec)
        row.license, row.note = entry.license, entry.note
        result.append(row)
        known.add((entry.repo.lower(), entry.file.lower()))
    for path in sorted(glob.glob(os.path.join(hub_cache_dir(), "models--*", "snapshots", "*", "**", "*.gguf"),
                                 recursive=True)):
        repo_dir, _, _, *rest = os.path.relpath(path, hub_cache_dir()).split(os.sep)
        repo = repo_dir[len("models--"):].replace("--", "/", 1)
        file = "/".join(rest)
        if (repo.lower(), file.lower()) in known or not os.path.isfile(path):
            continue
        known.add((repo.lower(), file.lower()))
        result.append(Row(f"{repo}/{file}", catalog.human_size(os.path.getsize(path)), "downloaded", path))
    return result


def remove(spec: catalog.Spec) -> int:
    """Delete ``spec``'s files (every snapshot's link, their blobs, partial downloads); the bytes
    freed. The repo's folder goes too once nothing else of it is left."""
    folder, freed = _folder(spec.repo), 0
    blobs = set()
    for name in spec.files:
        for pointer in glob.glob(os.path.join(folder, "snapshots", "*", *name.split("/"))):
            target = os.path.realpath(pointer)
            if os.path.islink(pointer) and os.path.isfile(target):
                blobs.add(target)
            elif os.path.isfile(pointer):
                freed += os.path.getsize(pointer)
            os.remove(pointer)
    for blob in blobs | set(glob.glob(os.path.join(folder, "blobs", "*.incomplete"))):
        if os.path.isfile(blob):
            freed += os.path.getsize(blob)
            os.remove(blob)
    leftover = [p for p in glob.glob(os.path.join(folder, "snapshots", "**", "*"), recursive=True) if os.path.isfile(p)]
    if os.path.isdir(folder) and not leftover:
        shutil.rmtree(folder, ignore_errors=True)
    return freed


def table(rows_: List[Row], notes: bool = True) -> str:
    width = max(len(r.name) for r in rows_)
    lines = [f"{'model':<{width}}  {'size':>9}  {'state':<14}  where / note"]
    for r in rows_:
        tail = r.where or (f"{r.note} [{r.license}]" if notes and r.note else "")
        lines.append(f"{r.name:<{width}}  {r.size:>9}  {r.state:<14}  {tail}")
    lines.append(f"cache: {hub_cache_dir()}")
    return "\n".join(lines)
