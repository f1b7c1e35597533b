"""A later %%oci in a long notebook sees about what a fresh kernel would: the context is capped by
``context_tokens`` (the newest cells, older cells that define names the task uses, the variables,
the ones the task names with their summaries), and a conversation is continued only while it fits
that cap too."""
import dataclasses

from oci_magic.backends.base import Message
from oci_magic.context.notebook import Cell, NotebookContext
from oci_magic.engine.prompting import Tokens, first_prompt
from oci_magic.engine.prompting.history import Window
from oci_magic.engine.prompting.render import render_variables
from oci_magic.engine.prompting.turns import Conversation
from oci_magic.engine.settings import OciConfig

from .conftest import fenced, run_settings


def words(text):
    return len(text.split())


def long_notebook(tasks=60):
    """A session of ``tasks`` earlier tasks: each a setup cell with a table and its own variable."""
    cells, variables = [], []
    for i in range(tasks):
        cells.append(Cell(f"table_{i} = load('part {i}')\n" + "\n".join(f"# note {j} on table {i}" for j in range(8)),
                          output=" ".join(f"row{j}" for j in range(20)), number=2 * i + 1))
        cells.append(Cell(f"summary_{i} = table_{i}.describe()", number=2 * i + 2))
        variables += [(f"table_{i}", "DataFrame 20 rows x 3 columns: id, name, amount " * 2),
                      (f"summary_{i}", "DataFrame 8 rows")]
    return NotebookContext(cells, sorted(variables), {"pd": "pandas"}, None)


def uncapped():
    """The settings of ``context_tokens = 0``: all that n_ctx leaves."""
    settings = run_settings()
    return dataclasses.replace(settings, context=dataclasses.replace(settings.context, token_budget=None))


def prompt_for(task, notebook, settings, conversation=None, n_ctx=8192):
    messages, _ = first_prompt(task, notebook, Window(), conversation, settings, Tokens(words, n_ctx))
    return messages


def test_the_default_caps_a_long_sessions_context():
    notebook = long_notebook()
    task = "Add a column total to table_3 that doubles amount"
    capped = prompt_for(task, notebook, run_settings())
    whole = prompt_for(task, notebook, uncapped())
    assert OciConfig().context_tokens == 2048
    assert words(capped[1].content) <= 2048 + words(task) + 10
    assert words(whole[1].content) > 2 * words(capped[1].content)  # 0 / None: all that n_ctx leaves
    text = capped[1].content
    assert "summary_59 = table_59.describe()" in text  # the newest cells
    assert "table_3 = load('part 3')" in text  # an older cell that defines what the task names
    assert "- table_3: DataFrame" in text  # its variable with its summary, though the list is cut
    assert text.index("## Variables in the kernel") < text.index("table_3 = load('part 3')")  # task-picked last
    assert "table_40" in text  # the rest listed by name only
    assert text.endswith("## Task\n" + task)


def test_a_small_notebook_is_sent_whole_and_unchanged():
    notebook = long_notebook(tasks=3)
    task = "Plot table_1"
    assert prompt_for(task, notebook, run_settings()) == prompt_for(
        task, notebook, uncapped())


def test_the_cap_never_exceeds_what_n_ctx_leaves():
    notebook = long_notebook()
    small = prompt_for("Plot table_1", notebook, run_settings(), n_ctx=2048)
    # 3 rounds of 512 tokens and their feedback leave far less than 2,048 tokens of context
    assert words(small[1].content) < 400


def test_a_conversation_continues_only_while_it_fits_the_cap():
    notebook = long_notebook(tasks=2)
    transcript = (Message.of("system", "sys"), Message.of("user", "ctx + task 1"),
                  Message.of("assistant", fenced("a = 1")))
    short = Conversation(transcript, last_cell=4, variables=dict(notebook.variables), model=None)
    settings = run_settings()
    continued = prompt_for("next task", notebook, settings, short)
    assert continued[:3] == transcript  # continued: the transcript is kept as it was
    long_reply = Message.of("assistant", fenced("\n".join(f"x{i} = {i}" for i in range(1000))))
    grown = dataclasses.replace(short, messages=transcript[:2] + (long_reply,))
    fresh = prompt_for("next task", notebook, settings, grown)
    assert len(fresh) == 2 and "x900 = 900" not in fresh[1].content  # laid out afresh
    assert prompt_for("next task", notebook, uncapped(), grown)[:3] == grown.messages  # 0: fits n_ctx, continued


def test_variables_that_do_not_fit_are_still_named():
    context = NotebookContext([], [(f"v{i:02d}", "value " * 10) for i in range(30)], {}, None)
    text, rest = render_variables(context, 200, words)
    lines = text.splitlines()
    assert lines[0] == "## Variables in the kernel"
    assert [line.split(":")[0] for line in lines[1:-1]] == [f"- v{i:02d}" for i in range(len(lines) - 2)]
    assert rest == [f"v{i:02d}" for i in range(len(lines) - 2, 30)]  # the names whose summaries had no room
    assert lines[-1] == "- also defined (summaries left out): " + ", ".join(rest)  # listed bare
    assert words(text) <= 200
    tight, _ = render_variables(context, 60, words)
    assert tight.endswith("more") and words(tight) <= 60
    everything, none_left = render_variables(context, 10_000, words)
    assert none_left == [] and [line.split(":")[0] for line in everything.splitlines()[1:]] == [f"- v{i:02d}" for i in range(30)]


def test_prefill_reads_what_the_task_does_not_change():
    """Prefill lays the notebook out with no task; a run's task picks older cells and named variables.
    Those come after everything that does not depend on the task, so the prefilled prefix holds."""
    notebook = dataclasses.replace(long_notebook(), last_error="NameError: name 'x' is not defined")
    settings = run_settings()
    before = prompt_for("", notebook, settings)[1].content.split("## Task")[0]
    task = "Add a column total to table_3 that doubles amount"
    asked = prompt_for(task, notebook, settings)[1].content
    assert asked.startswith(before)  # history, variables and the last error: all read by prefill
    extra = asked[len(before):]
    assert "table_3 = load('part 3')" in extra  # the older cell the task needs, after the prefix
    assert "## Variables the task names\n- table_3: DataFrame" in extra  # its summary, though the list was cut
    assert "- table_3: DataFrame" not in before


def test_a_new_kernel_cuts_the_history_where_the_old_one_did():
    """The disk cache holds the old kernel's prompt; a kernel restarted on the same notebook must lay
    it out with the same cut, or its first %%oci reads the history again. The old kernel laid the
    notebook out after each cell (prefill); the new one sees all the cells at once."""
    from oci_magic.engine.prompting.history import select

    cells = long_notebook(40).cells
    window, budget = Window(), 600
    for n in range(1, len(cells) + 1):
        _, window = select(window, cells[:n], budget, words)
    assert window.cut > 1  # it did cut
    shown, fresh = select(Window(), cells, budget, words)
    assert fresh.cut == window.cut
    # and a kernel that laid it out only every few cells (cells run while prefill was busy) agrees too
    window = Window()
    for n in range(7, len(cells) + 1, 7):
        _, window = select(window, cells[:n], budget, words)
    _, window = select(window, cells, budget, words)
    assert window.cut == fresh.cut
    assert sum(words(c.source) for c in shown) <= budget
