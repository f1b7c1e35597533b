"""A reply's line that loads data the notebook already holds from a file that is not there is
left out before the code runs (engine/rereads.py): the rule, and through the loop and the magic."""
import json

import pytest

from oci_magic.engine.rereads import leave_out_rereads
from oci_magic.engine.runrecord import build, load_schema

from .conftest import fenced


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales.csv").write_text("a\n1\n")
    return tmp_path


def test_a_reread_of_data_in_memory_is_left_out_with_its_line_numbers_kept(folder):
    code = "import pandas as pd\norders = pd.read_csv('orders.csv')\nper_month = orders['date'].dt.month.value_counts()"
    out, left = leave_out_rereads(code, {"orders"})
    assert left == ("orders = pd.read_csv('orders.csv')",)
    assert out.split("\n")[1] == ("# orders = pd.read_csv('orders.csv')  # left out: `orders` is in memory and "
                                  "there is no file 'orders.csv'")
    assert len(out.split("\n")) == 3 and out.split("\n")[2] == code.split("\n")[2]
    # a call over several lines is left out whole
    out, left = leave_out_rereads("orders = pd.read_csv(\n    'orders.csv',\n    sep=';')\nn = len(orders)", {"orders"})
    assert out.startswith("# orders = pd.read_csv(\n#     'orders.csv',\n#     sep=';')  # left out") and len(left) == 1


@pytest.mark.parametrize("code,names", [
    ("orders = pd.read_csv('orders.csv')", set()),  # not in memory: the error says it
    ("sales = pd.read_csv('sales.csv')", {"sales"}),  # the file is there: reading it again is the user's call
    ("orders.to_csv('o.csv')\norders = pd.read_csv('o.csv')", {"orders"}),  # the code writes it first
    ("df = pd.read_json('[{\"a\": 1}]')", {"df"}),  # text, not a path: the error's note says so
    ("orders = pd.read_csv('orders.csv'); n = 1", {"orders"}),  # shares its line
    ("def load():\n    orders = pd.read_csv('orders.csv')", {"orders"}),  # inside a function: not run now
    ("orders = open('orders.csv').read()", {"orders"}),  # not a loader of data
    ("orders = pd.read_csv(path)", {"orders"}),  # no literal path
    ("orders = pd.read_csv('orders.csv'", {"orders"}),  # does not parse
])
def test_nothing_else_is_left_out(folder, code, names):
    assert leave_out_rereads(code, names) == (code, ())
    assert leave_out_rereads(code, None) == (code, ())  # names not known (a subprocess)


def test_through_the_magic_the_task_runs_on_the_variable_and_the_record_says_so(ip, magics, replay_file, folder, capsys):
    pd = pytest.importorskip("pandas")
    jsonschema = pytest.importorskip("jsonschema")
    ip.user_ns.update(pd=pd, orders=pd.DataFrame({"amount": [3, 4]}))
    path = replay_file(fenced("import pandas as pd\norders = pd.read_csv('orders.csv')\ntotal = orders['amount'].sum()"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Store the sum of orders' amount in total.")
    result = magics.session.last_result
    assert result.outcome == "success" and ip.user_ns["total"] == 7 and len(ip.user_ns["orders"]) == 2
    assert result.rounds[0].left_out == ("orders = pd.read_csv('orders.csv')",)
    assert "left out of the code (the data is in memory)" in capsys.readouterr().out
    assert "# orders = pd.read_csv('orders.csv')  # left out" in ip.rl_next_input
    record = json.loads(json.dumps(build(result, magics.run_options().settings)))
    jsonschema.validate(record, load_schema())
    assert record["rounds"][0]["left_out"] == ["orders = pd.read_csv('orders.csv')"]


def test_off_the_file_error_goes_back_as_before(ip, magics, replay_file, folder, monkeypatch):
    ip.user_ns["orders"] = [3, 4]
    path = replay_file(fenced("import pandas as pd\norders = pd.read_csv('orders.csv')\ntotal = sum(orders)"),
                       fenced("total = sum(orders)"))
    monkeypatch.setattr(magics, "rereads", False)
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Store the sum of orders in total.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["error", "ok"] and result.rounds[0].left_out == ()
    assert result.rounds[0].execution.ename == "FileNotFoundError" and ip.user_ns["total"] == 7


COPY = ("import pandas as pd\nstock = pd.DataFrame({'day': [1, 2, 3],\n                      'close': [10.0, 11.0, 9.5]})\n"
        "stock['signal'] = stock['close'] > stock['ma3']")
TASK = "Add a column signal to stock: True where close is above ma3."


def test_data_typed_in_again_for_a_name_the_task_reads_is_left_out():
    """The 0.5B re-created ``stock`` from the setup cell's literals, without the ``ma3`` column
    the task before had added (signal-vs-ma3); in 62 of 64 such lines of both models' fresh-kernel
    answers the copy equalled the data, so leaving it out changes nothing there."""
    out, left = leave_out_rereads(COPY, {"stock", "pd"}, TASK)
    assert left == ("stock = pd.DataFrame({'day': [1, 2, 3],\n                      'close': [10.0, 11.0, 9.5]})",)
    lines = out.split("\n")
    assert lines[1] == "# stock = pd.DataFrame({'day': [1, 2, 3],"
    assert lines[2].endswith("  # left out: `stock` is in memory; the task works on it as it is")
    assert len(lines) == len(COPY.split("\n")) and lines[3] == COPY.split("\n")[3]
    assert leave_out_rereads("xs = [3, 1, 2]\ntop = max(xs)", {"xs"}, "Store the largest of xs in top.")[1] == (
        "xs = [3, 1, 2]",)


@pytest.mark.parametrize("code,names,task", [
    (COPY, {"stock"}, None),  # copies off
    (COPY, set(), TASK),  # not in memory: the code makes it
    (COPY, {"stock"}, "Build a DataFrame called stock with three days of closing prices."),  # the task makes it
    (COPY, {"stock"}, "Create a DataFrame stock of three days and add a signal column."),  # the task makes it
    (COPY, {"stock"}, "Replace stock with three days of closing prices, then add a signal column."),
    ("text = ['Hello World']\nprint([slugify(t) for t in text])", {"text"},
     "Write a function slugify(title) that lower-cases the title"),  # a demo input the task never names
    ("def slugify(text):\n    return text.lower()\ntext = ['A B']\nprint(slugify(text[0]))", {"text"},
     "Write a function slugify(text) that lower-cases the text"),  # a parameter of the function asked for
    ("stock = load_stock()\nprint(stock)", {"stock"}, TASK),  # not data typed in
    ("stock = pd.DataFrame({'close': closes})", {"stock"}, TASK),  # built from a variable
    ("stock = pd.DataFrame({'close': [1.0, 2.0]}); print(stock)", {"stock"}, TASK),  # shares its line
])
def test_no_other_assignment_of_data_is_left_out(code, names, task):
    assert leave_out_rereads(code, names, task, files=False) == (code, ())


def test_through_the_magic_data_changed_after_its_cell_is_what_the_code_works_on(ip, magics, replay_file):
    pd = pytest.importorskip("pandas")
    ip.run_cell("import pandas as pd\nstock = pd.DataFrame({'day': [1, 2, 3], 'close': [10.0, 11.0, 9.5]})",
                store_history=True)
    ip.run_cell("stock['ma3'] = [None, None, 10.0]", store_history=True)  # after the cell that made it
    path = replay_file(fenced(COPY))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", TASK)
    result = magics.session.last_result
    stock = ip.user_ns["stock"]
    assert result.succeeded and list(stock.columns) == ["day", "close", "ma3", "signal"]
    assert list(stock["signal"]) == [False, False, False] and stock["ma3"].iloc[2] == 10.0
    assert result.rounds[0].left_out and "# left out: `stock` is in memory" in ip.rl_next_input


def test_off_the_copy_runs_as_written(ip, magics, replay_file, monkeypatch):
    pytest.importorskip("pandas")
    ip.run_cell("import pandas as pd\nstock = pd.DataFrame({'day': [1, 2, 3], 'close': [10.0, 11.0, 9.5]})\n"
                "stock['ma3'] = [None, None, 10.0]", store_history=True)
    monkeypatch.setattr(magics, "copies", False)
    ip.run_cell_magic("oci", f"--replay {replay_file(fenced(COPY))} --candidates 1 --rounds 1", TASK)
    result = magics.session.last_result
    assert result.rounds[0].execution.ename == "KeyError" and result.rounds[0].left_out == ()
