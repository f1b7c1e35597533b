"""Soak: many %%oci runs in one kernel keep memory bounded and leak no file handles."""
import gc
import os

import psutil
import pytest

from .conftest import fenced


def _fds():
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else psutil.Process().num_fds()


def _soak(ip, runs, line, capsys):
    process = psutil.Process()

    def one(i):
        ip.run_cell(f"%%oci {line(i)}\nmake value number {i}", store_history=True)
        capsys.readouterr()

    one(0)  # warm up: first imports, caches
    gc.collect()
    rss, fds = process.memory_info().rss, _fds()
    for i in range(1, runs + 1):
        one(i)
    gc.collect()
    return (process.memory_info().rss - rss) / 2**20, _fds() - fds


def test_fifty_replayed_runs(ip, magics, replay_file, capsys):
    # each run fails once (rolled back, feedback) and then works: the whole machinery every time
    paths = [replay_file(fenced(f"value = [{i}] * 1000\nscratch = 1\n1/0"), fenced(f"value = {i}"), name=f"r{i}.json")
             for i in range(51)]
    growth, fds = _soak(ip, 50, lambda i: f"--replay {paths[i]}", capsys)
    print(f"\n50 replayed runs: RSS growth {growth:.1f} MiB, open fds {fds:+d}")
    assert magics.session.last_result.outcome == "success" and ip.user_ns["value"] == 50 and "scratch" not in ip.user_ns
    assert growth < 40 and fds <= 0


@pytest.mark.slow
def test_ten_runs_with_the_embedded_model(ip, magics, capsys):
    ip.run_cell("numbers = list(range(10))", store_history=True)
    growth, fds = _soak(ip, 10, lambda i: f"--seed {i} --temperature 0.3 --rounds 1 --max-tokens 64 --timeout 10", capsys)
    print(f"\n10 embedded-model runs: RSS growth {growth:.1f} MiB, open fds {fds:+d}")
    assert magics.session.loaded_backend() is not None and ip.run_cell("1 + 1").success
    assert growth < 80 and fds <= 0
