"""`oci model pull` / `%oci pull` against a local stand-in for the Hub (tests/fakehub.py) serving
the embedded model's GGUF file: no internet. Pull, resume, checksum, 404, gated, disk space, split
files, offline mode, list / rm, and `%%oci --model NAME` with the pulled file."""
import hashlib
import os
import shutil

import pytest
from IPython.core.error import UsageError

from oci_magic import cli
from oci_magic.backends import catalog
from oci_magic.backends.models import cached_path, choose_model, embedded_model_path
from oci_magic.errors import ModelNotDownloaded, PullError, UnknownModel

from .fakehub import COMMIT, FakeHub

REPO, FILE = "test/Tiny-GGUF", "tiny.gguf"
SIZE = 4 << 20  # a truncated copy of the embedded model where nothing loads it: quick


@pytest.fixture(scope="module")
def gguf_bytes():
    with open(embedded_model_path(), "rb") as f:
        return f.read()


@pytest.fixture
def hub(tmp_path, monkeypatch, gguf_bytes):
    import huggingface_hub.constants as constants

    server = FakeHub()
    server.add(REPO, FILE, gguf_bytes[:SIZE])
    server.start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "OCI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)  # no agent-registry request
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 256 << 10)
    monkeypatch.setitem(catalog.CATALOG, "tiny-test", catalog.Entry(
        "tiny-test", REPO, FILE, SIZE, "Apache-2.0", "a test model", hashlib.sha256(gguf_bytes[:SIZE]).hexdigest(), True))
    yield server
    server.stop()


def pull(value, **kwargs):
    from oci_magic.backends.pull import pull as pull_

    return pull_(catalog.require(value), echo=lambda line: None, **kwargs)


def installed(tmp_path):
    folder = tmp_path / "hub" / "models--test--Tiny-GGUF"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_pull_puts_the_file_in_the_hugging_face_cache(hub, tmp_path, gguf_bytes):
    result = pull("tiny-test")
    assert result.downloaded and result.size == SIZE
    assert result.path == str(tmp_path / "hub" / "models--test--Tiny-GGUF" / "snapshots" / COMMIT / FILE)
    assert open(result.path, "rb").read() == gguf_bytes[:SIZE]
    from huggingface_hub import try_to_load_from_cache

    assert try_to_load_from_cache(REPO, FILE, cache_dir=str(tmp_path / "hub")) == result.path
    choice = choose_model("tiny-test", environ={})
    assert (choice.path, choice.name, choice.source) == (result.path, "tiny-test", "--model")
    assert choose_model(None, None, f"{REPO}/{FILE}", {}).path == result.path  # REPO_ID/FILE works too
    again = pull("tiny-test")
    assert not again.downloaded and again.path == result.path
    assert len(hub.cdn_gets(FILE)) == 1  # the second pull only asked for the metadata


def test_a_connection_cut_mid_file_resumes_with_a_range_request(hub, gguf_bytes):
    hub.cut_at[FILE] = 1_000_000
    result = pull("tiny-test")
    # the whole chunks before the cut were kept (huggingface_hub reads 256 kB chunks here)
    assert hub.cdn_gets(FILE) == ["", f"bytes={1_000_000 // (256 << 10) * (256 << 10)}-"]
    assert open(result.path, "rb").read() == gguf_bytes[:SIZE]


def test_an_interrupted_pull_installs_nothing_and_the_next_one_resumes(hub, tmp_path, gguf_bytes):
    from tqdm import tqdm

    class Interrupting(tqdm):  # ■ / Ctrl-C as the third chunk arrives (after two were written)
        def update(self, n=1):
            if self.n >= 2 * (256 << 10):
                raise KeyboardInterrupt
            return super().update(n)

    with pytest.raises(PullError) as caught:
        pull("tiny-test", tqdm_class=Interrupting, command="oci model pull")
    assert caught.value.reason == "interrupted"
    assert "interrupted at 524.3 kB of 4.2 MB; `oci model pull tiny-test` resumes it" in str(caught.value)
    assert cached_path(catalog.require("tiny-test")) is None
    assert [p for p in installed(tmp_path) if not p.endswith(".incomplete")] == []
    with pytest.raises(ModelNotDownloaded):
        choose_model("tiny-test", environ={})
    result = pull("tiny-test")
    assert hub.cdn_gets(FILE) == ["", f"bytes={2 * (256 << 10)}-"]
    assert open(result.path, "rb").read() == gguf_bytes[:SIZE]
    assert not any(p.endswith(".incomplete") for p in installed(tmp_path))


def test_a_checksum_mismatch_leaves_nothing_behind(hub, tmp_path):
    hub.corrupt.add(FILE)
    with pytest.raises(PullError) as caught:
        pull("tiny-test")
    assert caught.value.reason == "checksum" and str(caught.value).startswith(f"checksum mismatch for {REPO}/{FILE}")
    assert "nothing installed" in str(caught.value) and "\n" not in str(caught.value)
    assert installed(tmp_path) == []
    assert cached_path(catalog.require("tiny-test")) is None


def test_missing_file_and_missing_repo_are_one_line(hub):
    with pytest.raises(PullError) as caught:
        pull(f"{REPO}/other.gguf")
    assert (caught.value.reason, str(caught.value)) == ("not-found", f"file other.gguf not found in {REPO} (revision main)")
    with pytest.raises(PullError) as caught:
        pull("nobody/Nothing-GGUF/x.gguf")
    assert caught.value.reason == "not-found" and str(caught.value).startswith("repo nobody/Nothing-GGUF not found")


def test_a_gated_repo_asks_for_hf_token(hub, monkeypatch, gguf_bytes):
    hub.gated.add(REPO)
    with pytest.raises(PullError) as caught:
        pull("tiny-test")
    assert caught.value.reason == "gated" and "HF_TOKEN" in str(caught.value) and "\n" not in str(caught.value)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    assert open(pull("tiny-test").path, "rb").read() == gguf_bytes[:SIZE]


def test_not_enough_disk_space_is_refused_before_downloading(hub, monkeypatch, tmp_path):
    import oci_magic.backends.pull as pull_module

    monkeypatch.setattr(pull_module.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**12, 10**12, 1000))
    with pytest.raises(PullError) as caught:
        pull("tiny-test")
    assert caught.value.reason == "disk"
    assert str(caught.value).startswith("not enough disk space for tiny-test: it needs 4.2 MB, ")
    assert hub.cdn_gets(FILE) == [] and installed(tmp_path) == []


def test_a_split_gguf_downloads_every_part_and_loads_by_the_first(hub, tmp_path, gguf_bytes):
    data = gguf_bytes[:SIZE]
    names = [f"m-{i:05d}-of-00003.gguf" for i in (1, 2, 3)]
    for name, i in zip(names, range(3)):
        hub.add("test/Split-GGUF", name, data[i * (SIZE // 3):(i + 1) * (SIZE // 3) if i < 2 else SIZE])
    result = pull(f"test/Split-GGUF/{names[0]}")
    assert result.path.endswith(names[0]) and result.size == SIZE
    folder = os.path.dirname(result.path)
    assert b"".join(open(os.path.join(folder, n), "rb").read() for n in names) == data
    assert choose_model(f"test/Split-GGUF/{names[0]}", environ={}).path == result.path
    os.remove(os.path.join(folder, names[2]))  # one part missing: not downloaded
    with pytest.raises(ModelNotDownloaded):
        choose_model(f"test/Split-GGUF/{names[0]}", environ={})


def test_offline_mode_uses_the_cache_and_never_the_network(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PullError) as caught:
        pull("tiny-test")
    assert caught.value.reason == "offline" and "HF_HUB_OFFLINE" in str(caught.value)
    assert hub.requests == []
    monkeypatch.delenv("HF_HUB_OFFLINE")
    path = pull("tiny-test").path
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    count = len(hub.requests)
    assert pull("tiny-test").path == path and len(hub.requests) == count


def test_names_that_are_not_downloaded_or_unknown_say_what_to_do(hub):
    with pytest.raises(ModelNotDownloaded) as caught:
        choose_model("tiny-test", environ={})
    assert str(caught.value) == ("model tiny-test is not downloaded (4.2 MB): get it with `oci model pull tiny-test` "
                                 "(in a notebook: %oci pull tiny-test)")
    assert (caught.value.name, caught.value.size, caught.value.command) == ("tiny-test", "4.2 MB",
                                                                             "oci model pull tiny-test")
    with pytest.raises(UnknownModel) as caught:
        choose_model("qwen-9000", environ={})
    assert "qwen2.5-coder-1.5b" in str(caught.value)
    assert choose_model("/some/file.gguf", environ={}).path == "/some/file.gguf"  # paths stay paths
    assert hub.requests == []  # resolving names never downloads


def test_the_catalog_has_the_models_the_readme_names():
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "qwen2.5-coder-3b", "qwen2.5-coder-7b",
                 "opencodeinterpreter-ds-6.7b"):
        entry = catalog.lookup(name)
        assert entry.repo.count("/") == 1 and entry.file.endswith(".gguf") and entry.size and entry.license
    assert catalog.lookup("qwen2.5-coder-7b").spec.files == [
        "qwen2.5-coder-7b-instruct-q4_k_m-00001-of-00002.gguf", "qwen2.5-coder-7b-instruct-q4_k_m-00002-of-00002.gguf"]


def test_oci_model_list_pull_rm(hub, tmp_path, capsys):
    assert cli.main(["model", "list"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("tiny-test"))
    assert "4.2 MB" in line and " - " in line
    assert cli.main(["model", "pull", "tiny-test"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().endswith(os.path.join(COMMIT, FILE))
    assert "tiny-test: downloaded, 4.2 MB; use it with --model tiny-test" in captured.err
    assert cli.main(["model", "list"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("tiny-test"))
    assert "downloaded" in line and line.endswith(os.path.join(COMMIT, FILE))
    assert cli.main(["model", "rm", "tiny-test"]) == 0
    assert capsys.readouterr().out == "removed tiny-test (4.2 MB freed)\n"
    assert installed(tmp_path) == [] and cached_path(catalog.require("tiny-test")) is None
    assert cli.main(["model", "pull", "no-such-model"]) == 1
    assert capsys.readouterr().err.startswith("oci model pull: unknown model 'no-such-model'")


def test_the_magic_names_a_model_it_pulled(hub, ip, fake_llama, capsys, tmp_path):
    with pytest.raises(UsageError, match="not downloaded .*`oci model pull tiny-test`"):
        ip.run_cell_magic("oci", "--model tiny-test", "x = 1")
    with pytest.raises(UsageError, match="not downloaded"):
        ip.run_line_magic("oci", "model tiny-test")
    assert fake_llama == []  # nothing loaded, nothing downloaded
    ip.run_line_magic("oci", "pull tiny-test")
    out = capsys.readouterr().out
    assert "%oci pull · tiny-test: downloaded, 4.2 MB · use it with %oci model tiny-test" in out
    path = cached_path(catalog.require("tiny-test"))
    ip.run_cell_magic("oci", "--model tiny-test", "make made")
    assert fake_llama == [path]
    ip.run_line_magic("oci", "model tiny-test")
    assert "(%oci model: tiny-test)" in capsys.readouterr().out
    ip.run_line_magic("oci", "models")
    assert any(l.startswith("tiny-test") and "downloaded" in l for l in capsys.readouterr().out.splitlines())
    with pytest.raises(UsageError, match="gated|not found"):
        ip.run_line_magic("oci", f"pull {REPO}/missing.gguf")


def test_the_embedded_model_hint_shows_once_per_kernel(ip, monkeypatch, capsys):
    from oci_magic import backends
    from oci_magic.backends.base import Backend

    from .conftest import fenced

    class Embedded(Backend):
        name, load_seconds, n_threads = "SmolLM2", 0.0, 1

        def __init__(self, spec):
            self.model_path = spec.model

        def describe(self):
            return {"name": self.name, "backend": "llama", "path": self.model_path}

        def stream(self, messages, params, usage):
            yield fenced("made = True")

    monkeypatch.setitem(backends._types, "llama", backends.BackendType("llama", Embedded, backends._types["llama"].choose, loads=True))
    ip.run_cell_magic("oci", "", "make made")
    ip.run_cell_magic("oci", "", "make made")
    out = capsys.readouterr().out
    assert out.count("SmolLM2-135M is a tiny demo model") == 1
    assert "%oci pull qwen2.5-coder-1.5b" in out and "c.OciMagics.demo_hint = False" in out
    ip.run_line_magic("reload_ext", "oci_magic")
    ip.run_line_magic("config", "OciMagics.demo_hint = False")
    ip.run_cell_magic("oci", "", "make made")
    assert "tiny demo model" not in capsys.readouterr().out


@pytest.mark.slow
def test_oci_runs_the_pulled_real_gguf(hub, ip, gguf_bytes, replay_file, capsys):
    hub.add("test/Smol-GGUF", "smol.gguf", gguf_bytes)  # the whole embedded model, loaded by llama.cpp
    ip.run_line_magic("oci", "pull test/Smol-GGUF/smol.gguf")
    ip.run_cell_magic("oci", "--model test/Smol-GGUF/smol.gguf --rounds 1 --max-tokens 16 --no-exec", "print 1")
    record = ip.magics_manager.registry["OciMagics"].session.last_result.model
    assert record["path"] == cached_path(catalog.require("test/Smol-GGUF/smol.gguf"))
    assert record["size_bytes"] == len(gguf_bytes)


@pytest.mark.kernel
def test_oci_pull_in_a_real_kernel(hub, tmp_path, gguf_bytes):
    from .conftest import running_kernel

    hub.add("test/Smol-GGUF", "smol.gguf", gguf_bytes)
    env = dict(os.environ, HF_HUB_DISABLE_TELEMETRY="1", HF_TOKEN_PATH=str(tmp_path / "no-token"))
    with running_kernel(env=env) as (_, client):
        def execute(code):
            messages = []
            reply = client.execute_interactive(code, timeout=120, output_hook=messages.append)
            text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
            return reply["content"], messages, text

        assert execute("%load_ext oci_magic")[0]["status"] == "ok"
        reply, _, _ = execute("%oci model test/Smol-GGUF/smol.gguf")
        assert reply["status"] == "error" and "`oci model pull test/Smol-GGUF/smol.gguf`" in reply["evalue"]
        reply, messages, text = execute("%oci pull test/Smol-GGUF/smol.gguf")
        assert reply["status"] == "ok", reply
        assert "%oci pull · test/Smol-GGUF/smol.gguf: downloaded, 98.4 MB" in text
        bars = [m for m in messages if m["msg_type"] == "display_data"
                and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
        assert bars, "tqdm.auto shows the ipywidgets bar in a kernel"
        path = str(tmp_path / "hub" / "models--test--Smol-GGUF" / "snapshots" / COMMIT / "smol.gguf")
        assert open(path, "rb").read() == gguf_bytes
        reply, _, text = execute("%oci model test/Smol-GGUF/smol.gguf")
        assert reply["status"] == "ok" and f"path        {path}" in text and "(%oci model: test/Smol-GGUF/smol.gguf)" in text
        reply, _, _ = execute("%oci pull no-such-model")
        assert reply["status"] == "error" and reply["evalue"].startswith("unknown model 'no-such-model'")
