"""The live status line of a run in a notebook frontend (JupyterLab, Notebook 7, VS Code).

One output updated in place by ``display_id``: round k/N, phase, tokens/s, elapsed time. It is a
listener of the loop's events, like ``text.TextRenderer`` (its terminal counterpart). Updates
are throttled: a model writing 200 tokens/s must not send 200 messages/s to the browser, but a
phase change is always shown at once.

Between events (the generated code running for a minute, a slow first token) a daemon ticker
thread refreshes the line about once a second, so the elapsed time keeps counting. In a kernel an
update from another thread still reaches the right output: ipykernel sends it on the IOPub thread
and the frontend finds the output by its display id.
"""
from __future__ import annotations

import contextvars
import html
import threading
import time
import weakref
from typing import Callable, Optional

from ..engine.events import (CandidatesTried, CodeReady, ExecutionFinished, ExecutionStarted, ReadingContext,
                             RoundFinished, RoundStarted, RunAborted, RunFinished, RunStarted, TokenGenerated)
from .text import candidates_line

Bundle = dict  # a MIME bundle: {"text/plain": ..., "text/html": ...}
UPDATES_PER_SECOND = 10
TICK_SECONDS = 1.0  # how stale the elapsed time may get while nothing happens


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


class Ticker:
    """Calls ``owner.tick()`` on a daemon thread until stopped, until ``tick`` returns None (the
    display failed) or until the owner is garbage: it holds the owner weakly, so a run that ends
    without RunFinished (an exception out of a listener) cannot leave it ticking for ever."""

    def __init__(self, owner, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        ref = weakref.ref(owner)
        # the caller's context: ipykernel keeps the running cell's parent header in a ContextVar
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._loop, ref),
                                       name="oci-status-ticker", daemon=True)
        self.thread.start()

    def _loop(self, ref) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            owner = ref()
            if owner is None:
                return
            wait = owner.tick()
            del owner  # no strong reference while sleeping
            if wait is None:
                return

    def stop(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


def fmt_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class StatusLine:
    """``%%oci · model · round 2/3 · fixing · 183 tok/s · 4.2 s``, kept current."""

    def __init__(self, show_fn=None, clock: Callable[[], float] = time.monotonic, confirm: bool = False,
                 interval: float = 1 / UPDATES_PER_SECOND, tick: Optional[float] = TICK_SECONDS):
        self.output = Output(show_fn)
        self.tick_interval = tick  # None: no ticker (the line moves on events only)
        self.ticker: Optional[Ticker] = None
        self.running = False  # between the first event and RunFinished / RunAborted
        self.shown_at: Optional[float] = None  # the clock at the last update, whoever made it
        self._lock = threading.Lock()  # the ticker and the events both update the one display
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
        self.timed = True  # a replay's speed is meaningless: no tok/s then
        self.tried = ""  # this round's candidates: "4 candidates · 3 ran · 2 agree"

    def __call__(self, event) -> None:
        with self._lock:
            shown = self._on_event(event)
        if shown and self.running and self.ticker is None and self.tick_interval:
            self.ticker = Ticker(self, self.tick_interval)
        elif not self.running and self.ticker is not None:
            self.ticker.stop()  # outside the lock: the ticker may be waiting for it

    def _on_event(self, event) -> bool:
        """Updates the state, and the display unless throttled; False for an event it ignores."""
        if self.start is None:
            self.start = self.clock()
        force = True
        if isinstance(event, ReadingContext):
            self.phase = "reading context"
        elif isinstance(event, RunStarted):
            self.model, self.max_rounds = event.backend, event.max_rounds
            self.timed = event.timed
            force = False  # round 1 starts at once
        elif isinstance(event, RoundStarted):
            self.round, self.max_rounds, self.tried = event.index, event.max_rounds, ""
            # later rounds answer a traceback: the model is fixing, not writing afresh
            self.phase = "generating" if event.index == 1 else "fixing"
            self.tokens, self.gen_start, self.rate = 0, self.clock(), None
        elif isinstance(event, TokenGenerated):
            self.tokens += 1
            self.total_tokens += 1
            elapsed = self.clock() - (self.gen_start or self.start)
            self.rate = self.tokens / elapsed if elapsed > 0 else None
            force = False
        elif isinstance(event, CandidatesTried):
            self.tried = event.note or candidates_line(event)
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
            return False
        self.running = self.phase not in ("done", "stopped")
        if self.throttle.ready(force):
            self._show()
        return True

    def _show(self) -> None:
        self.shown_at = self.clock()
        self.output.show(self.bundle())

    def tick(self) -> Optional[float]:
        """The ticker's call: refresh the line if nothing did for ``tick_interval`` seconds.
        Returns the seconds until the next refresh is due, or None to stop ticking."""
        with self._lock:
            if not self.running:
                return None
            now, last = self.clock(), self.shown_at
            if last is not None and now - last < self.tick_interval:
                return min(self.tick_interval, max(0.01, self.tick_interval - (now - last)))
            try:
                self._show()
            except Exception:  # the frontend is gone (closed comm, dead display): stop, quietly
                self.running = False
                return None
            return self.tick_interval

    def parts(self):
        elapsed = self.clock() - self.start if self.start is not None else 0.0
        parts = ["%%oci"]
        if self.model:
            parts.append(self.model)
        if self.round:
            parts.append(f"round {self.round}/{self.max_rounds}")
        if self.tried:
            parts.append(self.tried)
        parts.append(self.phase)
        if self.phase == "done":
            parts.append(f"{self.total_tokens} tokens")
        elif self.rate and self.timed:
            parts.append(f"{self.rate:.0f} tok/s")
        parts.append(fmt_seconds(elapsed))
        return parts

    def bundle(self) -> Bundle:
        parts = self.parts()
        text = " · ".join(parts)
        cells = " · ".join(f"<b>{html.escape(p)}</b>" if p == self.phase else html.escape(p) for p in parts)
        return {"text/plain": text,
                "text/html": f'<div class="oci-status" style="font-family:monospace;opacity:.8">{cells}</div>'}
