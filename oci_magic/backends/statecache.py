"""The prompt cache on disk: llama.cpp's state (KV cache, logits) for the longest prompt a kernel
evaluated, so that after a kernel restart the same notebook is not read again from the start.

One file per saved state, under a folder per model (its identity: path, size, modification time,
context size, llama-cpp-python version)::

    OCIKV1\\n <header length: 8 bytes> <header: JSON> <state bytes>

The JSON header holds the tokens, the state's length and sha256. A file is written to a temporary
name and renamed into place, so a second kernel never reads half a file; a file that is truncated,
corrupt or from another format is ignored and removed, never loaded. Least recently used states go
first when the folder outgrows its size limit; a state whose tokens start another's is dropped,
since the longer one serves both.

We do not use llama-cpp-python's ``LlamaDiskCache``: it pickles (loading a pickle runs code), pops
the entry it reads, needs ``diskcache`` and prints on every write.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

def cache_folder(*parts: str) -> str:
    """A folder under oci_magic's own cache: $XDG_CACHE_HOME/oci_magic, else ~/.cache/oci_magic."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "oci_magic", *parts)


MAGIC = b"OCIKV1\n"
SUFFIX = ".kv"
MIN_TOKENS = 32  # states shorter than this are not worth a file


@dataclass
class Entry:
    path: str
    tokens: List[int]
    size: int


def model_key(model_path: str, n_ctx: int, version: str) -> str:
    """The folder name for one model file in one configuration: a state is only loaded into the
    same weights and window size it was saved from."""
    stat = os.stat(model_path)
    ident = f"{os.path.abspath(model_path)}\0{stat.st_size}\0{int(stat.st_mtime)}\0{n_ctx}\0{version}"
    name = os.path.splitext(os.path.basename(model_path))[0][:40]
    return f"{name}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class StateStore:
    """Saved states of one model, in ``folder``, at most ``limit_bytes`` in all."""

    def __init__(self, folder: str, limit_bytes: int):
        self.folder, self.limit = folder, int(limit_bytes)

    def entries(self) -> List[Entry]:
        """The readable entries, newest use first. Unreadable files are removed on the way."""
        found = []
        try:
            names = [n for n in os.listdir(self.folder) if n.endswith(SUFFIX)]
        except OSError:
            return []
        for name in names:
            path = os.path.join(self.folder, name)
            header = _read_header(path)
            try:
                stat = os.stat(path)
            except OSError:  # removed by another kernel meanwhile
                continue
            if header is None or stat.st_size != header["end"]:  # corrupt or truncated
                remove(path)
                continue
            found.append((stat.st_mtime, Entry(path, header["tokens"], stat.st_size)))
        return [e for _, e in sorted(found, key=lambda t: -t[0])]

    def best(self, tokens: Sequence[int]) -> Optional[Tuple[int, str]]:
        """(common prefix length, path) of the saved state sharing the longest prefix with ``tokens``."""
        best = None
        for entry in self.entries():
            n = common_prefix(entry.tokens, tokens)
            if n and (best is None or n > best[0]):
                best = (n, entry.path)
        return best

    def load(self, path: str) -> Optional[Tuple[List[int], bytes]]:
        """The tokens and state bytes of one entry, checked against its header's length and
        sha256; None (and the file removed) when it does not check out."""
        try:
            with open(path, "rb") as f:
                header = _header(f)
                data = f.read() if header is not None else b""
        except OSError:
            return None
        if (header is None or len(data) != header.get("bytes")
                or hashlib.sha256(data).hexdigest() != header.get("sha256")):
            remove(path)
            return None
        try:
            os.utime(path)  # least recently *used* goes first
        except OSError:
            pass
        return list(header["tokens"]), data

    def save(self, tokens: Sequence[int], data: bytes) -> Optional[str]:
        """Write one state atomically; drop the entries it supersedes, then the oldest until the
        folder fits the limit. Returns the path, or None when nothing was written."""
        tokens = [int(t) for t in tokens]
        if len(tokens) < MIN_TOKENS or self.limit <= 0 or len(data) > self.limit:
            return None
        for entry in self.entries():  # another kernel saved more of the same prompt: nothing to add
            if len(entry.tokens) > len(tokens) and common_prefix(entry.tokens, tokens) == len(tokens):
                return entry.path
        header = json.dumps({"tokens": tokens, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}).encode()
        name = hashlib.sha256(struct.pack(f"<{len(tokens)}i", *tokens)).hexdigest()[:24] + SUFFIX
        path = os.path.join(self.folder, name)
        try:  # an unwritable or full disk: no cache, never an error
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".part")
        except OSError:
            return None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + struct.pack("<Q", len(header)) + header)
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            remove(tmp)
            return None
        self._trim(path, tokens)
        return path

    def _trim(self, kept: str, tokens: List[int]) -> None:
        total, entries = 0, self.entries()
        if any(e.path != kept and len(e.tokens) > len(tokens) and common_prefix(e.tokens, tokens) == len(tokens)
               for e in entries):  # a longer one was written meanwhile (another kernel): it supersedes ours
            remove(kept)
            return
        for entry in entries:
            if entry.path == kept:
                total += entry.size
            elif common_prefix(entry.tokens, tokens) == len(entry.tokens):  # a prefix of the new one
                remove(entry.path)
            elif total + entry.size > self.limit:
                remove(entry.path)
            else:
                total += entry.size


def folder_usage(folder: str) -> Tuple[int, int]:
    """(saved states, bytes) under ``folder``, every model's; files removed meanwhile are skipped."""
    files = size = 0
    for root, _, names in os.walk(folder):
        for name in names:
            if name.endswith(SUFFIX):
                try:
                    size += os.path.getsize(os.path.join(root, name))
                    files += 1
                except OSError:
                    continue
    return files, size


def _header(f) -> Optional[dict]:
    if f.read(len(MAGIC)) != MAGIC:
        return None
    raw = f.read(8)
    if len(raw) != 8:
        return None
    (length,) = struct.unpack("<Q", raw)
    if length > 64 << 20:
        return None
    try:
        header = json.loads(f.read(length))
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(header.get("tokens"), list):
        return None
    header["end"] = f.tell() + int(header.get("bytes") or 0)  # the file's length when whole
    return header


def _read_header(path: str) -> Optional[dict]:
    try:
        with open(path, "rb") as f:
            return _header(f)
    except OSError:
        return None


def remove(path: str) -> None:
    """Remove a file that may be gone already (another kernel trimmed the folder)."""
    try:
        os.remove(path)
    except OSError:
        pass
