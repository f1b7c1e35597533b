"""Download a model into the Hugging Face cache: ``oci model pull`` and ``%oci pull``.

huggingface_hub does the Hub's part (its endpoint, ``HF_ENDPOINT``, ``HF_TOKEN``, redirects, the
HEAD that gives the commit, ETag and size, the ranged GET with retries and a tqdm bar); this module
keeps the partial file between calls so that an interrupted pull resumes (huggingface_hub itself
deletes it), checks the free disk space first and the sha256 last, and only then links the file
into the cache's snapshot, where :func:`.models.cached_path` finds it. Nothing is installed
half-written. huggingface_hub is imported here, and this module is imported only to pull.
"""
from __future__ import annotations

import errno
import hashlib
import inspect
import os
import re
import shutil
from dataclasses import dataclass
from typing import Callable, List, Optional
from urllib.parse import urlparse

from ..errors import PullError
from . import catalog
from .models import hub_cache_dir

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TRUE = {"1", "on", "yes", "true"}


@dataclass
class Part:
    file: str
    url: str  # where the bytes are (after the Hub's redirect)
    commit: str
    etag: str
    size: Optional[int]
    pointer: str  # snapshots/COMMIT/FILE: the path once installed
    blob: str  # blobs/ETAG

    @property
    def partial(self) -> str:
        return self.blob + ".incomplete"

    def missing_bytes(self) -> int:
        if os.path.isfile(self.pointer):
            return 0
        have = os.path.getsize(self.partial) if os.path.isfile(self.partial) else 0
        return max((self.size or 0) - have, 0)


@dataclass
class Pulled:
    path: str  # the file to load (a split model's first part)
    size: int
    downloaded: bool  # False: it was already there


def storage_folder(repo: str, cache_dir: Optional[str] = None) -> str:
    return os.path.join(cache_dir or hub_cache_dir(), "models--" + repo.replace("/", "--"))


def offline() -> bool:
    import huggingface_hub.constants as constants

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in _TRUE or bool(constants.HF_HUB_OFFLINE)


def pull(spec: catalog.Spec, *, tqdm_class=None, echo: Callable[[str], None] = print,
         command: str = "oci model pull") -> Pulled:
    """Download every file of ``spec`` not in the cache yet; raise PullError (one line) if it cannot."""
    from .models import cached_path

    again = f"`{command} {spec.label}`"
    if offline():
        path = cached_path(spec)
        if path:
            return Pulled(path, _size(path, spec), False)
        raise PullError(f"offline mode (HF_HUB_OFFLINE=1) and {spec.label} is not downloaded: unset HF_HUB_OFFLINE "
                        f"on a machine with network and run {again}", "offline")
    parts = [_metadata(spec, name) for name in spec.files]
    needed = sum(p.missing_bytes() for p in parts)
    if needed == 0:
        for part in parts:
            _install(part, spec.revision)
        return Pulled(parts[0].pointer, sum(p.size or 0 for p in parts), False)
    _check_space(spec, parts, needed)
    for part in parts:
        if part.missing_bytes() or not os.path.isfile(part.pointer):
            _download(spec, part, tqdm_class, echo, again)
            _install(part, spec.revision)
    return Pulled(parts[0].pointer, sum(p.size or 0 for p in parts), True)


def _size(path: str, spec: catalog.Spec) -> int:
    return sum(os.path.getsize(os.path.join(os.path.dirname(path), os.path.basename(f))) for f in spec.files)


def _metadata(spec: catalog.Spec, name: str) -> Part:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    endpoint = os.environ.get("HF_ENDPOINT") or None
    url = hf_hub_url(spec.repo, name, revision=spec.revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise _explain(exc, spec, name, endpoint) from None
    if not meta.commit_hash or not meta.etag:
        raise PullError(f"{endpoint or 'the Hub'} did not answer like the Hugging Face Hub for {spec.repo}/{name} "
                        f"(no X-Repo-Commit or ETag): check HF_ENDPOINT", "network")
    folder = storage_folder(spec.repo)
    return Part(name, meta.location or url, meta.commit_hash, meta.etag, meta.size,
                os.path.join(folder, "snapshots", meta.commit_hash, *name.split("/")),
                os.path.join(folder, "blobs", meta.etag))


def _explain(exc: BaseException, spec: catalog.Spec, name: str, endpoint: Optional[str]) -> PullError:
    from huggingface_hub import errors

    kind = type(exc).__name__
    where = endpoint or "huggingface.co"
    if isinstance(exc, errors.GatedRepoError):
        return PullError(f"{spec.repo} is gated: accept its terms on its page at {where}, then set HF_TOKEN "
                         f"(or run `hf auth login`) and pull again", "gated")
    if isinstance(exc, errors.RevisionNotFoundError):
        return PullError(f"revision {spec.revision!r} not found in {spec.repo}", "not-found")
    if kind in ("EntryNotFoundError", "RemoteEntryNotFoundError"):
        return PullError(f"file {name} not found in {spec.repo} (revision {spec.revision})", "not-found")
    if isinstance(exc, errors.RepositoryNotFoundError):
        token = "HF_TOKEN is set" if os.environ.get("HF_TOKEN") else "a private repo needs HF_TOKEN"
        return PullError(f"repo {spec.repo} not found on {where} ({token})", "not-found")
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return PullError(f"offline mode (HF_HUB_OFFLINE=1): cannot download {spec.label}", "offline")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        return PullError(f"{where} answered HTTP {status} for {spec.repo}/{name}", "network")
    return PullError(f"cannot reach {where} to download {spec.label} ({kind}): check the network, "
                     f"HF_ENDPOINT or a proxy", "network")


def _free_space(folder: str) -> Optional[int]:
    while folder and not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _check_space(spec: catalog.Spec, parts: List[Part], needed: int) -> None:
    folder = os.path.dirname(parts[0].blob)
    free = _free_space(folder)
    if free is not None and free < needed:
        raise PullError(f"not enough disk space for {spec.label}: it needs {catalog.human_size(needed)}, "
                        f"{hub_cache_dir()} has {catalog.human_size(free)} free (free some, or set HF_HUB_CACHE to "
                        f"another disk)", "disk")


def _download(spec: catalog.Spec, part: Part, tqdm_class, echo, again: str) -> None:
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    os.makedirs(os.path.dirname(part.blob), exist_ok=True)
    if not os.path.isfile(part.blob):
        headers = build_hf_headers()
        if urlparse(part.url).netloc != urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").netloc:
            headers.pop("authorization", None)  # a signed CDN link: the token stays with the Hub
        have = os.path.getsize(part.partial) if os.path.isfile(part.partial) else 0
        if part.size is not None and have > part.size:
            os.remove(part.partial)
            have = 0
        if have:
            echo(f"resuming {part.file} at {catalog.human_size(have)} of {catalog.human_size(part.size)}")
        extra = {"tqdm_class": tqdm_class} if tqdm_class and "tqdm_class" in inspect.signature(http_get).parameters else {}
        try:
            with open(part.partial, "ab") as f:
                http_get(part.url, f, resume_size=have, headers=headers, expected_size=part.size,
                         displayed_filename=os.path.basename(part.file), **extra)
        except KeyboardInterrupt:
            done = os.path.getsize(part.partial) if os.path.isfile(part.partial) else 0
            raise PullError(f"download of {spec.label} interrupted at {catalog.human_size(done)} of "
                            f"{catalog.human_size(part.size)}; {again} resumes it", "interrupted") from None
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise PullError(f"disk full while downloading {spec.label}: free some space and run {again} "
                                f"to resume (`oci model rm {spec.label}` deletes the partial file)", "disk") from None
            if exc.errno is None:  # huggingface_hub's size check: the server sent too few or too many bytes
                raise PullError(f"download of {spec.label} came out the wrong size; {again} tries again",
                                "network") from None
            raise PullError(f"cannot write {part.partial}: {exc.strerror or exc}", "disk") from None
        except Exception as exc:  # noqa: BLE001
            raise PullError(f"download of {spec.label} failed ({_explain(exc, spec, part.file, None)}); "
                            f"{again} resumes it", "network") from None
        _verify(spec, part, echo)
        os.replace(part.partial, part.blob)


def _verify(spec: catalog.Spec, part: Part, echo) -> None:
    """The sha256 against the Hub's ETag (an LFS file's ETag is its sha256), else the catalog's."""
    entry = catalog.lookup(spec.name) if spec.name else None
    expected = part.etag.lower() if _SHA256.match(part.etag.lower()) else (
        entry.sha256 if entry and entry.sha256 and len(spec.files) == 1 else "")
    if not expected:
        return
    echo(f"checking the sha256 of {part.file}")
    digest = hashlib.sha256()
    with open(part.partial, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        os.remove(part.partial)
        raise PullError(f"checksum mismatch for {spec.repo}/{part.file}: sha256 {digest.hexdigest()[:12]}… instead "
                        f"of {expected[:12]}…; the download was deleted, nothing installed", "checksum")


def _install(part: Part, revision: str) -> None:
    """Link the blob into snapshots/COMMIT/FILE and point refs/REVISION at COMMIT, as
    huggingface_hub lays out its cache."""
    folder = os.path.dirname(os.path.dirname(part.blob))
    if revision != part.commit:
        os.makedirs(os.path.join(folder, "refs"), exist_ok=True)
        with open(os.path.join(folder, "refs", revision), "w") as f:
            f.write(part.commit)
    if os.path.isfile(part.pointer):
        return
    os.makedirs(os.path.dirname(part.pointer), exist_ok=True)
    try:
        os.symlink(os.path.relpath(part.blob, os.path.dirname(part.pointer)), part.pointer)
    except OSError:  # no symlinks here (Windows without developer mode): the snapshot holds the file
        os.replace(part.blob, part.pointer)
