"""The engine's seams: one prompt builder for a run and prefill, one run value, what a session
keeps between runs, and backends that declare what they can do."""
import dataclasses

import pytest

from oci_magic import backends
from oci_magic.backends.base import Backend, Capabilities
from oci_magic.engine.events import ModelLoaded, ModelLoading
from oci_magic.engine.memory import Memory, NotebookState
from oci_magic.engine.records import RunResult
from oci_magic.engine.session import Session
from oci_magic.engine.settings import OciConfig
from oci_magic.execution.result import Execution, Executor

from .conftest import fenced


class Reading(Backend):
    """A backend that can prefill: it notes the prefixes it was asked to read and the prompts it answered."""

    name = kind = "reading"
    capabilities = Capabilities(prefix_cache=True, prefill=True)

    def __init__(self, spec=None):
        self.read, self.prompts = [], []

    def stream(self, messages, params, usage):
        self.prompts.append(tuple(messages))
        yield fenced("made = 1")

    def prefix_tokens(self, messages):
        self.read.append(tuple(messages))
        return [1, 2, 3]

    def prefill(self, tokens, stop, threads=0, batch_seconds=0.25):
        return len(tokens)


@pytest.fixture
def reading(monkeypatch):
    made = []

    def create(spec):
        made.append(Reading(spec))
        return made[-1]

    monkeypatch.setitem(backends._types, "reading", backends.BackendType("reading", create, loads=True))
    return made


class Shows(Executor):
    """Code that runs and shows something: the run succeeds in round 1."""

    def execute(self, code):
        return Execution(ok=True, shown=True)


def state(inputs, namespace, cell=None):
    return NotebookState(["", *inputs], {}, namespace, (), cell or len(inputs) + 1)


def options(continue_runs: bool = False, focus: bool = False, **overrides):
    return OciConfig(backend="reading", continue_runs=continue_runs, focus=focus).run_options(**overrides)


@pytest.mark.parametrize("continue_runs,focus", [(False, False), (True, False), (True, True)])
def test_prefill_reads_exactly_what_the_next_run_sends(reading, continue_runs, focus):
    session = Session()
    opts = options(continue_runs, focus)
    listened = []
    session.backend(opts.model, [listened.append])
    backend = reading[0]
    cells = ["numbers = [1, 2, 3]", "total = sum(numbers)"]
    namespace = {"numbers": [1, 2, 3], "total": 6}
    for turn in range(2):  # a fresh layout, then the notebook afresh again or the conversation continued
        assert session.prefill(state(cells, namespace), opts, OciConfig().prefill_settings())
        assert session.prefiller.wait(10)
        read = backend.read[-1]
        session.run("print the total", state(cells + ["%%oci\nprint the total"], namespace, len(cells) + 1), opts,
                    executor=Shows())
        sent = backend.prompts[-1]
        assert len(sent) == len(read) == (4 if turn and continue_runs and not focus else 2)
        # all but the task, part for part (then, focused, what the task picked: the older cell that makes total)
        assert sent[:-1] == read[:-1] and sent[-1].parts[: len(read[-1].parts) - 1] == read[-1].parts[:-1]
        assert len(sent[-1].parts) == len(read[-1].parts) + (1 if focus and turn else 0)
        assert read[-1].parts[-1] == "## Task\n" and sent[-1].parts[-1] == "## Task\nprint the total"
        cells = cells + ["%%oci\nprint the total", f"extra_{turn} = {turn}"]
        namespace = dict(namespace, **{f"extra_{turn}": turn})
    session.close()


def test_a_prefill_does_not_move_the_window_a_run_keeps(reading):
    session = Session()
    opts = options(max_tokens=100)
    session.backend(opts.model)
    before = session.memory
    long = [f"value_{i} = {i}  # " + "pad " * 40 for i in range(400)]  # far past the budget
    session.prefill(state(long, {}), opts, OciConfig().prefill_settings())
    session.prefiller.wait(10)
    assert session.memory is before and session.memory.window.cut == 0
    session.run("t", state(long + ["%%oci\nt"], {}, len(long) + 1), opts, executor=Shows())
    assert session.memory.window.cut > 0  # the run moved the cut, and kept it
    session.close()


def test_the_run_value_carries_the_whole_run(reading):
    session = Session()
    result = session.run("make it", state(["a = 1"], {"a": 1}), options(), executor=Shows())
    assert isinstance(result, RunResult) and result.outcome == "success"
    assert result.prompt == reading[0].prompts[0]  # the first prompt, as the backend got it
    assert result.transcript == result.prompt + (backends.Message.of("assistant", result.rounds[0].reply),)
    assert result.model["name"] == "reading"  # set when the run was made, not patched afterwards
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcome = "failed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.rounds[0].status = "error"


def test_any_backend_that_loads_says_so(reading):
    events = []
    session = Session()
    session.backend(options().model, [events.append])
    session.backend(options().model, [events.append])  # kept: loaded once
    assert [type(e) for e in events] == [ModelLoading, ModelLoaded]
    assert events[0].source == "config" and events[1].name == "reading"


def test_the_memory_is_one_value_that_runs_replace(reading):
    session = Session()
    first = session.memory
    session.run("make it", state(["a = 1"], {"a": 1}), options(), executor=Shows())
    after = session.memory
    assert after is not first and first == Memory()  # the old value is untouched
    assert after.conversation is not None and after.generated == {2: "# %%oci task: make it\nmade = 1"}
    session.note_error(3, ZeroDivisionError("division by zero"))
    assert session.memory.errors == {3: "ZeroDivisionError: division by zero"} and after.errors == {}
    session.memory = after  # a benchmark puts a kept memory back
    assert session.memory.errors == {} and session.memory.without_conversation().conversation is None
    with pytest.raises(TypeError):
        session.memory.errors[4] = "x"  # read-only: a change makes a new Memory


def test_a_backend_that_cannot_prefill_is_never_asked_to(monkeypatch):
    class Plain(Backend):
        name = kind = "plain"

        def __init__(self, spec):
            pass

        def stream(self, messages, params, usage):
            yield fenced("x = 1")

    monkeypatch.setitem(backends._types, "plain", backends.BackendType("plain", Plain))
    session = Session()
    opts = OciConfig(backend="plain").run_options()
    session.backend(opts.model)
    assert not session.prefill(state(["a = 1"], {}), opts, OciConfig().prefill_settings())
    with pytest.raises(NotImplementedError, match="cannot prefill"):
        Plain(None).prefix_tokens([])


def test_candidates_left_to_the_model_come_from_its_catalog_entry(monkeypatch, tmp_path):
    """``candidates = 0`` (the default): the catalog's number for the model, known before it loads
    (the cache is sized for it then); a model loaded with room for two serves a run asking for one
    without loading the weights again; one asking for more loads it again."""
    from oci_magic.backends import Choice, catalog
    from oci_magic.backends.replay import ReplayBackend

    assert OciConfig().candidates == 0
    assert catalog.candidates_for("/any/folder/Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf") == 2
    assert catalog.candidates_for("/bench/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") == 1
    assert catalog.candidates_for(str(tmp_path / "mine.gguf")) == 1

    specs, asked, chosen = [], [], {"file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"}

    class Noting(ReplayBackend):
        def generate_many(self, messages, params, done):
            asked.append(len(params))
            return super().generate_many(messages, params, done)

        def stream(self, messages, params, usage):
            asked.append(1)
            return super().stream(messages, params, usage)

    def create(spec):
        specs.append(spec)
        return Noting([[fenced("made = 1"), fenced("made = 2")]] * 4)

    def choose(where, override=None):
        return Choice(chosen["file"], "config", candidates=catalog.candidates_for(chosen["file"]))

    monkeypatch.setitem(backends._types, "chosen", backends.BackendType("chosen", create, choose, loads=True))
    session, config = Session(), OciConfig(backend="chosen", continue_runs=False)
    monkeypatch.chdir(tmp_path)  # the trials copy the working folder

    class Tries(Shows):  # candidates are generated only where they can be tried
        def trials(self):
            from oci_magic.execution.trials import Trials

            return Trials({}, {}, 1 << 20, 5.0)

    def run(**overrides):
        session.run("make it", state(["a = 1"], {"a": 1}), config.run_options(**overrides), executor=Tries())

    run()
    assert asked == [2] and [s.sequences for s in specs] == [2]
    run(candidates=1)
    assert asked == [2, 1] and [s.sequences for s in specs] == [2]  # served by the loaded one
    run(candidates=3)
    assert asked == [2, 1, 3] and [s.sequences for s in specs] == [2, 3]  # more room: loaded again
    chosen["file"] = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    run()
    assert asked == [2, 1, 3, 1]  # another model: its own number, one
