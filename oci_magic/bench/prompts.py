"""``oci bench loop --part prompt``: what the KV cache saves within a run and across runs. One
``%%oci`` on a ~2,000-token analysis notebook, laid out within the default ``context_tokens``
(round 1 scripted to fail, so every model gets a round 2), then a second ``%%oci`` in the same
notebook: tokens reused and evaluated, and the first token's wait against the cold start. The second ``%%oci`` runs three times from the same state, side by
side: continuing the first run's conversation (``continue_runs``), reading the notebook afresh,
where the first run's cell shows as its task and the code that worked, and focused (``focus``)
after a cell that made new data (right after a run, focused continues: a follow-up). No idle time
between the runs: what prefill would have read before the second one is counted as evaluated."""
from __future__ import annotations

from typing import Dict, Optional

from ..engine.session import Session
from ..engine.settings import OciConfig
from . import workload
from .workload import verdict

TASK = "plot the total revenue per product as a bar chart"
TASK2 = "show the three regions with the highest revenue growth"
NEW_DATA = "targets = {'north': 1.10, 'south': 0.95, 'east': 1.05}"  # a cell that makes new data
TARGETS = {"round2_ttft_share": 0.05, "second_ttft_share": 0.05, "round2_reuse": 0.90, "second_reuse": 0.90}


def measure(model: Optional[str] = None, threads: int = 0) -> Dict[str, object]:
    report: Dict[str, object] = {}
    session = Session()
    # cold is cold: not from an earlier run's disk cache; round 2 answers the transcript (the embedded
    # model repeats its code at temperature 0, and asked again it would answer a restarted prompt)
    config = OciConfig(n_threads=threads, kv_cache_mb=0, ask_again=False)
    backend, _ = session.backend(config.run_options(model=model).model)
    report["model"] = backend.describe()

    inputs, outputs = workload.notebook(2000, backend.count_tokens)
    fixed = dict(model=model, temperature=0.0, max_tokens=96, seed=1)
    first = workload.run(session, config.run_options(rounds=2, **fixed), inputs, outputs, TASK, workload.FailOnce())
    parts = first.prompt[1].parts  # the notebook history, then the volatile part with the task
    report["context_tokens"] = backend.count_tokens("".join(parts))
    report["history_tokens"] = backend.count_tokens("".join(parts[:-1]))
    cold, round2 = first.rounds[0].usage, first.rounds[1].usage if len(first.rounds) > 1 else None

    after_first = session.memory
    report["cold"] = workload.usage(cold)
    report["round2"] = workload.usage(round2)
    report["round2"]["share_of_cold"] = round2.first_token_seconds / cold.first_token_seconds if round2 else None
    report["round2"]["reused_share"] = round2.reused_tokens / cold.prompt_tokens if round2 else None
    for key, traits in (("second", dict(continue_runs=True, focus=False)),
                        ("afresh", dict(continue_runs=False, focus=False)), ("focused", dict(focus=True))):
        session.memory = after_first  # one value: every second run starts from the same state
        options = OciConfig(n_threads=threads, kv_cache_mb=0, **traits).run_options(rounds=1, **fixed)
        cells = inputs + [f"%%oci\n{TASK}"] + ([NEW_DATA] if key == "focused" else [])
        second = workload.run(session, options, cells, outputs, TASK2, workload.FailOnce())
        report[f"{key}_continued"] = len(second.prompt) > 2  # more than system + one user message
        again = second.rounds[0].usage
        report[key] = workload.usage(again)
        report[key]["share_of_cold"] = again.first_token_seconds / cold.first_token_seconds
        report[key]["reused_share"] = again.reused_tokens / cold.prompt_tokens
    session.close()
    return report


def report(r: Dict[str, object]) -> list:
    """Prints the table; returns the verdict rows (figure, measured, target, verdict)."""
    print(f"context    {r['context_tokens']} tokens of notebook context ({r['history_tokens']} in the append-only history)")
    print()
    print(f"{'':26}{'prompt':>8}{'reused':>8}{'evaluated':>10}{'first token':>13}{'% of cold':>11}")
    second = "second %%oci, continued" if r.get("second_continued") else "second %%oci, fresh"
    rows = (("cold", "cold (first %%oci)"), ("round2", "round 2, same run"), ("second", second),
            ("afresh", "second %%oci, afresh"), ("focused", "after a new cell, focused"))
    for key, label in rows:
        if key not in r:
            continue
        u = r[key]
        share = "" if key == "cold" else f"{u['share_of_cold'] * 100:.1f} %"
        print(f"{label:26}{u['prompt_tokens']:>8}{u['reused_tokens']:>8}{u['evaluated_tokens']:>10}"
              f"{u['first_token_seconds']:>11.3f} s{share:>11}")
    return [
        ("round-2 first token / cold", f"{r['round2']['share_of_cold'] * 100:.1f} %", "<= 5 %",
         verdict(r["round2"]["share_of_cold"], TARGETS["round2_ttft_share"])),
        ("second %%oci first token / cold", f"{r['second']['share_of_cold'] * 100:.1f} %", "<= 5 %",
         verdict(r["second"]["share_of_cold"], TARGETS["second_ttft_share"])),
        ("round 2: previous prompt reused", f"{r['round2']['reused_share'] * 100:.1f} %", ">= 90 %",
         verdict(r["round2"]["reused_share"], TARGETS["round2_reuse"], False)),
        ("second %%oci: previous prompt reused", f"{r['second']['reused_share'] * 100:.1f} %", ">= 90 %",
         verdict(r["second"]["reused_share"], TARGETS["second_reuse"], False)),
    ]
