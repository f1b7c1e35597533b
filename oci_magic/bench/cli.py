"""``oci bench``'s command line; each bench lives in its own module."""
from __future__ import annotations

import json
import sys

from ..errors import OciError
from . import notebooks


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    loop = sub.add_parser("loop", help="prompt-cache reuse, idle-time prefill, generation speed, %%load_ext")
    loop.add_argument("--model", metavar="PATH", help="GGUF model (default: as %%oci chooses)")
    loop.add_argument("--threads", type=int, default=0, help="llama.cpp threads (default: all cores)")
    loop.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    loop.add_argument("--part", action="append", choices=["prompt", "idle", "speed", "startup"],
                      help="only this part (repeatable): prompt (the KV cache within and across runs), idle (prefill "
                           "while idle, after a failed run, after a restart, a busy cell beside it), speed (generation "
                           "against raw llama-cpp-python, and beside a busy process), startup (%%load_ext, reading a "
                           "big notebook); default: all")
    he = sub.add_parser("humaneval", help="HumanEval pass@1 through the refinement loop")
    he.add_argument("--model", metavar="PATH", help="GGUF model (default: as %%oci chooses)")
    he.add_argument("--limit", type=int, default=0, help="first N problems only (default: all 164)")
    he.add_argument("--skip", type=int, default=0, help="leave out the first N problems (with --limit: the N after them)")
    he.add_argument("--rounds", type=int, help="most rounds per problem (default: the magic's, 3)")
    he.add_argument("--feedback", choices=["self", "oracle"], default="self",
                    help="self: docstring examples and tracebacks; oracle: the hidden tests' failures")
    he.add_argument("--max-tokens", type=int, default=384, help="most tokens per reply (default 384)")
    he.add_argument("--timeout", type=float, default=10.0, help="seconds per execution (default 10)")
    he.add_argument("--threads", type=int, default=0, help="llama.cpp threads (default: all cores)")
    he.add_argument("--candidates", type=int, help="replies per round, chosen by their trials (default: the magic's)")
    he.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="an OciMagics trait (exercise, sanity, ...), for ablations; repeatable")
    he.add_argument("--json", metavar="FILE", help="also write per-problem results as JSON")
    nb = sub.add_parser("notebooks", help="notebook tasks through the real %%oci path: solved in round 1 vs after N rounds")
    notebooks.add_arguments(nb)


def main(args) -> int:
    if args.bench == "notebooks":
        return notebooks.main(args)
    from .humaneval import bench_humaneval
    from .loop import PARTS, bench_loop, print_report

    try:
        if args.bench == "loop":
            report = bench_loop(args.model, args.threads, args.part or PARTS)
            print_report(report)
        else:
            report = bench_humaneval(args)
    except OciError as exc:
        print(f"oci bench: {exc}", file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return 0
