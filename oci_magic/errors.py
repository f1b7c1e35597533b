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


class UnknownModel(ModelError):
    """A model given by a name that is neither a file nor in the catalog."""

    def __init__(self, name: str, known):
        self.name, self.known = name, list(known)
        super().__init__(f"unknown model {name!r}: not a file, nor a catalog name ({', '.join(self.known)}), "
                         f"nor REPO_ID/FILE.gguf; `oci model list` shows the catalog")


class ModelNotDownloaded(ModelError):
    """A catalog name or REPO_ID/FILE whose file is not in the Hugging Face cache yet."""

    def __init__(self, name: str, size, command: str):
        self.name, self.size, self.command = name, size, command
        super().__init__(f"model {name} is not downloaded{f' ({size})' if size else ''}: get it with `{command}` "
                         f"(in a notebook: %oci pull {name})")


class PullError(OciError):
    """A download failed; ``reason`` says how: offline, network, not-found, gated, checksum, disk,
    interrupted. Nothing is left installed, and a partial file is kept only to resume."""

    def __init__(self, message: str, reason: str):
        self.reason = reason
        super().__init__(message)


class ReplayError(OciError):
    """A replay or record file is unreadable or malformed."""


class ReplayExhausted(ReplayError):
    """The replay backend was asked for more replies than the file holds."""


class GenerationError(OciError):
    """The backend failed while generating."""


class PromptTooLong(GenerationError):
    """The first prompt cannot fit the model's context window (the task itself is too long)."""

    def __init__(self, needed: int, n_ctx: int):
        self.needed, self.n_ctx = needed, n_ctx
        super().__init__(f"the task is too long: its prompt needs {needed} tokens and the model's context window "
                         f"holds {n_ctx}; shorten the task or raise OciMagics.n_ctx")


class NothingToFix(OciError):
    """``%oci fix`` with no cell that raised."""


class UnknownBackend(OciError):
    """No backend is registered under the name asked for."""


class NestedRun(OciError):
    """A ``%%oci`` (or ``%oci fix``/``pull``/``model``) started from inside a run's own code."""
