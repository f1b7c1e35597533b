"""Prefill and the prompt cache on disk with the embedded model: in a real kernel, under a user
cell that starts mid-prefill, with a damaged cache file, and across a model switch."""
import os
import shutil
import threading
import time

import pytest

from oci_magic.engine.runrecord import RUN_MIME

from .conftest import running_kernel
from .test_prefill import wait_for

pytestmark = pytest.mark.slow

CELLS = [f"values_{i} = [{i}, {i} * 2, {i} * 3]\nprint(sum(values_{i}))" for i in range(30)]


def execute(client, code, store_history=True):
    messages = []
    reply = client.execute_interactive(code, timeout=180, output_hook=messages.append, store_history=store_history)
    return reply["content"], messages


def record(messages):
    found = [m["content"]["data"][RUN_MIME] for m in messages
             if m["msg_type"] == "display_data" and RUN_MIME in m["content"]["data"]]
    assert len(found) == 1
    return found[0]


@pytest.mark.kernel
@pytest.mark.parametrize("options", ["", "--candidates 4"])
def test_an_oci_after_cells_ran_finds_them_read(tmp_path, options):
    """The record of the %%oci that follows 30 cells shows nearly its whole prompt reused, with
    the idle time broken by a polling cell every half second. With candidates the drafter's
    batches were never timed by a reply, so the idle time times them too (bit by bit)."""
    env = dict(os.environ, OCI_KV_CACHE=str(tmp_path / "kv"), OCI_HEADLESS="1")
    with running_kernel(env) as (_, client):
        assert execute(client, "%load_ext oci_magic\n%config OciMagics.insert_cell = False")[0]["status"] == "ok"
        execute(client, f"%%oci --rounds 1 --max-tokens 8 --seed 1 {options}\nprint hello")  # loads the model
        for cell in CELLS:
            assert execute(client, cell)[0]["status"] == "ok"
        deadline = time.time() + 120
        while time.time() < deadline:  # idle: prefill reads in the background
            _, messages = execute(client, "print(get_ipython().magics_manager.registry['OciMagics']"
                                          ".session.prefiller.status.state)", store_history=False)
            if "idle" in "".join(m["content"].get("text", "") for m in messages):
                break
            time.sleep(0.5)
        reply, messages = execute(client, f"%%oci --rounds 1 --max-tokens 8 --seed 1 {options}\nprint the sum of values_3")
        assert reply["status"] == "ok"
        tokens = record(messages)["rounds"][0]["tokens"]
        assert tokens["prompt"] > 1000 and tokens["evaluated"] <= 0.1 * tokens["prompt"], tokens
        _, messages = execute(client, "%oci")
        text = "".join(m["content"].get("text", "") for m in messages)
        assert "tokens cached" in text and "1 saved state" in text


@pytest.fixture
def shell(ip, magics, tmp_path):
    magics.view, magics.insert_cell = "text", False
    magics.prefill_threads = 1
    return ip


def run_oci(ip, magics, task, *options):
    ip.run_cell(f"%%oci --rounds 1 --max-tokens 8 --seed 1 {' '.join(options)}\n{task}", store_history=True)
    return magics.session.last_result.rounds[0].usage


def test_a_cell_started_mid_prefill_runs_at_once(shell, magics):
    ip = shell
    run_oci(ip, magics, "print hello")
    backend = magics.session.loaded_backend()
    calls, real = [], backend.prefill

    def slow(tokens, stop, threads, batch_seconds):  # the same work, in small batches
        calls.append(len(tokens))
        return real(tokens, stop, threads, 0.02)

    backend.prefill = slow
    for cell in CELLS:
        ip.run_cell(cell, store_history=True)
    assert wait_for(lambda: magics.session.prefiller.status.state == "reading", 30)
    start = time.perf_counter()
    ip.run_cell("started = 1", store_history=False)  # pre_run_cell pauses prefill
    assert time.perf_counter() - start < 1.0
    assert magics.session.prefiller.status.state == "paused"
    with backend.lock:  # the batch in flight is over: nothing holds the model
        pass
    ip.run_cell("resume = 1", store_history=True)  # its end schedules prefill again
    assert wait_for(lambda: magics.session.prefiller.status.state == "idle", 120)
    usage = run_oci(ip, magics, "print resume")
    assert usage.evaluated_tokens <= 0.1 * usage.prompt_tokens


def test_a_model_switch_mid_prefill_cancels_it(shell, magics, model_path, tmp_path):
    ip = shell
    run_oci(ip, magics, "print hello")
    first = magics.session.loaded_backend()
    real = first.prefill
    first.prefill = lambda tokens, stop, threads, batch_seconds: real(tokens, stop, threads, 0.02)
    for cell in CELLS:
        ip.run_cell(cell, store_history=True)
    assert wait_for(lambda: magics.session.prefiller.status.state == "reading", 30)
    other = tmp_path / "other.gguf"
    shutil.copy(model_path, other)
    ip.run_line_magic("oci", f"model {other}")
    usage = run_oci(ip, magics, "print the total of values_2")  # unloads the first model mid-prefill
    assert first.llm is None and magics.session.loaded_backend().describe()["path"] == str(other)
    assert usage.generated_tokens > 0 and magics.session.prefiller.status.error == ""


def test_the_cache_outlives_the_kernel_and_a_damaged_file_is_skipped(model_path, tmp_path):
    from oci_magic.backends.llama import LlamaBackend
    from oci_magic.backends.base import GenerationParams

    messages = notebook(CELLS, "print the sum of values_4")
    params = GenerationParams(0.0, 4, 1)
    folder = str(tmp_path / "kv")

    def first_token_usage():
        backend = LlamaBackend(model_path, n_ctx=4096, kv_folder=folder, kv_bytes=2**30)
        backend.prefill(backend.prefix_tokens(messages), lambda: False)
        backend.save_state(1)
        completion = backend.generate(messages, params)
        cold_text.append(completion.text())
        backend.close()
        return completion.usage

    cold_text = []
    cold = first_token_usage()
    assert cold.prompt_tokens > 500 and cold.evaluated_tokens < 20  # prefill read all but the task
    saved = [os.path.join(r, n) for r, _, ns in os.walk(folder) for n in ns if n.endswith(".kv")]
    assert len(saved) == 1
    warm_backend = LlamaBackend(model_path, n_ctx=4096, kv_folder=folder, kv_bytes=2**30)  # "after a restart"
    evaluated = warm_backend.prefill(warm_backend.prefix_tokens(messages), lambda: False)
    assert evaluated == 0  # all of it came from the disk
    completion = warm_backend.generate(messages, params)
    assert completion.text() == cold_text[0]  # the restored state answers as the live one did
    assert completion.usage.evaluated_tokens == cold.evaluated_tokens
    warm_backend.close()

    with open(saved[0], "r+b") as f:  # damage it: truncated mid-state
        f.truncate(os.path.getsize(saved[0]) // 2)
    again = LlamaBackend(model_path, n_ctx=4096, kv_folder=folder, kv_bytes=2**30)
    completion = again.generate(messages, params)
    completion.text()
    assert completion.usage.reused_tokens == 0 and not os.path.exists(saved[0])  # ignored, removed
    again.close()


def notebook(cells, task):
    """The first prompt of a notebook of ``cells`` (no outputs, no variables) and ``task``."""
    from oci_magic.engine.prompting import task_section, with_system

    return with_system(["## Notebook so far\n\n"] + [f"```python\n{c}\n```\n\n" for c in cells] + [task_section(task)])


def test_concurrent_kernels_share_the_folder(model_path, tmp_path):
    from oci_magic.backends.llama import LlamaBackend

    folder = str(tmp_path / "kv")
    errors = []

    def kernel(n):
        try:
            backend = LlamaBackend(model_path, n_ctx=2048, n_threads=1, kv_folder=folder, kv_bytes=2**30)
            for i in range(3):
                messages = notebook(CELLS[: 10 + 5 * i + n], "t")
                backend.prefill(backend.prefix_tokens(messages), lambda: False)
                backend.save_state(1)
            backend.close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=kernel, args=(n,)) for n in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    # one state left (each supersedes the shorter ones), whole: a third kernel reads from it
    assert len([n for _, _, ns in os.walk(folder) for n in ns]) == 1
    reader = LlamaBackend(model_path, n_ctx=2048, n_threads=1, kv_folder=folder, kv_bytes=2**30)
    longest = notebook(CELLS[:21], "t")
    assert reader.prefill(reader.prefix_tokens(longest), lambda: False) == 0
    reader.close()


def test_a_stop_inside_a_chunk_ends_it_within_milliseconds(model_path):
    """llama.cpp asks whether to stop inside each chunk: a cell that starts (or a %%oci that
    wants the model) waits milliseconds even for a chunk of many seconds, and the cache holds
    exactly the chunks that finished."""
    from oci_magic.backends.llama import LlamaBackend

    backend = LlamaBackend(model_path, n_ctx=4096, n_threads=1)
    tokens = backend.prefix_tokens(notebook(CELLS * 3, "t"))
    assert 2000 < len(tokens) < 4000
    stop = threading.Event()
    found = {}

    def read():
        found["evaluated"] = backend.prefill(tokens, stop.is_set, batch_seconds=60.0)  # one chunk: all 512 tokens
        found["at"] = time.perf_counter()

    thread = threading.Thread(target=read)
    thread.start()
    time.sleep(1.0)  # past the first (16-token) chunk, inside the big one
    stop.set()
    stopped = time.perf_counter()
    thread.join(10)
    assert found["at"] - stopped < 0.3
    cached = backend.cached_tokens
    assert found["evaluated"] == cached and 0 < cached < len(tokens)  # the aborted chunk left nothing behind
    stop.clear()
    assert backend.prefill(tokens, stop.is_set) == len(tokens) - cached  # and the rest reads on from there
    backend.close()


def test_cells_every_fraction_of_a_second_still_let_it_read(model_path):
    """A kernel that runs a short cell every ~0.4 s (a user stepping through cells, a test that
    polls) stops every chunk that outlasts the gap. A stopped chunk halves the next one and the
    size is kept from job to job, so the reading gets through in the gaps; restarting every job
    at a size that outlasts the gap would lose every chunk after the first, job after job."""
    from oci_magic.backends.llama import LlamaBackend

    backend = LlamaBackend(model_path, n_ctx=4096, n_threads=1)
    tokens = backend.prefix_tokens(notebook(CELLS * 2, "t"))
    assert 1500 < len(tokens) < 3000
    read = backend.prefill(tokens[:64], lambda: False)  # idle: also times the drafter's batches, once
    start = time.perf_counter()
    read += backend.prefill(tokens[:400], lambda: False)  # the chunks grow to ~1 s of reading
    per_token = (time.perf_counter() - start) / (read - 64)  # reading alone
    assert backend.chunk * per_token > 0.6  # the next chunk outlasts a 0.4 s gap
    jobs = 0
    # ~30 gaps would do at the measured speed; 16 tokens a gap (every job restarting small, or
    # every chunk lost) would need over 110. The bound leaves room for a loaded machine: reading
    # late in a long prompt is slower than the first 400 tokens timed above.
    while read < len(tokens) and jobs < 100:
        gap = time.perf_counter() + 0.4
        read += backend.prefill(tokens, lambda: time.perf_counter() > gap)  # then a cell starts
        jobs += 1
    assert read == len(tokens) == backend.cached_tokens, (read, jobs, backend.chunk, per_token)
    backend.close()
