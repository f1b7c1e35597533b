"""What running one round's code did: the value every executor returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Container, Dict, List, Optional, Sequence, Tuple

from .plots import PlotText


@dataclass(frozen=True)
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
    facts: List[str] = field(default_factory=list)  # what the failing line worked on (facts.py)
    warnings: List[str] = field(default_factory=list)  # "Category: message" of warnings the code raised
    shown: bool = False  # it printed or displayed something
    created: List[str] = field(default_factory=list)  # user names it bound that did not exist (when ok)
    changed: List[str] = field(default_factory=list)  # existing names it rebound or changed in place (when ok)
    unchanged: List[str] = field(default_factory=list)  # names it used that are known to be the same (when ok)
    rewritten: List[str] = field(default_factory=list)  # names bound to data written out, not what they held (when ok)
    wrote: List[str] = field(default_factory=list)  # files in the working folder it created or changed (when ok)
    before: Dict[str, dict] = field(default_factory=dict)  # tables it used, as they were (rollback.profile; when ok)
    plots: Optional[List[PlotText]] = None  # the text of the figures open as the code ended; None: not read

    @property
    def error_line(self) -> str:
        return f"{self.ename}: {self.evalue}" if self.evalue else str(self.ename)

    def signature(self) -> tuple:
        """Equal for two executions that failed the same way (for the no-progress stop)."""
        return (self.ename, self.evalue, tuple(frame.split("\n")[0] for frame in self.traceback))


class Executor:
    """Runs a round's code somewhere: the user's shell, a plain namespace, a subprocess."""

    def execute(self, code: str) -> Execution:
        """Run ``code``; report failure in the result, never by raising."""
        raise NotImplementedError

    def names(self) -> Optional[Container[str]]:
        """The names code run here finds already bound (the notebook's variables and imports);
        None where that is not known."""
        return None

    def trials(self):
        """A context manager whose ``run(code)`` tries code without touching the user's state
        (:class:`~oci_magic.execution.trials.Trials`); None where this executor cannot, and a
        round then has one candidate."""
        return None

    def undo(self) -> Tuple[Sequence[str], Sequence[str]]:
        """Put back the names the last code that ran rebound, deleted or created (it ran, but did
        not do the task); (restored, removed). An executor that keeps no snapshot undoes nothing."""
        return (), ()

    def redo(self) -> Tuple[Sequence[str], Sequence[str]]:
        """Put back what the last undo() took away, when nothing has run without an error since
        (every later try failed: the undone code is the best there is); (restored, removed)."""
        return (), ()
