"""Plain-text view of a run, for terminal IPython, notebooks and ``oci run`` alike: subscribes to
the loop's events and writes lines (tokens stream as they arrive)."""
from __future__ import annotations

import sys
from typing import TextIO

from ..engine.events import (CandidatesTried, CodeReady, ExecutionFinished, ModelLoaded, ModelLoading, ReplyRepeated,
                             RoundFinished, RoundStarted, RunFinished, RunStarted, TokenGenerated)
from ..engine.records import INCOMPLETE, NO_CODE, REPEATED, SKIPPED


def usage_line(usage, sep: str = ", ") -> str:
    """Token counts, and rates only where they were measured (a replay has none to show)."""
    if usage is None:
        return ""
    parts = [f"{usage.prompt_tokens} prompt tokens ({usage.reused_tokens} reused)", f"{usage.generated_tokens} generated"]
    if usage.seconds > 0:
        parts += [f"{usage.tokens_per_second:.0f} tok/s", f"first token {usage.first_token_seconds:.2f} s"]
    return sep.join(parts)


def put_back(what) -> str:
    """``restored df; removed tmp``: the names an execution's rollback (or a round's undo) put back."""
    parts = []
    if what.restored:
        parts.append("restored " + ", ".join(what.restored))
    if what.removed:
        parts.append("removed " + ", ".join(what.removed))
    return "; ".join(parts)


def rollback_line(execution) -> str:
    """``rolled back: restored df, removed tmp`` for a failed round that touched the user's names."""
    return "rolled back: " + put_back(execution)


def candidates_line(event) -> str:
    """``4 candidates · 3 ran · 2 agree``: a round's candidates after their trials."""
    return f"{event.candidates} candidates · {event.ran} ran · {event.agree} agree"


def print_model_lines(event) -> None:
    """Loading a real model takes seconds: say which, and what it got (every view)."""
    if isinstance(event, ModelLoading):
        print(f"%%oci · loading {event.name} ({event.source}) …", flush=True)
    elif isinstance(event, ModelLoaded):
        print(f"%%oci · loaded {event.name} in {event.seconds:.2f} s (n_ctx {event.n_ctx}, {event.n_threads} threads)",
              flush=True)


class TextRenderer:
    def __init__(self, stream: TextIO = None, summary: bool = True):
        self.stream = stream
        self.summary = summary  # False where the run record's output carries the summary line

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout  # looked up late: the kernel swaps sys.stdout per cell
        stream.write(text)
        stream.flush()

    def __call__(self, event) -> None:
        if isinstance(event, (ModelLoading, ModelLoaded)):
            print_model_lines(event)
        elif isinstance(event, RunStarted):
            self._write(f"%%oci · {event.backend} · up to {event.max_rounds} round{'s' * (event.max_rounds != 1)}\n")
        elif isinstance(event, RoundStarted):
            self._write(f"── round {event.index}/{event.max_rounds} ── generating\n")
        elif isinstance(event, TokenGenerated):
            self._write(event.text)
        elif isinstance(event, CodeReady):
            self._write("\n")
        elif isinstance(event, ReplyRepeated):
            self._write(f"\n  round {event.index}: the reply repeats code that already ran; asking again\n")
        elif isinstance(event, CandidatesTried):
            self._write(f"  {event.note or candidates_line(event)}\n")
        elif isinstance(event, ExecutionFinished):
            ex = event.execution
            status = f"ran in {ex.seconds:.2f} s" if ex.ok else ex.error_line
            self._write(f"{'✓' if ex.ok else '✗'} round {event.index}: {status}\n")
            if ex.restored or ex.removed:
                self._write(f"  {rollback_line(ex)}\n")
        elif isinstance(event, RoundFinished):
            r = event.round
            if r.imports:
                self._write(f"  added to the code: {'; '.join(r.imports)}\n")
            if r.left_out:
                self._write(f"  left out of the code (the data is in memory): {'; '.join(r.left_out)}\n")
            if r.undone is not None and (r.undone.restored or r.undone.removed):
                self._write(f"  round {r.undone.round}'s changes were undone first: {put_back(r.undone)}\n")
            if r.status in (NO_CODE, REPEATED, SKIPPED, INCOMPLETE):
                self._write(f"\n✗ round {r.index}: {r.error_line}\n")
            if r.usage is not None:
                self._write(f"  ({usage_line(r.usage)})\n")
        elif isinstance(event, RunFinished):
            redone = event.result.redone
            if redone is not None and (redone.restored or redone.removed):
                self._write(f"  the tries after round {redone.round} failed; its changes were put back: {put_back(redone)}\n")
            if self.summary:
                self._write(event.result.summary_line() + "\n")
