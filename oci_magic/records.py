"""What a run produced: executions, rounds and the run's result. Plain data, JSON-ready."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from .backends.base import Usage

# Round statuses
OK, ERROR, NO_CODE, REPEATED, NOT_RUN, INTERRUPTED, SKIPPED = (
    "ok", "error", "no-code", "repeated", "not-run", "interrupted", "skipped")
TIMEOUT = "timeout"
# Run outcomes
SUCCESS, GAVE_UP, NO_PROGRESS, GENERATED, STOPPED, FAILED = (
    "success", "gave-up", "no-progress", "generated", "interrupted", "failed")
OK_OUTCOMES = (SUCCESS, GENERATED)  # the run produced code to keep


@dataclass
class Execution:
    """The outcome of running one round's code; what an executor returns."""

    ok: bool
    ename: Optional[str] = None
    evalue: Optional[str] = None
    traceback: List[str] = field(default_factory=list)  # "File ..., line N, in f" + source, per frame
    stdout_tail: str = ""
    seconds: float = 0.0
    interrupted: bool = False
    timed_out: bool = False  # stopped by the time limit (ename TimeoutError, evalue "timed out after S s")
    restored: List[str] = field(default_factory=list)  # names a failed round rebound or deleted, put back
    removed: List[str] = field(default_factory=list)  # names a failed round created, removed again
    isolated: List[str] = field(default_factory=list)  # names the code ran on copies of (--isolate)

    @property
    def error_line(self) -> str:
        return f"{self.ename}: {self.evalue}" if self.evalue else str(self.ename)

    def signature(self) -> tuple:
        """Equal for two executions that failed the same way (for the no-progress stop)."""
        return (self.ename, self.evalue, tuple(frame.split("\n")[0] for frame in self.traceback))


@dataclass
class Round:
    index: int
    reply: str = ""
    code: Optional[str] = None
    status: str = ""
    execution: Optional[Execution] = None
    feedback: Optional[str] = None  # sent to the model for the next round
    usage: Optional[Usage] = None
    generate_seconds: float = 0.0

    @property
    def error_line(self) -> Optional[str]:
        if self.status == NO_CODE:
            return "the reply contained no code"
        if self.status == REPEATED:
            return "the reply repeated the previous round's code"
        if self.status == SKIPPED:
            return "the code was not run: " + (self.feedback or "skipped")
        return self.execution.error_line if self.execution and not self.execution.ok else None


@dataclass
class RunResult:
    task: str
    max_rounds: int
    rounds: List[Round] = field(default_factory=list)
    outcome: str = ""
    message: str = ""  # why a run stopped early (interrupt, backend error)

    @property
    def final_round(self) -> Optional[Round]:
        """The round whose code is the result: the successful one, or (with --no-exec) the generated one."""
        if self.ok and self.rounds:
            return self.rounds[-1]
        return None

    @property
    def ok(self) -> bool:
        """It produced code to keep: it worked, or (--no-exec) it was generated."""
        return self.outcome in OK_OUTCOMES

    @property
    def succeeded(self) -> bool:
        return self.outcome == SUCCESS

    def summary(self) -> str:
        n = len(self.rounds)
        last = next((r.error_line for r in reversed(self.rounds) if r.error_line), None)
        if self.outcome == SUCCESS:
            return f"succeeded in round {n} of {self.max_rounds}"
        if self.outcome == GENERATED:
            return "generated code (not run: --no-exec)" if self.rounds[-1].code else "no code generated"
        if self.outcome == NO_PROGRESS:
            return f"gave up after {n} round{'s' * (n != 1)}: no progress ({last})"
        if self.outcome == STOPPED:
            return f"interrupted in round {n}" + (f": {self.message}" if self.message else "")
        if self.outcome == FAILED:
            return f"stopped in round {n}: {self.message}"
        return f"gave up after {n} round{'s' * (n != 1)}; last error: {last}"
