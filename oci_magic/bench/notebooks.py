"""``oci bench notebooks``: a suite of notebook tasks run through the real ``%%oci`` path,
each in a fresh kernel, or all in one kernel as a user works (:mod:`.tasks`, ``--mode``).

``notebooks_report`` compares round 1 with the final round: the lift the refinement loop buys.
Suite (``notebooks.json`` beside this file, or ``--suite FILE``): ``{"version": 1, "tasks": [{"id",
"kind", "split": "dev"|"heldout", "setup": [...], "task", "check"}]}``; a task that builds on an
earlier one names it (``"after": ID``) and says what its setup is in one session
(``"session_setup": [...]``, default none: the earlier task's result).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Dict, List

from . import notebooks_report as report

SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notebooks.json")
SPLITS = ("dev", "heldout")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # ids name files under --record/--replay DIR
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
    parser.add_argument("--mode", choices=("fresh", "session", "both"), default="fresh",
                        help="fresh: each task in a kernel of its own; session: all tasks one after another in one "
                             "kernel, as a user works; both: one, then the other, side by side (default fresh)")


def main(args: argparse.Namespace) -> int:
    from . import tasks as runner

    try:
        chosen = prepare(args)
    except SetupProblem as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    width = max(len(t["id"]) for t in chosen)
    found: Dict[str, List[dict]] = {}
    interrupted = False
    try:
        for mode in (("fresh", "session") if args.mode == "both" else (args.mode,)):
            found[mode] = []
            for n, result in enumerate(runner.results(chosen, args, mode), 1):
                found[mode].append(result)
                label = "" if args.mode == "fresh" else f"{mode:<8}"
                print(label + report.progress_line(n, len(chosen), width, result), file=sys.stderr, flush=True)
    except KeyboardInterrupt:  # an hour's run stopped by ^C still reports the tasks it finished
        print(f"{PROG}: interrupted; the summary covers the tasks that finished", file=sys.stderr)
        interrupted = True
    data = {mode: report.build(results, dict(settings(args), mode=mode)) for mode, results in found.items()}
    for mode, built in data.items():
        report.print_summary(built, title=mode)
    if len(data) == 2:
        report.print_modes(data["fresh"], data["session"])
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(data[args.mode] if args.mode != "both" else data, f, indent=1, ensure_ascii=False)
        except OSError as exc:
            print(f"{PROG}: --json: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 1
    return 130 if interrupted else 0


def settings(args) -> Dict[str, object]:
    return {"suite": os.path.abspath(args.suite), "tasks": args.tasks, "mode": args.mode, "model": args.model, "rounds": args.rounds,
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
              and all(isinstance(c, str) for c in t.get("setup", []))
              and all(isinstance(c, str) for c in t.get("session_setup", []))
              and (t.get("after") is None or t["after"] in seen))
        if not ok:
            raise SetupProblem(f"suite task {i} needs id (letters, digits, . _ -), split (dev or heldout), "
                               f"task, check, a list of setup cells, and an 'after' that names an earlier task: {path}")
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


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
