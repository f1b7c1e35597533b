"""Running ``oci bench notebooks`` tasks through the real ``%%oci`` path, in two modes.

*Fresh*: each task in a kernel of its own, in a folder of its own: its setup cells, one ``%%oci``
cell, then its check. *Session*: the whole suite in one kernel, in one folder, one task after
another, as a user works: each task's setup cells, then its ``%%oci`` cell, so a later task's
``%%oci`` sees every earlier cell, run and variable. A task that builds on an earlier one
(``"after"``) runs only its ``"session_setup"`` there: it works on what the earlier ``%%oci`` left.

The check runs without leaving a trace a later ``%%oci`` would see: not stored in the input
history, in a copy of the kernel's namespace, with the final round's printed and displayed text as
``_bench_output``.
"""
from __future__ import annotations

import math
import os
import re
import shlex
import tempfile
import time
from typing import Dict, Iterator, List, Optional

from ..text import first_line
from . import notebooks_report as report

GRACE = 10  # seconds a timed-out cell gets after the interrupt to stop cleanly (%%oci: with its record)
_RETRY = re.compile(r"Kernel (didn't respond|died before replying)")


def oci_line(task: dict, args) -> str:
    """The %%oci options: only those given, so the magic's own defaults are what gets measured."""
    parts = ["%%oci", "--rounds", str(args.rounds), "--seed", str(args.seed)]
    if args.model:
        parts += ["--model", args.model]
    if args.replay:
        parts += ["--replay", os.path.abspath(os.path.join(args.replay, task["id"] + ".json"))]
    if args.record:
        parts += ["--record", os.path.abspath(os.path.join(args.record, task["id"] + ".json"))]
    if args.temperature is not None:
        parts += ["--temperature", repr(args.temperature)]
    if args.max_tokens is not None:
        parts += ["--max-tokens", str(args.max_tokens)]
    return " ".join(shlex.quote(p) for p in parts)


def kernel_arguments(args) -> List[str]:
    from ..runner.headless import HEADLESS_ARGUMENTS  # as oci run (round markers: _bench_output)

    return ["--ext=oci_magic"] + HEADLESS_ARGUMENTS + [f"--OciMagics.{item}" for item in args.set]


def check_source(task: dict, output: str) -> str:
    """The task's check, run in a copy of the namespace: the names it makes go with it."""
    return f"(lambda _ns: exec({task['check']!r}, _ns))(dict(globals(), _bench_output={output!r}))"


class Kernel:
    """One kernel in one folder, running cells as nbclient does for ``oci run``."""

    def __init__(self, args, folder: str):
        from nbformat.v4 import new_notebook

        from ..runner import headless

        self.args, self.nb = args, new_notebook()
        self.client = headless.client(self.nb, timeout=None, grace=GRACE, extra_arguments=kernel_arguments(args),
                                      folder=folder, allow_errors=True)
        self._setup = self.client.setup_kernel(env=headless.headless_env(), cleanup_kc=True)

    def __enter__(self) -> "Kernel":
        self._setup.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._setup.__exit__(*exc)

    def run(self, source: str, deadline: float, store_history: bool = True):
        from nbformat.v4 import new_code_cell

        cell = new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.timeout = max(1, math.ceil(deadline - time.perf_counter()))  # the task's budget, not per cell
        self.client.timed_out = False
        return self.client.execute_cell(cell, len(self.nb.cells) - 1, store_history=store_history)


def attempt(kernel: Kernel, task: dict, setup: List[str], args, started: float) -> dict:
    """Setup cells, the %%oci cell, the check; what the report reads."""
    from ..runner.weave import find_record, split_outputs

    deadline = started + args.timeout
    for source in setup:
        error = report.cell_error(kernel.run(source, deadline))
        if error:
            return {"record": None, "why": "timeout" if kernel.client.timed_out else "setup error", "error": error}
    oci = kernel.run(oci_line(task, args) + "\n" + task["task"], deadline)
    own, by_round = split_outputs(oci.outputs)
    record = find_record(own)
    if record is None or kernel.client.timed_out:
        return {"record": record, "why": "timeout" if kernel.client.timed_out else "kernel error",
                "error": report.cell_error(oci) or report.output_text(own)[-300:].strip() or None}
    output = report.final_output(by_round)
    check = kernel.run(check_source(task, output), deadline, store_history=False)
    return {"record": record, "output": output, "check": report.cell_error(check), "timed_out": kernel.client.timed_out}


def _failed(exc: Exception) -> dict:
    why = "timeout" if type(exc).__name__ == "CellTimeoutError" else "kernel error"
    return {"record": None, "why": why, "error": f"{type(exc).__name__}: {first_line(exc)}"}


def _no_replay(task: dict, args) -> Optional[dict]:
    path = os.path.join(args.replay, task["id"] + ".json") if args.replay else None
    if path and not os.path.isfile(path):
        return report.result(task, None, why="no replay file", error=path)
    return None


def run_fresh(task: dict, args) -> dict:
    """One task in a kernel and folder of its own."""
    missing = _no_replay(task, args)
    if missing:
        return missing
    started = time.perf_counter()
    for retry in range(2):  # a kernel that never started (a port taken by a parallel run) gets one more try
        with tempfile.TemporaryDirectory(prefix="oci-bench-") as folder:
            try:
                with Kernel(args, folder) as kernel:
                    found = attempt(kernel, task, task.get("setup", []), args, started)
            except Exception as exc:  # the kernel would not start, died or hung: the task failed, the bench goes on
                found = _failed(exc)
                if retry == 0 and _RETRY.search(str(exc)):
                    started = time.perf_counter()
                    continue
        break
    return report.result(task, time.perf_counter() - started, **found)


def run_session(tasks: List[dict], args) -> Iterator[dict]:
    """The tasks one after another in one kernel and one folder; a kernel that dies is replaced
    (the tasks after it start a new session, and their results say so)."""
    with tempfile.TemporaryDirectory(prefix="oci-bench-session-") as folder:
        kernel: Optional[Kernel] = None
        restarted = False
        try:
            for task in tasks:
                missing = _no_replay(task, args)
                if missing:
                    yield missing
                    continue
                started = time.perf_counter()
                if kernel is None:
                    kernel = Kernel(args, folder).__enter__()
                setup = task.get("session_setup", []) if task.get("after") else task.get("setup", [])
                try:
                    found = attempt(kernel, task, setup, args, started)
                except Exception as exc:
                    found = _failed(exc)
                    kernel.__exit__(None, None, None)
                    kernel, restarted = None, True
                result = report.result(task, time.perf_counter() - started, **found)
                result["restarted"] = restarted
                yield result
        finally:
            if kernel is not None:
                kernel.__exit__(None, None, None)


def results(tasks: List[dict], args, mode: str) -> Iterator[dict]:
    """Each task's result. The run's kernels share a prompt cache on disk of their own, empty at
    the start: with the user's, a fresh kernel found the system prompt's state that earlier runs
    had saved, read the rest of its prompt as another batch, and answered otherwise (the 1.5B lost
    5 of 66 tasks on it) -- a run must not depend on what ran before it. A ``--set
    kv_cache_dir=...`` still wins."""
    import argparse
    import tempfile

    with tempfile.TemporaryDirectory(prefix="oci-bench-kv-") as kv:
        args = argparse.Namespace(**{**vars(args), "set": [f"kv_cache_dir={kv}"] + list(args.set)})
        if mode == "session":
            yield from run_session(tasks, args)
        else:
            for task in tasks:
                yield run_fresh(task, args)


def by_id(found: List[dict]) -> Dict[str, dict]:
    return {r["id"]: r for r in found}
