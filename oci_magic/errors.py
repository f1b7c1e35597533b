"""The exceptions oci_magic raises: a small hierarchy rooted at :class:`OciError`.

Every error a user can cause (a bad model path, a malformed replay file) is one of these, with a
message that fits on one line; the magic turns them into ``UsageError`` so IPython shows that line
and nothing else.
"""
from __future__ import annotations


class OciError(Exception):
    """Base class of every error raised by oci_magic."""


class ModelError(OciError):
    """The model cannot be used: missing file, not GGUF, truncated, fails to load."""


class ModelNotFound(ModelError):
    """The model path does not exist (or is not a file)."""


class NotGGUF(ModelError):
    """The file exists but is not a readable GGUF model."""


class ReplayError(OciError):
    """A replay or record file is unreadable or malformed."""


class ReplayExhausted(ReplayError):
    """The replay backend was asked for more replies than the file holds."""


class GenerationError(OciError):
    """The backend failed while generating."""
