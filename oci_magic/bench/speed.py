"""``oci bench loop --part speed``: how fast replies come. Generation tokens/s through the
backend against raw llama-cpp-python on the same prompt; several tokens or replies per pass over
the weights (:mod:`.batching`: drafts from the context, candidates decoded together); and
llama.cpp's reading and generation speed with a CPU-bound process beside it, for all threads,
fewer, and ``share_cores``."""
from __future__ import annotations

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
from . import batching
from .workload import verdict

TASK = "write a function that returns the mean revenue per region"
TARGETS = {"throughput_ratio": 0.95, "fix_speedup": 1.5, "first_speedup": 1.0, "rss_growth": 0.10}


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


def measure(backend, model: Optional[str] = None, threads: int = 0, contention: bool = True,
            drafts: bool = True, candidates: bool = True) -> Dict[str, object]:
    found: Dict[str, object] = {"throughput": measure_throughput(backend)}
    if drafts:
        found["drafts"] = batching.measure_drafts(model, threads)
    if candidates:
        found["candidates"] = batching.measure_candidates(model, threads)
    if contention:
        found["contention"] = measure_contention(model, threads)
    return found


def report(r: Dict[str, object]) -> list:
    if "contention" in r:
        batching.print_contention(r["contention"])
    t = r["throughput"]
    rows = [("generation tok/s, ours / raw", f"{t['ours_tokens_per_second']:.1f} / {t['raw_tokens_per_second']:.1f} "
             f"= {t['ratio']:.3f}", ">= 0.95", verdict(t["ratio"], TARGETS["throughput_ratio"], False))]
    if "candidates" in r:
        c = r["candidates"]
        batching.print_candidates(c)
        x = {row["candidates"]: row["of_one"] for row in c["rows"]}
        if 4 in x:
            rows.append(("4 candidates together / one reply", f"{x[4]:.2f}x", "<= 2-2.5x", "see the model's target"))
    if "drafts" in r:
        d = r["drafts"]
        batching.print_drafts(d)
        rows += [("fix round: generation with drafts / without", f"{d['fix_speedup'] or 0:.2f}x", ">= 1.5x",
                  verdict(d["fix_speedup"], TARGETS["fix_speedup"], False)),
                 ("fix rounds overall: seconds without / with", f"{d.get('fix_overall') or 0:.2f}x", "",
                  "(all fix rounds' tokens)"),
                 ("first round: generation with drafts / without", f"{d['first_speedup'] or 0:.2f}x", ">= 1.0x",
                  verdict(d["first_speedup"], TARGETS["first_speedup"], False)),
                 ("greedy replies the same with drafts", f"{d['same']} of {d['compared']}", "all",
                  "PASS" if d["same"] == d["compared"] else "MISS"),
                 ("RSS after the drafted runs / before", f"+{(d['rss_growth'] or 0) * 100:.1f} %", "<= +10 %",
                  verdict(d["rss_growth"], TARGETS["rss_growth"]))]
    return rows
