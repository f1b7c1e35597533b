"""Find the Python code in a model's reply.

Fenced blocks win (all Python-looking ones, joined in order); a reply cut off inside a fence keeps
what it has; without fences the longest stretch of lines that parses as real code is taken.
"""
from __future__ import annotations

import ast
import re
from typing import List, Optional

PYTHON_TAGS = {"", "python", "py", "python3", "py3", "ipython", "ipython3", "pycon", "jupyter"}
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_PROMPT = re.compile(r"^(>>>|\.\.\.) ?", re.M)
_MAX_EDGE = 12  # prose lines tried off each end of an unfenced reply


def extract_code(reply: str) -> Optional[str]:
    """Return the code in ``reply``, or None when there is none."""
    blocks = _fenced_blocks(reply)
    if blocks is not None:
        code = "\n\n".join(b for b in blocks if b.strip())
        return code.strip("\n") or None
    return _bare_code(reply)


_CLOSED = re.compile(r"^[ \t]*(`{3,})[ \t]*(python|py|python3)?[ \t]*\n.*?^[ \t]*\1[ \t]*\n", re.M | re.S | re.I)


def closed_block_end(reply: str) -> Optional[int]:
    """Where the first complete fenced Python block of ``reply`` ends (after its closing fence's
    line end), or None: the point where a model told to answer with one block is done, and the
    rest is chatter."""
    match = _CLOSED.search(reply)
    return match.end() if match else None


def _fenced_blocks(reply: str) -> Optional[List[str]]:
    """Python blocks of a fenced reply ([] if only other languages), None if it has no fences."""
    matches = list(_FENCE.finditer(reply))
    if not matches:
        return None
    blocks = []
    for m in matches:
        tag, body = m.group(2).lower(), m.group(3)
        if tag in PYTHON_TAGS and (tag or _parses(body)):
            blocks.append(_dedent_prompts(body).rstrip())
    return blocks


def _dedent_prompts(code: str) -> str:
    """Drop ``>>>`` / ``...`` prompts from a pasted interactive session."""
    lines = code.splitlines()
    if lines and lines[0].startswith(">>>"):
        return "\n".join(_PROMPT.sub("", line) for line in lines if _PROMPT.match(line))
    return code


def _bare_code(reply: str) -> Optional[str]:
    lines = reply.strip("\n").splitlines()
    n = len(lines)
    for start in range(min(n, _MAX_EDGE)):
        for end in range(n, max(start, n - _MAX_EDGE), -1):
            candidate = "\n".join(lines[start:end]).strip("\n")
            if _is_real_code(candidate):
                return candidate
    return None


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _is_real_code(code: str) -> bool:
    """Parses, and is more than a bare word or constant (``Sure``, ``42``)."""
    if not code.strip():
        return False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, (ast.Name, ast.Constant))) for s in tree.body)
