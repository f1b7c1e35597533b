"""Read the metadata header of a GGUF file without llama.cpp.

Used to validate a model path before the (slow) load, and to report the architecture, trained
context length and chat template in ``%oci``. Array values (the tokenizer's vocabulary) are
skipped, not read: only scalars and strings are kept.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import ModelNotFound, NotGGUF

MAGIC = b"GGUF"
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 64 << 20  # a longer string means a corrupt file, not a real template


@dataclass
class GGUFInfo:
    path: str
    version: int
    tensor_count: int
    metadata: dict = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or os.path.basename(self.path))

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value is not None else None

    @property
    def chat_template(self) -> str | None:
        return self.metadata.get("tokenizer.chat_template")


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data


def _unpack(f: BinaryIO, fmt: str):
    return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]


def _string(f: BinaryIO) -> str:
    n = _unpack(f, "<Q")
    if n > _MAX_STRING:
        raise ValueError(f"string of {n} bytes")
    return _read(f, n).decode("utf-8", errors="replace")


def _skip_array(f: BinaryIO) -> None:
    item_type, count = _unpack(f, "<I"), _unpack(f, "<Q")
    if item_type in _SCALARS:
        f.seek(struct.calcsize(_SCALARS[item_type]) * count, os.SEEK_CUR)
    elif item_type == _STRING:
        for _ in range(count):
            f.seek(_unpack(f, "<Q"), os.SEEK_CUR)
    elif item_type == _ARRAY:
        for _ in range(count):
            _skip_array(f)
    else:
        raise ValueError(f"unknown array item type {item_type}")


def _value(f: BinaryIO, value_type: int):
    if value_type in _SCALARS:
        return _unpack(f, _SCALARS[value_type])
    if value_type == _STRING:
        return _string(f)
    if value_type == _ARRAY:
        _skip_array(f)
        return None
    raise ValueError(f"unknown value type {value_type}")


def read_gguf(path: str | os.PathLike) -> GGUFInfo:
    """Parse the header of ``path``; raise ModelNotFound / NotGGUF with a one-line reason."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelNotFound(f"model file not found: {path}")
    if not os.path.isfile(path):
        raise ModelNotFound(f"model path is not a file: {path}")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(4) != MAGIC:
            raise NotGGUF(f"not a GGUF model file (no GGUF magic bytes): {path}")
        try:
            version, tensors, kv_count = _unpack(f, "<I"), _unpack(f, "<Q"), _unpack(f, "<Q")
            info = GGUFInfo(path, version, tensors)
            for _ in range(kv_count):
                key = _string(f)
                value = _value(f, _unpack(f, "<I"))
                if value is not None:
                    info.metadata[key] = value
                if f.tell() > size:
                    raise EOFError
        except (EOFError, ValueError, struct.error) as exc:
            raise NotGGUF(f"GGUF header is truncated or corrupt ({str(exc) or 'unexpected end of file'}): {path}") from None
    if tensors == 0:
        raise NotGGUF(f"GGUF file holds no tensors (a vocabulary-only file?): {path}")
    return info
