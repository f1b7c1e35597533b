"""``oci run NOTEBOOK``: execute a notebook headless in a fresh kernel and write it back with each
``%%oci`` cell's rounds as real code cells below it.

The kernel is configured through traitlets config on its command line (no hidden cells): the
extension, ``OciMagics.round_markers`` (so each round's outputs can be told apart), ``--rounds`` and
``--replay``. ``weave`` turns the executed notebook into the output one; it is plain nbformat work.
"""
from __future__ import annotations

import argparse
import copy
import math
import os
import re
import sys
import time
from typing import Dict, List, Optional, Tuple

from .backends.replay import check_record_path, load_replies, save_replies
from .errors import OciError
from .records import OK_OUTCOMES
from .settings import RunSettings
from .runrecord import ROUND_MIME, RUN_MIME

# A round's code cell is re-run by nbclient/papermill; these tags keep a re-run of OUT going.
RAISES, SKIP = "raises-exception", "skip-execution"
_LOAD = re.compile(r"^\s*%(load_ext|reload_ext)\s+oci_magic\b", re.M)


class UsageProblem(Exception):
    """A bad command line or input file: one line on stderr, exit 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb to run")
    parser.add_argument("-o", "--output", metavar="OUT", help="where to write the result (default: NAME.oci.ipynb beside it)")
    parser.add_argument("--model", metavar="PATH", help="GGUF model for every %%%%oci cell that names none ($OCI_MODEL)")
    parser.add_argument("--rounds", type=int, metavar="N", help="most rounds per %%%%oci cell (OciMagics.rounds)")
    parser.add_argument("--replay", metavar="FILE", help="answer all %%%%oci cells, in order, with the replies recorded in FILE")
    parser.add_argument("--timeout", type=float, metavar="S", help="most seconds per cell; then the kernel is interrupted (default: no limit)")
    parser.add_argument("--record", metavar="FILE", help="save the replies of all %%%%oci runs, in order, as a replay file")
    parser.add_argument("--final-only", action="store_true", help="insert only the round that worked, not the failed ones")
    parser.add_argument("-y", "--yes", action="store_true",
                        help="answer Run to %%%%oci --confirm questions (nobody can answer them here; without --yes those runs stop)")
    parser.add_argument("--allow", choices=["risky"],
                        help="--allow risky: run code the safety policy flags (by default it is refused and the model told why)")
    parser.error = lambda message: _usage_exit(parser.prog, message)  # one line, not the whole usage


def _usage_exit(prog: str, message: str):
    print(f"{prog}: {message} (see {prog} --help)", file=sys.stderr)
    sys.exit(2)


def main(args: argparse.Namespace) -> int:
    try:
        nb, out_path = _check(args)
    except UsageProblem as exc:
        print(f"oci run: {exc}", file=sys.stderr)
        return 2
    progress = Progress(nb)
    failure = execute(nb, args, progress)
    woven, oci_cells = weave(nb, final_only=args.final_only)
    import nbformat

    nbformat.validate(woven)
    nbformat.write(woven, out_path)
    if args.record:
        try:
            save_replies(args.record, [r["reply"] for rec in records(nb) for r in rec["rounds"]])
        except OSError as exc:  # the path changed under us while the notebook ran
            print(f"oci run: --record: cannot write {args.record}: {exc.strerror}", file=sys.stderr)
            return 1
    return progress.finish(oci_cells, failure, out_path)


# -- checking the command line -----------------------------------------------------------------
def _check(args) -> Tuple[object, str]:
    import nbformat

    path = args.notebook
    if not os.path.isfile(path):
        raise UsageProblem(f"no such notebook: {path}")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises JSON, validation and reader errors alike
        raise UsageProblem(f"not a readable notebook: {path} ({_first_line(exc)})") from None
    _ensure_cell_ids(nb)
    if args.rounds is not None:
        try:
            RunSettings(rounds=args.rounds)  # the magic's own check, said once
        except ValueError as exc:
            raise UsageProblem(f"--{exc}") from None
    if args.timeout is not None and args.timeout <= 0:
        raise UsageProblem(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.replay and args.model:
        raise UsageProblem("--replay answers from a file; it cannot be combined with --model")
    if args.replay:

        try:
            load_replies(args.replay)
        except OciError as exc:
            raise UsageProblem(str(exc)) from None
    if args.model:
        from .gguf import read_gguf

        try:
            read_gguf(os.path.expanduser(args.model))
        except OciError as exc:
            raise UsageProblem(_first_line(exc)) from None
    if args.record:
        try:
            check_record_path(args.record)
        except OciError as exc:
            raise UsageProblem(str(exc)) from None
    out = args.output or default_output(path)
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UsageProblem(f"output folder does not exist: {folder}")
    if os.path.abspath(out) == os.path.abspath(path):
        raise UsageProblem("OUT must differ from NOTEBOOK (the input is never overwritten)")
    return nb, out


def default_output(path: str) -> str:
    base = path[: -len(".ipynb")] if path.endswith(".ipynb") else path
    return base + ".oci.ipynb"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


def _ensure_cell_ids(nb) -> None:
    """Inserted cells need ids (nbformat 4.5); give an older notebook ids too, so it stays valid."""
    from nbformat.v4.nbbase import random_cell_id

    if nb.nbformat_minor < 5:
        nb.nbformat_minor = 5
    for cell in nb.cells:
        cell.setdefault("id", random_cell_id())


# -- executing -------------------------------------------------------------------------------
def is_oci_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith("%%oci")


def kernel_arguments(args, nb) -> List[str]:
    """Traitlets config for the kernel: how the extension is loaded and set up."""
    extra = ["--OciMagics.round_markers=True", "--IPKernelApp.log_level=ERROR"]  # not its TCP warning
    if not any(_LOAD.search(c.source) for c in nb.cells if c.cell_type == "code"):
        extra.append("--ext=oci_magic")  # a notebook that loads it itself would print "already loaded"
    if args.rounds is not None:
        extra.append(f"--OciMagics.rounds={args.rounds}")
    if args.replay:
        extra.append(f"--OciMagics.replay_path={os.path.abspath(args.replay)}")
    if args.yes:
        extra.append("--OciMagics.assume_yes=True")
    if args.allow == "risky":
        extra.append("--OciMagics.allow_risky=True")
    return extra


def kernel_env(args) -> Dict[str, str]:
    env = dict(os.environ, OCI_HEADLESS="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning on kernel start
    if args.model:
        env["OCI_MODEL"] = os.path.abspath(os.path.expanduser(args.model))
    return env


def execute(nb, args, progress: "Progress") -> Optional[str]:
    """Run every cell in place; return None, or why the run stopped early (one line)."""
    from jupyter_client import AsyncKernelManager
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    km = AsyncKernelManager(kernel_name="python3")  # a blocking client would stall nbclient's timeout
    km.kernel_spec.argv[0] = sys.executable  # the interpreter that has oci_magic, whatever spec is installed
    client = _client_class()(
        nb, km=km, timeout=math.ceil(args.timeout) if args.timeout else None, interrupt_on_timeout=True, record_timing=False,
        extra_arguments=kernel_arguments(args, nb), kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.notebook))}},
        on_cell_execute=progress.started, on_cell_executed=progress.executed,
    )
    client.progress = progress
    try:
        client.execute(env=kernel_env(args))
    except CellTimeoutError:
        return f"cell {progress.label(progress.current)} did not stop within {args.timeout:g} s of being interrupted"
    except CellExecutionError as exc:
        return f"cell {progress.label(progress.current)} raised {_error_line(exc)}"
    except DeadKernelError:
        return f"the kernel died in cell {progress.label(progress.current)}"
    except RuntimeError as exc:  # the kernel did not start
        return f"the kernel failed: {_first_line(exc)}"
    return None


def _error_line(exc) -> str:
    ename, evalue = getattr(exc, "ename", ""), getattr(exc, "evalue", "")
    return f"{ename}: {evalue}" if evalue else (ename or _first_line(exc))


def _client_class():
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError
    from nbclient.util import ensure_async

    class RunnerClient(NotebookClient):
        """Reports rounds as their markers arrive; on a timeout interrupts once (a %%oci run then
        stops cleanly), and gives up if the kernel still does not answer one timeout later."""

        progress: "Progress"

        def output(self, outs, msg, display_id, cell_index):
            out = super().output(outs, msg, display_id, cell_index)
            if out is not None and out.get("output_type") == "display_data" and ROUND_MIME in out.get("data", {}):
                self.progress.marker(cell_index, out["data"][ROUND_MIME])
            return out

        async def _async_handle_timeout(self, timeout, cell=None):
            if self.progress.interrupted:
                raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)
            self.progress.interrupted = True
            self.progress.say(f"cell {self.progress.label(self.progress.current)}: over {timeout} s, interrupting")
            await ensure_async(self.km.interrupt_kernel())
            return None

    return RunnerClient


class Progress:
    """One line per cell (and per %%oci round) on stderr."""

    def __init__(self, nb, stream=None):
        self.stream = stream
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        self.number = {index: n for n, index in enumerate(code, 1)}
        self.total = len(code)
        self.current: Optional[int] = None
        self.interrupted = False
        self.started_at = 0.0

    def say(self, text: str) -> None:
        print(f"oci run · {text}", file=self.stream or sys.stderr, flush=True)

    def label(self, index: Optional[int]) -> str:
        return f"{self.number.get(index, '?')}/{self.total}" if index is not None else "?"

    def started(self, cell, cell_index, **_):
        self.current, self.interrupted, self.started_at = cell_index, False, time.perf_counter()

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


# -- weaving the rounds into the notebook ------------------------------------------------------
def find_record(outputs) -> Optional[dict]:
    for out in outputs or []:
        if out.get("output_type") == "display_data" and RUN_MIME in out.get("data", {}):
            return out["data"][RUN_MIME]
    return None


def records(nb) -> List[dict]:
    """The run records of the notebook's %%oci cells, in order."""
    found = (find_record(c.get("outputs")) for c in nb.cells if is_oci_cell(c))
    return [r for r in found if r is not None]


def split_outputs(outputs) -> Tuple[list, Dict[int, list]]:
    """The %%oci cell's own outputs, and each executed round's outputs (between its markers)."""
    own: list = []
    rounds: Dict[int, list] = {}
    current: Optional[int] = None
    for out in outputs or []:
        fields = out.get("data", {}).get(ROUND_MIME) if out.get("output_type") == "display_data" else None
        if fields is not None:
            event = fields.get("event")
            current = fields.get("round") if event == "start" else None
            if event == "start":
                rounds.setdefault(current, [])
            continue
        (rounds[current] if current is not None else own).append(out)
    return _merge_streams(own), {k: _merge_streams(v) for k, v in rounds.items()}


def _merge_streams(outputs: list) -> list:
    """Adjacent pieces of the same stream become one output, as a frontend shows them."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (prev is not None and out.get("output_type") == "stream" and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            merged[-1] = prev = copy.copy(prev)  # never change the notebook's own outputs
            prev["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def _cell_round(record: dict, r: dict, outputs: list):
    from nbformat.v4 import new_code_cell

    n, of, status = r["round"], record["settings"]["rounds"], r["status"]
    model = record["model"]["name"]
    final = r["round"] == record["final_round"]
    if status == "ok":
        header = f"# %%oci round {n}/{of}: worked (model: {model})"
    elif status == "not-run":
        header = f"# %%oci round {n}/{of}: generated, not run (model: {model})"
    else:
        header = f"# %%oci round {n}/{of}: {status} — {(r['error'] or {}).get('name') or status}"
    tags = []
    if not final:
        tags.append(RAISES)  # it failed once; a re-run must go on past it
    if status in ("interrupted", "timeout"):
        tags.append(SKIP)  # it never finished; re-running it could hang again
    meta = {"oci": {"round": n, "rounds": of, "status": status, "final": final, "model": model,
                    "model_file": record["model"]["file"], "task": record["task"],
                    "error": (r["error"] or {}).get("message") if r["error"] else None}}
    if tags:
        meta["tags"] = tags
    return new_code_cell(source=f"{header}\n{r['code']}", outputs=outputs, metadata=meta)


def weave(nb, final_only: bool = False) -> Tuple[object, List[dict]]:
    """The notebook to write, and one summary dict per %%oci cell (task, outcome)."""
    out = copy.deepcopy(nb)
    cells, summaries = [], []
    for cell in out.cells:
        cells.append(cell)
        if not is_oci_cell(cell):
            continue
        own, by_round = split_outputs(cell.outputs)
        record = find_record(own)
        outcome = record["outcome"] if record else "error"
        summaries.append({"task": cell.source, "outcome": outcome})
        if record is None:  # bad options, or the kernel died / never answered: keep all it printed
            cell.outputs = [o for o in cell.outputs if ROUND_MIME not in o.get("data", {})]
            continue
        cell.outputs = own
        tags = cell.metadata.setdefault("tags", [])
        if SKIP not in tags:
            tags.append(SKIP)  # its rounds follow as cells: re-running OUT must not run them twice
        cell.metadata["oci"] = {"outcome": outcome, "final_round": record["final_round"]}
        for r in record["rounds"]:
            if r["code"] is None or r["status"] in ("repeated", "skipped"):
                continue  # nothing new to show, or code that was refused
            if final_only and r["round"] != record["final_round"]:
                continue
            cells.append(_cell_round(record, r, by_round.get(r["round"], [])))
    out.cells = cells
    return out, summaries
