"""``oci run``'s command line: check everything up front (one line, exit 2), run, weave, write."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Tuple

from ..backends.replay import save_replies
from ..text import first_line
from .headless import UsageProblem, check_model, check_record, check_replay, check_run_options, check_seconds
from .kernel import Progress, execute
from .weave import records, weave


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb to run")
    parser.add_argument("-o", "--output", metavar="OUT", help="where to write the result (default: NAME.oci.ipynb beside it)")
    parser.add_argument("--model", metavar="PATH", help="GGUF model for every %%%%oci cell that names none ($OCI_MODEL)")
    parser.add_argument("--rounds", type=int, metavar="N", help="most rounds per %%%%oci cell (OciMagics.rounds)")
    parser.add_argument("--replay", metavar="FILE", help="answer all %%%%oci cells, in order, with the replies recorded in FILE")
    parser.add_argument("--timeout", type=float, metavar="S", help="most seconds per cell; then the kernel is interrupted (default: no limit)")
    parser.add_argument("--record", metavar="FILE", help="save the replies of all %%%%oci runs, in order, as a replay file")
    parser.add_argument("--final-only", action="store_true", help="insert only the round that worked, not the failed ones")
    parser.add_argument("--candidates", type=int, metavar="K", help="replies per round, tried on copies first (OciMagics.candidates)")
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
        raise UsageProblem(f"not a readable notebook: {path} ({first_line(exc)})") from None
    _ensure_cell_ids(nb)
    check_run_options(rounds=args.rounds, replay=args.replay, model=args.model, candidates=args.candidates)
    check_seconds(args.timeout)
    if args.replay:
        check_replay(args.replay)
    if args.model:  # a path, a catalog name or REPO_ID/FILE: the kernel gets the file
        args.model = check_model(args.model)
    if args.record:
        check_record(args.record)
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


def _ensure_cell_ids(nb) -> None:
    """Inserted cells need ids (nbformat 4.5); give an older notebook ids too, so it stays valid."""
    from nbformat.v4.nbbase import random_cell_id

    if nb.nbformat_minor < 5:
        nb.nbformat_minor = 5
    for cell in nb.cells:
        cell.setdefault("id", random_cell_id())
