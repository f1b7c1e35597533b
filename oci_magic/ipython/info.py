"""``%oci``: which model a ``%%oci`` would use, and what this kernel has loaded."""
from __future__ import annotations

import os

from ..backends.base import context_size
from ..backends.gguf import read_gguf
from ..backends.models import choose_model, model_file
from ..backends.statecache import folder_usage
from ..engine.session import Session
from ..backends import ModelOptions
from ..errors import OciError
from ..text import one_line


def check_model(path: str) -> str:
    """Reject a bad file (or a name not downloaded) now, not at the next %%oci; return what to use:
    the path, or the name (resolved again at each run)."""
    model_file(path, "%oci model")
    return path


def info_text(session: Session, where: ModelOptions) -> str:
    from ..backends.llama import llama_cpp_build, machine_threads

    try:
        choice = choose_model(where.model, session.models.override, where.model_path)
        info = read_gguf(choice.path)
    except OciError as exc:
        return f"model      unusable: {one_line(exc)}"
    loaded = session.loaded_backend("llama")
    if loaded is not None and loaded.describe().get("path") == choice.path:
        n_ctx, threads, state = loaded.n_ctx, loaded.n_threads, f"loaded in {loaded.load_seconds:.2f} s"
    else:
        n_ctx = context_size(where.n_ctx, info.context_length)
        threads, state = where.n_threads or machine_threads(), "not loaded yet (loads on the first %%oci)"
    build = llama_cpp_build()
    gpu = (f"{'all' if where.n_gpu_layers < 0 else where.n_gpu_layers} layers" if build["gpu_offload"]
           else "none (this llama.cpp build is CPU-only)")
    rows = [
        ("model", f"{info.name} [{info.architecture}] ({choice.source}{': ' + choice.name if choice.name else ''})"),
        ("path", choice.path),
        ("size", f"{os.path.getsize(choice.path) / 2**20:.0f} MiB"),
        ("state", state),
        ("context", f"{n_ctx} tokens (trained: {info.context_length or '?'})"),
        ("threads", str(threads)),
        ("KV cache", cache_line(session, loaded)),
        ("on disk", disk_line(where)),
        ("GPU offload", gpu),
        ("llama.cpp", f"llama-cpp-python {build['version']}"),
        ("system", build["system_info"]),
    ]
    return "\n".join(f"{k:<12}{v}" for k, v in rows)


def cache_line(session: Session, loaded) -> str:
    status = session.prefiller.status
    cached = f"{loaded.cached_tokens:,} tokens cached" if loaded is not None else "empty (no model loaded)"
    read = (f"; prefill {status.state}, {status.evaluated:,} tokens read in the background in {status.seconds:.1f} s"
            if status.evaluated or status.state != "idle" else "")
    return cached + read + (f" (last error: {status.error})" if status.error else "")


def disk_line(where: ModelOptions) -> str:
    if not where.kv_folder:
        return "off (c.OciMagics.kv_cache_mb = 0)"
    files, sizes = folder_usage(where.kv_folder)
    return f"{where.kv_folder}: {files} saved state{'s' * (files != 1)}, {sizes / 2**20:.0f} of {where.kv_bytes / 2**20:.0f} MiB"
