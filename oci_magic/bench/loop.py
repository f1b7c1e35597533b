"""``oci bench loop``: what a CPU user pays for, each figure printed against its target. Its parts,
each in its own module, by what they measure:

* ``prompt`` (:mod:`.prompts`): what the KV cache saves within a run and across runs;
* ``idle`` (:mod:`.idle`): the notebook read before the user asks, after a failed run, after a
  kernel restart, and a CPU-bound cell beside it;
* ``speed`` (:mod:`.speed`): generation against raw llama-cpp-python, and beside a busy process;
* ``startup`` (:mod:`.startup`): ``%load_ext`` and reading a big notebook.

Figures are measured side by side in one process on one model, so ratios hold even on a busy
machine; absolute seconds depend on it.
"""
from __future__ import annotations

from typing import Dict, Optional

from ..engine.session import Session
from ..engine.settings import OciConfig

PARTS = ("prompt", "idle", "speed", "startup")


def bench_loop(model: Optional[str] = None, threads: int = 0, parts=PARTS) -> Dict[str, object]:
    from . import idle, prompts, speed, startup

    report: Dict[str, object] = {"parts": list(parts)}
    session = Session()
    backend, _ = session.backend(OciConfig(n_threads=threads, kv_cache_mb=0).run_options(model=model).model)
    report["model"] = backend.describe()
    if "startup" in parts:
        report["startup"] = startup.measure(backend.count_tokens)
    if "speed" in parts:
        report["speed"] = speed.measure(backend, model, threads)
    session.close()
    if "prompt" in parts:
        report["prompt"] = prompts.measure(model, threads)
    if "idle" in parts:
        report["idle"] = idle.measure(model, threads)
    return report


def print_report(r: Dict[str, object]) -> None:
    from . import idle, prompts, speed, startup

    m = r["model"]
    print(f"model      {m['name']}  ({m['n_threads']} threads, n_ctx {m['n_ctx']})")
    rows = []
    for part, module in (("prompt", prompts), ("idle", idle), ("speed", speed), ("startup", startup)):
        if part in r:
            print()
            rows += module.report(r[part])
    print()
    print(f"{'figure':46}{'measured':>26}{'target':>10}  verdict")
    for name, value, target, verdict in rows:
        print(f"{name:46}{value:>26}{target:>10}  {verdict}")
