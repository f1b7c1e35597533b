"""``oci bench loop --part speed``: how fast replies come. Generation tokens/s through the
backend against raw llama-cpp-python on the same prompt, and llama.cpp's reading and generation
speed with a CPU-bound process beside it, for all threads, fewer, and ``share_cores``."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

from ..backends.base import GenerationParams
from ..backends.cpu import free_threads
from ..engine.prompting import plain
from ..engine.session import Session
from ..engine.settings import OciConfig
from .workload import verdict

TASK = "write a function that returns the mean revenue per region"
TARGETS = {"throughput_ratio": 0.95, "fix_speedup": 1.5, "first_speedup": 1.0, "rss_growth": 0.10}
DRAFT = 32


def measure_throughput(backend, repeats: int = 3, max_tokens: int = 128) -> Dict[str, float]:
    """Generation tokens/s through LlamaBackend.generate vs raw ``Llama.create_completion`` on the
    same prompt tokens, interleaved. The prompt is cached before timing, so both measure
    generation only (the time after the first token)."""
    messages = plain(TASK)
    params = GenerationParams(0.0, max_tokens, 1)
    tokens = backend.tokenize_messages(messages)
    backend.generate(messages, params).text()  # warm: prompt in the cache
    ours, raw = [], []
    for _ in range(repeats):
        completion = backend.generate(messages, params)
        completion.text()
        usage = completion.usage
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


def measure_contention(model: Optional[str], threads: int) -> Dict[str, object]:
    """Generation and prompt reading (tokens/s) alone and with a CPU-bound process beside, for
    all threads and for the fewer threads background prefill uses."""
    from ..backends.llama import machine_threads

    session = Session()
    backend, _ = session.backend(OciConfig(n_threads=threads, kv_cache_mb=0).run_options(model=model).model)
    messages = plain(TASK)
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
                    backend.clear_cache()
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


def _rss_mb(key: str = "VmRSS") -> Optional[float]:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith(key + ":"))
    except (OSError, StopIteration):
        return None


def suite_tasks(count: int, split: str = "dev"):
    """The first ``count`` tasks of the notebook suite's ``split``, in the suite's order."""
    from .notebooks import SUITE, load_suite

    return [t for t in load_suite(SUITE) if t["split"] == split][:count]


def _namespace(task: dict, folder: str) -> dict:
    """The task's setup cells run in a fresh namespace in ``folder`` (some write files)."""
    namespace = {"__name__": "__main__"}
    here = os.getcwd()
    os.chdir(folder)
    try:
        for source in task.get("setup", []):
            exec(compile(source, "<setup>", "exec"), namespace)
    finally:
        os.chdir(here)
    return namespace


def measure_drafts(model: Optional[str] = None, threads: int = 0, count: int = 12, draft: int = DRAFT,
                   max_tokens: int = 384) -> Dict[str, object]:
    """Tasks of the notebook suite through the real loop (their setup run in-process, the code
    run for real, up to 3 rounds, greedy), with drafting off and on side by side (the order
    alternates per task): each round's generation tokens/s, the same text or not, drafted and
    kept tokens. Rounds after the first are fix rounds, fed back what the code really did."""
    import tempfile

    from ..engine.memory import Memory, NotebookState
    from ..execution.executor import NamespaceExecutor
    from ..execution.guard import GuardedExecutor, GuardSettings

    os.environ.setdefault("MPLBACKEND", "Agg")
    session = Session()
    config = OciConfig(n_threads=threads, kv_cache_mb=0, prefill=False)
    session.backend(config.run_options(model=model).model)
    tasks = suite_tasks(count)

    def run(task: dict, d: int):
        session.memory = Memory()  # each run from the same fresh prompt
        options = config.run_options(model=model, rounds=3, temperature=0.0, max_tokens=max_tokens, seed=1)
        options = type(options)(replace_draft(options.settings, d), options.model, options.guard)
        with tempfile.TemporaryDirectory(prefix="oci-drafts-") as folder:
            namespace = _namespace(task, folder)
            inputs = [""] + list(task.get("setup", [])) + [task["task"]]
            executor = GuardedExecutor(NamespaceExecutor(namespace), namespace, {}, GuardSettings(10.0, False, 0))
            here = os.getcwd()
            os.chdir(folder)
            try:
                result = session.run(task["task"], NotebookState(inputs, {}, namespace, (), len(inputs) - 1), options,
                                     executor=executor)
            finally:
                os.chdir(here)
        return [(r.reply, r.usage) for r in result.rounds if r.usage is not None]

    for task in tasks[:2]:  # warm up: the cache and the allocator at their working size
        run(task, 0)
    rss_before, rows = _rss_mb(), []
    for i, task in enumerate(tasks):
        found = {d: run(task, d) for d in ((0, draft) if i % 2 == 0 else (draft, 0))}
        for index in range(min(len(found[0]), len(found[draft]))):
            (off, u0), (on, u1) = found[0][index], found[draft][index]
            rows.append({"task": task["id"], "round": index + 1, "same": off == on, "generated": u0.generated_tokens,
                         "off_tokens_per_second": u0.tokens_per_second, "on_tokens_per_second": u1.tokens_per_second,
                         "drafted": u1.drafted, "accepted": u1.accepted})
            if off != on:
                break  # a later round's prompt holds the other reply: not comparable
    rss_after = _rss_mb()
    session.close()

    def ratio(first: bool) -> Optional[float]:
        picked = [r for r in rows if (r["round"] == 1) == first and r["off_tokens_per_second"]]
        if not picked:
            return None
        return statistics.median(r["on_tokens_per_second"] / r["off_tokens_per_second"] for r in picked)

    return {"draft": draft, "rows": rows, "first_speedup": ratio(True), "fix_speedup": ratio(False),
            "fix_rounds": sum(r["round"] > 1 for r in rows), "same": sum(r["same"] for r in rows),
            "compared": len(rows), "rss_mb_before": rss_before, "rss_mb_after": rss_after,
            "rss_growth": (rss_after / rss_before - 1) if rss_before and rss_after else None}


def replace_draft(settings, draft: int):
    from dataclasses import replace

    return replace(settings, generation=replace(settings.generation, draft=draft))


def measure(backend, model: Optional[str] = None, threads: int = 0, contention: bool = True,
            drafts: bool = True) -> Dict[str, object]:
    found: Dict[str, object] = {"throughput": measure_throughput(backend)}
    if drafts:
        found["drafts"] = measure_drafts(model, threads)
    if contention:
        found["contention"] = measure_contention(model, threads)
    return found


def report(r: Dict[str, object]) -> list:
    if "contention" in r:
        print_contention(r["contention"])
    t = r["throughput"]
    rows = [("generation tok/s, ours / raw", f"{t['ours_tokens_per_second']:.1f} / {t['raw_tokens_per_second']:.1f} "
             f"= {t['ratio']:.3f}", ">= 0.95", verdict(t["ratio"], TARGETS["throughput_ratio"], False))]
    if "drafts" in r:
        d = r["drafts"]
        print_drafts(d)
        rows += [("fix round: generation with drafts / without", f"{d['fix_speedup'] or 0:.2f}x", ">= 1.5x",
                  verdict(d["fix_speedup"], TARGETS["fix_speedup"], False)),
                 ("first round: generation with drafts / without", f"{d['first_speedup'] or 0:.2f}x", ">= 1.0x",
                  verdict(d["first_speedup"], TARGETS["first_speedup"], False)),
                 ("greedy replies the same with drafts", f"{d['same']} of {d['compared']}", "all",
                  "PASS" if d["same"] == d["compared"] else "MISS"),
                 ("RSS after the drafted runs / before", f"+{(d['rss_growth'] or 0) * 100:.1f} %", "<= +10 %",
                  verdict(d["rss_growth"], TARGETS["rss_growth"]))]
    return rows


def print_drafts(d: Dict[str, object]) -> None:
    print(f"\ngeneration with drafts from the context (up to {d['draft']} tokens per step), greedy, {d['compared']} "
          f"rounds of notebook-suite tasks ({d['fix_rounds']} fix rounds): tokens/s")
    print(f"{'round':>6}{'tokens':>8}{'off':>8}{'on':>8}{'x':>7}{'drafted':>9}{'kept':>7}  same  task")
    for row in d["rows"]:
        x = row["on_tokens_per_second"] / row["off_tokens_per_second"] if row["off_tokens_per_second"] else 0
        print(f"{row['round']:>6}{row['generated']:>8}{row['off_tokens_per_second']:>8.1f}{row['on_tokens_per_second']:>8.1f}"
              f"{x:>7.2f}{row['drafted']:>9}{row['accepted']:>7}  {'yes ' if row['same'] else 'no  '}  {row['task'][:40]}")


def print_contention(c: Dict[str, object]) -> None:
    print(f"\nllama.cpp beside a CPU-bound process ({c['cores']} cores): tokens/s")
    print(f"{'threads':>16}{'read alone':>12}{'read beside':>13}{'gen alone':>11}{'gen beside':>12}")
    for n in dict.fromkeys(row["threads"] for row in c["rows"]):
        alone = next(x for x in c["rows"] if x["threads"] == n and not x["beside"])
        beside = next(x for x in c["rows"] if x["threads"] == n and x["beside"])
        label = f"share_cores {alone['used']}/{beside['used']}" if n == "auto" else str(n)
        print(f"{label:>16}{alone['read_tokens_per_second']:>12.1f}{beside['read_tokens_per_second']:>13.1f}"
              f"{alone['generate_tokens_per_second']:>11.1f}{beside['generate_tokens_per_second']:>12.1f}")
