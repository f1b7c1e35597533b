"""Asking the person at the notebook a question while a cell runs.

``input()`` is the one channel that works mid-execution in JupyterLab and Notebook 7 (a stdin
request); widget button clicks only arrive once the cell is idle (ipykernel 7), so they cannot
answer a question the running cell is waiting on. Headless kernels (nbclient, ``oci run``) have
no stdin at all: then nobody can answer, and the caller must refuse rather than guess.
"""
from __future__ import annotations

import builtins
from typing import Callable, Optional, Sequence

from .gate import RUN, SKIP, SKIPPED_BY_USER, STOP, Decision

Ask = Callable[[str, Sequence[str]], Optional[str]]  # (question, choices) -> a choice, or None


def ask_stdin(question: str, choices: Sequence[str], read: Optional[Callable[[str], str]] = None) -> Optional[str]:
    """Ask on stdin until the answer is one of ``choices`` (or its first letter). Return None
    when there is no stdin to ask on. With no ``choices``, any answer (stripped) is returned."""
    # looked up per call: ipykernel swaps builtins.input for its stdin request while a cell runs
    read = read or builtins.input
    initials = [c[0].lower() for c in choices]
    keys = {i: c for i, c in zip(initials, choices) if initials.count(i) == 1}  # "y", not an ambiguous "s"
    keys.update({c.lower(): c for c in choices})
    prompt = f"{question} [{'/'.join(choices)}] " if choices else f"{question} "
    while True:
        try:
            answer = read(prompt)
        except (EOFError, OSError):
            return None
        except Exception as exc:  # ipykernel's StdinNotImplementedError, without importing ipykernel
            if type(exc).__name__ == "StdinNotImplementedError":
                return None
            raise
        if not choices:
            return answer.strip()
        choice = keys.get(answer.strip().lower())
        if choice is not None:
            return choice


REFUSAL = ("--confirm asks before running code, and nobody can answer here (no stdin / headless); "
           "nothing was run. Pass --yes to run without asking")


class ConfirmGate:
    """The loop's gate for ``--confirm``: asks Run / Skip / Stop before each execution.

    On Skip the person may say why; that goes back to the model as the round's feedback. Where
    nobody can answer (``headless``, or no stdin) it refuses: the run stops before executing
    anything, and the summary says to pass --yes.
    """

    def __init__(self, ask: Optional[Ask] = None, headless: bool = False,
                 warn: Optional[Callable[[str], str]] = None):
        self._ask = ask
        self.headless = headless
        self.warn = warn  # code -> a note for the question ("careful: it uses os.system ..."), or ""

    def ask(self, question: str, choices: Sequence[str]) -> Optional[str]:
        return (self._ask or ask_stdin)(question, choices)  # late: tests script the answers

    def __call__(self, index: int, code: str) -> Decision:
        if self.headless:
            return Decision(STOP, REFUSAL)
        note = self.warn(code) if self.warn else ""
        answer = self.ask(f"Run the code of round {index}?" + (f" ({note})" if note else ""), (RUN, SKIP, STOP))
        if answer is None:
            return Decision(STOP, REFUSAL)
        if answer == RUN:
            return Decision(RUN)
        if answer == STOP:
            return Decision(STOP, f"stopped by you before running round {index}")
        why = self.ask("Why not? (sent to the model; Enter for no reason)", ())
        return Decision(SKIP, f"The user chose not to run this code: {why}. Write different code for the task."
                        if why else SKIPPED_BY_USER)
