"""Runs generated code in the user's live IPython shell and reports what happened.

``shell.run_cell`` makes the code behave as if the user had typed it: variables land in the user
namespace, prints, plots and DataFrames display. The traceback the user sees is IPython's; the one
the model gets is cut down to notebook frames (plus the frame that raised).
"""
from __future__ import annotations

import contextlib
import html
import linecache
import os
import sys
import time
import traceback
import warnings
from typing import List, Optional

from ..text import strip_ansi
from .facts import failure_facts
from .plots import reading_plots
from .result import Execution, Executor

GENERATED_FILE, NOTEBOOK_FILE = "<generated code>", "<notebook cell>"  # frame labels the model sees
_TAIL_CHARS = 4000


class _Tee:
    """Forwards writes to the real stdout and keeps the tail for the feedback."""

    def __init__(self, stream):
        self._stream = stream
        self.tail = ""
        self.keep = True  # off once IPython prints the traceback: the feedback has its own

    def write(self, text):
        if self.keep:
            self.tail = (self.tail + text)[-_TAIL_CHARS:]
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def is_cell(filename: str) -> bool:
    """IPython registers each cell in linecache with no mtime; files on disk have one. (A lazy
    entry, ``(loader,)``, is a module's file not yet read: not a cell.)"""
    entry = linecache.cache.get(filename)
    return entry is not None and len(entry) > 1 and entry[1] is None


def _frame_lines(filename: str, lineno: int, name: str, label: str) -> str:
    text = f'  File "{label}", line {lineno}, in {name}'
    source = linecache.getline(filename, lineno).strip()
    return text + (f"\n    {source}" if source else "")


def notebook_frames(error: BaseException, short: bool = False) -> List[str]:
    """The traceback frames from notebook code, the generated code's named as such, and of the
    rest: the innermost frame wherever it is, or (``short``) only the library call the code made
    that failed (``pandas/core/generic.py, in astype``), without the library's own depths."""
    frames = traceback.extract_tb(error.__traceback__)
    if isinstance(error, SyntaxError) and not any(is_cell(f.filename) for f in frames):
        return _syntax_error_lines(error)  # the code did not compile: no frame of its own
    ours: Optional[str] = next((f.filename for f in frames if is_cell(f.filename)), None)
    last_cell = max((i for i, f in enumerate(frames) if is_cell(f.filename)), default=None)
    lines = []
    for i, frame in enumerate(frames):
        if is_cell(frame.filename):
            label = GENERATED_FILE if frame.filename == ours else NOTEBOOK_FILE
        elif short and last_cell is not None and i == last_cell + 1:
            lines.append(f'  File "{library_path(frame.filename)}", line {frame.lineno}, in {frame.name}')
            continue
        elif not short and i == len(frames) - 1 and ours is not None:
            label = frame.filename
        else:
            continue
        lines.append(_frame_lines(frame.filename, frame.lineno or 0, frame.name, label))
    return lines


def library_path(filename: str) -> str:
    """A library's file as its package names it: ``pandas/core/generic.py``, not the site-packages path."""
    parts = filename.replace("\\", "/").split("/")
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(marker):])
    stdlib = os.path.dirname(os.__file__).replace("\\", "/")
    return filename[len(stdlib) + 1:] if filename.replace("\\", "/").startswith(stdlib + "/") else filename


def _syntax_error_lines(error: SyntaxError) -> List[str]:
    line = f'  File "{GENERATED_FILE}", line {error.lineno}'
    if error.text:
        line += "\n    " + error.text.rstrip("\n").strip()
    return [line]


def _evalue(error: BaseException) -> str:
    if isinstance(error, SyntaxError):
        return error.msg or str(error)
    try:
        return str(error)
    except Exception:  # an exception whose __str__ raises
        return f"<{type(error).__name__}: unprintable>"


class ShellExecutor(Executor):
    """Executes with ``shell.run_cell`` (not stored in history). ``short``: a traceback keeps the
    code's own frames and the library call that failed, for the model and on screen (the whole
    one folded below it, and in ``%tb``)."""

    def __init__(self, shell, short: bool = False):
        self.shell, self.short = shell, short

    def names(self):
        return self.shell.user_ns

    def execute(self, code: str) -> Execution:
        tee = _Tee(sys.stdout)
        displays = []
        start = time.perf_counter()
        sys.stdout = tee
        try:
            with _watching(self.shell, tee, displays, self.short), reading_plots(self.shell) as plots, \
                    warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # each one, even if this line warned before
                result = self.shell.run_cell(code, store_history=False)
        except KeyboardInterrupt:  # arrived outside the user code, in IPython's own machinery
            return Execution(ok=False, ename="KeyboardInterrupt", interrupted=True, stdout_tail=tee.tail,
                             seconds=time.perf_counter() - start)
        finally:
            if sys.stdout is tee:
                sys.stdout = tee._stream
        seconds = time.perf_counter() - start
        said = _show_again(caught)
        error = result.error_before_exec or result.error_in_exec
        shown = bool(tee.tail.strip() or displays or result.result is not None)
        if error is None:
            return Execution(ok=True, stdout_tail=tee.tail, seconds=seconds, warnings=said, shown=shown,
                             plots=plots.plots)
        return Execution(
            ok=False,
            ename=type(error).__name__,
            evalue=_evalue(error),
            traceback=notebook_frames(error, self.short),
            stdout_tail=tee.tail,
            seconds=seconds,
            interrupted=isinstance(error, KeyboardInterrupt),
            facts=failure_facts(error, is_cell),
            warnings=said,
            shown=shown,
        )


@contextlib.contextmanager
def _watching(shell, tee: _Tee, displays: list, short: bool = False):
    """While the code runs: note each display (a plot, a DataFrame), and stop keeping stdout once
    IPython prints its traceback (a terminal shell prints it there; the feedback has its own);
    ``short``: show the short traceback instead of IPython's."""
    publish = getattr(getattr(shell, "display_pub", None), "publish", None)
    shown = vars(shell).get("showtraceback"), vars(shell).get("showsyntaxerror")

    def quiet(original):
        def call(*args, **kwargs):
            tee.keep = False
            return original(*args, **kwargs)
        return call

    def shortened(original):
        def call(exc_tuple=None, filename=None, tb_offset=None, exception_only=False, running_compiled_code=False):
            tee.keep = False
            try:
                etype, value, tb = shell._get_exc_info(exc_tuple)
            except ValueError:
                etype = value = None
            if value is None or exception_only or not isinstance(value, Exception):  # ■, a time limit: as IPython says it
                return original(exc_tuple, filename, tb_offset, exception_only, running_compiled_code)
            show_short(shell, etype, value, tb, tb_offset)
        return call

    if publish is not None:
        shell.display_pub.publish = lambda *a, **k: displays.append(1) or publish(*a, **k)
    shell.showtraceback = (shortened if short else quiet)(shell.showtraceback)
    shell.showsyntaxerror = quiet(shell.showsyntaxerror)
    try:
        yield
    finally:
        if publish is not None:
            del shell.display_pub.publish
        for name, own in zip(("showtraceback", "showsyntaxerror"), shown):
            if own is None:
                del shell.__dict__[name]
            else:
                setattr(shell, name, own)


def show_short(shell, etype, value, tb, tb_offset=None) -> None:
    """The error output of generated code: its own frames and the failing library call, then the
    whole traceback folded (a notebook) or a pointer to ``%tb`` (a terminal)."""
    from IPython.display import display

    full = strip_ansi("\n".join(shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)))
    lines = ["Traceback (most recent call last):", *notebook_frames(value, short=True), f"{etype.__name__}: {_evalue(value)}"]
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # %tb shows the whole one
    shell._showtraceback(etype, value, lines)
    display({"text/plain": "(the whole traceback: %tb)",
             "text/html": f'<details class="oci-traceback"><summary style="cursor:pointer;color:#59636e;font-size:12px">'
                          f'the whole traceback</summary><pre style="font-size:12px">{html.escape(full)}</pre></details>'},
            raw=True)


def _show_again(caught) -> List[str]:
    """The user still sees the warnings we recorded; the model gets them as lines."""
    said = []
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        line = f"{w.category.__name__}: {str(w.message).strip().splitlines()[0] if str(w.message).strip() else ''}"
        if line not in said:
            said.append(line)
    return said


class NamespaceExecutor(Executor):
    """Executes in a plain dict, without IPython: for benchmarks, scripts and tests of the loop."""

    def __init__(self, namespace: Optional[dict] = None):
        self.namespace = {"__name__": "__main__"} if namespace is None else namespace
        self._runs = 0

    def names(self):
        return self.namespace

    def execute(self, code: str) -> Execution:
        self._runs += 1
        filename = f"<oci-exec-{id(self)}-{self._runs}>"
        # Registered like an IPython cell (no mtime), so frames and source lines resolve alike.
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        tee = _Tee(sys.stdout)
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(tee):
                exec(compile(code, filename, "exec"), self.namespace)
        except BaseException as error:  # SystemExit and friends from generated code end the round, not us
            return Execution(ok=False, ename=type(error).__name__, evalue=_evalue(error),
                             traceback=notebook_frames(error), stdout_tail=tee.tail,
                             seconds=time.perf_counter() - start,
                             interrupted=isinstance(error, KeyboardInterrupt), facts=failure_facts(error, is_cell))
        return Execution(ok=True, stdout_tail=tee.tail, seconds=time.perf_counter() - start, shown=bool(tee.tail.strip()))
