"""Checks of code that ran (engine/checks.py), the facts at a failure (execution/facts.py), and
both through the loop and the magic: a miss is fed back, and the next try starts from the user's
names as they were."""
import pytest

from oci_magic.engine import checks, notes
from oci_magic.engine.checks import check, recreated, targets
from oci_magic.engine.records import Undone
from oci_magic.execution import rollback as rb
from oci_magic.execution.executor import NamespaceExecutor, is_cell
from oci_magic.execution.facts import failure_facts
from oci_magic.execution.result import Execution

from .conftest import fenced
from .test_review import ran as guarded


@pytest.mark.parametrize("task,names", [
    ("Compute the 3-day rolling mean of sales and store it in rolling.", ["rolling"]),
    ("Save their names, sorted, as a list called inactive.", ["inactive"]),
    ("Put the result into `top3`.", ["top3"]),
    ("Group by team and keep it as a DataFrame named by_team", ["by_team"]),
    ("Add a 3-day moving average to stock as a column named ma3.", []),  # a column, not a variable
    ("Convert the price column of prices to floats, in place.", []),
    ("Store the names of the three highest scorers in scores as a list called top3", ["top3", "scores"]),
])
def test_targets_are_the_names_the_task_asks_for(task, names):
    assert targets(task) == names


def test_only_unmistakable_names_must_change():
    assert targets("Store the highest scorers in scores as a list called top3", strong_only=True) == ["top3"]


def ran(**fields):
    return Execution(ok=True, **fields)


def test_a_missing_name_is_named_with_what_was_made_instead():
    missed = check("Store the 3-day rolling mean in rolling.", "rolling_mean_3_days = 1",
                   ran(created=["rolling_mean_3_days"]), {"sales"}.__contains__)
    assert missed.startswith("The task asks for `rolling`, but the code did not create it (it created "
                             "`rolling_mean_3_days`)")


def test_the_one_result_made_under_another_name_is_shown_assigned():
    """The 1.5B in one session wrote `monthly_sales` three rounds running, told each time that the
    task asks for `monthly`; the note shows the one line that stores it. An import or a function
    the code made is no candidate; two data names are not guessed between."""
    code = "from datetime import datetime\ndef month(d):\n    return d.month\nmonthly_sales = 1"
    missed = check("Keep the total per month in monthly.", code, ran(created=["datetime", "month", "monthly_sales"]),
                   {"sales"}.__contains__)
    assert missed == ("The task asks for `monthly`, but the code did not create it (it created `datetime`, `month`, "
                      "`monthly_sales`). Store the result in `monthly` (if `monthly_sales` is it: "
                      "`monthly = monthly_sales`)."), missed
    missed = check("Keep the total per month in monthly.", "a = 1\nb = 2", ran(created=["a", "b"]), {"sales"}.__contains__)
    assert missed.endswith("Store the result in `monthly`."), missed


def test_a_result_left_as_an_earlier_task_made_it_is_a_miss():
    """A session loss (0.5B): with an earlier plot's `ax` in the kernel, a bar chart drawn with
    plt.bar and no `ax` of its own passed every check on the old Axes (0 bars)."""
    exists = {"ax", "pets", "staff"}.__contains__
    code = "plt.bar(pets.index, pets.values)"
    for task in ("Make a bar chart of pets and store the Axes as ax.", "Draw pets as bars; keep the Axes in a variable ax."):
        missed = check(task, code, ran(shown=True), exists)
        assert missed and missed.startswith("`ax` is unchanged, but the task asks to store the result in it"), task
        assert check(task, "ax = pets.plot.bar()", ran(changed=["ax"]), exists) is None
    task = "Attach the department names to pets and store the result in staff."
    assert "`staff` is unchanged" in check(task, "print(pets)", ran(shown=True), exists)
    for task in ("Drop the duplicates of staff and store the result in staff.",  # reads it: may be left as it was
                 "Add a title to ax.", "Show staff."):
        assert check(task, "print(staff)", ran(shown=True), exists) is None, task
    missed = check("Make a bar chart of pets and store the Axes as ax.", code, ran(shown=True), {"pets"}.__contains__)
    assert missed.startswith("The task asks for `ax`, but the code did not create it")  # a fresh kernel: as before


def test_in_place_that_changed_nothing():
    task = "Fill the missing ages in people in place."
    assert check(task, "people['age'].fillna(1)", ran(shown=True, unchanged=["people"]), {"people"}.__contains__)
    assert check(task, "people['age'] = people['age'].fillna(1)", ran(changed=["people"]), {"people"}.__contains__) is None


def test_a_pandas_copy_warning_is_a_miss():
    missed = check("Fill the missing ages.", "df['age'].fillna(0, inplace=True)",
                   ran(warnings=["ChainedAssignmentError: A value is trying to be set on a copy"]), {"df"}.__contains__)
    assert "changed a copy" in missed


def test_a_copy_warning_names_the_codes_own_call_assigned_back():
    """The 1.5B, told "assign the result back (df['col'] = df['col'].fillna(...))", wrote its
    inplace call again or dropped the fill; shown its own call assigned back, it has the line."""
    code = ("med = passengers.groupby('pclass')['age'].transform('median')\n"
            "passengers['age'].fillna(med, inplace=True)")
    missed = check("Fill in the missing ages in passengers (in place).", code,
                   ran(warnings=["ChainedAssignmentError: A value is being set on a copy."]), {"passengers"}.__contains__)
    assert ("Assign the result back instead of inplace=True on a column: "
            "`passengers['age'] = passengers['age'].fillna(med)`.") in missed, missed
    assert checks.assigned_back("df.loc[:, 'x'].replace('a', 'b', inplace=True)") == \
        "df.loc[:, 'x'] = df.loc[:, 'x'].replace('a', 'b')"
    assert checks.assigned_back("df.fillna(0, inplace=True)") is None  # the table itself: no copy
    assert checks.assigned_back("df['a'].fillna(0, inplace=False)") is None


def test_code_that_did_nothing_and_code_that_wrote_a_file():
    assert "did nothing visible" in check("Sort df by date.", "df.sort_values('date')", ran(), {"df"}.__contains__)
    assert check("Save df to out.csv.", "df.to_csv('out.csv')", ran(wrote=["out.csv"]), {"df"}.__contains__) is None


def test_recreating_a_user_variable_from_literals():
    code = ("import pandas as pd\nprices = pd.DataFrame({'item': ['a'], 'price': ['$1']})\n"
            "y = pd.DataFrame(shape=(4, 2))\nfresh = [1, 2, 3]\ndf = pd.DataFrame(prices)")
    assert recreated(code, {"prices", "y", "df"}.__contains__) == ["prices", "y"]
    # a note where the round fails anyway, never a miss on its own (the copy may equal the data)
    exists = {"prices", "y", "df"}.__contains__
    assert check("Show prices.", code, ran(shown=True, changed=["prices", "y"]), exists) is None
    failed = Execution(ok=False, ename="KeyError")
    assert check("Show prices.", code, failed, exists).startswith("Also: the code re-creates `prices`, `y` from literal")


def _no_file(path: str) -> Execution:
    try:
        open(path)
    except FileNotFoundError as error:
        return Execution(ok=False, ename="FileNotFoundError", evalue=str(error))
    raise AssertionError(f"{path} exists")


def test_a_file_that_is_not_there_is_answered_with_what_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales_2024.csv").write_text("a\n1\n")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "data").mkdir()
    exists = {"orders"}.__contains__
    # a variable of that name: the data is in memory (a session's 0.5B read orders.csv for `orders`)
    assert check("Count the orders per month.", "orders = pd.read_csv('orders.csv')", _no_file("orders.csv"),
                 exists).startswith("There is no file 'orders.csv': the data is already in the kernel as `orders`.")
    # CSV text passed as a path
    assert "io.StringIO(text)" in check("Read raw.", "pd.read_csv(raw)", _no_file("a;b\n1;2\n"), exists)
    assert "io.StringIO(text) (JSON text: json.loads(text))" in check("Read raw.", "pd.read_json(raw)",
                                                                     _no_file('[{"a": 1}]'), exists)
    # a name a little off: the files there with that extension
    assert check("Load sales.", "", _no_file("sales.csv"), exists) == \
        "There is no file 'sales.csv'; the working folder has: sales_2024.csv."
    assert check("Load it.", "", _no_file("data/x.json"), exists) == \
        "There is no file 'x.json', and the folder 'data' has no .json files: use the data the notebook holds in its variables."
    assert check("Load it.", "", _no_file("nowhere/x.csv"), exists) == "There is no folder 'nowhere'."
    # other errors, and a file error that names no path: nothing added
    assert check("Load it.", "", Execution(ok=False, ename="KeyError", evalue="'orders.csv'"), exists) is None
    assert check("Load it.", "", Execution(ok=False, ename="FileNotFoundError", evalue="gone"), exists) is None


def test_the_note_on_a_missing_file_reaches_the_model(ip, magics, replay_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ip.user_ns["orders"] = [3, 1]
    path = replay_file(fenced("orders = open('orders.csv').read().split()\nn = len(orders)"),
                       fenced("n = len(orders)"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Store the number of orders in n.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["error", "ok"] and ip.user_ns["n"] == 2
    assert "the data is already in the kernel as `orders`. Use `orders` as it is" in result.rounds[0].feedback


def test_an_in_place_sort_is_a_change(ip, magics, replay_file):
    import pandas as pd

    ip.user_ns["events"] = pd.DataFrame({"when": [3, 1, 2]})
    path = replay_file(fenced("events.sort_values('when', inplace=True)"))
    ip.run_cell_magic("oci", f"--replay {path}", "Sort events by when, in place.")
    assert magics.session.last_result.outcome == "success" and list(ip.user_ns["events"]["when"]) == [1, 2, 3]


def test_facts_name_what_the_failing_line_worked_on():
    ns = {"sales": {"north": 1, "south": 2}, "region": "nort"}
    execution = NamespaceExecutor(ns).execute("x = 1\ntotal = sales[region]")
    assert execution.ename == "KeyError"
    assert "`sales` is dict len=2 keys: 'north', 'south'" in execution.facts
    assert "`sales` has no 'nort'; its keys are: 'north', 'south'" in execution.facts
    assert "closest: north (closest to 'nort')" in execution.facts
    named = NamespaceExecutor({"revenue": 1}).execute("print(revenu)")
    assert "defined names include: revenue (closest to 'revenu')" in named.facts


def test_a_missing_column_is_noted_with_what_the_table_has():
    """KeyError on a column: the check's note (fed back whatever `facts` says) names the table that
    lacks it and its columns; on a merge, also the table that has it and how to join the two."""
    pd = pytest.importorskip("pandas")
    ns = {"pd": pd, "customers": pd.DataFrame({"customer": [101], "name": ["Acme"]}),
          "orders": pd.DataFrame({"order_id": [1], "cust_id": [101]})}
    code = "merged = pd.merge(customers, orders, on='cust_id', how='left')"
    note = check("t", code, NamespaceExecutor(ns).execute(code), ns.__contains__)
    assert note == ("`customers` has no 'cust_id'; its columns are: 'customer', 'name'; `orders` has 'cust_id'. "
                    "To join on key columns with different names, use left_on= and right_on=.")
    code = "inactive = customers[~customers['order_id'].isin(orders['order_id'])]"
    note = check("t", code, NamespaceExecutor(ns).execute(code), ns.__contains__)
    assert note == "`customers` has no 'order_id'; its columns are: 'customer', 'name'."  # no join: no advice
    code = "x = customers.loc[7, 'name']"  # a row label, not a column: no note of columns
    assert check("t", code, NamespaceExecutor(ns).execute(code), ns.__contains__) is None
    code = "x = {'a': 1}['b']"  # nothing named on the line holds keys: no note of ours
    assert check("t", code, NamespaceExecutor(ns).execute(code), ns.__contains__) is None


def test_facts_never_break_the_feedback():
    class Broken:
        def __len__(self):
            raise RuntimeError("no")

    execution = NamespaceExecutor({"b": Broken()}).execute("b.missing_attribute")
    assert execution.ename == "AttributeError"  # and no crash building the facts
    try:
        raise ValueError("x")
    except ValueError as error:
        assert failure_facts(error, is_cell) == []  # no notebook frame: nothing to say


TO_MINUTES = "def to_minutes(s):\n    h, m = s.split(':')\n    return int(h) * 60 + int(m)\n"
CALLS = "calls = pd.DataFrame({'caller': list('abcde'), 'duration': ['1:30', None, '0:45', 'n/a', '2:05']})\n"


def _applied(code: str, namespace=None):
    pd = pytest.importorskip("pandas")
    namespace = {"pd": pd} if namespace is None else namespace
    NamespaceExecutor(namespace).execute(TO_MINUTES + CALLS)  # as cells: the function is the notebook's
    return NamespaceExecutor(namespace).execute(code), namespace


def test_a_function_applied_to_a_column_is_told_every_value_it_fails_on():
    execution, namespace = _applied("calls['minutes'] = calls['duration'].apply(to_minutes)")
    assert execution.ename == "AttributeError"  # the first value met: NaN
    said = check("Use to_minutes to add a minutes column to calls.", "", execution, namespace.__contains__)
    assert said.startswith("`to_minutes` fails on 2 of the 5 values of `calls['duration']`: nan (row 1: AttributeError: "
                           "'float' object has no attribute 'split'), 'n/a' (row 3: ValueError: not enough values")
    assert "minutes" not in namespace["calls"]
    # .map, and a Series by its own name
    execution, namespace = _applied("d = calls['duration']\nm = d.map(to_minutes)")
    assert any(f.startswith("`to_minutes` fails on 2 of the 5 values of `d`") for f in execution.facts)


@pytest.mark.parametrize("code", [
    "to_minutes(calls['duration'][3])",  # no apply on the line
    "calls['minutes'] = calls['duration'].apply(lambda s: to_minutes(s))",  # not a function by name
    "calls['duration'].apply(to_minutes, by_row=7)",  # raised in pandas, before the function ran
])
def test_no_apply_fact_where_no_function_was_applied_to_a_column(code):
    execution, _ = _applied(code)
    assert not execution.ok and not any(" fails on " in f for f in execution.facts)


def test_a_function_that_hangs_on_a_value_is_not_waited_for():
    slow = "import time\ndef slow(s):\n    if s == '0:45':\n        time.sleep(30)\n    return s.upper()\n"
    namespace = {"pd": pytest.importorskip("pandas")}
    NamespaceExecutor(namespace).execute(slow)
    execution, _ = _applied("calls['duration'].apply(slow)", namespace)
    assert execution.ename == "AttributeError" and not any(" fails on " in f for f in execution.facts)


def test_the_values_it_fails_on_reach_the_model(ip, magics, replay_file):
    ip.run_cell("import pandas as pd\n" + TO_MINUTES + CALLS)
    path = replay_file(fenced("calls['minutes'] = calls['duration'].apply(to_minutes)"),
                       fenced("def safe(s):\n    try:\n        return to_minutes(s)\n    except (AttributeError, ValueError):\n"
                              "        return float('nan')\ncalls['minutes'] = calls['duration'].apply(safe)"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Use to_minutes to add a minutes column to calls.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["error", "ok"]
    assert "`to_minutes` fails on 2 of the 5 values of `calls['duration']`" in result.rounds[0].feedback
    assert ip.user_ns["calls"]["minutes"].tolist()[::2] == [90, 45, 125]


def test_a_miss_goes_back_and_the_next_try_starts_from_the_users_names(ip, magics, replay_file):
    ip.user_ns["sales"] = [3, 1, 2]
    path = replay_file(fenced("sales = sorted(sales)\nrolling_mean = 2"), fenced("rolling = sum(sales) / 3"))
    ip.run_cell_magic("oci", f"--replay {path}", "Store the mean of sales in rolling.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["incomplete", "ok"] and result.outcome == "success"
    assert "The task asks for `rolling`, but the code did not create it (it created `rolling_mean`)" in result.rounds[0].feedback
    assert ip.user_ns["sales"] == [3, 1, 2] and "rolling_mean" not in ip.user_ns  # round 1 undone
    assert result.rounds[1].undone == Undone(1, ("sales",), ("rolling_mean",))  # said by the round that undid it
    assert ip.user_ns["rolling"] == 2


def test_when_no_round_passes_the_last_code_that_ran_is_kept(ip, magics, replay_file):
    path = replay_file(fenced("total = 1"), fenced("1/0"), fenced("total = 2"))
    ip.run_cell_magic("oci", f"--replay {path}", "Store the answer in `answer`.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["incomplete", "error", "incomplete"]
    assert result.outcome == "unverified" and result.final_round.index == 3 and ip.user_ns["total"] == 2
    assert result.summary().startswith("kept round 3 of 3: its code ran, but the task asks for `answer`")
    assert "missed a check" in ip.rl_next_input


def test_a_missed_round_undone_before_tries_that_all_failed_is_put_back_and_kept(ip, magics, replay_file, capsys):
    """Round 1 ran and did the task, but the check doubted it (the task names `answer`); round 2
    undid it and raised, round 3 raised too. The user keeps round 1: its names as it left them,
    its code as the cell, said in the summary and recorded."""
    import json
    jsonschema = pytest.importorskip("jsonschema")
    from oci_magic.engine.runrecord import build, load_schema

    ip.user_ns.update(sales=[3, 1, 2], tmp=0)
    first = "sales = sorted(sales)\ntotal = sum(sales)\ndel tmp"
    path = replay_file(fenced(first), fenced("answer = sales[9]"), fenced("answer = total / 0"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Sort sales and store the answer in `answer`.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["incomplete", "error", "error"]
    assert result.rounds[1].undone == Undone(1, ("sales", "tmp"), ("total",))
    assert result.outcome == "unverified" and result.final_round.index == 1
    assert ip.user_ns["sales"] == [1, 2, 3] and ip.user_ns["total"] == 6 and "tmp" not in ip.user_ns
    assert result.redone == Undone(1, ("sales", "total"), ("tmp",))
    assert "put back" in result.summary() and ip.rl_next_input.endswith(first)
    assert "the tries after round 1 failed; its changes were put back" in capsys.readouterr().out
    record = json.loads(json.dumps(build(result, magics.run_options().settings)))
    jsonschema.validate(record, load_schema())
    assert record["redone"]["round"] == 1 and record["final_round"] == 1


def test_without_redo_the_run_gives_up_with_the_names_as_before_it(ip, magics, replay_file, monkeypatch):
    ip.user_ns["sales"] = [3, 1, 2]
    path = replay_file(fenced("sales = sorted(sales)\ntotal = sum(sales)"), fenced("answer = sales[9]"),
                       fenced("answer = total / 0"))
    monkeypatch.setattr(magics, "redo", False)
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Sort sales and store the answer in `answer`.")
    result = magics.session.last_result
    assert result.outcome == "gave-up" and result.redone is None and result.final_round is None
    assert ip.user_ns["sales"] == [3, 1, 2] and "total" not in ip.user_ns


def test_the_last_missed_round_is_the_one_put_back(ip, magics, replay_file):
    """Two rounds ran and missed, each undone before the next try; the last try raised. The later
    of the two is kept, with its names, not the first's."""
    path = replay_file(fenced("total = 1\nfirst = True"), fenced("total = 2"), fenced("answer = 1/0"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Store the answer in `answer`.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["incomplete", "incomplete", "error"]
    assert result.outcome == "unverified" and result.final_round.index == 2 and result.redone.round == 2
    assert ip.user_ns["total"] == 2 and "first" not in ip.user_ns


def test_a_result_of_the_wrong_kind_goes_back_through_the_magic(ip, magics, replay_file):
    """The ``kind`` rule at the default settings, end to end: a DataFrame where the task says "a
    list called top3" is fed back, undone, and the next round's list is kept."""
    pd = pytest.importorskip("pandas")
    ip.user_ns["scores"] = pd.DataFrame({"name": ["ann", "bob", "dee"], "score": [88, 95, 91]})
    path = replay_file(fenced("top3 = scores.nlargest(3, 'score')"),
                       fenced("top3 = scores.nlargest(3, 'score')['name'].tolist()"))
    ip.run_cell_magic("oci", f"--replay {path}", "Store the names of the three best in scores as a list called top3.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["incomplete", "ok"] and result.outcome == "success"
    assert "the task asks for `top3` as a list, but it is not: `top3` is pandas.DataFrame" in result.rounds[0].feedback
    assert ip.user_ns["top3"] == ["bob", "dee", "ann"]


def test_data_written_out_again_that_is_not_what_the_kernel_held_is_a_miss():
    """The 1.5B in one session: `scores` rebuilt from its first cell, without the update a later
    cell made, then ranked -- it ran and looked done. Rebuilt with the same data it is no miss."""

    task = "Store the names in scores, from the highest score to the lowest, in ranking (a list)."
    namespace = {"scores": {"ann": 3, "bo": 5}}
    namespace["scores"]["ann"] += 10  # a later cell
    code = "scores = {'ann': 3, 'bo': 5}\nranking = sorted(scores, key=lambda k: -scores[k])"
    execution = guarded(code, namespace)
    assert execution.ok and execution.rewritten == ["scores"]
    missed = check(task, code, execution, namespace.__contains__)
    assert missed and "re-creates `scores` from literal data, and that is not what `scores` held" in missed, missed
    namespace = {"scores": {"ann": 3, "bo": 5}}
    execution = guarded(code, namespace)
    assert "scores" in execution.changed and execution.rewritten == []
    assert check(task, code, execution, namespace.__contains__) is None


def test_data_written_out_again_equal_then_changed_in_place_is_no_miss():
    """The 1.5B, round 3 of an in-place fill: it rebuilt `passengers` from the setup cell (equal
    data) and filled its missing ages -- right. What the name holds at the end differs from what
    the kernel held, as the task asks; the copy itself does not, so nothing is stale. A copy of a
    table a later cell changed is."""
    pd = pytest.importorskip("pandas")
    task = "Fill in the missing ages in passengers (in place) with the median age of passengers in the same pclass."
    setup = "passengers = pd.DataFrame({'pclass': [1, 1, 2, 2], 'age': [38, None, 28, None]})"
    code = (f"import pandas as pd\n{setup}\n"
            "passengers['age'] = passengers['age'].fillna(passengers.groupby('pclass')['age'].transform('median'))")
    namespace = {"pd": pd}
    exec(setup, namespace)
    execution = guarded(code, namespace)
    assert execution.ok and "passengers" in execution.changed and execution.rewritten == []
    assert check(task, code, execution, namespace.__contains__) is None
    namespace = {"pd": pd}
    exec(setup + "\npassengers.loc[0, 'age'] = 40", namespace)  # a later cell
    execution = guarded(code, namespace)
    assert execution.rewritten == ["passengers"]
    assert "re-creates `passengers` from literal data" in check(task, code, execution, namespace.__contains__)


def test_only_pandas_numpy_and_builtin_constructors_rebuild_a_copy():
    """Judging a copy builds it: only with dict, list and pandas'/numpy's constructors, never a
    function of the notebook's that happens to be called DataFrame."""
    from oci_magic.execution.literals import rewritten

    called = []
    namespace = {"DataFrame": lambda *a, **k: called.append(a) or [9], "rows": [1, 2]}
    code = "rows = DataFrame([1, 2])"
    assert rewritten(code, namespace, {"rows": rb.fingerprint([1, 2])}) == [] and called == []
    assert rewritten("rows = list([1, 3])", {}, {"rows": rb.fingerprint([1, 2])}) == ["rows"]
    assert rewritten("rows = list([1, 2])", {}, {"rows": rb.fingerprint([1, 2])}) == []


def test_a_name_looked_up_in_the_wrong_module_is_told_where_it_is():
    """The 1.5B wrote `pd.read_csv(pd.compat.StringIO(raw))` in all three rounds when told only the
    AttributeError; the note names the module that has it. A name no loaded module has gets none."""
    pd = pytest.importorskip("pandas")
    namespace = {"pd": pd, "raw": "a,b\n1,2\n"}
    execution = guarded("items = pd.read_csv(pd.compat.StringIO(raw))", namespace)
    assert not execution.ok and execution.ename == "AttributeError"
    missed = check("Read raw into a DataFrame called items.", "items = pd.read_csv(pd.compat.StringIO(raw))",
                   execution, namespace.__contains__)
    assert missed == "`StringIO` is not in `pandas.compat`; it is in `io`: use `from io import StringIO`.", missed
    execution = guarded("items = pd.read_excel_text(raw)", namespace)
    assert check("Read raw into items.", "items = pd.read_excel_text(raw)", execution, namespace.__contains__) is None
    other = Execution(ok=False, ename="AttributeError", evalue="'DataFrame' object has no attribute 'StringIO'")
    assert notes.moved_name_note(other) is None


def test_a_table_made_anew_without_a_key_the_kernels_has_is_told_so():
    """The 0.5B in one session copied the earlier cell's groupby (without the renaming that cell
    did) and then looked up `total_points`: told "`by_team` has no 'total_points'; its columns are
    'points', …", it made the table again three times. The kernel's own has the key: that is the note."""
    pd = pytest.importorskip("pandas")
    games = pd.DataFrame({"team": ["A", "B", "A"], "points": [10, 7, 12]})
    by_team = games.groupby("team").agg(total_points=("points", "sum"))
    namespace = {"pd": pd, "games": games, "by_team": by_team}
    code = "by_team = games.groupby('team').agg({'points': 'sum'})\nleader = by_team['total_points'].idxmax()"
    execution = guarded(code, namespace)
    assert execution.ename == "KeyError" and namespace["by_team"] is by_team  # put back
    missed = check("Store the team with the most total_points in by_team in leader.", code, execution, namespace.__contains__)
    assert missed == ("`by_team` in the kernel has 'total_points', but the code made it anew (without it): use `by_team` "
                      "as the kernel holds it; do not make it again."), missed
    code = "by_team.rename(columns={'total_points': 'tp'}, inplace=True)\nleader = by_team['total_points'].idxmax()"
    missed = check("Store the team with the most total_points in leader.", code, guarded(code, namespace), namespace.__contains__)
    assert missed.startswith("`by_team` has no 'total_points'; its columns are: 'tp'"), missed  # changed, not made anew
    code = "leader = by_team['points'].idxmax()"  # the kernel's own has no such column: the columns it has
    missed = check("Store the team with the most points in leader.", code, guarded(code, namespace), namespace.__contains__)
    assert missed.startswith("`by_team` has no 'points'; its columns are: 'total_points'"), missed
