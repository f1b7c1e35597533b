"""Several tokens per pass over the weights, measured: replies that copy their context drafted
and checked in one batch (suite tasks through the real loop, drafting off and on side by side),
and several candidates decoded together (K replies against one)."""
from __future__ import annotations

import os
import statistics
import time
from typing import Dict, Optional

from ..backends.base import GenerationParams
from ..engine.session import Session
from ..engine.settings import OciConfig

DRAFT = 32


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
        # one reply per round: a round with candidates decodes them together and never drafts
        options = config.run_options(model=model, rounds=3, temperature=0.0, max_tokens=max_tokens, seed=1, candidates=1)
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

    def overall() -> Optional[float]:  # the fix rounds' tokens over their seconds: the user's wait
        picked = [r for r in rows if r["round"] > 1 and r["off_tokens_per_second"] and r["on_tokens_per_second"]]
        on = sum(r["generated"] / r["on_tokens_per_second"] for r in picked)
        return sum(r["generated"] / r["off_tokens_per_second"] for r in picked) / on if on else None

    return {"draft": draft, "rows": rows, "first_speedup": ratio(True), "fix_speedup": ratio(False),
            "fix_overall": overall(),
            "fix_rounds": sum(r["round"] > 1 for r in rows), "same": sum(r["same"] for r in rows),
            "compared": len(rows), "rss_mb_before": rss_before, "rss_mb_after": rss_after,
            "rss_growth": (rss_after / rss_before - 1) if rss_before and rss_after else None}


def measure_candidates(model: Optional[str] = None, threads: int = 0, counts=(1, 2, 4, 8),
                       tokens: int = 128) -> Dict[str, object]:
    """K replies to the bench notebook's prompt decoded together (``tokens`` each, none cut short),
    against one: wall time, and RSS; then one reply and one prompt read on a backend made for 8
    sequences against one made for 1 (what the room for candidates costs a plain run)."""
    from ..backends.llama import LlamaBackend
    from ..backends.models import choose_model
    from ..engine.prompting import with_system
    from . import workload

    path = choose_model(model).path
    found: Dict[str, object] = {"tokens": tokens, "rows": []}
    plain = LlamaBackend(path, n_threads=threads)
    inputs, _ = workload.notebook(2000, plain.count_tokens)
    messages = with_system(["## Notebook so far\n\n"] + [f"```python\n{c}\n```\n\n" for c in inputs[1:]] +
                           ["## Task\nplot the total revenue per product as a bar chart"])
    single = {"plain": _one_reply(plain, messages, tokens)}
    plain.close()
    many = LlamaBackend(path, n_threads=threads, sequences=max(counts))
    single["room for 8"] = _one_reply(many, messages, tokens)
    many.generate(messages, GenerationParams(0.0, 1, 1)).text()  # the prompt in the cache: generation is timed
    base = None
    for k in counts:
        params = [GenerationParams(0.2, tokens, 1)] + [GenerationParams(0.8, tokens, 1 + i) for i in range(1, k)]
        start = time.perf_counter()
        replies = many.generate_many(messages, params, lambda i, text: False)
        for _ in replies:
            pass
        seconds = time.perf_counter() - start
        base = seconds if k == 1 else base
        found["rows"].append({"candidates": k, "seconds": seconds, "of_one": seconds / base, "rss_mb": _rss_mb(),
                              "generated": sum(u.generated_tokens for u in replies.usages)})
    many.close()
    found["single"] = single
    return found


def _one_reply(backend, messages, tokens: int) -> Dict[str, float]:
    backend.clear_cache()
    completion = backend.generate(messages, GenerationParams(0.0, tokens, 1))
    completion.text()
    u = completion.usage
    return {"read_tokens_per_second": u.prompt_tokens / u.first_token_seconds if u.first_token_seconds else 0.0,
            "generate_tokens_per_second": u.tokens_per_second}


def print_candidates(c: Dict[str, object]) -> None:
    print(f"\ncandidates decoded together ({c['tokens']} tokens each): wall time against one reply")
    print(f"{'K':>4}{'seconds':>10}{'x one':>8}{'tokens':>8}{'RSS MB':>9}")
    for row in c["rows"]:
        print(f"{row['candidates']:>4}{row['seconds']:>10.2f}{row['of_one']:>8.2f}{row['generated']:>8}{row['rss_mb'] or 0:>9.0f}")
    for label, x in c["single"].items():
        print(f"one reply, backend {label:<11}: prompt {x['read_tokens_per_second']:.1f} tok/s, "
              f"generation {x['generate_tokens_per_second']:.1f} tok/s")


def replace_draft(settings, draft: int):
    from dataclasses import replace

    return replace(settings, generation=replace(settings.generation, draft=draft))


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
