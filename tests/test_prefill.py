"""Reading the notebook before the user asks: the prompt cache on disk, the background prefill
thread (pause, cancel, errors), and both with the embedded model in a shell and a real kernel."""
import os
import threading
import time

import pytest

from oci_magic.backends.base import Backend, Capabilities, Message
from oci_magic.backends import statecache
from oci_magic.backends.statecache import StateStore
from oci_magic.engine.prefill import Prefiller
from oci_magic.engine.settings import PrefillSettings

from .conftest import fenced

ON = PrefillSettings(True, 1, 0.01)


# -- the store on disk -------------------------------------------------------------------------
def test_the_longest_shared_prefix_wins_and_loads_back(tmp_path):
    store = StateStore(str(tmp_path), 10_000)
    short, long = list(range(40)), list(range(40)) + [7] * 30
    store.save(short, b"a" * 100)
    store.save(list(range(100, 150)), b"b" * 100)
    path = store.save(long, b"c" * 100)
    assert [e.tokens for e in store.entries()] == [long, list(range(100, 150))]  # `short` is a prefix of `long`
    assert store.best(list(range(40)) + [7] * 10 + [9]) == (50, path)
    assert store.load(path) == (long, b"c" * 100)
    assert store.best([999]) is None


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_a_damaged_file_is_ignored_and_removed(tmp_path, damage):
    store = StateStore(str(tmp_path), 10_000)
    path = store.save(list(range(50)), b"x" * 500)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write({"truncate": data[:-100], "garbage": b"\x00" * 300, "flip": data[:-1] + b"y"}[damage])
    if damage == "flip":  # right length, wrong bytes: found, but the checksum refuses it
        assert store.best(list(range(50))) == (50, path)
        assert store.load(path) is None
    else:
        assert store.best(list(range(50))) is None
    assert not os.path.exists(path)
    assert store.save(list(range(50)), b"x" * 500)  # and the next save works


def test_least_recently_used_goes_first(tmp_path):
    store = StateStore(str(tmp_path), 2_600)  # room for two 1 KB states and their headers
    a = store.save([1] * 40, b"a" * 1000)
    b = store.save([2] * 40, b"b" * 1000)
    os.utime(a, (time.time() - 100, time.time() - 100))
    os.utime(b, (time.time() - 50, time.time() - 50))
    store.load(a)  # a is used again: b is now the least recently used
    c = store.save([3] * 40, b"c" * 1000)
    assert sorted(e.path for e in store.entries()) == sorted([a, c])
    assert store.save([4] * 40, b"d" * 5000) is None  # larger than the whole limit: not written


def test_two_kernels_writing_at_once_never_leave_half_a_file(tmp_path):
    stores = [StateStore(str(tmp_path), 10 ** 8) for _ in range(4)]
    errors = []

    def write(store, n):
        try:
            for i in range(20):
                store.save([n] * 40 + [i], bytes([n]) * 20_000)
                store.entries()
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    for entry in stores[0].entries():
        tokens, data = stores[0].load(entry.path)
        assert data == bytes([tokens[0]]) * 20_000
    assert not [n for n in os.listdir(tmp_path) if not n.endswith(statecache.SUFFIX)]  # no temporary files left


# -- the thread, on a fake backend ---------------------------------------------------------------
class SlowBackend(Backend):
    """Evaluates one token per 20 ms, holding the lock per batch like LlamaBackend."""

    n_threads = 2
    capabilities = Capabilities(prefill=True, saves_state=True)

    def __init__(self, fail=False):
        self.lock = threading.RLock()
        self.cache, self.fail, self.saves, self.threads = [], fail, 0, set()

    def prefix_tokens(self, messages):
        if self.fail:
            raise RuntimeError("the tokenizer broke")
        return list(range(len(messages[0].content)))

    def prefill(self, tokens, stop, threads, batch_seconds):
        self.threads.add(threads)
        done = 0
        while not stop() and len(self.cache) < len(tokens):
            with self.lock:
                time.sleep(0.02)
                self.cache.append(tokens[len(self.cache)])
                done += 1
        return done

    def save_state(self):
        self.saves += 1
        return "saved"


def wait_for(condition, seconds=10):
    end = time.time() + seconds
    while not condition() and time.time() < end:
        time.sleep(0.01)
    return condition()


def test_prefill_reads_in_the_background_and_saves_when_done():
    backend, prefiller = SlowBackend(), Prefiller()
    prefiller.schedule(backend, [Message.of("user", "x" * 20)], ON)
    assert wait_for(lambda: backend.saves == 1)
    assert len(backend.cache) == 20 and prefiller.status.evaluated == 20 and prefiller.status.state == "idle"
    assert backend.threads == {1}  # its own thread count, not the generation's
    prefiller.close()


def test_a_cell_that_starts_pauses_it_within_a_batch():
    backend, prefiller = SlowBackend(), Prefiller()
    prefiller.schedule(backend, [Message.of("user", "x" * 500)], ON)
    assert wait_for(lambda: len(backend.cache) > 3)
    prefiller.pause()
    time.sleep(0.05)  # the batch in flight ends
    stopped_at = len(backend.cache)
    time.sleep(0.2)
    assert len(backend.cache) == stopped_at < 500 and backend.saves == 0
    prefiller.schedule(backend, [Message.of("user", "x" * 30)], ON)  # the next cell ended: go on
    assert wait_for(lambda: backend.saves == 1)
    prefiller.close()


def test_cancel_waits_for_the_batch_in_flight():
    backend, prefiller = SlowBackend(), Prefiller()
    prefiller.schedule(backend, [Message.of("user", "x" * 500)], ON)
    assert wait_for(lambda: len(backend.cache) > 3)
    prefiller.cancel()  # the model is about to be freed
    assert backend.lock.acquire(blocking=False)  # no batch runs now...
    backend.lock.release()
    n = len(backend.cache)
    time.sleep(0.1)
    assert len(backend.cache) == n  # ...nor later
    prefiller.close()


def test_errors_stay_in_the_thread():
    prefiller = Prefiller()
    prefiller.schedule(SlowBackend(fail=True), [Message.of("user", "x")], ON)
    assert wait_for(lambda: prefiller.status.state == "failed")
    assert prefiller.status.error == "RuntimeError: the tokenizer broke"
    backend = SlowBackend()
    prefiller.schedule(backend, [Message.of("user", "xy")], ON)  # and it keeps working
    assert wait_for(lambda: backend.saves == 1)
    prefiller.close()


# -- the magic: hooks and %oci, on a backend that records what prefill asked -------------------------
def test_the_magic_prefills_after_each_cell_and_never_into_a_cell(ip, magics, monkeypatch):
    from oci_magic import backends

    class Recording(Backend):
        name, n_threads = "rec", 2
        capabilities = Capabilities(prefill=True)

        def __init__(self, spec):
            self.lock, self.asked, self.seen, self.replies = threading.RLock(), [], [], []

        def stream(self, messages, params, usage):
            self.seen.append(len(scheduled))  # how many prefills were scheduled so far
            yield fenced(self.replies.pop(0) if self.replies else "made = 1")

        def count_tokens(self, text):
            return len(text) // 4

        def prefix_tokens(self, messages):
            self.asked.append(messages)
            if "boom" in messages[-1].content:
                raise ValueError("bad prefix")
            return [1, 2, 3]

        def prefill(self, tokens, stop, threads, batch_seconds):
            return len(tokens)

        def save_state(self):
            return None

    monkeypatch.setitem(backends._types, "llama", backends.BackendType("llama", Recording, backends._types["llama"].choose, loads=True))
    scheduled, schedule = [], magics.session.prefiller.schedule
    monkeypatch.setattr(magics.session.prefiller, "schedule", lambda *a: scheduled.append(1) or schedule(*a))
    ip.run_cell("a = 1", store_history=True)
    assert magics.session.prefiller._thread is None  # no model loaded: nothing to prefill
    ip.run_cell("%%oci\nmake it", store_history=True)
    backend = magics.session.loaded_backend()
    ip.run_cell("total = a + made", store_history=True)
    assert wait_for(lambda: backend.asked and "total = a + made" in backend.asked[-1][-1].content)
    prompt = backend.asked[-1]
    assert prompt[-1].parts[-1] == "## Task\n"  # everything but the task
    assert "- total: 2" in prompt[-1].content  # the variables are read too
    ip.run_cell("boom = 1", store_history=True)
    assert wait_for(lambda: magics.session.prefiller.status.state == "failed")
    assert ip.user_ns["boom"] == 1
    backend.replies = ["made = 1 / 0", "again = 2"]
    time.sleep(0.1)
    ip.run_cell("%%oci\nmake it again", store_history=True)  # round 1's code raises, round 2's works
    assert len(magics.session.last_result.rounds) == 2
    assert backend.seen[-1] == backend.seen[-2]  # no prefill between the rounds of a run
    magics.prefill = False
    ip.run_cell("b = 2", store_history=True)
    time.sleep(0.2)
    assert "b = 2" not in backend.asked[-1][-1].content  # off: nothing read


def test_preload_loads_the_model_in_the_background_after_load_ext(ip, fake_llama):
    ip.run_line_magic("unload_ext", "oci_magic")
    ip.config.OciMagics.preload = True
    try:
        ip.run_line_magic("load_ext", "oci_magic")
        magics = ip.magics_manager.registry["OciMagics"]
        assert wait_for(lambda: magics.session.loaded_backend() is not None)  # no %%oci has run
        assert len(fake_llama) == 1
        ip.run_cell("%%oci\nmake it", store_history=True)  # the run uses it: no second load
        assert len(fake_llama) == 1 and ip.user_ns["made"] is True
    finally:
        ip.config.OciMagics.preload = False


def test_a_state_is_saved_again_only_when_it_grew_by_a_step(tmp_path):
    """A state is tens of MB: saving after every cell would write gigabytes in a working day."""
    from types import SimpleNamespace

    import numpy as np

    from oci_magic.backends.kvstate import STEP, KVStates

    llm = SimpleNamespace(_input_ids=np.arange(4000), n_tokens=300, _ctx=SimpleNamespace(ctx=None))

    def get_data(ctx, buffer, size):
        buffer[:size] = b"s" * size
        return size

    lib = SimpleNamespace(llama_state_get_size=lambda ctx: 64, llama_state_get_data=get_data)
    states = KVStates(llm, lib, StateStore(str(tmp_path), 10 ** 6))
    assert states.save()  # the first
    llm.n_tokens = 300 + STEP - 1
    assert states.save() is None  # a few cells more: not yet
    assert states.save(1)  # unless asked for (unloading the model)
    llm.n_tokens = 300 + 2 * STEP
    assert states.save()
    assert len(StateStore(str(tmp_path), 10 ** 6).entries()) == 1  # each superseded the one before


def test_an_unwritable_folder_means_no_cache_not_an_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = StateStore(str(blocker / "kv"), 10 ** 6)
    assert store.save(list(range(50)), b"x" * 100) is None
    assert store.entries() == [] and store.best(list(range(50))) is None


def test_a_prompt_the_live_cache_holds_reads_no_folder(tmp_path):
    """Rounds 2, 3... of a run: the cache already holds the prompt, so the disk is not listed."""
    from types import SimpleNamespace

    import numpy as np

    from oci_magic.backends.kvstate import KVStates

    class Counting(StateStore):
        listed = 0

        def entries(self):
            Counting.listed += 1
            return super().entries()

    llm = SimpleNamespace(_input_ids=np.arange(4000), n_tokens=300, _ctx=SimpleNamespace(ctx=None))
    states = KVStates(llm, SimpleNamespace(), Counting(str(tmp_path), 10 ** 6))
    assert states.restore(list(range(310))) == 0 and Counting.listed == 0  # 10 new tokens: no state can pay
    assert states.restore(list(range(600))) == 0 and Counting.listed == 1  # 300 new: look on disk
