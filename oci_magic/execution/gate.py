"""What is decided before code runs: run it, skip it, or stop the run. The safety policy and the
confirmation question are gates; the loop asks its gate once per round."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

RUN, SKIP, STOP = "run", "skip", "stop"  # a gate's actions, and the answers the person can give
SKIPPED_BY_USER = "The user chose not to run this code. Write different code for the task."


@dataclass
class Decision:
    """A gate's answer before code runs: run it, skip it (``reason`` goes back to the model as
    feedback), or stop the whole run (``reason`` ends up in the summary)."""

    action: str = RUN
    reason: str = ""


Gate = Callable[[int, str], Decision]  # (round index, code) -> Decision


def run_everything(index: int, code: str) -> Decision:
    return Decision(RUN)
