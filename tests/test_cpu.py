"""Free cores: a reply uses only the cores other processes leave free."""
import subprocess
import sys
import time

import pytest

from oci_magic.backends import cpu


def test_other_processes_busy_cores_are_left_to_them(monkeypatch):
    samples = iter([{0: (100, 1000), 1: (100, 1000)}, {0: (200, 1100), 1: (150, 1100)}])  # cpu0 all busy, cpu1 half
    monkeypatch.setattr(cpu, "usable_cpus", lambda: [0, 1])
    monkeypatch.setattr(cpu, "_stat", lambda cpus: next(samples))
    clock = iter([10.0, 10.025])  # this process used half a core of the 0.05 s
    monkeypatch.setattr(cpu.time, "process_time", lambda: next(clock))
    monkeypatch.setattr(cpu.time, "sleep", lambda s: None)
    assert cpu.others_busy(0.05) == pytest.approx(1.0)  # 1.5 cores busy, 0.5 of them ours


def test_free_threads_bounds(monkeypatch):
    monkeypatch.setattr(cpu, "usable_cpus", lambda: list(range(8)))
    for others, wanted, expected in [(0.0, 8, 8), (0.4, 8, 8), (2.6, 8, 5), (8.0, 8, 1), (1.0, 4, 4), (None, 6, 6)]:
        monkeypatch.setattr(cpu, "others_busy", lambda interval=0.05, o=others: o)
        assert cpu.free_threads(wanted) == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_a_cpu_bound_process_takes_a_core_from_us():
    cores = cpu.usable_cpus()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in cores]
    try:
        time.sleep(0.5)
        assert cpu.others_busy(0.2) > len(cores) - 0.6
        assert cpu.free_threads(len(cores)) == 1  # every core taken: one thread, never zero
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
