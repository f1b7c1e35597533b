"""Whether the installed llama.cpp can compute on this CPU: asked once, in a child process.

llama.cpp compiled with ``-march=native`` on a CPU that reports AMX uses its AMX matrix kernels,
and on some such machines the first decode dies in ``ggml_backend_amx_mul_mat`` with a
segmentation fault (ggml-org/llama.cpp#20824; seen here on a 2-core Xeon VM with the embedded
model and both Qwen models). In the kernel process that takes the user's kernel, and every
variable in it, down. So where the build has AMX, a throwaway child loads the model and decodes a
few tokens first; a child killed by a signal means this build cannot run here, said in one line
with the command that rebuilds it. The verdict is kept per build (the CPU library's path, size and
time), so it costs one child (~1 s) once. Builds without AMX are never probed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Callable, Optional

from ..errors import ModelError
from .statecache import cache_folder

NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
REBUILD = (f"CMAKE_ARGS=\"-DCMAKE_C_FLAGS='{NO_AMX}' -DCMAKE_CXX_FLAGS='{NO_AMX}'\" "
           "pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python")
TIMEOUT = 120.0

# The child: load the model, decode a batch and then one token (the two shapes a reply uses).
PROBE = """
import sys
import llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=128, n_batch=32, n_threads=1, n_gpu_layers=0, verbose=False)
tokens = llm.tokenize(b"def add(a, b):\\n    return a + b\\n\\nprint(add(1, 2))")[:24]
llm.eval(tokens)
llm.eval(tokens[-1:])
"""


class BrokenBuild(ModelError):
    """The installed llama.cpp crashes on this CPU; ``signal`` is what killed the probe."""

    def __init__(self, signal_number: int):
        self.signal = signal_number
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = f"signal {signal_number}"
        super().__init__(f"llama.cpp as installed crashes on this CPU ({name} in a test decode; its AMX kernels, "
                         f"ggml-org/llama.cpp#20824): rebuild llama-cpp-python without them: {REBUILD}")


def has_amx(system_info: str) -> bool:
    return "AMX_INT8 = 1" in system_info


def build_key(llama_cpp_module) -> str:
    """The installed build: its version and its CPU library's path, size and modification time."""
    folder = os.path.join(os.path.dirname(os.path.abspath(llama_cpp_module.__file__)), "lib")
    parts = []
    try:
        for name in sorted(os.listdir(folder)):
            if "ggml-cpu" in name:
                st = os.stat(os.path.join(folder, name))
                parts.append(f"{name}:{st.st_size}:{int(st.st_mtime)}")
    except OSError:
        pass
    return f"{getattr(llama_cpp_module, '__version__', '?')}|{folder}|{','.join(parts)}"


def verdict_file() -> str:
    return cache_folder("llama-build.json")


def run_probe(model_path: str) -> int:
    """The probe child's return code (negative: the signal that killed it; 1 after a timeout)."""
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, model_path], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 1  # inconclusive: the load itself will tell
    return done.returncode


def check(model_path: str, llama_cpp_module, run: Optional[Callable[[str], int]] = None,
          path: Optional[str] = None) -> None:
    """Raise :class:`BrokenBuild` when the build ``llama_cpp_module`` cannot decode here. Only a
    build with AMX is probed: ``run(model_path)`` runs the probe and gives its return code; a
    verdict (crashed or fine) is kept in ``path``; a probe that failed otherwise (a bad model file,
    a timeout) decides nothing -- the real load reports it."""
    if not has_amx(llama_cpp_module.llama_print_system_info().decode("utf-8", "replace")):
        return
    key, path = build_key(llama_cpp_module), path or verdict_file()
    try:
        with open(path, encoding="utf-8") as f:
            known = json.load(f)
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    if not isinstance(known.get(key), int):
        code = (run or run_probe)(model_path)
        if code > 0:
            return
        known[key] = code
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(known, f)
            os.replace(path + ".tmp", path)
        except OSError:
            pass  # a read-only home: probe again next time
    if known[key] < 0:
        raise BrokenBuild(-known[key])
