"""The executor wrapper that keeps generated code from hurting the session: a time limit, no
``exit()``, the user's names rolled back when a round fails, and ``--isolate`` copies.

It wraps any executor with ``execute(code) -> Execution`` and a namespace (``ShellExecutor`` for
the kernel, ``NamespaceExecutor`` for plain Python); the loop sees only the ``Execution``.
"""
from __future__ import annotations

import math
import os
import signal
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import Iterator, Mapping, MutableMapping, Optional

from . import rollback as rb
from .executor import is_cell
from .facts import remade
from .literals import rewritten
from .result import Execution, Executor
from .timeout import time_limit


MAX_TIMEOUT = 1e6  # seconds; setitimer overflows on larger values (and on inf/nan)


@dataclass(frozen=True)
class GuardSettings:
    timeout: Optional[float]  # seconds; None: no limit
    isolate: bool
    isolate_max_bytes: int

    def __post_init__(self):
        if self.timeout is not None and not (math.isfinite(self.timeout) and 0 < self.timeout <= MAX_TIMEOUT):
            raise ValueError(f"--timeout must be 0 (no limit) or up to {MAX_TIMEOUT:g} seconds, not {self.timeout:g}")


class GuardedExecutor(Executor):
    def __init__(self, inner, namespace: MutableMapping[str, object], hidden: Mapping[str, object],
                 settings: GuardSettings, shell=None):
        self.inner = inner
        self.namespace = namespace
        self.hidden = hidden
        self.settings = settings
        self.shell = shell  # an IPython shell whose ask_exit must not fire for generated code
        self._last = None  # the snapshot before the last code that ran, for undo()
        self._undone = None  # the names as undo() found them, for redo()

    def execute(self, code: str) -> Execution:
        snap = rb.snapshot(self.namespace, self.hidden)
        mentioned = [n for n in rb.mentioned_names(code) if n in snap.bindings]
        watched = {n: rb.fingerprint(snap.bindings[n]) for n in mentioned}
        profiles = {n: p for n in mentioned for p in [rb.profile(snap.bindings[n])] if p is not None}
        files = _folder_state()
        copied = []
        sigint, limit = _SigintWatch(), None
        try:
            if self.settings.isolate:  # inside the try: ■ during a big copy still restores every name
                copied, _ = rb.isolate(snap, self.namespace, rb.mentioned_names(code), self.settings.isolate_max_bytes)
            with ExitStack() as stack:
                stack.enter_context(_no_exit(self.shell))
                stack.enter_context(sigint)
                limit = stack.enter_context(time_limit(self.settings.timeout, is_cell))
                execution = self.inner.execute(code)
        except KeyboardInterrupt:  # landed between the code and our cleanup: it means the same
            execution = Execution(ok=False, ename="KeyboardInterrupt", interrupted=True)
        if limit is not None and limit.fired:
            execution = replace(execution, ok=False, interrupted=False, timed_out=True, ename="TimeoutError",
                                evalue=limit.describe())
        elif execution.interrupted and sigint.available and not sigint.received:
            execution = replace(execution, interrupted=False)  # the code raised KeyboardInterrupt itself: an error like any other
        if not execution.ok:
            facts = remade(execution.facts, snap.bindings, lambda n: snap.rebound(self.namespace, n)) \
                + execution.facts  # before the restore
            restored, removed = snap.restore(self.namespace, self.hidden)
            return replace(execution, isolated=copied, restored=restored, removed=removed, facts=facts)
        created, changed, unchanged = snap.changes(self.namespace, self.hidden, watched)
        rb.keep_originals(snap, self.namespace, [n for n in copied if n in unchanged])
        after = _folder_state() if files is not None else None
        self._last, self._undone = snap, None
        return replace(execution, isolated=copied, created=created, changed=changed, unchanged=unchanged,
                       rewritten=rewritten(code, self.namespace, watched),
                       wrote=sorted(n for n, s in (after or {}).items() if files.get(n) != s), before=profiles)

    def names(self):
        return self.namespace

    def trials(self):
        """Trials of candidates on copies of this namespace (:mod:`.trials`), under the round's limits."""
        from .trials import Trials

        return Trials(self.namespace, self.hidden, self.settings.isolate_max_bytes, self.settings.timeout)

    def undo(self):
        """Put back the names the last code that ran rebound, deleted or created (it ran, but did
        not do the task); returns (restored, removed)."""
        snap, self._last = self._last, None
        if snap is None:
            return [], []
        self._undone = rb.snapshot(self.namespace, self.hidden)
        return snap.restore(self.namespace, self.hidden)

    def redo(self):
        """Put back the names undo() took away (code that failed since restored its own changes,
        so the names are as undo() left them, but for changes inside objects)."""
        after, self._undone = self._undone, None
        return after.restore(self.namespace, self.hidden) if after is not None else ([], [])


def _folder_state(limit: int = 2000) -> Optional[dict]:
    """Size and mtime of each file in the working folder, so a round that only wrote a file (a
    CSV, a figure) counts as having done something; None for a folder too big to list each round."""
    try:
        with os.scandir(".") as entries:
            state = {}
            for entry in entries:
                if len(state) >= limit:
                    return None
                if entry.is_file(follow_symlinks=False):
                    stat = entry.stat(follow_symlinks=False)
                    state[entry.name] = (stat.st_size, stat.st_mtime_ns)
            return state
    except OSError:
        return None


class _SigintWatch:
    """Tells a real interrupt (SIGINT: the ■ button, Ctrl-C) from generated code that merely
    raises KeyboardInterrupt, and makes SIGINT interrupt the code however the process was started.

    A handler set in Python still runs; we only take note. Where SIGINT was ignored (SIG_IGN: a
    process started in the background by a script, or under nohup) or left to the OS (SIG_DFL), the
    code gets Python's own KeyboardInterrupt while it runs, as in a foreground process; the old
    disposition comes back after. A handler set from C (``getsignal`` gives None) cannot be put back
    from Python: then we leave it alone and cannot tell the two apart."""

    def __init__(self):
        self.received = False
        self.available = threading.current_thread() is threading.main_thread()
        self._previous = None

    def __enter__(self):
        if not self.available:
            return self
        previous = signal.getsignal(signal.SIGINT)
        if previous is None:
            self.available = False
            return self
        chain = previous if callable(previous) else signal.default_int_handler

        def note(signum, frame):
            self.received = True
            chain(signum, frame)

        self._previous = previous
        signal.signal(signal.SIGINT, note)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


@contextmanager
def _no_exit(shell) -> Iterator[None]:
    """``exit()``/``quit()`` in IPython call ``shell.ask_exit()``, and ipykernel then shuts the kernel
    down after the cell. For generated code they raise SystemExit instead, which ends the round."""
    if shell is None or not hasattr(shell, "ask_exit"):
        yield
        return

    def refuse_exit(*args, **kwargs):
        raise SystemExit("exit() is not allowed in generated code; the kernel keeps running")

    had_own = "ask_exit" in vars(shell)
    own = vars(shell).get("ask_exit")
    shell.ask_exit = refuse_exit
    try:
        yield
    finally:
        if had_own:
            shell.ask_exit = own
        else:
            del shell.ask_exit
