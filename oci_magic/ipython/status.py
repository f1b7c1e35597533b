"""The live status line of a run in a notebook frontend (JupyterLab, Notebook 7, VS Code).

One output updated in place by ``display_id``: round k/N, phase, tokens/s, elapsed time. It is a
listener of the loop's events, like ``render.TextRenderer`` (its terminal counterpart). Updates
are throttled: a model writing 200 tokens/s must not send 200 messages/s to the browser, but a
phase change is always shown at once.
"""
from __future__ import annotations

import html
import time
from typing import Callable, Optional

from ..engine.events import (CodeReady, ExecutionFinished, ExecutionStarted, ReadingContext, RoundFinished, RoundStarted, RunAborted,
                     RunFinished, RunStarted, TokenGenerated)

Bundle = dict  # a MIME bundle: {"text/plain": ..., "text/html": ...}
UPDATES_PER_SECOND = 10


class Throttle:
    """Says whether enough time passed since the last accepted update."""

    def __init__(self, interval: float = 1 / UPDATES_PER_SECOND, clock: Callable[[], float] = time.monotonic):
        self.interval, self.clock = interval, clock
        self._last: Optional[float] = None

    def ready(self, force: bool = False) -> bool:
        now = self.clock()
        if force or self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False


class Output:
    """One in-place output: the first ``show`` displays it, later calls update it. ``show_fn``
    is IPython's display by default; tests pass a fake frontend."""

    def __init__(self, show_fn: Optional[Callable[[Bundle], object]] = None):
        self._show_fn = show_fn or _ipython_show
        self._handle = None

    def show(self, bundle: Bundle) -> None:
        if self._handle is None:
            self._handle = self._show_fn(bundle)
        else:
            self._handle.update(bundle, raw=True)


def _ipython_show(bundle: Bundle):
    from IPython.display import display

    return display(bundle, raw=True, display_id=True)


def fmt_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class StatusLine:
    """``%%oci · model · round 2/3 · fixing · 183 tok/s · 4.2 s``, kept current."""

    def __init__(self, show_fn=None, clock: Callable[[], float] = time.monotonic, confirm: bool = False,
                 interval: float = 1 / UPDATES_PER_SECOND):
        self.output = Output(show_fn)
        self.clock = clock
        self.throttle = Throttle(interval, clock)
        self.confirm = confirm  # after the code is ready, the run waits for the person's answer
        self.start: Optional[float] = None
        self.model = ""
        self.round = self.max_rounds = 0
        self.phase = "starting"
        self.tokens = 0
        self.total_tokens = 0
        self.gen_start: Optional[float] = None
        self.rate: Optional[float] = None

    def __call__(self, event) -> None:
        if self.start is None:
            self.start = self.clock()
        force = True
        if isinstance(event, ReadingContext):
            self.phase = "reading context"
        elif isinstance(event, RunStarted):
            self.model, self.max_rounds = event.backend, event.max_rounds
            force = False  # round 1 starts at once
        elif isinstance(event, RoundStarted):
            self.round, self.max_rounds = event.index, event.max_rounds
            # later rounds answer a traceback: the model is fixing, not writing afresh
            self.phase = "generating" if event.index == 1 else "fixing"
            self.tokens, self.gen_start, self.rate = 0, self.clock(), None
        elif isinstance(event, TokenGenerated):
            self.tokens += 1
            self.total_tokens += 1
            elapsed = self.clock() - (self.gen_start or self.start)
            self.rate = self.tokens / elapsed if elapsed > 0 else None
            force = False
        elif isinstance(event, CodeReady):  # "running" only once it runs (--no-exec, a refusal never do)
            self.phase = "waiting for your answer" if self.confirm else "code ready"
        elif isinstance(event, ExecutionStarted):
            self.phase = "running"
        elif isinstance(event, ExecutionFinished):
            self.phase = "ran" if event.execution.ok else "reading the traceback"
        elif isinstance(event, RoundFinished):
            usage = event.round.usage
            if usage is not None and usage.tokens_per_second:
                self.rate = usage.tokens_per_second  # the backend's own measure, first token excluded
            force = False
        elif isinstance(event, RunFinished):
            self.phase = "done"
        elif isinstance(event, RunAborted):
            self.phase = "stopped"
        else:
            return
        if self.throttle.ready(force):
            self.output.show(self.bundle())

    def parts(self):
        elapsed = self.clock() - self.start if self.start is not None else 0.0
        parts = ["%%oci"]
        if self.model:
            parts.append(self.model)
        if self.round:
            parts.append(f"round {self.round}/{self.max_rounds}")
        parts.append(self.phase)
        if self.phase == "done":
            parts.append(f"{self.total_tokens} tokens")
        elif self.rate:
            parts.append(f"{self.rate:.0f} tok/s")
        parts.append(fmt_seconds(elapsed))
        return parts

    def bundle(self) -> Bundle:
        parts = self.parts()
        text = " · ".join(parts)
        cells = " · ".join(f"<b>{html.escape(p)}</b>" if p == self.phase else html.escape(p) for p in parts)
        return {"text/plain": text,
                "text/html": f'<div class="oci-status" style="font-family:monospace;opacity:.8">{cells}</div>'}
