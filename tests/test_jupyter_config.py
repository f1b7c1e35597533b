"""jupyter-config/ipython_kernel_config.json loads the extension in every kernel that reads it."""
import json
import os
import shutil
from pathlib import Path

from .conftest import running_kernel

import pytest

pytestmark = pytest.mark.kernel  # starts real Jupyter kernels

ROOT = Path(__file__).resolve().parents[1]


def test_kernel_config_loads_the_extension(tmp_path):
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    shutil.copy(ROOT / "jupyter-config" / "ipython_kernel_config.json", profile)
    with running_kernel(env=dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"))) as (_, client):
        outputs = []
        reply = client.execute_interactive(
            "import sys; print('oci' in get_ipython().magics_manager.magics['cell'], 'llama_cpp' in sys.modules)",
            timeout=60, output_hook=outputs.append)
    assert reply["content"]["status"] == "ok"
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert text.split() == ["True", "False"]


def test_config_file_is_valid_json():
    config = json.loads((ROOT / "jupyter-config" / "ipython_kernel_config.json").read_text())
    assert config == {"InteractiveShellApp": {"extensions": ["oci_magic"]}}
