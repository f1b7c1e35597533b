"""jupyter-config/ipython_kernel_config.json loads the extension in every kernel that reads it."""
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_kernel_config_loads_the_extension(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    shutil.copy(ROOT / "jupyter-config" / "ipython_kernel_config.json", profile)
    env = dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"))
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.kernel_spec.argv[0] = sys.executable
    manager.start_kernel(env=env)
    try:
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        outputs = []
        reply = client.execute_interactive(
            "import sys; print('oci' in get_ipython().magics_manager.magics['cell'], 'llama_cpp' in sys.modules)",
            timeout=60, output_hook=outputs.append)
        assert reply["content"]["status"] == "ok"
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        assert text.split() == ["True", "False"]
        client.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)


def test_config_file_is_valid_json():
    config = json.loads((ROOT / "jupyter-config" / "ipython_kernel_config.json").read_text())
    assert config == {"InteractiveShellApp": {"extensions": ["oci_magic"]}}
