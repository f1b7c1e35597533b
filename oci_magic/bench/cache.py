"""``oci bench loop``, part two: what the notebook costs before the user asks. Prefill while the
kernel is idle, a run after a failed one, the prompt cache on disk across a kernel restart, a
CPU-bound cell started while prefill is pending, and llama.cpp's speed with a CPU-bound process
beside it. Each figure is measured side by side with its baseline in one process.

The notebook is 40 cells of pandas analysis (:func:`.loop.bench_notebook`); runs go through
:meth:`Session.run` with a fixed executor, and prefill through :meth:`Session.prefill`, the way the
magic's post_run_cell hook calls it after each cell.
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

from ..engine.session import NotebookState, Session
from ..engine.settings import OciConfig
from ..execution.result import Execution
from ..context.layout import defined_names
from .loop import _run as _run_loop, _usage, bench_notebook

CELLS = 40
TASK = "plot the total revenue per product as a bar chart"
TASK2 = "show the monthly revenue of the north region as a line chart"  # after the restart
TARGETS = {"prefilled_evaluated": 0.10, "prefilled_ttft": 0.10, "after_failed_evaluated": 0.05,
           "restart_ttft": 0.15, "busy_cell_ratio": 1.10}


def namespace(inputs: List[str]) -> Dict[str, object]:
    """The variables the cells so far define (a dozen numbers each), as the kernel would hold them."""
    found: Dict[str, object] = {}
    for n, source in enumerate(inputs[1:], 1):
        if source.lstrip().startswith(("import", "%")):
            continue
        for name in sorted(defined_names(source)):
            found[name] = [round(n * 1.5 + i * 0.25, 2) for i in range(12)]
    return found


def _run(session, options, inputs, outputs, task, executor):
    return _run_loop(session, options, inputs, outputs, task, executor, namespace(inputs))


class _Works:
    def execute(self, code: str) -> Execution:
        return Execution(ok=True, shown=True)


class _Fails:
    def execute(self, code: str) -> Execution:
        return Execution(ok=False, ename="KeyError", evalue="'amount'",
                         traceback=['  File "<generated code>", line 2, in <module>\n    sales["amount"].sum()'])


def _cells_run(session: Session, config: OciConfig, options, inputs: List[str], outputs, first: int = 2) -> float:
    """Cells ``first``.. run one by one, each followed by the post_run_cell prefill; then the
    kernel is idle until prefill is done. Returns the seconds prefill took after the last cell."""
    for n in range(first, len(inputs) + 1):
        session.prefill(NotebookState(inputs[:n], outputs, namespace(inputs[:n]), (), n), options,
                        config.prefill_settings())
    start = time.perf_counter()
    session.prefiller.wait(1800)
    return time.perf_counter() - start


def bench_cache(model: Optional[str] = None, threads: int = 0, cells: int = CELLS,
                busy_n: int = 30_000_000) -> Dict[str, object]:
    """All figures of the part; ``cells`` and ``busy_n`` (the CPU-bound cell's loop) are smaller
    in the tests."""
    report: Dict[str, object] = {"cells": cells}
    disk = tempfile.mkdtemp(prefix="oci-bench-kv-")
    config = OciConfig(n_threads=threads, kv_cache_dir=disk)
    cold_config = OciConfig(n_threads=threads, kv_cache_mb=0, prefill=False)
    fixed = dict(model=model, temperature=0.0, max_tokens=32, seed=1, rounds=1)
    options, cold_options = config.run_options(**fixed), cold_config.run_options(**fixed)

    session = Session()
    backend, _ = session.backend(cold_options.model)
    inputs, outputs = bench_notebook(0, backend.count_tokens, cells=cells)
    cold, _ = _run(session, cold_options, inputs, outputs, TASK, _Works())
    report["cold"] = _usage(cold.rounds[0].usage)
    session.close()

    # 1. the first %%oci after 40 cells ran with the model loaded
    session = Session()
    session.backend(options.model)
    report["prefill_seconds"] = _cells_run(session, config, options, inputs, outputs)
    warm, _ = _run(session, options, inputs, outputs, TASK, _Works())
    report["prefilled"] = _usage(warm.rounds[0].usage)

    # 2. a %%oci after a failed one: fresh prompt (before), continued, continued + prefill
    inputs2 = inputs + [f"%%oci\n{TASK}"]
    after_warm, next_task = session.conversation, "show the three regions with the highest revenue growth"
    for label in ("after_failed_fresh", "after_failed_continued", "after_failed_prefilled"):
        session.conversation = after_warm
        _run(session, options, inputs2, outputs, "sum the amount column", _Fails())  # gives up
        inputs3 = inputs2 + ["%%oci\nsum the amount column"]
        if label == "after_failed_fresh":
            session.conversation = None  # what happened before: a failed run was not continued
        if label == "after_failed_prefilled":  # the failed %%oci cell's post_run_cell
            _cells_run(session, config, options, inputs3, outputs, first=len(inputs3))
        again, _ = _run(session, options, inputs3, outputs, next_task, _Works())
        report[label] = _usage(again.rounds[0].usage)
    session.close()

    # 3. a kernel restart, the same cells run again (the state of the first kernel is on disk;
    # each variant gets its own copy, so one does not find the other's run)
    for label, prefill in (("restart_prefilled", True), ("restart_no_prefill", False)):
        copy = shutil.copytree(disk, disk + "-" + label)
        cfg = OciConfig(n_threads=threads, kv_cache_dir=copy, prefill=prefill)
        session = Session()
        opts = cfg.run_options(**fixed)
        session.backend(opts.model)
        seconds = _cells_run(session, cfg, opts, inputs, outputs)
        result, _ = _run(session, opts, inputs, outputs, TASK2, _Works())
        report[label] = dict(_usage(result.rounds[0].usage), prefill_seconds=seconds)
        session.close()

    # 4. a CPU-bound cell started while prefill is pending (pre_run_cell pauses it) or not paused
    report["busy_cell"] = _busy_cell(config, cold_config, fixed, inputs, outputs, busy_n)
    report["contention"] = _contention(model, threads)
    for folder in (disk, disk + "-restart_prefilled", disk + "-restart_no_prefill"):
        shutil.rmtree(folder, ignore_errors=True)  # states of tens of MB each
    for key in ("prefilled", "after_failed_fresh", "after_failed_continued", "after_failed_prefilled",
                "restart_prefilled", "restart_no_prefill"):
        usage = report[key]
        usage["evaluated_share"] = usage["evaluated_tokens"] / max(1, usage["prompt_tokens"])
        usage["ttft_share"] = usage["first_token_seconds"] / report["cold"]["first_token_seconds"]
    return report


def busy(n: int = 30_000_000) -> float:
    """A CPU-bound user cell: pure Python arithmetic on one core."""
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i % 7
    return time.perf_counter() - start


def _busy_cell(config, cold_config, fixed, inputs, outputs, n: int, repeats: int = 3) -> Dict[str, float]:
    """Medians of ``repeats``, alternating: the cell alone, started mid-prefill (paused by
    pre_run_cell), and beside prefill that does not pause (what pausing saves)."""
    times: Dict[str, List[float]] = {"alone": [], "paused": [], "not_paused": []}
    session = Session()
    opts = cold_config.run_options(**fixed)
    backend, _ = session.backend(opts.model)  # no disk cache: prefill has the whole notebook to read
    state = NotebookState(inputs, outputs, namespace(inputs), (), len(inputs))
    for _ in range(repeats):
        times["alone"].append(busy(n))
        for label in ("paused", "not_paused"):
            with backend.lock:
                backend.llm.n_tokens = 0  # cold again: prefill has all of it to read
            session.prefill(state, opts, config.prefill_settings())
            deadline = time.time() + 60
            while session.prefiller.status.state != "reading" and time.time() < deadline:
                time.sleep(0.01)
            if label == "paused":
                session.prefiller.pause()  # what the pre_run_cell hook does
            times[label].append(busy(n))
            session.prefiller.pause()
            session.prefiller.wait(60)
    session.close()
    found = {f"{k}_seconds": statistics.median(v) for k, v in times.items()}
    for label in ("paused", "not_paused"):
        found[f"{label}_ratio"] = found[f"{label}_seconds"] / found["alone_seconds"]
    return found


def _contention(model, threads) -> Dict[str, object]:
    """Generation and prompt reading (tokens/s) alone and with a CPU-bound process beside, for
    all threads and for the fewer threads background prefill uses."""
    from ..backends.cpu import free_threads
    from ..backends.llama import machine_threads
    from ..engine import prompt
    from ..backends.base import GenerationParams

    session = Session()
    backend, _ = session.backend(OciConfig(n_threads=threads, kv_cache_mb=0).run_options(model=model).model)
    messages = prompt.initial_messages("write a function that returns the mean revenue per region", "")
    text = " ".join(f"revenue_{i} = sales[{i}] * price" for i in range(120))
    reading = backend.llm.tokenize(text.encode(), add_bos=False)[:256]
    rows = []
    counts = sorted({backend.n_threads, max(1, backend.n_threads // 2)}, reverse=True) + [0]  # 0: share_cores
    for beside in (False, True):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if beside else None
        try:
            time.sleep(0.5 if hog else 0)
            for n in counts:
                backend.share_cores, backend.n_threads = n == 0, n or counts[0]
                used = free_threads(backend.n_threads) if n == 0 else n
                with backend.lock, backend.states.threads(used):
                    backend.llm.n_tokens = 0
                    start = time.perf_counter()
                    backend.llm.eval(reading)
                    read = len(reading) / (time.perf_counter() - start)
                    completion = backend.generate(messages, GenerationParams(0.0, 48, 1))
                    completion.text()
                rows.append({"beside": beside, "threads": n or "auto", "used": completion.usage.threads,
                             "read_tokens_per_second": read,
                             "generate_tokens_per_second": completion.usage.tokens_per_second})
        finally:
            if hog:
                hog.kill()
                hog.wait()
    session.close()
    return {"cores": machine_threads(), "rows": rows}


def print_cache(r: Dict[str, object]) -> None:
    cold = r["cold"]
    print(f"\nIdle-time prefill and the prompt cache ({r['cells']} cells, {cold['prompt_tokens']} prompt tokens, "
          f"cold first token {cold['first_token_seconds']:.2f} s)")
    print(f"{'':44}{'prompt':>8}{'evaluated':>10}{'share':>8}{'first token':>13}{'% of cold':>11}")
    labels = [("prefilled", "first %%oci after the cells, prefilled"),
              ("after_failed_fresh", "after a failed run: fresh prompt (before)"),
              ("after_failed_continued", "after a failed run: continued"),
              ("after_failed_prefilled", "after a failed run: continued + prefill"),
              ("restart_no_prefill", "after a restart: disk cache, no prefill"),
              ("restart_prefilled", "after a restart: disk cache + prefill")]
    for key, label in labels:
        u = r[key]
        print(f"{label:44}{u['prompt_tokens']:>8}{u['evaluated_tokens']:>10}{u['evaluated_share'] * 100:>7.1f}%"
              f"{u['first_token_seconds']:>11.3f} s{u['ttft_share'] * 100:>10.1f}%")
    b = r["busy_cell"]
    print(f"\nprefill read the {r['cells']} cells in the background in {r['prefill_seconds']:.1f} s after the last cell; "
          f"after a restart in {r['restart_prefilled']['prefill_seconds']:.1f} s")
    print(f"CPU-bound cell: alone {b['alone_seconds']:.2f} s, started mid-prefill {b['paused_seconds']:.2f} s "
          f"(x{b['paused_ratio']:.2f}); had prefill not paused {b['not_paused_seconds']:.2f} s (x{b['not_paused_ratio']:.2f})")
    rows = [("first %%oci after cells: evaluated", r["prefilled"]["evaluated_share"], TARGETS["prefilled_evaluated"]),
            ("first %%oci after cells: first token / cold", r["prefilled"]["ttft_share"], TARGETS["prefilled_ttft"]),
            ("after a failed run: evaluated", r["after_failed_prefilled"]["evaluated_share"],
             TARGETS["after_failed_evaluated"]),
            ("after a restart: first token / cold", r["restart_prefilled"]["ttft_share"], TARGETS["restart_ttft"])]
    print(f"\n{'figure':46}{'measured':>10}{'target':>10}  verdict")
    for name, value, target in rows:
        print(f"{name:46}{value * 100:>9.1f}%{'<= ' + format(target * 100, '.0f') + ' %':>10}  "
              f"{'PASS' if value <= target else 'MISS'}")
    ratio = b["paused_ratio"]
    print(f"{'CPU-bound cell mid-prefill / alone':46}{ratio:>10.2f}{'<= 1.10':>10}  "
          f"{'PASS' if ratio <= TARGETS['busy_cell_ratio'] else 'MISS'}")
    c = r["contention"]
    print(f"\nllama.cpp beside a CPU-bound process ({c['cores']} cores): tokens/s")
    print(f"{'threads':>16}{'read alone':>12}{'read beside':>13}{'gen alone':>11}{'gen beside':>12}")
    for n in dict.fromkeys(row["threads"] for row in c["rows"]):
        alone = next(x for x in c["rows"] if x["threads"] == n and not x["beside"])
        beside = next(x for x in c["rows"] if x["threads"] == n and x["beside"])
        label = f"share_cores {alone['used']}/{beside['used']}" if n == "auto" else str(n)
        print(f"{label:>16}{alone['read_tokens_per_second']:>12.1f}{beside['read_tokens_per_second']:>13.1f}"
              f"{alone['generate_tokens_per_second']:>11.1f}{beside['generate_tokens_per_second']:>12.1f}")
