"""Backends: where replies come from. ``llama`` runs a GGUF model in-process (imported lazily);
``replay`` answers with recorded replies and needs no model."""
from .base import Backend, Message, Usage, complete
from .replay import RecordingBackend, ReplayBackend, load_replies, save_replies

__all__ = ["Backend", "Message", "Usage", "complete", "RecordingBackend", "ReplayBackend", "load_replies", "save_replies"]
