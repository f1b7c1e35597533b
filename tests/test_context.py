import time

import pytest

from oci_magic.context import notebook as ctx
from oci_magic.engine.prompting import history
from oci_magic.engine.prompting import token_budget
from oci_magic.engine.prompting.history import ContextSpec
from oci_magic.engine.prompting.render import render_cell
from oci_magic.context.variables import user_variables
from oci_magic.values import summarize


class Loud:
    """An object whose repr must never be called."""

    calls = 0

    def __repr__(self):
        Loud.calls += 1
        raise AssertionError("repr called")

    def __len__(self):
        raise AssertionError("len called")


def words(text):
    return len(text.split())


def build(context, spec, budget):
    """The laid-out context's text, from a fresh window."""
    return history.layout(context, spec, budget, words, words, history.Window())[0].text


def sample():
    inputs = ["", "import pandas as pd\nx = 3", "x * 2", "y = undefined", "%load_ext oci_magic",
              "%%oci\nmake z", "print('hi')", "CURRENT"]
    return ctx.gather(
        inputs=inputs,
        outputs={2: 6},
        errors={3: "NameError: name 'undefined' is not defined"},
        generated={5: "# %%oci task: make z\nz = 1"},
        current=7,
        namespace={"x": 3, "_private": 1, "pd": __import__("json"), "In": [], "loud": Loud(), "z": 1},
        hidden={"In"},
    )


def test_gather_reads_history_outputs_errors_and_generated_code():
    gathered = sample()
    assert [c.source for c in gathered.cells] == [
        "import pandas as pd\nx = 3", "x * 2", "y = undefined", "# %%oci task: make z\nz = 1", "print('hi')"]
    assert gathered.cells[1].output == "6"
    assert gathered.cells[2].error.startswith("NameError")
    assert gathered.last_error is None  # the latest cell did not raise
    assert [name for name, _ in gathered.variables] == ["loud", "x", "z"]
    assert gathered.modules == {"pd": "json"}
    assert Loud.calls == 0


def test_last_error_is_the_latest_cells():
    gathered = ctx.gather(["", "ok = 1", "1/0"], {}, {2: "ZeroDivisionError: division by zero"}, {}, 3, {})
    assert gathered.last_error == "ZeroDivisionError: division by zero"
    text = build(gathered, ContextSpec(), 10_000)
    assert "## Last error\nZeroDivisionError: division by zero" in text


def test_render_is_deterministic_and_ordered():
    text = build(sample(), ContextSpec(), 10_000)
    assert text == build(sample(), ContextSpec(), 10_000)
    assert text.index("## Notebook so far") < text.index("## Variables in the kernel")
    assert text.index("x = 3") < text.index("x * 2") < text.index("print('hi')")
    assert "Output:\n```\n6\n```" in text
    assert "Imported modules: pd (json)" in text
    assert "- loud: tests.Loud" in text and "_private" not in text and "In:" not in text


def test_budget_keeps_the_most_recent_cells():
    inputs = [""] + [f"value_{i} = {i}  # " + "pad " * 20 for i in range(100)]
    gathered = ctx.gather(inputs, {}, {}, {}, 101, {})
    text = build(gathered, ContextSpec(), 300)
    assert words(text) <= 300
    assert "value_99" in text and "value_0 " not in text
    assert "older cells are not shown" in text


@pytest.mark.parametrize("spec,has_cells,has_vars", [
    ("all", True, True), ("vars", False, True), ("none", False, False), ("1", True, True)])
def test_context_spec(spec, has_cells, has_vars):
    text = build(sample(), ContextSpec.parse(spec), 10_000)
    assert ("## Notebook so far" in text) == has_cells
    assert ("## Variables" in text) == has_vars
    if spec == "1":
        assert "print('hi')" in text and "x * 2" not in text


@pytest.mark.parametrize("bad", ["some", "-1", "1.5", ""])
def test_context_spec_rejects(bad):
    with pytest.raises(ValueError, match="--context must be"):
        ContextSpec.parse(bad)


def test_large_outputs_are_clipped_head_and_tail():
    gathered = ctx.gather(["", "big"], {1: "x" * 50 + "y" * 5000 + "z" * 50}, {}, {}, 2, {})
    cell = render_cell(gathered.cells[0])
    assert len(cell) < 400  # the output summary is bounded before rendering
    gathered.cells[0].output = "a" * 600 + "b" * 5000 + "c" * 600
    cell = render_cell(gathered.cells[0])
    assert "aaa" in cell and "ccc" in cell and "characters cut" in cell and len(cell) < 1500


def test_summaries_of_common_types():
    import numpy as np
    import pandas as pd
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert summarize(df) == "pandas.DataFrame shape=(2, 2) columns: a (int64), b (object)" or \
        summarize(df) == "pandas.DataFrame shape=(2, 2) columns: a (int64), b (str)"
    assert summarize(df["a"]) == "pandas.Series len=2 dtype=int64 name='a'"
    assert summarize(np.zeros((3, 4), dtype="float32")) == "numpy.ndarray shape=(3, 4) dtype=float32"
    assert summarize(list(range(100))) == "list len=100 [0, 1, 2, 3, …]"
    assert summarize({"k": 1}) == "dict len=1 keys: 'k'"
    assert summarize("s" * 100).endswith("(len 100)")
    assert summarize(10 ** 200) == "<int of 201 digits>"

    def f(a, b=2):
        return a

    assert summarize(f) == "function f(a, b=2)"
    assert summarize(Loud()) == "tests.Loud"  # its module, not its repr


def test_gathering_is_fast_on_a_big_notebook():
    import pandas as pd
    import numpy as np
    big = pd.DataFrame({"a": np.arange(10_000_000), "b": np.zeros(10_000_000)})
    namespace = {f"v{i}": i for i in range(99)}
    namespace["big"] = big
    inputs = [""] + [f"v{i} = {i}\nprint(v{i})" for i in range(200)]
    start = time.perf_counter()
    gathered = ctx.gather(inputs, {}, {}, {}, 201, namespace)
    build(gathered, ContextSpec(), 6000)
    elapsed = time.perf_counter() - start
    assert "big: pandas.DataFrame shape=(10000000, 2)" in build(gathered, ContextSpec(), 6000)
    print(f"gather+render of 200 cells, 100 variables: {elapsed * 1000:.1f} ms")


def test_user_variables_skip_modules_private_and_hidden():
    import os

    variables, modules = user_variables({"os": os, "_x": 1, "a": 1, "hidden": 2}, hidden={"hidden"})
    assert variables == [("a", "1")] and modules == {"os": "os"}


def test_token_budget_leaves_room_for_every_round():
    assert token_budget(8192, 512, 3, fixed=200, feedback_tokens=400) == 8192 - 200 - 3 * 512 - 2 * 400 - 64
    assert token_budget(1024, 512, 3, fixed=200, feedback_tokens=400) == 0
