"""What a run produced: rounds and the run's result, and the words for them (round statuses, run
outcomes, the one summary line). Plain values, JSON-ready; each is made once, when it is done."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from ..backends.base import Message, Usage
from ..errors import OciError
from ..execution.result import Execution

# Round statuses
OK, ERROR, NO_CODE, REPEATED, NOT_RUN, INTERRUPTED, SKIPPED = (
    "ok", "error", "no-code", "repeated", "not-run", "interrupted", "skipped")
TIMEOUT = "timeout"
INCOMPLETE = "incomplete"  # the code ran, but a check of the task found it missed something
# Run outcomes
SUCCESS, GAVE_UP, NO_PROGRESS, GENERATED, STOPPED, FAILED = (
    "success", "gave-up", "no-progress", "generated", "stopped", "failed")
UNVERIFIED = "unverified"  # the rounds ran out; the last code that ran (missing a check) is the result
OK_OUTCOMES = (SUCCESS, GENERATED, UNVERIFIED)  # the run produced code to keep


@dataclass(frozen=True)
class Undone:
    """Names put back for a round whose code ran but missed a check: before a later round's code
    ran, the ones it rebound, deleted or created (a round's ``undone``); at the end of a run whose
    later tries all failed, the ones it had left (the run's ``redone``)."""

    round: int  # the earlier round
    restored: Tuple[str, ...] = ()
    removed: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One of a round's replies, tried off the live state before one was chosen."""

    index: int
    reply: str
    code: Optional[str]
    trial: str  # "ok" (ran, passed the checks), "missed" (ran, missed a check), "error", "refused", "no code", "same code"
    error: Optional[str] = None  # its error line, or what it missed
    group: Optional[int] = None  # candidates that did the same share a group
    chosen: bool = False
    usage: Optional[Usage] = None
    ran: bool = False  # its code ran without an error (it passed the checks or not)


@dataclass(frozen=True)
class Round:
    index: int
    reply: str = ""
    code: Optional[str] = None
    status: str = ""
    execution: Optional[Execution] = None
    feedback: Optional[str] = None  # sent to the model for the next round
    miss: Optional[str] = None  # what a check found amiss in code that ran (status incomplete)
    note: Optional[str] = None  # what a check added for code that raised (a file not there, re-created data)
    usage: Optional[Usage] = None
    generate_seconds: float = 0.0
    undone: Optional[Undone] = None  # what was put back before this round's code ran
    imports: Tuple[str, ...] = ()  # import lines added to the reply's code (engine.imports)
    left_out: Tuple[str, ...] = ()  # lines of the reply's code commented out: data in memory read or typed in again (engine.rereads)
    repeated: Optional[str] = None  # a first reply that repeated earlier code; this round asked again
    candidates: Tuple[Candidate, ...] = ()  # with --candidates: every reply, its trial and group

    @property
    def disagreed(self) -> bool:
        """Several candidates ran and passed, and no two did the same."""
        passed = [c for c in self.candidates if c.group is not None and c.ran]
        return len(passed) > 1 and len({c.group for c in passed}) == len(passed)

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


@dataclass(frozen=True)
class RunResult:
    """One run, as the loop returns it: the first prompt, each round, the whole transcript (the
    last reply included) and how it ended."""

    task: str
    max_rounds: int
    rounds: Tuple[Round, ...] = ()
    outcome: str = ""
    message: str = ""  # why a run stopped early (interrupt, backend error)
    model: Dict[str, object] = field(default_factory=dict)  # the backend that answered (runrecord.model_info)
    final_index: Optional[int] = None  # for an unverified run: the round whose code is kept
    prompt: Tuple[Message, ...] = ()  # the first prompt, as the backend got it
    transcript: Tuple[Message, ...] = ()  # every message of the run, the last reply included
    redone: Optional[Undone] = None  # the kept round's names, put back after the later tries failed

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
            final = self.rounds[-1]
            split = f" ({len(final.candidates)} candidates, no two alike: kept the first that passed)" if final.disagreed else ""
            return f"succeeded in round {n} of {self.max_rounds}{split}"
        if self.outcome == UNVERIFIED:
            kept = self.final_round
            again = "; the later tries failed, so its results were put back" if self.redone is not None else ""
            return (f"kept round {kept.index} of {self.max_rounds}: its code ran, but {kept.error_line[len('it ran, but '):]}{again}"
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


class GenerationEnd:
    """What ended a reply early, as (outcome, why) in ``value``: ■ stops the run, a backend error
    fails it; anything else goes through. One rule for a single reply and for candidates."""

    value: Optional[Tuple[str, str]] = None

    def __enter__(self) -> "GenerationEnd":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.value = (STOPPED, "during generation")
        elif kind is not None and issubclass(kind, (OciError, ValueError, RuntimeError)):
            self.value = (FAILED, str(exc))
        return self.value is not None
