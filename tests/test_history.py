"""The prompt layout for KV-cache reuse: append-only history, forward-only cut, volatile part last."""
import pytest

from oci_magic.backends.base import Message
from oci_magic.context import notebook as ctx
from oci_magic.engine.prompting import history, names
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
    return with_system(context.parts + [task_section(task)])


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
    assert "## Earlier cells that define names used here" in shown.picked  # a part of its own, after the variables
    assert "def special_loader" in shown.picked
    unrelated = layout(inputs, window, 300, task="plot value_39")
    assert "special_loader" not in unrelated.text


def test_the_last_error_is_in_the_volatile_part():
    window = Kept()
    shown = layout(["", "x = 1", "1/0"], window, errors={2: "ZeroDivisionError: division by zero"})
    assert shown.volatile.endswith("## Last error\nZeroDivisionError: division by zero\n\n")
    assert "This cell raised: ZeroDivisionError" in "".join(shown.history)


def test_defined_names():
    assert names.defined_names("import numpy as np\nfrom a.b import c\nx, (y, z) = 1, (2, 3)\n"
                                 "def f(): pass\nclass K: pass\nfor i in []: pass\nw += 1") == \
        {"np", "c", "x", "y", "z", "f", "K", "i", "w"}
    assert names.defined_names("this is not python") == frozenset()


def test_a_cell_uses_the_names_of_its_code_not_the_words_of_its_strings():
    cell = ("import json\nwith open('config.json') as f:\n    cfg = json.load(f)\n"
            "cfg['name'] = 'n/a'\nrows = [(r, a) for r, a in cfg['paths']]\n"
            "def label(s):\n    head = s.upper()\n    return prefix + head")
    assert names.used_names(cell) == {"json", "open", "f", "cfg", "rows", "label", "prefix"}
    assert names.used_names("%matplotlib inline\nplt.plot(xs)") == {"plt", "xs"}
    assert names.used_names("this is not (python") == {"this", "is", "not", "python"}  # read word by word


def test_a_task_does_not_name_its_files_quoted_phrases_or_english_letters():
    """In one session "Save cfg back to config.json" summarized an older ``config`` dict, and the
    dict key ``'name'`` in the cells an older loop variable ``name``; the 0.5B copied it."""
    assert "config" not in names.task_names("Save cfg back to config.json as JSON")
    assert not {"sales", "Monthly"} & names.task_names("Plot monthly_sales with the title 'Monthly sales'")
    assert "sales" in names.task_names("merge df with the 'sales' table")  # a quoted name may be one
    for task in ("keyed by day (e.g. 'Monday')", "in mean_by_region, a dict", "i.e. a list", "- a list of names"):
        assert not {"a", "e", "i"} & names.task_names(task), task
    assert {"a", "b"} <= names.task_names("the mean of (a, b)")


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


# --- focus: a notebook worked through with many %%oci cells -------------------------------------------------

SESSION = ["", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})", "%%oci\nsum a",
           "scores = {'x': 3}", "%%oci\nsort scores", "df = pd.DataFrame({'b': [5]})\nsales = [1, 2]", "%%oci\nlast",
           "prices = [3, 4]"]
SESSION_CODE = {2: "# sum a\ntotal = df['a'].sum()", 4: "# sort scores\nranked = sorted(scores)",
                6: "# last\nlast_total = sum(sales)"}
SESSION_NS = {"df": 1, "total": 3, "scores": {"x": 3}, "ranked": ["x"], "sales": [1, 2], "last_total": 3,
              "prices": [3, 4]}


def focused_layout(task, focus=True, inputs=SESSION, generated=SESSION_CODE, namespace=SESSION_NS, window=None):
    gathered = ctx.gather(inputs + ["CURRENT"], {}, {}, generated, len(inputs), namespace)
    return history.layout(gathered, ContextSpec(focus=focus), 10_000, words, words, window or history.Window(), task)


def test_focus_starts_with_the_new_data_since_the_last_run_and_adds_what_the_task_names():
    context, window = focused_layout("plot prices against scores")
    shown = "".join(context.history)
    assert shown == history.HEAD + "```python\nprices = [3, 4]\n```\n\n" and window.cut == 7  # headed as a fresh kernel's
    # the variables the shown cells use, then (after them: the task's own part) those the task names;
    # no older cell's code, no list of the other names
    assert "- prices: list" in context.volatile and "scores" not in context.volatile
    assert context.picked == "## Variables the task names\n- scores: dict len=1 keys: 'x'\n\n"
    for absent in ("scores = {'x': 3}", "last_total", "ranked", "also defined", "Earlier cells"):
        assert absent not in context.text


def test_a_follow_up_sees_the_last_run():
    """Nothing that makes new data ran since the last %%oci ("now as a bar chart"): it is shown."""
    context, window = focused_layout("now print it doubled", inputs=SESSION[:7] + ["print(last_total)"])
    shown = "".join(context.history)
    assert window.cut == 6 and "# last\nlast_total = sum(sales)" in shown and "print(last_total)" in shown
    assert "- last_total: 3" in context.volatile and "- sales: list" in context.volatile


def test_focus_shows_what_an_older_name_holds_not_the_cells_that_made_it():
    """In a session the cells before the start are often earlier answers that made up their own
    data; a plain word of the task ("a", "sales") names them as often as the task means them."""
    context, _ = focused_layout("print df and sales")  # cells 1 and 5 define df, 5 also sales
    assert "pd.DataFrame" not in context.text and "sum a" not in context.text
    assert "## Variables the task names\n- df: 1\n- sales: list" in context.picked
    unfocused, _ = focused_layout("print df and sales", focus=False)
    assert "'b': [5]" in unfocused.text  # without focus the newest cells are shown as before


def test_focus_changes_nothing_before_the_first_run():
    inputs = ["", "import pandas as pd", "df = pd.DataFrame({'a': [1]})", "other = 2"]
    namespace = {"df": 1, "other": 2}
    on, _ = focused_layout("sum df", True, inputs, {}, namespace)
    off, _ = focused_layout("sum df", False, inputs, {}, namespace)
    assert on == off and "- other: 2" in on.volatile


def test_a_run_after_new_data_is_laid_out_afresh_and_a_follow_up_continues(ip, magics, replay_file):
    path = replay_file(fenced("a = 1"), fenced("b = a + 1"), fenced("c = 3"))
    magics.replay_path, magics.focus = path, True
    ip.run_cell("first_data = [1, 2]", store_history=True)
    ip.run_cell("%%oci\nmake a", store_history=True)
    ip.run_cell("unrelated = 'x'", store_history=True)
    ip.run_cell("%%oci\nmake b", store_history=True)
    ip.run_cell("%%oci\nmake c", store_history=True)
    calls = magics.session.loaded_backend('replay').calls
    assert len(calls[1]) == 2  # system + one user message: laid out afresh, not continued
    second = calls[1][1].content  # new data since the first run: it starts there
    assert "unrelated = 'x'" in second and "make a" not in second and "first_data = [1, 2]" not in second
    assert "first_data" not in second and "## Notebook so far\n" in second  # as a fresh kernel would show it
    # right after the second run, nothing new: a follow-up, which continues that run's conversation
    assert tuple(calls[2][: len(calls[1]) + 1]) == (*calls[1], Message.of("assistant", fenced("b = a + 1")))
    assert calls[2][-1].content.endswith("## Task\nmake c") and "make a" not in calls[2][-1].content


def test_prefill_reads_a_focused_prompt_up_to_what_the_task_picks():
    import dataclasses

    from oci_magic.engine.prompting.build import Tokens, first_prompt
    from oci_magic.engine.prompting.turns import Conversation

    gathered = ctx.gather(SESSION + ["CURRENT"], {}, {}, SESSION_CODE, len(SESSION), SESSION_NS)
    settings = run_settings()
    settings = dataclasses.replace(settings, context=dataclasses.replace(settings.context, focus=True))
    earlier = Conversation((Message.of("system", "s"), Message.of("user", "u"), Message.of("assistant", "a")), 6,
                           model="m")
    tokens = Tokens(words, 8192, "m")
    ran, _ = first_prompt("plot prices against scores", gathered, history.Window(), earlier, settings, tokens)
    read, _ = first_prompt("", gathered, history.Window(), earlier, settings, tokens)
    assert len(ran) == len(read) == 2 and ran[0] == read[0]  # not continued: system + one user message
    common = read[1].parts[:-1]  # all but the (empty) task: the history, cell by cell, and the variables
    assert ran[1].parts[: len(common)] == common and len(ran[1].parts) == len(common) + 2
    assert "- scores: dict" in ran[1].parts[-2] and "scores" not in read[1].content  # what the task picks


def test_a_follow_up_laid_out_afresh_shows_the_last_run_and_what_its_names_hold():
    inputs = ["", "import pandas as pd", "prices = pd.DataFrame({'p': ['$1', '$2']})", "%%oci\nclean"]
    generated = {3: "# clean\nprices['value'] = prices['p'].str.strip('$').astype(float)"}
    context, _ = focused_layout("add tax to prices", True, inputs, generated, {"prices": 1})
    assert "prices['value']" in "".join(context.history)  # the last run, shown
    assert "- prices: 1" in context.volatile and "pd.DataFrame({'p'" not in context.text


def test_a_run_that_left_no_code_still_marks_where_the_focus_starts():
    inputs = ["", "old_table = [1, 2]", "%%oci\nsomething that failed", "fresh_table = [3, 4]"]
    context, window = focused_layout("sum fresh_table", True, inputs, {}, {"old_table": [1, 2], "fresh_table": [3, 4]})
    assert "".join(context.history) == history.HEAD + "```python\nfresh_table = [3, 4]\n```\n\n"
    assert "old_table" not in context.text


def test_the_inserted_code_run_again_is_still_a_follow_up():
    from oci_magic.engine.headers import inserted

    again = inserted("success", 1, 3, "m") + "\nlast_total = sum(sales)"
    gathered = ctx.gather(SESSION[:7] + [again, "CURRENT"], {}, {}, SESSION_CODE, 8, SESSION_NS)
    assert not history.new_data(gathered, ContextSpec(focus=True))  # continued, like a follow-up
    with_data = ctx.gather(SESSION[:7] + [again, "more = 1", "CURRENT"], {}, {}, SESSION_CODE, 9, SESSION_NS)
    assert history.new_data(with_data, ContextSpec(focus=True))


def test_a_plain_word_of_one_letter_does_not_name_a_variable():
    """In one session the 0.5B's answers copied the cell that made ``a`` (picked for "add a
    column") and each became the next one's source: a one-letter name counts written as code."""
    assert "a" not in names.task_names("Add a 3-day moving average as a column named ma3.")
    for task in ("print a[0]", "use `a`", "b = a + 1", "what is a.shape", "mean of (a, b)"):
        assert "a" in names.task_names(task), task
    assert {"df", "sales"} <= names.task_names("merge df with sales")
    inputs = ["", "a = [1, 2]", "%%oci\nmake a", "stock = [3]"]
    context, _ = focused_layout("Add a moving average of stock", True, inputs, {2: "# make a\na = [1, 2]"},
                                {"a": [1, 2], "stock": [3]})
    assert "- a:" not in context.text and "- stock: list" in context.volatile


def test_an_older_variable_a_string_or_a_file_name_only_looks_like_is_not_summarized():
    inputs = ["", "config = {'db': 1}\nname = 'di'", "%%oci\nmake config", "import json",
              "with open('config.json') as f:\n    cfg = json.load(f)\ncfg['name'] = 'etl'"]
    context, _ = focused_layout("Save cfg back to config.json", True, inputs, {2: "config = {'db': 1}"},
                                {"config": {"db": 1}, "name": "di", "cfg": {"name": "etl"}})
    assert "- cfg: dict" in context.volatile
    assert "- config:" not in context.text and "- name:" not in context.text


def test_a_result_the_task_asks_for_is_not_shown_with_what_an_earlier_task_left_there():
    """In one session an earlier task's `ax` (a plot's Axes) and `staff` (another table) were
    shown under the names the next task asks to make; the small model drew on the old Axes and
    kept the old table's columns, which a fresh kernel never shows."""
    inputs = ["", "staff = {'dept': ['ops']}\nax = 'old plot'", "%%oci\nold task", "pets = ['cat']",
              "orders = [1, 1]"]
    namespace = {"staff": {"dept": ["ops"]}, "ax": "old plot", "pets": ["cat"], "orders": [1, 1]}
    for task in ("Attach the department names to pets and store the result in staff. Anyone unmatched stays in staff.",
                 "Make a bar chart of pets and store the Axes as ax."):
        context, _ = focused_layout(task, True, inputs, {2: "ax = 'old plot'"}, namespace)
        assert "- staff:" not in context.text and "- ax:" not in context.text and "- pets: list" in context.volatile
    for task in ("Drop the duplicates of staff and store the result in staff.",  # it reads staff too
                 "Store the names in staff, from the highest score to the lowest, in ranking (a list).",
                 "Sort staff by name and store the result in staff.", "plot staff"):
        context, _ = focused_layout(task, True, inputs, {2: "ax = 'old plot'"}, namespace)
        assert "- staff: dict" in context.picked, task
    unfocused, _ = focused_layout("Make a bar chart of pets and store the Axes as ax.", False, inputs,
                                  {2: "ax = 'old plot'"}, namespace)
    assert "- ax: 'old plot'" in unfocused.text  # without focus, every variable as before


def test_a_task_that_asks_for_a_new_function_is_not_a_follow_up(ip, magics, replay_file):
    """In one session the suite's function tasks (no data cell of their own) continued the last
    run's conversation: 1,000-4,500 tokens of earlier tasks where a fresh kernel sends 150."""
    path = replay_file(fenced("total = 3"), fenced("def slugify(t):\n    return t.lower()"), fenced("s = 1"),
                       fenced("u = 2"))
    magics.replay_path, magics.focus = path, True
    ip.run_cell("sales = [1, 2]", store_history=True)
    ip.run_cell("%%oci\nsum sales into total", store_history=True)
    ip.run_cell("%%oci\nWrite a function slugify(title) that lower-cases title, e.g. slugify('A') -> 'a'.",
                store_history=True)
    ip.run_cell("%%oci\nWrite a function that does the same for lists of titles.", store_history=True)
    ip.run_cell("%%oci\nWrite a function mean_of(values) that averages values, like total / len(sales).",
                store_history=True)
    calls = magics.session.loaded_backend('replay').calls
    assert len(calls[1]) == 2  # laid out afresh: system + one user message
    alone = calls[1][1].content
    assert "sum sales" not in alone and "total = 3" not in alone and "sales = [1, 2]" not in alone
    assert alone.endswith("## Task\nWrite a function slugify(title) that lower-cases title, e.g. slugify('A') -> 'a'.")
    assert len(calls[2]) > 2 and "def slugify" in calls[2][2].content  # "the same": a follow-up, continued
    assert len(calls[3]) == 2  # it names total and sales, which the last run ("s = 1") did not use: afresh
    assert "- total: 3" in calls[3][1].content and "- sales: list" in calls[3][1].content  # what they hold
    from oci_magic.context.notebook import Cell
    from oci_magic.engine.prompting.history import stands_alone
    run = Cell("# sum\ntotal = sum(sales)", number=3, generated=True)
    assert stands_alone("Write a function is_even(n) that says whether n is even.", run)
    loop = Cell("# squares\nfor n in range(3):\n    print(sorted([n, total]))", number=3, generated=True)
    assert stands_alone("Write a function is_even(n) that returns whether n is even, as a sorted list.", loop)
    for task in ("Now wrap it in a function clean(df)", "Write a function like the one above for lists",
                 "Write a function that returns total doubled", "Make a bar chart of it", ""):
        assert not stands_alone(task, run), task


def test_a_parameter_of_the_function_the_task_asks_for_is_not_an_earlier_variable():
    """"Write a function moving_max(values, k)" after a task that left a list of strings in
    `values`: shown, the 0.5B parsed its parameter as that text."""
    inputs = ["", "values = ['1,200', '35']\ntext = 'Order ABC-1234'", "%%oci\nold task", "pets = ['cat']"]
    namespace = {"values": ["1,200", "35"], "text": "Order ABC-1234", "pets": ["cat"]}
    task = "Write a function moving_max(values, k) that returns the maxima of each window of k values of pets."
    context, _ = focused_layout(task, True, inputs, {2: "text = 'x'"}, namespace)
    assert "- values:" not in context.text and "- pets: list" in context.volatile
    assert history.asked_parameters("a function f(x, y=2, *args) and a function g()") == {"x", "y", "args"}
    assert history.asked_parameters("plot mean(sales)") == set()  # a call, not a function asked for
    context, _ = focused_layout("Print values and text", True, inputs, {2: "text = 'x'"}, namespace)
    assert "- values: list" in context.picked  # named, not a parameter: shown


def test_a_plain_word_names_an_older_variable_only_where_the_task_means_one():
    """In one session every word of a task that named an earlier task's variable ("Some *people*
    are in contacts twice", "out of *stock* (*stock* 0)", "phone *numbers* like the ones in
    samples") summarized that variable under the task; the 0.5B used it. A fresh kernel shows
    none of them."""
    about_view = [("Some people are in contacts twice because their email was typed differently", "people"),
                  ("List the items of inventory that are out of stock (stock 0), sorted", "stock"),
                  ("turns phone numbers like the ones in samples into the form '555-123-4567'", "numbers"),
                  ("raw is the JSON body of a response. Make a DataFrame users", "body"),
                  ("Store the names in scores, from the highest score to the lowest, in ranking (a list).", "a"),
                  ("add a column value to orders with it applied to amount", "value")]
    for task, word in about_view:
        assert word not in names.older_names(task, names.task_names(task), "joined"), task
    # a second table joined to the one in view, or any name written as code, still counts
    for task, name in [("merge contacts with people on email", "people"), ("plot prices against scores", "scores"),
                       ("compare people's ages in contacts", "people"), ("add by_team's totals to games", "by_team"),
                       ("divide prices by len(sales)", "sales"), ("use `stock` for the counts", "stock")]:
        assert name in names.older_names(task, names.task_names(task), "joined"), task
    # about nothing in view, a plain word likely is what the task works on -- but not after "a", "each", "as" ...
    assert names.older_names("plot sales by month", {"sales"}, "word") == {"sales"}
    assert names.older_names("print the total", {"total"}, "word") == {"total"}
    assert not names.older_names("temp and rain must come out as numbers", {"numbers"}, "word")
    assert not names.older_names("count the words in each line", {"line"}, "word")
    # a function task that stands alone: only what it writes as code
    assert names.older_names("like total / len(sales)", {"total", "sales", "like"}, "never") == {"total", "sales"}
    assert not names.older_names("returns the text of each line", {"text", "line"}, "never")


def test_a_focused_prompt_summarizes_no_older_variable_a_task_only_says_as_a_word():
    import pandas as pd

    inputs = ["", "import pandas as pd\npeople = pd.DataFrame({'name': ['al']})", "%%oci\ntidy names",
              "contacts = pd.DataFrame({'email': ['a@x', 'A@x ']})"]
    namespace = {"people": pd.DataFrame({"name": ["al"]}), "contacts": pd.DataFrame({"email": ["a@x", "A@x "]})}
    generated = {2: "# tidy names\npeople['name'] = people['name'].str.title()"}
    context, _ = focused_layout("Some people are in contacts twice. Keep the first row per email.", True, inputs,
                                generated, namespace)
    assert "- contacts: pandas.DataFrame" in context.volatile and "people" not in context.text.split("## Notebook")[1]
    assert not context.picked  # no "Variables the task names"
    joined, _ = focused_layout("Merge contacts with people on the email.", True, inputs, generated, namespace)
    assert joined.picked.startswith("## Variables the task names\n- people: pandas.DataFrame")


def test_a_focused_prompt_lists_the_modules_its_cells_use():
    """In one session the modules line grew by every module an earlier answer imported (json, re,
    random ...), and that line alone turned the 0.5B's answers to later tasks; a fresh kernel lists
    what its cells imported."""
    import json
    import re

    inputs = ["", "import json, re", "%%oci\nparse it", "import pandas as pd\nsales = pd.Series([1, 2])"]
    namespace = {"json": json, "re": re, "pd": pd_module(), "sales": [1, 2]}
    focused, _ = focused_layout("sum sales", True, inputs, {2: "# parse it\nx = json.loads('1')"}, namespace)
    assert "Imported modules: pd (pandas)\n" in focused.volatile and "json" not in focused.volatile
    unfocused, _ = focused_layout("sum sales", False, inputs, {2: "# parse it\nx = json.loads('1')"}, namespace)
    assert "Imported modules: json, pd (pandas), re\n" in unfocused.volatile


def pd_module():
    import pandas

    return pandas


def test_a_run_that_kept_no_code_does_not_make_the_next_function_task_a_follow_up():
    """In one session a failed function task left its %%oci cell with no code; the next task
    ("Write a function group_anagrams(words) that returns ... a list of lists") shared words with
    that cell's task text, which were read as names: it was shown that cell and the variables its
    words spelled (`a`, `name`, `values`) where a fresh kernel shows nothing."""
    from oci_magic.context.notebook import Cell
    from oci_magic.engine.prompting.history import stands_alone

    failed = Cell("%%oci --rounds 3\nWrite a function fill(template, values) that replaces each {name} in template",
                  number=4, generated=True)
    assert names.used_names(failed.source) == frozenset()
    assert stands_alone("Write a function group_anagrams(words) that returns the groups of values in each name", failed)
    assert names.used_names("%%time\ntotal = sum(xs)") == {"total", "sum", "xs"}  # a Python body still counts
