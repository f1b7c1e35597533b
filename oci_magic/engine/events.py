"""Events the refinement loop emits. Renderers (text, widgets, records) subscribe; the loop knows
none of them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from ..execution.result import Execution
from .records import Round, RunResult


@dataclass
class ReadingContext:
    """Emitted by the front end before it reads the notebook for the model (before RunStarted)."""

    task: str = ""


@dataclass
class RunAborted:
    """Emitted by the front end when the run ends before the loop starts (a task too long for the
    window, ■ while the notebook is read): live views stop showing "reading context"."""

    reason: str = ""


@dataclass
class ModelLoading:
    """A model is being loaded for this run (seconds, on a laptop, for a real model)."""

    name: str
    source: str  # why this one: --model, %oci model, $OCI_MODEL, config, embedded default


@dataclass
class ModelLoaded:
    name: str
    seconds: float
    n_ctx: int
    n_threads: int


@dataclass
class RunStarted:
    task: str
    max_rounds: int
    backend: str
    timed: bool = True  # the backend's speed means something (not a replay)


@dataclass
class RoundStarted:
    index: int
    max_rounds: int


@dataclass
class TokenGenerated:
    index: int
    text: str


@dataclass
class ReplyRepeated:
    """The round's reply repeated code an earlier round ran; the model is asked again (its next
    tokens belong to the new reply)."""

    index: int


@dataclass
class CodeReady:
    index: int
    code: str


@dataclass
class CandidatesTried:
    """A round's candidates ran off the live state: how many there were, ran and passed, and
    how many did what the chosen one did."""

    index: int
    candidates: int
    ran: int
    agree: int
    note: str = ""  # why the round fell back to one candidate

@dataclass
class ExecutionStarted:
    index: int
    code: str


@dataclass
class ExecutionFinished:
    index: int
    execution: Execution


@dataclass
class RoundFinished:
    round: Round


@dataclass
class RunFinished:
    result: RunResult


Event = Union[RunAborted, ReadingContext, ModelLoading, ModelLoaded, RunStarted, RoundStarted, TokenGenerated, CodeReady, CandidatesTried, ExecutionStarted, ExecutionFinished, RoundFinished, RunFinished]
Listener = Callable[[Event], None]
