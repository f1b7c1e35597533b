"""Executing the notebook: a fresh kernel configured on its command line, nbclient, and one
progress line per cell and per %%oci round."""
from __future__ import annotations

import os
import re
import sys
import time
from typing import List, Optional

from ..engine.records import OK_OUTCOMES
from ..text import first_line
from . import headless
from .headless import HEADLESS_ARGUMENTS, headless_env
from .weave import find_record

_LOAD = re.compile(r"^\s*%(load_ext|reload_ext)\s+oci_magic\b", re.M)


def kernel_arguments(args, nb) -> List[str]:
    """Traitlets config for the kernel: how the extension is loaded and set up."""
    extra = list(HEADLESS_ARGUMENTS)
    if not any(_LOAD.search(c.source) for c in nb.cells if c.cell_type == "code"):
        extra.append("--ext=oci_magic")  # a notebook that loads it itself would print "already loaded"
    if args.rounds is not None:
        extra.append(f"--OciMagics.rounds={args.rounds}")
    if getattr(args, "candidates", None):
        extra.append(f"--OciMagics.candidates={args.candidates}")
    if args.replay:
        extra.append(f"--OciMagics.replay_path={os.path.abspath(args.replay)}")
    if args.yes:
        extra.append("--OciMagics.assume_yes=True")
    if args.allow == "risky":
        extra.append("--OciMagics.allow_risky=True")
    return extra


def execute(nb, args, progress: "Progress") -> Optional[str]:
    """Run every cell in place; return None, or why the run stopped early (one line)."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    # on a timeout the interrupted cell gets one timeout more to stop cleanly
    client = headless.client(nb, timeout=args.timeout, grace=args.timeout or 0, extra_arguments=kernel_arguments(args, nb),
                             folder=os.path.dirname(os.path.abspath(args.notebook)), on_marker=progress.marker,
                             on_timeout=lambda seconds: progress.say(f"cell {progress.label(progress.current)}: "
                                                                     f"over {seconds} s, interrupting"),
                             on_cell_execute=progress.started, on_cell_executed=progress.executed)
    try:
        client.execute(env=headless_env(args.model))
    except CellTimeoutError:
        return f"cell {progress.label(progress.current)} did not stop within {args.timeout:g} s of being interrupted"
    except CellExecutionError as exc:
        return f"cell {progress.label(progress.current)} raised {_error_line(exc)}"
    except DeadKernelError:
        return f"the kernel died in cell {progress.label(progress.current)}"
    except RuntimeError as exc:  # the kernel did not start
        return f"the kernel failed: {first_line(exc)}"
    return None


def _error_line(exc) -> str:
    ename, evalue = getattr(exc, "ename", ""), getattr(exc, "evalue", "")
    return f"{ename}: {evalue}" if evalue else (ename or first_line(exc))


class Progress:
    """One line per cell (and per %%oci round) on stderr."""

    def __init__(self, nb, stream=None):
        self.stream = stream
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        self.number = {index: n for n, index in enumerate(code, 1)}
        self.total = len(code)
        self.current: Optional[int] = None
        self.started_at = 0.0

    def say(self, text: str) -> None:
        print(f"oci run · {text}", file=self.stream or sys.stderr, flush=True)

    def label(self, index: Optional[int]) -> str:
        return f"{self.number.get(index, '?')}/{self.total}" if index is not None else "?"

    def started(self, cell, cell_index, **_):
        self.current, self.started_at = cell_index, time.perf_counter()

    def marker(self, cell_index: int, fields: dict) -> None:
        if fields.get("event") != "finished":
            return
        status = fields.get("status")
        error = fields.get("error")
        self.say(f"cell {self.label(cell_index)} %%oci round {fields.get('round')}: {status}"
                 + (f" ({error})" if error and status != "ok" else ""))

    def executed(self, cell, cell_index, execute_reply, **_):
        seconds = time.perf_counter() - self.started_at
        content = (execute_reply or {}).get("content", {})
        record = find_record(cell.outputs)
        if content.get("status") == "error":
            what = f"error {content.get('ename')}: {content.get('evalue')}"
        elif record is not None:
            what = f"%%oci {record['summary']}"
        else:
            what = "ok"
        self.say(f"cell {self.label(cell_index)}: {what} ({seconds:.1f} s)")

    def finish(self, oci_cells: List[dict], failure: Optional[str], out_path: str) -> int:
        good = sum(1 for c in oci_cells if c["outcome"] in OK_OUTCOMES)
        bad = len(oci_cells) - good
        if failure:
            self.say(f"stopped: {failure}")
        self.say(f"{len(oci_cells)} %%oci cell{'s' * (len(oci_cells) != 1)}: {good} succeeded"
                 + (f", {bad} did not" if bad else "") + f"; wrote {out_path}")
        print(out_path, flush=True)
        return 1 if failure or bad else 0
