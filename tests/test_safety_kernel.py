"""Safety in a real ipykernel: exit() does not shut it down, ■ stops a run cleanly, a time limit
fires in the kernel's execution thread, and a risky round is asked about on stdin."""
import json
import threading
import time

import pytest

from .conftest import running_kernel

pytestmark = pytest.mark.kernel  # starts real Jupyter kernels


@pytest.fixture(scope="module")
def kernel():
    with running_kernel() as pair:
        yield pair


def execute(client, code, **kwargs):
    messages = []
    reply = client.execute_interactive(code, timeout=120, output_hook=messages.append, **kwargs)
    # streams, and the run record's output (which carries the summary line)
    text = "".join(m["content"].get("text", "") if m["msg_type"] == "stream" else m["content"]["data"]["text/plain"] + "\n"
                   for m in messages if m["msg_type"] in ("stream", "display_data"))
    return reply["content"], text


def replies(tmp_path, *codes, name="r.json"):
    path = tmp_path / name
    path.write_text(json.dumps([f"```python\n{code}\n```" for code in codes]))
    return path


@pytest.mark.filterwarnings("ignore")
def test_exit_in_generated_code_keeps_the_kernel(kernel, tmp_path):
    manager, client = kernel
    assert execute(client, "%load_ext oci_magic\n%config OciMagics.view = 'text'\nprecious = [1, 2, 3]")[0]["status"] == "ok"
    path = replies(tmp_path, "exit()", "x = 1\nquit()", "survived = True")
    reply, text = execute(client, f"%%oci --replay {path} --allow risky\nleave")
    assert reply["status"] == "ok"
    assert not [p for p in reply["payload"] if p["source"] == "ask_exit"]
    assert "✓ %%oci succeeded in round 3 of 3" in text
    time.sleep(0.5)
    assert manager.is_alive()
    reply, text = execute(client, "print(precious, survived)")
    assert text == "[1, 2, 3] True\n"


def test_interrupt_during_execution_stops_cleanly(kernel, tmp_path):
    manager, client = kernel
    path = replies(tmp_path, "import time\nprecious = 'overwritten'\ntime.sleep(30)", "never_ran = 1")
    threading.Timer(2.0, manager.interrupt_kernel).start()
    start = time.perf_counter()
    reply, text = execute(client, f"%%oci --replay {path}\nsleep")
    assert time.perf_counter() - start < 15
    assert reply["status"] == "ok" and not [p for p in reply["payload"] if p["source"] == "set_next_input"]
    assert "✗ %%oci interrupted in round 1: during execution" in text
    assert "oci_magic" not in text  # no traceback from our internals
    reply, text = execute(client, "print(precious, 'never_ran' in dir())")
    assert text == "[1, 2, 3] False\n"  # state kept, the round's rebinding rolled back


def test_timeout_in_the_kernel(kernel, tmp_path):
    manager, client = kernel
    path = replies(tmp_path, "import time, threading\nprint(threading.current_thread() is threading.main_thread())\n"
                             "time.sleep(30)", "done = 'yes'")
    start = time.perf_counter()
    reply, text = execute(client, f"%%oci --replay {path} --timeout 1\nwait")
    assert time.perf_counter() - start < 15
    assert reply["status"] == "ok" and text.startswith("%%oci · replay")
    assert "True\n" in text  # cells run on the main thread: the SIGALRM path
    assert "✗ round 1: TimeoutError: timed out after 1 s" in text
    assert "✓ %%oci succeeded in round 2 of 3" in text
    assert execute(client, "print(done, precious)")[1] == "yes [1, 2, 3]\n"


def test_risky_code_is_asked_about_on_stdin(kernel, tmp_path):
    manager, client = kernel
    marker = tmp_path / "made"
    path = replies(tmp_path, f"import os\nos.system('touch {marker}')", "asked = True")
    prompts = []

    def answer(message):
        prompts.append(message["content"]["prompt"])
        client.input("skip")

    reply, text = execute(client, f"%%oci --replay {path}\nrun a command", allow_stdin=True, stdin_hook=answer)
    assert prompts == ["%%oci · round 1: the code uses os.system (runs a shell command, line 2). Run it? [run/skip/stop] "]
    assert reply["status"] == "ok" and "✓ %%oci succeeded in round 2 of 3" in text
    assert not marker.exists()
