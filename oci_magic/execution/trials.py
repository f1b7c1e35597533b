"""Trying a round's candidates before any of them touches the user's variables or files.

Each trial runs the code on copies: a namespace that is a shallow copy of the user's, with deep
copies of the names the code mentions (``--isolate``'s machinery, up to ``isolate_max_mb``), in a
temporary folder holding copies of the working folder's files. Its printing and displays are
kept, not shown; figures it draws are read and closed; it runs under the round's time limit and,
on Linux, under a memory limit a little above what the process uses; ``os._exit`` and
``os.abort`` raise instead of ending the kernel. What it did -- the names it created or changed
and their values, its output, its figures -- is what candidates are compared by.
"""
from __future__ import annotations

import ast
import contextlib
import io
import linecache
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import rollback as rb
from .calls import probe
from .executor import _evalue, is_cell, notebook_frames
from .guard import _SigintWatch
from .literals import rewritten
from .plots import DrawnFigures
from .result import Execution
from .timeout import ExecutionTimeout, time_limit

RESULT = "_oci_trial_result"  # the value of a final bare expression (what run_cell would display)
MAX_FILES, MAX_FOLDER = 500, 64 << 20  # what of the working folder is copied for a trial
MEMORY = 1 << 30  # bytes a trial may allocate beyond what the process holds
SECONDS = 30.0  # the most a trial may run (less where the round's time limit is less)
PROBE_SECONDS = 5.0  # the most a trial's function calls on probe inputs may take together


class TooBig(Exception):
    """The data a candidate uses is too big to copy for a trial: the round tries one candidate."""


@dataclass
class Trial:
    execution: Execution
    namespace: Dict[str, Any] = field(default_factory=dict)  # what it ran in: for the checks and the comparison
    printed: str = ""
    figures: List[Any] = field(default_factory=list)  # the data of the figures it drew
    # function name -> what it returned on each of the probe calls (calls.Raised where it did not)
    behaviour: Dict[str, List[Any]] = field(default_factory=dict)


class Trials:
    """Trials of one round's candidates against the user's ``namespace`` (never changed)."""

    def __init__(self, namespace: Mapping[str, Any], hidden: Mapping[str, Any], max_bytes: int,
                 seconds: Optional[float]):
        self.namespace, self.hidden, self.max_bytes = namespace, hidden, max_bytes
        self.seconds = min(seconds or SECONDS, SECONDS)
        self._files: Optional[List[str]] = []
        self._listed = False
        self._runs = 0

    def ready(self) -> "Trials":
        """Raise TooBig for a working folder too big to copy, before any candidate is generated."""
        if not self._listed:
            self._files, self._listed = _files("."), True
        if self._files is None:
            raise TooBig("the working folder is too big to copy for trials")
        return self

    def __enter__(self) -> "Trials":
        return self.ready()

    def __exit__(self, *exc) -> None:
        pass

    def _folder_copy(self) -> str:
        """A fresh copy of the working folder's files for one trial (one may delete what another reads)."""
        folder = tempfile.mkdtemp(prefix="oci-trial-")
        for name in self._files:
            shutil.copy2(name, folder)
        return folder

    def run(self, code: str, probes: Optional[Mapping[str, Sequence[Tuple[tuple, dict]]]] = None) -> Trial:
        """Run ``code`` on copies. Raises TooBig before running anything it cannot copy; ■ (a
        real KeyboardInterrupt) goes through; everything the code does is in the Trial. ``probes``:
        function name -> calls (args, kwargs) to make of the functions it defined, once it ran."""
        snap = rb.snapshot(self.namespace, self.hidden)
        namespace = dict(self.namespace)
        mentioned = rb.mentioned_names(code) & set(snap.bindings)
        copied, left = rb.isolate(snap, namespace, mentioned, self.max_bytes)
        if left:
            raise TooBig(f"{', '.join(sorted(left))} is too big to copy for trials (isolate_max_mb)")
        trial_snap = rb.snapshot(namespace, self.hidden)
        before = {n: p for n in mentioned for p in [rb.profile(self.namespace[n])] if p is not None}
        watched = {n: rb.fingerprint(namespace[n]) for n in mentioned}
        self._runs += 1
        filename = f"<oci-trial-{id(self)}-{self._runs}>"
        python = _python(code)
        source = _with_result(python)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # a cell, for is_cell
        printed, figures, sigint = io.StringIO(), DrawnFigures(_shell()), _SigintWatch()
        folder = self._folder_copy()
        try:
            ran, files, after, behaviour = self._exec(source, filename, namespace, folder, sigint, printed, figures,
                                                      probes or {})
        finally:  # ■ included: the copy goes with the trial
            shutil.rmtree(folder, ignore_errors=True)
        output = printed.getvalue()
        if not ran.ok:
            return Trial(replace(ran, stdout_tail=output[-4000:]), {}, output, figures.data)
        result = namespace.pop(RESULT, None)
        created, changed, unchanged = trial_snap.changes(namespace, self.hidden, watched)
        shown = bool(output.strip() or figures.data or result is not None)
        if result is not None:
            namespace[RESULT] = result
        wrote = sorted(n for n in set(after) | set(files) if files.get(n) != after.get(n))  # written or deleted
        return Trial(Execution(ok=True, stdout_tail=output[-4000:], shown=shown, created=created, changed=changed,
                               unchanged=unchanged, rewritten=rewritten(python, namespace, watched), before=before, wrote=wrote, plots=figures.plots), namespace,
                     output, figures.data, behaviour)


    def _exec(self, source, filename, namespace, folder, sigint, printed, figures, probes):
        """Run ``source`` in ``folder``: what it did, the folder's files before and after, and
        what its functions returned on the probe calls."""
        here, files, behaviour = os.getcwd(), _state(folder), {}
        try:
            os.chdir(folder)
            with sigint, _quiet(printed), figures, _no_exits(), _memory_limit(), time_limit(self.seconds, is_cell):
                exec(compile(source, filename, "exec"), namespace)
            if probes:  # under the same guards, on their own clock: the code's own run does not eat their time
                with _SigintWatch() as watch, _quiet(io.StringIO()), DrawnFigures(_shell()), _no_exits(), _memory_limit():
                    behaviour = probe(namespace, probes, watch, PROBE_SECONDS)
            ran = Execution(ok=True)
        except ExecutionTimeout:
            ran = Execution(ok=False, ename="TimeoutError", evalue=f"timed out after {self.seconds:g} s", timed_out=True)
        except KeyboardInterrupt as error:
            if sigint.received or not sigint.available:  # ■: the run stops
                raise
            ran = Execution(ok=False, ename=type(error).__name__, evalue=_evalue(error))  # the code raised it
        except BaseException as error:  # SystemExit, MemoryError and the rest end the trial, not the kernel
            ran = Execution(ok=False, ename=type(error).__name__, evalue=_evalue(error),
                            traceback=notebook_frames(error, short=True))
        finally:
            os.chdir(here)
            linecache.cache.pop(filename, None)
        return ran, files, _state(folder), behaviour



def _python(code: str) -> str:
    """IPython's syntax (``%matplotlib inline``, ``!ls``) as the Python a cell would run."""
    shell = _shell()
    try:
        return shell.transform_cell(code) if shell is not None else code
    except Exception:  # it does not transform: it fails in the trial as it would live
        return code


def _with_result(code: str) -> str:
    """The code, its final bare expression (if any) bound to RESULT: what a cell would display."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code  # it fails to compile in the trial, as it would live
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        tree.body[-1] = ast.Assign(targets=[ast.Name(RESULT, ast.Store())], value=last.value,
                                   lineno=last.lineno, col_offset=last.col_offset)
        return ast.unparse(ast.fix_missing_locations(tree))
    return code


def _state(folder: str) -> Dict[str, tuple]:
    try:
        return {e.name: (e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(folder) if e.is_file()}
    except OSError:
        return {}


def _files(folder: str) -> Optional[List[str]]:
    try:
        entries = [e for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []
    if len(entries) > MAX_FILES or sum(e.stat().st_size for e in entries) > MAX_FOLDER:
        return None
    return [e.path for e in entries]


@contextlib.contextmanager
def _quiet(buffer: io.StringIO):
    """stdout and stderr into ``buffer``; IPython's displays dropped (kept as output text)."""
    shell = _shell()
    publish = getattr(getattr(shell, "display_pub", None), "publish", None)
    if publish is not None:
        shell.display_pub.publish = lambda data, *a, **k: buffer.write(str((data or {}).get("text/plain", "")) + "\n")
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield
    finally:
        if publish is not None:
            del shell.display_pub.publish


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


@contextlib.contextmanager
def _no_exits():
    def refuse(*args, **kwargs):
        raise SystemExit("the trial's code tried to end the process")

    saved = os._exit, os.abort
    os._exit = os.abort = refuse
    try:
        yield
    finally:
        os._exit, os.abort = saved


@contextlib.contextmanager
def _memory_limit():
    """On Linux: address space a little above what the process holds, so a memory bomb fails its
    trial with MemoryError instead of taking the machine down."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm", encoding="ascii") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = size + MEMORY
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

