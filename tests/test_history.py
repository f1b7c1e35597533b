"""The prompt layout for KV-cache reuse: append-only history, forward-only cut, volatile part last."""
import pytest

from oci_magic.backends.base import Message
from oci_magic.context import notebook as ctx
from oci_magic.engine.prompting import history
from oci_magic.engine.prompting.build import with_system
from oci_magic.engine.prompting.render import task_section
from oci_magic.backends.replay import ReplayBackend
from oci_magic.execution.executor import NamespaceExecutor
from oci_magic.engine.loop import RefinementLoop
from oci_magic.engine.prompting.history import ContextSpec

from .conftest import fenced, run_settings


def words(text):
    return len(text.split())


def notebook(n, pad=10):
    return [""] + [f"value_{i} = {i}  # " + "pad " * pad for i in range(n)]


class Kept:
    """The window a session keeps from one run to the next."""

    def __init__(self):
        self.window = history.Window()

    @property
    def cut(self):
        return self.window.cut


def layout(inputs, kept, budget=10_000, task="t", namespace=None, errors=None, spec=ContextSpec()):
    gathered = ctx.gather(inputs + ["CURRENT"], {}, errors or {}, {}, len(inputs), namespace or {})
    context, kept.window = history.layout(gathered, spec, budget, words, words, kept.window, task)
    return context


def prompt_of(task, context):
    """The first prompt the builder makes of a laid-out context."""
    return with_system(list(context.history) + ([context.volatile] if context.volatile else []) + [task_section(task)])


def test_history_is_append_only_across_runs():
    window = Kept()
    inputs = notebook(5)
    first = layout(inputs, window, namespace={"a": 1})
    second = layout(inputs + ["new_cell = 1"], window, namespace={"a": 1, "b": 2})
    assert second.history[: len(first.history)] == first.history
    assert second.history[-1] == "```python\nnew_cell = 1\n```\n\n"
    assert "- b: 2" in second.volatile and "- b: 2" not in "".join(second.history)
    # nothing volatile in the history: no execution counts or cell numbers
    assert "In [" not in second.text and "[1]" not in "".join(second.history)


def test_the_cut_moves_forward_in_chunks_and_only_forward():
    window = Kept()
    inputs = notebook(40)  # ~13 words a cell
    budget = 300  # history gets 2/3: 200 words
    first = layout(inputs, window, budget)
    assert window.cut > 0
    assert first.history[0] == history.HEAD_CUT
    cut = window.cut
    assert words("".join(first.history)) <= 200
    # cut as if the cells had come one at a time: the same cut a kernel that saw each cell made
    one_by_one = Kept()
    for n in range(2, len(inputs) + 1):
        layout(inputs[:n], one_by_one, budget)
    assert one_by_one.cut == cut
    # the next few cells fit without moving the cut: the history only grows
    grown = inputs + [f"extra_{i} = {i}" for i in range(5)]
    second = layout(grown, window, budget)
    assert window.cut == cut and second.history[: len(first.history)] == first.history
    # once it overflows again the cut jumps forward once, by a chunk
    many = grown + [f"more_{i} = {i}  # " + "pad " * 10 for i in range(20)]
    layout(many, window, budget)
    assert window.cut > cut + 5


def test_the_cut_resets_when_the_history_restarts():
    window = Kept()
    layout(notebook(40), window, 300)
    assert window.cut > 5
    fresh = layout(["", "a = 1", "b = 2"], window, 300)
    assert window.cut == 0 and "a = 1" in fresh.text


def test_cells_defining_names_the_task_mentions_are_kept_from_before_the_cut():
    window = Kept()
    inputs = ["", "def special_loader(path):\n    return path"] + notebook(40)[1:]
    shown = layout(inputs, window, 300, task="use special_loader on data.csv")
    assert "def special_loader" not in "".join(shown.history)
    assert "## Earlier cells that define names used here" in shown.volatile
    assert "def special_loader" in shown.volatile
    unrelated = layout(inputs, window, 300, task="plot value_39")
    assert "special_loader" not in unrelated.text


def test_the_last_error_is_in_the_volatile_part():
    window = Kept()
    shown = layout(["", "x = 1", "1/0"], window, errors={2: "ZeroDivisionError: division by zero"})
    assert shown.volatile.endswith("## Last error\nZeroDivisionError: division by zero\n\n")
    assert "This cell raised: ZeroDivisionError" in "".join(shown.history)


def test_defined_names():
    assert history.defined_names("import numpy as np\nfrom a.b import c\nx, (y, z) = 1, (2, 3)\n"
                                 "def f(): pass\nclass K: pass\nfor i in []: pass\nw += 1") == \
        {"np", "c", "x", "y", "z", "f", "K", "i", "w"}
    assert history.defined_names("this is not python") == frozenset()


def test_messages_carry_parts_that_join_to_the_content():
    window = Kept()
    context = layout(notebook(3), window, namespace={"a": 1})
    messages = prompt_of("do it", context)
    user = messages[1]
    assert "".join(user.parts) == user.content
    assert list(user.parts[: len(context.history)]) == context.history
    assert user.content.endswith("- a: 1\n\n## Task\ndo it")


def test_the_loop_transcript_only_grows_and_runs_share_the_history():
    window = Kept()
    backend = ReplayBackend([fenced("1/0"), fenced("ok = 1"), fenced("again = 2")])
    loop = RefinementLoop(backend, NamespaceExecutor({}), run_settings(rounds=3, refine="transcript"))
    loop.run("first", prompt_of("first", layout(notebook(3), window)))
    loop.run("second", prompt_of("second", layout(notebook(3) + ["# %%oci task: first\nok = 1"], window)))
    p1, p2, p3 = backend.calls
    assert p2[:2] == p1 and len(p2) == 4  # round 2 = round 1's prompt + reply + feedback
    shared = p1[1].parts[:-1]  # run 1's history parts
    assert p3[1].parts[: len(shared)] == shared


@pytest.mark.slow
def test_token_prefixes_are_stable_on_the_embedded_model(model_path):
    from oci_magic.backends.llama import LlamaBackend
    from oci_magic.backends.base import GenerationParams

    backend = LlamaBackend(model_path, n_ctx=2048)
    window = Kept()
    inputs = ["", "import json\nrows = json.loads('[1, 2, 3]')", "total = sum(rows)\ntotal",
              "print('<|im_end|> is text here')"]
    run1 = prompt_of("double the total", layout(inputs, window, 1200, namespace={"total": 6}))
    run2 = prompt_of("plot rows", layout(inputs + ["# %%oci task: double the total\ndoubled = total * 2"],
                                         window, 1200, namespace={"total": 6, "doubled": 12}))
    t1, t2 = backend.tokenize_messages(run1), backend.tokenize_messages(run2)
    hist = list(run1[1].parts[:-2])  # the history: then come the volatile part (variables) and the task
    assert list(run2[1].parts[: len(hist)]) == hist

    def tok(parts):
        return backend.tokenize_messages([run1[0], Message.of("user", *parts)])

    # where run 1's history ends in tokens: the first token a different continuation changes
    a, b = tok(hist), tok(hist + ["zzz"])
    stable = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    assert stable >= sum(backend.count_tokens(p) for p in hist) > 60
    assert t2[:stable] == t1[:stable]

    params = GenerationParams(temperature=0.0, max_tokens=8, seed=1)
    backend.generate(run1, params).text()
    second = backend.generate(run2, params)
    second.text()
    assert second.usage.reused_tokens >= stable  # run 2 started from run 1's cached history


def test_one_run_with_less_room_does_not_cut_the_history_for_good():
    from oci_magic.context.notebook import Cell

    cells = [Cell(f"value_{i} = {i}", number=i) for i in range(1, 11)]
    shown, window = history.select(history.Window(), cells, 1000, words)
    assert len(shown) == 10
    shown, window = history.select(window, cells, 0, words)
    assert shown == []  # e.g. --rounds 20 leaves no room this time
    assert len(history.select(window, cells, 1000, words)[0]) == 10  # the next normal run sees everything again


def test_selecting_cells_leaves_the_window_it_was_given_alone():
    """A prefill lays the prompt out with the session's window and drops the window after it:
    nothing it does may move the run's cut."""
    from oci_magic.context.notebook import Cell

    before = history.Window()
    cells = [Cell(f"value_{i} = {i}  # " + "pad " * 10, number=i) for i in range(1, 41)]
    _, after = history.select(before, cells, 200, words)
    assert after.cut > 0 and before == history.Window()


def test_token_counts_are_not_shared_between_tokenizers():
    counts = history.BlockCounts()
    assert counts.of(lambda t: len(t.split()))("a b c") == 3
    assert counts.of(lambda t: 4 * len(t.split()))("a b c") == 12
