"""Asking the person at the notebook a question while a cell runs.

``input()`` is the one channel that works mid-execution in JupyterLab and Notebook 7 (a stdin
request); widget button clicks only arrive once the cell is idle (ipykernel 7), so they cannot
answer a question the running cell is waiting on. Headless kernels (nbclient, ``oci run``) have
no stdin at all: then nobody can answer, and the caller must refuse rather than guess.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

Ask = Callable[[str, Sequence[str]], Optional[str]]  # (question, choices) -> a choice, or None


def ask_stdin(question: str, choices: Sequence[str], read: Callable[[str], str] = input) -> Optional[str]:
    """Ask on stdin until the answer is one of ``choices`` (or its first letter). Return None
    when there is no stdin to ask on."""
    initials = [c[0].lower() for c in choices]
    keys = {i: c for i, c in zip(initials, choices) if initials.count(i) == 1}  # "y", not an ambiguous "s"
    keys.update({c.lower(): c for c in choices})
    prompt = f"{question} [{'/'.join(choices)}] "
    while True:
        try:
            answer = read(prompt)
        except (EOFError, OSError):
            return None
        except Exception as exc:  # ipykernel's StdinNotImplementedError, without importing ipykernel
            if type(exc).__name__ == "StdinNotImplementedError":
                return None
            raise
        choice = keys.get(answer.strip().lower())
        if choice is not None:
            return choice
