"""What a run produced: rounds and the run's result, and the words for them (round statuses, run
outcomes, the one summary line). Plain data, JSON-ready."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..backends.base import Usage
from ..execution.result import Execution

# Round statuses
OK, ERROR, NO_CODE, REPEATED, NOT_RUN, INTERRUPTED, SKIPPED = (
    "ok", "error", "no-code", "repeated", "not-run", "interrupted", "skipped")
TIMEOUT = "timeout"
INCOMPLETE = "incomplete"  # the code ran, but a check of the task found it missed something
# Run outcomes
SUCCESS, GAVE_UP, NO_PROGRESS, GENERATED, STOPPED, FAILED = (
    "success", "gave-up", "no-progress", "generated", "interrupted", "failed")
UNVERIFIED = "unverified"  # the rounds ran out; the last code that ran (missing a check) is the result
OK_OUTCOMES = (SUCCESS, GENERATED, UNVERIFIED)  # the run produced code to keep


@dataclass
class Round:
    index: int
    reply: str = ""
    code: Optional[str] = None
    status: str = ""
    execution: Optional[Execution] = None
    feedback: Optional[str] = None  # sent to the model for the next round
    miss: Optional[str] = None  # what a check found amiss in code that ran (status incomplete)
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
        if self.status == INCOMPLETE:
            miss = (self.miss or "it missed the task").split(". ")[0]
            return "it ran, but " + miss[:1].lower() + miss[1:]
        return self.execution.error_line if self.execution and not self.execution.ok else None


@dataclass
class RunResult:
    task: str
    max_rounds: int
    rounds: List[Round] = field(default_factory=list)
    outcome: str = ""
    message: str = ""  # why a run stopped early (interrupt, backend error)
    model: Dict[str, object] = field(default_factory=dict)  # the backend that answered (runrecord.model_info)
    final_index: Optional[int] = None  # for an unverified run: the round whose code is kept

    @property
    def final_round(self) -> Optional[Round]:
        """The round whose code is the result: the successful one, or (with --no-exec) the generated one."""
        if self.outcome == UNVERIFIED and self.final_index:
            return self.rounds[self.final_index - 1]
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

    def summary_line(self) -> str:
        """The run's one line, as every view shows it."""
        return f"{'✓' if self.ok else '✗'} %%oci {self.summary()}"

    def summary(self) -> str:
        n = len(self.rounds)
        last = next((r.error_line for r in reversed(self.rounds) if r.error_line), None)
        if self.outcome == SUCCESS:
            return f"succeeded in round {n} of {self.max_rounds}"
        if self.outcome == UNVERIFIED:
            kept = self.final_round
            return (f"kept round {kept.index} of {self.max_rounds}: its code ran, but {kept.error_line[len('it ran, but '):]}"
                    if kept is not None else "no round passed its checks")
        if self.outcome == GENERATED:
            return "generated code (not run: --no-exec)" if self.rounds[-1].code else "no code generated"
        if self.outcome == NO_PROGRESS:
            return f"gave up after {n} round{'s' * (n != 1)}: no progress ({last})"
        if self.outcome == STOPPED:
            return f"interrupted in round {n}" + (f": {self.message}" if self.message else "")
        if self.outcome == FAILED:
            return f"stopped in round {n}: {self.message}"
        return f"gave up after {n} round{'s' * (n != 1)}; last error: {last}"
