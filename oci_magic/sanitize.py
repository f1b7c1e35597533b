"""Cleaning the task text before it reaches the model.

A cell can hold text no model should see raw: lone surrogates (bytes that were not UTF-8, decoded
with ``surrogateescape``) cannot even be encoded for the tokenizer, and control characters (NUL,
escape sequences, form feeds) are noise to the model and garble terminals. We replace the former
with U+FFFD and drop the latter, keeping newlines and tabs; a task left empty is refused by the
magic like any empty task.
"""
from __future__ import annotations

import re

from .feedback import strip_ansi

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", strip_ansi(text))  # whole escape sequences, not just their ESC byte
