"""``oci bench loop --part idle``: what the notebook costs before the user asks. Prefill while the
kernel is idle, a run after a failed one, the prompt cache on disk across a kernel restart, and a
CPU-bound cell started while prefill is pending. Each figure is measured side by side with its
baseline in one process.

The notebook is 40 cells of pandas analysis (:func:`.workload.notebook`); runs go through
:meth:`Session.run` with a fixed executor, and prefill through :meth:`Session.prefill`, the way the
magic's post_run_cell hook calls it after each cell.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from typing import Dict, List, Optional

from ..engine.session import Session
from ..engine.settings import OciConfig, PrefillSettings
from . import workload

CELLS = 40
TASK = "plot the total revenue per product as a bar chart"
TASK2 = "show the monthly revenue of the north region as a line chart"  # after the restart
TARGETS = {"prefilled_evaluated": 0.10, "prefilled_ttft": 0.10, "after_failed_evaluated": 0.05,
           "restart_ttft": 0.15, "busy_cell_ratio": 1.10, "idle_evaluated": 0.10, "prefill_speed": 0.85}
IDLE = 20.0  # seconds the kernel sits idle after the cells, before the %%oci: a user reading, typing
SMALL_CELLS = 40


def _run(session, options, inputs, outputs, task, executor):
    return workload.run(session, options, inputs, outputs, task, executor, workload.cell_variables(inputs))


def _cells_run(session: Session, config: OciConfig, options, inputs: List[str], outputs, first: int = 2) -> float:
    """Cells ``first``.. run one by one, each followed by the post_run_cell prefill; then the
    kernel is idle until prefill is done. Returns the seconds prefill took after the last cell."""
    for n in range(first, len(inputs) + 1):
        session.prefill(workload.state(inputs[:n], outputs, workload.cell_variables(inputs[:n]), n), options,
                        config.prefill_settings())
    start = time.perf_counter()
    session.prefiller.wait(1800)
    return time.perf_counter() - start


def bounded(model: Optional[str], threads: int, settings: PrefillSettings, cells: int = SMALL_CELLS,
            idle: float = IDLE) -> Dict[str, object]:
    """Small cells run back to back (each: pre_run_cell's pause, 50 ms of work, post_run_cell's
    prefill), then ``idle`` seconds of nothing, then a %%oci: how much of its prompt it still
    evaluates, and how fast prefill read, against reading the same prompt in one call."""
    config = OciConfig(n_threads=threads, kv_cache_mb=0)  # no disk cache: only what prefill read counts
    options = config.run_options(model=model, temperature=0.0, max_tokens=16, seed=1, rounds=1)
    session = Session()
    backend, _ = session.backend(options.model)
    inputs, outputs, names = workload.small_notebook(cells)
    for n in range(2, len(inputs) + 1):
        session.prefiller.pause()  # pre_run_cell
        _spin(0.05)  # the cell runs
        session.prefill(workload.state(inputs[:n], outputs, names(n)), options, settings)  # post_run_cell
    time.sleep(idle)
    result = workload.run(session, options, inputs, outputs, TASK, workload.Works(), names(len(inputs)))
    usage = result.rounds[0].usage
    session.prefiller.wait(60)  # the run stopped the job in flight: its counts are in now
    read, reading = session.prefiller.status.evaluated, session.prefiller.status.reading_seconds
    tokens = backend.tokenize_messages(result.prompt)
    with backend.lock:  # the same prompt read in one call, every thread: the backend's full speed
        backend.clear_cache()
        start = time.perf_counter()
        backend.llm.eval(tokens)
        full = len(tokens) / (time.perf_counter() - start)
    session.close()
    rate = read / reading if reading > 0 else 0.0
    return {"threads": settings.threads or backend.n_threads, "batch_seconds": settings.batch_seconds,
            "idle_seconds": idle, "prompt_tokens": usage.prompt_tokens, "evaluated_tokens": usage.evaluated_tokens,
            "evaluated_share": usage.evaluated_tokens / max(1, usage.prompt_tokens), "prefill_tokens": read,
            "prefill_read_seconds": reading, "prefill_tokens_per_second": rate, "full_tokens_per_second": full,
            "speed_share": rate / full if full else 0.0}


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def measure(model: Optional[str] = None, threads: int = 0, cells: int = CELLS,
            busy_n: int = 30_000_000, idle: float = IDLE) -> Dict[str, object]:
    """All figures of the part; ``cells``, ``busy_n`` (the CPU-bound cell's loop) and ``idle``
    are smaller in the tests."""
    report: Dict[str, object] = {"cells": cells}
    from ..backends.llama import machine_threads

    before = PrefillSettings(True, max(1, (threads or machine_threads()) // 2), 0.25)  # half the cores, 1/4 s batches
    report["bounded_before"] = bounded(model, threads, before, idle=idle)
    report["bounded"] = bounded(model, threads, OciConfig().prefill_settings(), idle=idle)
    disk = tempfile.mkdtemp(prefix="oci-bench-kv-")
    config = OciConfig(n_threads=threads, kv_cache_dir=disk)
    cold_config = OciConfig(n_threads=threads, kv_cache_mb=0, prefill=False)
    fixed = dict(model=model, temperature=0.0, max_tokens=32, seed=1, rounds=1)
    options, cold_options = config.run_options(**fixed), cold_config.run_options(**fixed)

    session = Session()
    backend, _ = session.backend(cold_options.model)
    inputs, outputs = workload.notebook(0, backend.count_tokens, cells=cells)
    cold = _run(session, cold_options, inputs, outputs, TASK, workload.Works())
    report["cold"] = workload.usage(cold.rounds[0].usage)
    session.close()

    # 1. the first %%oci after 40 cells ran with the model loaded
    session = Session()
    session.backend(options.model)
    report["prefill_seconds"] = _cells_run(session, config, options, inputs, outputs)
    warm = _run(session, options, inputs, outputs, TASK, workload.Works())
    report["prefilled"] = workload.usage(warm.rounds[0].usage)

    # 2. a %%oci after a failed one: fresh prompt (before), continued, continued + prefill
    inputs2 = inputs + [f"%%oci\n{TASK}"]
    after_warm, next_task = session.memory, "show the three regions with the highest revenue growth"
    for label in ("after_failed_fresh", "after_failed_continued", "after_failed_prefilled"):
        session.memory = after_warm  # each variant starts from the same point
        _run(session, options, inputs2, outputs, "sum the amount column", workload.Fails())  # gives up
        inputs3 = inputs2 + ["%%oci\nsum the amount column"]
        if label == "after_failed_fresh":  # what happened before: a failed run was not continued
            session.memory = session.memory.without_conversation()
        if label == "after_failed_prefilled":  # the failed %%oci cell's post_run_cell
            _cells_run(session, config, options, inputs3, outputs, first=len(inputs3))
        again = _run(session, options, inputs3, outputs, next_task, workload.Works())
        report[label] = workload.usage(again.rounds[0].usage)
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
        result = _run(session, opts, inputs, outputs, TASK2, workload.Works())
        report[label] = dict(workload.usage(result.rounds[0].usage), prefill_seconds=seconds)
        session.close()

    # 4. a CPU-bound cell started while prefill is pending (pre_run_cell pauses it) or not paused
    report["busy_cell"] = _busy_cell(config, cold_config, fixed, inputs, outputs, busy_n)
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
    state = workload.state(inputs, outputs, workload.cell_variables(inputs))
    for _ in range(repeats):
        times["alone"].append(busy(n))
        for label in ("paused", "not_paused"):
            backend.clear_cache()  # cold again: prefill has all of it to read
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


def report(r: Dict[str, object]) -> list:
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
    print(f"\nprefill with a bounded idle time: {SMALL_CELLS} small cells, then {r['bounded']['idle_seconds']:g} s idle, "
          f"then a %%oci of {r['bounded']['prompt_tokens']} prompt tokens")
    print(f"{'':30}{'threads':>8}{'read':>7}{'tok/s':>8}{'of full':>9}{'evaluated':>11}")
    for key, label in (("bounded_before", "before (half cores, 1/4 s)"), ("bounded", "after")):
        x = r[key]
        print(f"{label:30}{x['threads']:>8}{x['prefill_tokens']:>7}{x['prefill_tokens_per_second']:>8.1f}"
              f"{x['speed_share'] * 100:>8.1f}%{x['evaluated_share'] * 100:>10.1f}%")
    rows = [("first %%oci after cells: evaluated", r["prefilled"]["evaluated_share"], TARGETS["prefilled_evaluated"]),
            ("first %%oci after cells: first token / cold", r["prefilled"]["ttft_share"], TARGETS["prefilled_ttft"]),
            ("after a failed run: evaluated", r["after_failed_prefilled"]["evaluated_share"],
             TARGETS["after_failed_evaluated"]),
            ("after a restart: first token / cold", r["restart_prefilled"]["ttft_share"], TARGETS["restart_ttft"])]
    found = [(name, f"{value * 100:.1f} %", f"<= {target * 100:.0f} %", workload.verdict(value, target))
             for name, value, target in rows]
    ratio, x = b["paused_ratio"], r["bounded"]
    return found + [("CPU-bound cell mid-prefill / alone", f"{ratio:.2f}", "<= 1.10",
                     workload.verdict(ratio, TARGETS["busy_cell_ratio"])),
                    (f"after {x['idle_seconds']:g} s idle: evaluated", f"{x['evaluated_share'] * 100:.1f} %", "<= 10 %",
                     workload.verdict(x["evaluated_share"], TARGETS["idle_evaluated"])),
                    ("prefill speed / full prompt speed", f"{x['speed_share'] * 100:.1f} %", ">= 85 %",
                     workload.verdict(x["speed_share"], TARGETS["prefill_speed"], False))]
