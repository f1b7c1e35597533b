"""A time limit for generated code that runs in the kernel's own thread.

The limit is delivered as :class:`ExecutionTimeout`, a ``KeyboardInterrupt`` subclass, on purpose:

* it *is* an interrupt (what the kernel's ■ button does, only sent by a clock), not an error we
  report to the user -- those derive from ``OciError``/``Exception``;
* generated code very often wraps its work in ``try: ... except Exception:``; an Exception-based
  timeout would be swallowed there and the loop would run on. Interrupt-aware code (``finally``,
  context managers, libraries that clean up on Ctrl-C) does the right thing with it;
* it is a subclass, so we can tell it from a real ■ afterwards (we also keep a flag, see below).

On a Unix main thread ``signal.setitimer(ITIMER_REAL)`` raises it from a SIGALRM handler, which
also cuts blocking calls such as ``time.sleep`` short. Code that swallows even interrupts
(``except BaseException: pass`` inside a loop) is interrupted again every ``REPEAT`` seconds, and
from then on a trace function also raises at the next line the generated code runs -- which is
inside its ``except`` clause, where the exception is no longer caught by that same ``try``. Elsewhere (a non-main thread, Windows) a watchdog thread injects the exception with
``PyThreadState_SetAsyncExc``: it lands at the next bytecode, so a blocking C call finishes first.
"""
from __future__ import annotations

import ctypes
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

Target = Callable[[str], bool]  # filename -> is it generated/notebook code (where we may raise)?

REPEAT = 1.0  # seconds between further interrupts for code that swallowed the first one


class ExecutionTimeout(KeyboardInterrupt):
    """Delivered into generated code that ran past its time limit."""


class Limit:
    """What happened under :func:`time_limit`: ``fired`` is true once the limit was reached."""

    def __init__(self, seconds: Optional[float]):
        self.seconds = seconds
        self.fired = False

    def describe(self) -> str:
        return f"timed out after {self.seconds:g} s"


def _can_use_signals() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: Optional[float], target: Optional[Target] = None) -> Iterator[Limit]:
    """Interrupt the body with ExecutionTimeout after ``seconds`` (None or <= 0: no limit).
    ``target`` tells the code to stop by force (see above) from our and the libraries' code."""
    limit = Limit(seconds)
    if not seconds or seconds <= 0:
        yield limit
    elif _can_use_signals():
        with _alarm(limit, target):
            yield limit
    else:
        with _watchdog(limit):
            yield limit


@contextmanager
def _alarm(limit: Limit, target: Optional[Target]) -> Iterator[None]:
    def on_alarm(signum, frame):
        if limit.fired and target is not None:  # the first interrupt was swallowed: insist
            _raise_on_next_line(frame, target, limit)
        limit.fired = True
        raise ExecutionTimeout(limit.describe())

    previous_trace = sys.gettrace()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    previous_timer = (0.0, 0.0)
    try:
        previous_timer = signal.setitimer(signal.ITIMER_REAL, limit.seconds, REPEAT)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # disarm before anything else can be interrupted
        # None: the old handler was installed from C and cannot be reinstated from Python
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if limit.fired:
            sys.settrace(previous_trace)  # a debugger's or coverage's tracer, usually None
        if previous_timer[0] > 0:  # someone else's alarm was pending: give it back what is left
            signal.setitimer(signal.ITIMER_REAL, *previous_timer)


def _raise_on_next_line(frame, target: Target, limit: Limit) -> None:
    """Make the next line event in generated code raise (CPython then unsets the tracer)."""

    def tracer(frame, event, arg):
        if event == "line" and target(frame.f_code.co_filename):
            raise ExecutionTimeout(limit.describe())
        return tracer

    sys.settrace(tracer)  # frames entered from now on
    while frame is not None:  # and the frames already running
        if target(frame.f_code.co_filename):
            frame.f_trace = tracer
        frame = frame.f_back


@contextmanager
def _watchdog(limit: Limit) -> Iterator[None]:
    target = threading.get_ident()
    done = threading.Event()
    lock = threading.Lock()  # the injection must not land after the body has finished

    def watch():
        wait = limit.seconds
        while not done.wait(wait):
            with lock:
                if done.is_set():
                    return
                limit.fired = True
                _inject(target, ExecutionTimeout)
            wait = REPEAT

    thread = threading.Thread(target=watch, name="oci-timeout", daemon=True)
    thread.start()
    try:
        yield
    finally:
        while not done.is_set():  # an injection may land right here; retry until done is set
            try:
                with lock:
                    done.set()
            except ExecutionTimeout:
                pass
        thread.join()
        _inject(target, None)  # cancel an injection that has not been delivered yet


def _inject(thread_id: int, exc_type) -> None:
    set_async = ctypes.pythonapi.PyThreadState_SetAsyncExc
    # NULL clears a pending exception; py_object() cannot express NULL, c_void_p(0) does.
    set_async(ctypes.c_ulong(thread_id), ctypes.py_object(exc_type) if exc_type else ctypes.c_void_p(0))
