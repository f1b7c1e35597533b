"""Text helpers every layer uses: ANSI stripping, head-and-tail clipping, cleaning a task.

A cell can hold text no model should see raw: lone surrogates (bytes that were not UTF-8, decoded
with ``surrogateescape``) cannot even be encoded for the tokenizer, and control characters (NUL,
escape sequences, form feeds) are noise to the model and garble terminals.
"""
from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def clip(text: str, limit: int, marker: str = "\n[... {n} characters cut ...]\n") -> str:
    """Keep the head and the tail of ``text`` within about ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 5
    tail = limit - head
    return text[:head] + marker.format(n=len(text) - head - tail) + text[-tail:]


def tail_lines(text: str, lines: int = 10, chars: int = 600) -> str:
    text = strip_ansi(text).rstrip()
    kept = "\n".join(text.splitlines()[-lines:])
    return kept[-chars:]


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def first_line(exc: BaseException) -> str:
    """An exception's first line, whitespace squeezed; its type name when it says nothing."""
    text = str(exc).strip()
    return one_line(text.splitlines()[0]) if text else type(exc).__name__


def clean_text(text: str) -> str:
    """Surrogates become U+FFFD, control characters go (newlines and tabs stay); a task left
    empty is refused like any empty task."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", strip_ansi(text))  # whole escape sequences, not just their ESC byte
