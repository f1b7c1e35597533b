"""How many cores are free right now. llama.cpp's threads wait for each other at every step of a
token; when another process holds one of the cores a thread runs on, each step waits for the
scheduler to hand that core back. Measured on 2 cores with Qwen2.5-Coder-0.5B: 2 threads generate
50 tokens/s alone, 14 beside one CPU-bound process and 4 beside two, while 1 thread keeps 31 and
20. So a reply uses only the cores other processes leave free (docs/benchmarks.md).
"""
from __future__ import annotations

import os
import time
from typing import Dict, List, Optional, Tuple


def usable_cpus() -> List[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return list(range(os.cpu_count() or 1))


def _stat(cpus: List[int]) -> Optional[Dict[int, Tuple[int, int]]]:
    """(busy, total) jiffies of each of ``cpus`` from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = {}
    wanted = set(cpus)
    for line in lines:
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in wanted:
            values = [int(v) for v in rest.split()]
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            found[int(name[3:])] = (sum(values[:8]) - idle, sum(values[:8]))
    return found or None


def others_busy(interval: float = 0.05) -> Optional[float]:
    """Cores (of those this process may use) that other processes kept busy over ``interval``
    seconds; None where it cannot be read (not Linux)."""
    cpus = usable_cpus()
    before, own_before = _stat(cpus), time.process_time()
    if before is None:
        return None
    time.sleep(interval)
    after, own_after = _stat(cpus), time.process_time()
    if after is None:
        return None
    busy = sum(after[c][0] - before[c][0] for c in before if c in after)
    total = sum(after[c][1] - before[c][1] for c in before if c in after)
    if total <= 0:
        return None
    all_busy = busy / total * len(before)  # cores busy, ours included
    own = (own_after - own_before) / interval
    return max(0.0, all_busy - own)


def free_threads(wanted: int, interval: float = 0.05) -> int:
    """``wanted`` threads, fewer when other processes keep cores busy; at least 1."""
    others = others_busy(interval)
    if others is None:
        return wanted
    return max(1, min(wanted, len(usable_cpus()) - int(others + 0.5)))
