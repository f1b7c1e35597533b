"""A llama.cpp build that would crash the kernel at its first decode (its AMX kernels on some
CPUs, ggml-org/llama.cpp#20824) is found in a child process and refused in one line; the user's
kernel and variables stay as they were. Builds without AMX are never probed."""
import json
import signal
import types

import pytest
from IPython.core.error import UsageError

from oci_magic.backends import buildcheck
from oci_magic.backends.buildcheck import BrokenBuild, check

AMX = b"CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 |"


def build(tmp_path, info=AMX, size=100, version="0.3.36"):
    """A stand-in for the llama_cpp module: its system info and a CPU library of ``size`` bytes."""
    lib = tmp_path / "llama_cpp" / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "libggml-cpu.so").write_bytes(b"\0" * size)
    return types.SimpleNamespace(__file__=str(tmp_path / "llama_cpp" / "__init__.py"), __version__=version,
                                 llama_print_system_info=lambda: info)


class Probe:
    def __init__(self, code):
        self.code, self.calls = code, 0

    def __call__(self, model_path):
        self.calls += 1
        return self.code


def test_a_build_without_amx_is_never_probed(tmp_path):
    probe, path = Probe(-11), str(tmp_path / "v.json")
    check("m.gguf", build(tmp_path, b"CPU : AVX2 = 1 | AVX512 = 1 | OPENMP = 1 |"), probe, path)
    check("m.gguf", build(tmp_path, b"CPU : AMX_INT8 = 0 |"), probe, path)
    assert probe.calls == 0 and not (tmp_path / "v.json").exists()


def test_a_probe_killed_by_a_signal_refuses_the_build_and_is_remembered(tmp_path):
    path, broken = str(tmp_path / "v.json"), build(tmp_path)
    probe = Probe(-signal.SIGSEGV)
    with pytest.raises(BrokenBuild) as info:
        check("m.gguf", broken, probe, path)
    message = str(info.value)
    assert "SIGSEGV" in message and "llama.cpp#20824" in message and buildcheck.REBUILD in message
    assert "\n" not in message and info.value.signal == signal.SIGSEGV
    with pytest.raises(BrokenBuild):  # the second load asks no child
        check("m.gguf", broken, probe, path)
    assert probe.calls == 1
    rebuilt, fine = build(tmp_path, size=200), Probe(0)  # the library rebuilt: probed anew
    check("m.gguf", rebuilt, fine, path)
    check("m.gguf", rebuilt, fine, path)
    assert fine.calls == 1 and sorted(json.loads(open(path).read()).values()) == [-11, 0]


def test_a_probe_that_failed_otherwise_decides_nothing(tmp_path):
    path, amx = str(tmp_path / "v.json"), build(tmp_path)
    probe = Probe(1)  # a bad model file, a timeout: the real load reports it
    check("m.gguf", amx, probe, path)
    check("m.gguf", amx, probe, path)
    assert probe.calls == 2 and not (tmp_path / "v.json").exists()
    (tmp_path / "v.json").write_text("not json")  # a damaged verdict file: probed again, then rewritten
    with pytest.raises(BrokenBuild):
        check("m.gguf", amx, Probe(-6), path)
    assert list(json.loads(open(path).read()).values()) == [-6]


@pytest.mark.slow
def test_the_real_probe_reports_a_crashing_child_and_passes_on_this_build(monkeypatch, model_path):
    monkeypatch.setattr(buildcheck, "PROBE", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert buildcheck.run_probe(model_path) == -signal.SIGSEGV
    monkeypatch.undo()
    import llama_cpp

    if not buildcheck.has_amx(llama_cpp.llama_print_system_info().decode()):  # make builds it so where the CPU has AMX
        assert buildcheck.run_probe(model_path) == 0  # the probe itself loads and decodes


@pytest.mark.slow
def test_the_magic_refuses_a_broken_build_in_one_line_and_keeps_the_kernel(ip, monkeypatch, tmp_path, model_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(buildcheck, "has_amx", lambda info: True)
    monkeypatch.setattr(buildcheck, "run_probe", lambda path: -signal.SIGSEGV)
    ip.run_cell("keep = [1, 2, 3]")
    kept = ip.user_ns["keep"]
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("oci", f"--model {model_path}", "add one to each item of keep")
    assert str(info.value).startswith("llama.cpp as installed crashes on this CPU (SIGSEGV")
    assert ip.user_ns["keep"] is kept and kept == [1, 2, 3]
    assert ip.run_cell("alive = sum(keep)").success and ip.user_ns["alive"] == 6
