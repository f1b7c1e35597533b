"""``oci bench notebooks``: a suite of notebook tasks run through the real ``%%oci`` path.

Each task gets a fresh kernel, configured as ``oci run`` configures one, in a fresh temporary
folder: its setup cells, one ``%%oci`` cell, then its check, which sees the final round's printed
and displayed text as ``_bench_output``. ``notebooks_report`` compares round 1 with the final round:
the lift the refinement loop buys. Suite (``notebooks.json`` beside this file, or ``--suite FILE``):
``{"version": 1, "tasks": [{"id", "kind", "split": "dev"|"heldout", "setup": [...], "task", "check"}]}``
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import sys
import tempfile
import time
from typing import Dict, List

from ..text import first_line
from . import notebooks_report as report

SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notebooks.json")
SPLITS = ("dev", "heldout")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # ids name files under --record/--replay DIR
GRACE = 10  # seconds a timed-out cell gets after the interrupt to stop cleanly (%%oci: with its record)
PROG = "oci bench notebooks"


class SetupProblem(Exception):
    """A bad option, suite or model file: one line on stderr, exit 1, never a traceback."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", metavar="FILE", default=SUITE, help="task suite (default: the packaged notebooks.json)")
    parser.add_argument("--model", metavar="PATH", help="GGUF model (default: what %%%%oci picks: $OCI_MODEL, else the embedded one)")
    parser.add_argument("--rounds", type=int, metavar="N", help="most rounds per task (default: the magic's, 3)")
    parser.add_argument("--tasks", default="all", metavar="SPEC", help="comma-separated ids, or dev, heldout, all (default all)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (default: the magic's)")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="most tokens per reply (default: the magic's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an OciMagics trait for every kernel (--OciMagics.KEY=VALUE), for ablations; repeatable")
    parser.add_argument("--json", metavar="FILE", help="also write settings, summary and per-task results as JSON")
    parser.add_argument("--record", metavar="DIR", help="save each task's raw replies as DIR/<id>.json")
    parser.add_argument("--replay", metavar="DIR", help="answer each task from DIR/<id>.json instead of a model")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S", help="most seconds per task (default 600)")


def main(args: argparse.Namespace) -> int:
    try:
        tasks = prepare(args)
    except SetupProblem as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    width = max(len(t["id"]) for t in tasks)
    results, interrupted = [], False
    try:
        for n, task in enumerate(tasks, 1):
            results.append(run_task(task, args))
            print(report.progress_line(n, len(tasks), width, results[-1]), file=sys.stderr, flush=True)
    except KeyboardInterrupt:  # an hour's run stopped by ^C still reports the tasks it finished
        print(f"{PROG}: interrupted; the summary covers the {len(results)} tasks that finished", file=sys.stderr)
        interrupted = True
    data = report.build(results, settings(args))
    report.print_summary(data)
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, ensure_ascii=False)
        except OSError as exc:
            print(f"{PROG}: --json: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 1
    return 130 if interrupted else 0


def settings(args) -> Dict[str, object]:
    return {"suite": os.path.abspath(args.suite), "tasks": args.tasks, "model": args.model, "rounds": args.rounds,
            "seed": args.seed, "temperature": args.temperature, "max_tokens": args.max_tokens,
            "set": list(args.set), "timeout": args.timeout, "record": args.record, "replay": args.replay}


def prepare(args) -> List[dict]:
    """The tasks to run, after every check a user can fail (so a typo costs no kernel start)."""
    from ..runner.headless import UsageProblem, check_model, check_run_options, check_seconds

    try:  # the magic's own defaults and checks, and oci run's
        options = check_run_options(args.rounds, args.temperature, args.max_tokens, args.replay, args.model)
        check_seconds(args.timeout)
        if args.model:
            args.model = check_model(args.model)
    except UsageProblem as exc:
        raise SetupProblem(str(exc)) from None
    args.rounds = options.settings.rounds
    if args.replay and not os.path.isdir(args.replay):
        raise SetupProblem(f"--replay: no such folder: {args.replay}")
    for item in args.set:
        _check_trait(item)
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        raise SetupProblem(f"--json: folder does not exist: {os.path.dirname(os.path.abspath(args.json))}")
    if args.record:
        try:
            os.makedirs(args.record, exist_ok=True)
        except OSError as exc:
            raise SetupProblem(f"--record: cannot create folder {args.record}: {exc.strerror}") from None
    return select(load_suite(args.suite), args.tasks, args.suite)


def _check_trait(item: str) -> None:
    """A misspelt trait would be ignored by the kernel (a silent no-op ablation); refuse it here."""
    from oci_magic.ipython.magics import OciMagics

    key, sep, value = item.partition("=")
    if not sep:
        raise SetupProblem(f"--set takes KEY=VALUE (an OciMagics trait), not {item!r}")
    traits = OciMagics.class_traits(config=True)
    if key not in traits:
        raise SetupProblem(f"--set: OciMagics has no trait {key!r} (traits: {', '.join(sorted(traits))})")
    try:
        traits[key].validate(None, traits[key].from_string(value))
    except Exception as exc:  # traitlets raises TraitError, ValueError and others for bad values
        raise SetupProblem(f"--set {key}: bad value {value!r} ({' '.join(str(exc).split())[:120]})") from None


def load_suite(path: str) -> List[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise SetupProblem(f"no such suite file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupProblem(f"cannot read suite file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise SetupProblem(f"suite file is not valid JSON ({exc.msg} at line {exc.lineno}): {path}") from None
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, list) or not tasks:
        raise SetupProblem(f"suite file must hold {{\"version\": 1, \"tasks\": [...]}} with at least one task: {path}")
    seen = set()
    for i, t in enumerate(tasks, 1):
        ok = (isinstance(t, dict) and isinstance(t.get("id"), str) and _ID.match(t["id"])
              and t.get("split") in SPLITS and isinstance(t.get("task"), str) and t["task"].strip()
              and isinstance(t.get("check"), str) and isinstance(t.get("setup", []), list)
              and all(isinstance(c, str) for c in t.get("setup", [])))
        if not ok:
            raise SetupProblem(f"suite task {i} needs id (letters, digits, . _ -), split (dev or heldout), "
                               f"task, check and a list of setup cells: {path}")
        if t["id"] in seen:
            raise SetupProblem(f"suite has task id {t['id']!r} twice: {path}")
        seen.add(t["id"])
    return tasks


def select(tasks: List[dict], spec: str, path: str) -> List[dict]:
    """``--tasks``: ids and split names, comma-separated; the suite's order is kept."""
    wanted = set()
    for item in (s.strip() for s in spec.split(",")):
        if item == "all":
            wanted.update(t["id"] for t in tasks)
        elif item in SPLITS:
            wanted.update(t["id"] for t in tasks if t["split"] == item)
        elif any(t["id"] == item for t in tasks):
            wanted.add(item)
        else:
            raise SetupProblem(f"--tasks: no task {item!r} in {path} (use ids, dev, heldout or all)")
    chosen = [t for t in tasks if t["id"] in wanted]
    if not chosen:
        raise SetupProblem(f"--tasks {spec!r} selects no task in {path}")
    return chosen


# -- one task --------------------------------------------------------------------------------
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


def run_task(task: dict, args) -> dict:
    """Run one task in its own kernel; the result the report reads (``outcome`` etc. from the record)."""
    started = time.perf_counter()
    if args.replay and not os.path.isfile(os.path.join(args.replay, task["id"] + ".json")):
        return report.result(task, None, why="no replay file", error=os.path.join(args.replay, task["id"] + ".json"))
    for attempt in range(2):  # a kernel that never started (a port taken by a parallel run) gets one more try
        with tempfile.TemporaryDirectory(prefix="oci-bench-") as folder:
            try:
                found = _execute(task, args, folder, started)
            except Exception as exc:  # the kernel would not start, died or hung: the task failed, the bench goes on
                why = "timeout" if type(exc).__name__ == "CellTimeoutError" else "kernel error"
                found = {"record": None, "why": why, "error": f"{type(exc).__name__}: {first_line(exc)}"}
                if attempt == 0 and re.search(r"Kernel (didn't respond|died before replying)", str(exc)):
                    started = time.perf_counter()
                    continue
        break
    return report.result(task, time.perf_counter() - started, **found)


def _execute(task: dict, args, folder: str, started: float) -> dict:
    from nbformat.v4 import new_code_cell, new_notebook

    from ..runner import headless
    from ..runner.weave import find_record, split_outputs

    cells = [new_code_cell(s) for s in task.get("setup", [])] + [new_code_cell(oci_line(task, args) + "\n" + task["task"])]
    nb = new_notebook(cells=cells)
    client = headless.client(nb, timeout=None, grace=GRACE, extra_arguments=kernel_arguments(args), folder=folder,
                             allow_errors=True)
    deadline = started + args.timeout

    def run(index: int):
        client.timeout = max(1, math.ceil(deadline - time.perf_counter()))  # the task's budget, not per cell
        return client.execute_cell(nb.cells[index], index)

    with client.setup_kernel(env=headless.headless_env(), cleanup_kc=True):
        for i in range(len(cells) - 1):
            error = report.cell_error(run(i))
            if error:
                return {"record": None, "why": "timeout" if client.timed_out else "setup error", "error": error}
        oci = run(len(cells) - 1)
        own, by_round = split_outputs(oci.outputs)
        record = find_record(own)
        if record is None or client.timed_out:
            return {"record": record, "why": "timeout" if client.timed_out else "kernel error",
                    "error": report.cell_error(oci) or report.output_text(own)[-300:].strip() or None}
        output = report.final_output(by_round)
        nb.cells += [new_code_cell(f"_bench_output = {output!r}"), new_code_cell(task["check"])]
        run(len(nb.cells) - 2)
        check = run(len(nb.cells) - 1)
        return {"record": record, "output": output, "check": report.cell_error(check), "timed_out": client.timed_out}


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
