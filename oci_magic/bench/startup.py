"""``oci bench loop --part startup``: what the user pays before any model runs: ``%load_ext`` in a
fresh interpreter, and reading a big notebook (200 cells, 100 variables, one of them a
10-million-row DataFrame) into a prompt."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Dict

from ..context.notebook import gather
from ..engine.prompting.history import ContextSpec, Window, layout
from .workload import verdict

TARGETS = {"load_ext_seconds": 0.2, "gather_ms": 50.0}

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
    gathered = gather(inputs, outputs, {}, {}, 201, namespace)
    layout(gathered, ContextSpec(), 3000, count, count, Window(), "plot big")
    return {"ms": (time.perf_counter() - start) * 1000, "cells": 200, "variables": 100}


def measure(count) -> Dict[str, object]:
    return {"load_ext": measure_load_ext(), "gather": measure_gather(count)}


def report(r: Dict[str, object]) -> list:
    load, gathered = r["load_ext"], r["gather"]
    return [
        ("%load_ext oci_magic", "?" if load.get("seconds") is None else f"{load['seconds'] * 1000:.0f} ms", "< 200 ms",
         verdict(load.get("seconds"), TARGETS["load_ext_seconds"])),
        ("%load_ext imported llama_cpp", str(load.get("imported_llama_cpp")), "False",
         "PASS" if load.get("imported_llama_cpp") is False else "MISS"),
        ("gather 200 cells + 100 variables", "?" if gathered.get("ms") is None else f"{gathered['ms']:.1f} ms",
         "< 50 ms", verdict(gathered.get("ms"), TARGETS["gather_ms"])),
    ]
