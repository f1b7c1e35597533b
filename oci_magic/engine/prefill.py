"""Reading the notebook before the user asks: a background thread evaluates what the next
``%%oci`` prompt will share with today's (system prompt, notebook history, or the last run's
transcript and the cells since) into the loaded model's KV cache while the kernel is idle.

It reads at the model's full prompt speed on every core other processes leave free, and yields to
everything: a cell that starts running stops it within milliseconds (the backend checks inside each
chunk; the chunk in flight is lost), so does a ``%%oci`` that wants the model; a model switch or
unload cancels it, and its errors are kept for ``%oci`` to show, never raised into a cell. When a prefix is complete the state is saved
to the prompt cache on disk, so a restarted kernel finds it too.
"""
from __future__ import annotations

import atexit
import threading
import time
from dataclasses import dataclass
from typing import List, Optional

from ..backends.base import Message
from ..backends.cpu import free_threads
from ..text import one_line
from .settings import PrefillSettings


@dataclass
class PrefillStatus:
    """What prefill did, for ``%oci`` and the benchmarks."""

    state: str = "idle"  # idle | reading | paused | failed
    evaluated: int = 0  # tokens evaluated in the background, all jobs
    seconds: float = 0.0  # spent on jobs (laying out, reading, saving)
    reading_seconds: float = 0.0  # of which reading: evaluated / reading_seconds is prefill's speed
    error: str = ""  # the last error, one line


class Prefiller:
    """One background thread per kernel; :meth:`Prefiller.schedule` hands it the newest prefix."""

    def __init__(self):
        self.status = PrefillStatus()
        self._cond = threading.Condition()
        self._job = None  # (backend, messages, settings), newest wins
        self._generation = 0  # bumped by every schedule/pause/cancel: a running job checks it
        self._paused = False
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self._busy = threading.Lock()  # held while a job runs: cancel() waits on it
        self._idle = threading.Event()  # no job pending or running
        self._idle.set()

    def schedule(self, backend, messages: Optional[List[Message]], settings: PrefillSettings) -> None:
        """Evaluate ``messages``' shared prefix on ``backend`` when idle (replaces any pending job),
        then save the state to disk; ``messages`` None: only save."""
        with self._cond:
            if self._closed:
                return
            self._job, self._paused = (backend, messages, settings), False
            self._generation += 1
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="oci-prefill", daemon=True)
                self._thread.start()
                atexit.register(self.close)  # a kernel shutting down ends the batch in flight first
            self._cond.notify_all()

    def pause(self) -> None:
        """A cell starts: stop after the batch in flight; the job resumes at the next schedule."""
        with self._cond:
            self._paused = True
            self._generation += 1
            if self.status.state == "reading":
                self.status.state = "paused"

    def cancel(self) -> None:
        """The model goes away: drop the job and wait for the batch in flight to end."""
        with self._cond:
            self._job = None
            self._generation += 1
        with self._busy:
            pass
        self._idle.set()

    def failed(self, error: BaseException) -> None:
        """Laying out the prefix failed before any job: kept, one line, for ``%oci`` to show."""
        self.status.state, self.status.error = "failed", _line(error)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until no job is pending or running (benchmarks, tests); False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        with self._cond:
            self._closed, self._job = True, None
            self._generation += 1
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (self._job is None or self._paused):
                    self._cond.wait()
                if self._closed:
                    return
                (backend, messages, settings), generation = self._job, self._generation
                self._job = None
            stale = lambda: self._generation != generation or self._closed  # noqa: E731
            with self._busy:
                if not stale():
                    self._run(backend, messages, settings, stale)
            with self._cond:
                if self._job is None or self._paused:
                    self._idle.set()

    def _run(self, backend, messages, settings: PrefillSettings, stale) -> None:
        status = self.status
        start = time.perf_counter()
        try:
            if messages is not None:
                with backend.lock:
                    tokens = backend.prefix_tokens(messages)
                status.state = "reading"
                threads = free_threads(settings.threads or backend.n_threads)  # the kernel is idle: every free core
                reading = time.perf_counter()
                status.evaluated += backend.prefill(tokens, stale, threads, settings.batch_seconds)
                status.reading_seconds += time.perf_counter() - reading
            if not stale():
                if backend.capabilities.saves_state:
                    backend.save_state()  # its own step: a state is tens of MB
                status.state = "idle"
        except Exception as exc:  # never into the user's cell: shown by %oci
            status.state, status.error = "failed", _line(exc)
        finally:
            status.seconds += time.perf_counter() - start


def _line(error: BaseException) -> str:
    return one_line(f"{type(error).__name__}: {error}")[:300]
