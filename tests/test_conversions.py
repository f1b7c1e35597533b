"""Numbers and dates written as text (oci_magic/conversions.py): a failed conversion is answered
with what stands in the way, read from the value the error names or the column the failing line
computed on -- from the errors pandas and Python really raise, through the checks and the magic."""
import datetime

import pytest

from oci_magic import conversions
from oci_magic.engine.checks import check
from oci_magic.engine.exercise import exercise
from oci_magic.execution.executor import NamespaceExecutor
from oci_magic.execution.result import Execution

from .conftest import fenced

pd = pytest.importorskip("pandas")


def raised(call) -> Execution:
    try:
        call()
    except Exception as exc:  # the message as the library words it, not as a test would type it
        return Execution(ok=False, ename=type(exc).__name__, evalue=str(exc))
    raise AssertionError("no error")


@pytest.mark.parametrize("call,said", [
    (lambda: pd.Series(["$1,200", "$35.50"]).astype(float),
     "'$1,200' is a number written as text with '$', ',' in it, which a number cannot hold: remove them before "
     "converting, e.g. text.replace('$', '').replace(',', '') for one value, .astype(str).str.replace(r'[$,]', '', regex=True) "
     "for a column"),
    (lambda: float("1.234,50 €"), "with '.', ' ', '€' in it, which a number cannot hold: remove them, then replace "
                                  "the decimal comma with '.' before converting"),
    (lambda: float("1,234.5"), "with ',' in it, which a number cannot hold: remove it before"),
    (lambda: pd.to_numeric(pd.Series(["12,5", "9,75"])), "'12,5' is a number written as text with a decimal comma: "
                                                           "replace ',' with '.'"),
    (lambda: pd.Series(["1,200", "3"]).astype(int), "with ',' in it, which a number cannot hold: remove it"),
    (lambda: float("45 %"), "remove them (divide by 100 for a fraction)"),
    (lambda: float("1.2k"), "(and scale the number if a letter is a unit, like k for thousands)"),
    (lambda: float("n/a"), "'n/a' is not a number: where it marks a missing value, treat such values as missing (NaN)"),
    (lambda: pd.to_datetime(pd.Series(["03/01/2024", "15/01/2024"])),
     "'15/01/2024' is a date written as text as %d/%m/%Y (the day comes first): parse it with format='%d/%m/%Y'"),
    (lambda: datetime.datetime.strptime("15/01/2024", "%m/%d/%Y"), "parse it with format='%d/%m/%Y'"),
    (lambda: pd.to_datetime(pd.Series(["2024-01-03", "unknown"])), "'unknown' is not a date: treat such values as missing"),
])
def test_a_failed_conversion_says_what_is_in_the_way(call, said):
    error = raised(call)
    assert said in conversions.from_error(error.ename, error.evalue)


def test_other_errors_get_no_advice():
    for call in (lambda: {}["a"], lambda: pd.Series([1]).astype("nope"), lambda: int("12", base=2),
                 lambda: datetime.datetime.strptime("99/99/2024", "%m/%d/%Y")):
        error = raised(call)
        assert conversions.from_error(error.ename, error.evalue) is None, error
    assert conversions.from_error("KeyError", "could not convert string to float: '$1'") is None
    # more than one number, or a name with a digit: removing characters would not make a number of it
    for text in ("3-4", "1h 30m", "u1", "data2024.csv"):
        error = raised(lambda: float(text))
        assert conversions.from_error(error.ename, error.evalue) is None, text


def test_arithmetic_on_text_columns_names_the_column_and_what_it_should_become():
    namespace = {"pd": pd,
                 "tickets": pd.DataFrame({"opened": ["2024-01-03", "2024-01-05"], "closed": ["2024-01-04", "2024-01-09"],
                                          "who": ["ann", "bo"]}),
                 "sales": pd.DataFrame({"amount": ["$10", "$20"], "region": ["north", "south"]})}
    failed = NamespaceExecutor(namespace).execute("tickets['days'] = tickets['closed'] - tickets['opened']")
    assert failed.ename == "TypeError"
    note = check("Add days_open to tickets.", "tickets['days'] = tickets['closed'] - tickets['opened']", failed,
                 namespace.__contains__)
    assert note == ("`tickets['closed']` holds text: '2024-01-04' is a date written as text as %Y-%m-%d: parse it "
                    "with format='%Y-%m-%d' (pd.to_datetime(..., format='%Y-%m-%d') on a column). "
                    "`tickets['opened']` holds text: '2024-01-03' is a date written as text as %Y-%m-%d: parse it "
                    "with format='%Y-%m-%d' (pd.to_datetime(..., format='%Y-%m-%d') on a column).")
    code = "share = sales['amount'] / sales['amount'].sum()"
    assert "`sales['amount']` holds text: '$10', '$20' are numbers written as text with '$' in them" in \
        check("Share of each amount.", code, NamespaceExecutor(namespace).execute(code), namespace.__contains__)
    # text that is no number or date (the model divided by the region): nothing to advise
    code = "share = sales['region'].sum() / 2"
    failed = NamespaceExecutor(namespace).execute(code)
    assert failed.ename == "TypeError" and check("Share.", code, failed, namespace.__contains__) is None
    # a numeric column: the error is elsewhere
    code = "x = tickets['who'] - 1"
    assert check("x", code, NamespaceExecutor(namespace).execute(code), namespace.__contains__) is None


@pytest.mark.parametrize("values,said", [
    (["21.5", "--", "19.0"], "'--' is not a number: where it marks a missing value, treat such values as missing"),
    (["21.5", "19.0"], "'21.5' and the values after it are numbers written as text: convert them with pd.to_numeric"),
    ([12, 40, "1,050"], "'1,050' is a number written as text with ',' in it"),  # text appended to numbers
    (["72 kg", "80kg"], "remove them (and scale the number if a letter is a unit, like k for thousands)"),
    (["n/a", "$3", "$4"], "'$3', '$4' are numbers written as text with '$' in them"),  # the marker first
    (["ann", "bo"], None), (["u1", "u2"], None), (["1h 30m", "45m"], None), (["a.csv", "b2.csv"], None),
])
def test_a_sum_over_a_column_of_text_is_told_what_the_text_is(values, said):
    namespace = {"pd": pd, "t": pd.DataFrame({"v": values})}
    code = "total = t['v'].sum() / 2"
    failed = NamespaceExecutor(namespace).execute(code)
    assert failed.ename == "TypeError", failed
    note = check("Half the total of v.", code, failed, namespace.__contains__)
    assert (note is None) if said is None else (said in note and note.startswith("`t['v']` holds text: ")), note


def test_a_conversion_that_cleaned_part_of_the_text_is_told_all_that_is_in_the_way():
    """The 1.5B in one session: its code removed '$' and failed on '1,200'; told to remove ',' it
    removed ',' alone and failed on '$1200', and so on for three rounds. The column as it still is
    (the failed assignment left it) says all of it."""
    namespace = {"pd": pd, "prices": pd.DataFrame({"price": ["$1,200", "$35.50", "$2,349.99"]})}
    for code in ("prices['price'] = prices['price'].str.replace('$', '').astype(float)",
                 "prices['price'] = pd.to_numeric(prices['price'].str.replace(',', ''))"):
        failed = NamespaceExecutor(namespace).execute(code)
        assert failed.ename == "ValueError"
        note = check("Convert the price column of prices to floats, in place.", code, failed, namespace.__contains__)
        assert note.startswith("`prices['price']` holds text: '$1,200', '$35.50', '$2,349.99' are numbers written as "
                               "text with '$', ',' in them, which a number cannot hold: remove them"), note
    # a marker of a missing value among the numbers is named beside them
    namespace = {"pd": pd, "survey": pd.DataFrame({"share": ["12.5%", "40%", "n/a"]})}
    code = "survey['frac'] = survey['share'].apply(lambda x: float(x.replace('%', ''))) / 100"
    note = check("frac", code, NamespaceExecutor(namespace).execute(code), namespace.__contains__)
    assert "'12.5%', '40%' are numbers written as text with '%' in them" in note
    assert "'n/a' is not a number: treat such values as missing (NaN)" in note


def test_a_function_called_on_the_tasks_example_gets_the_advice_too():
    code = "def to_number(s):\n    return float(s)\n"
    namespace = {}
    exec(code, namespace)
    said = exercise("Write to_number(s) that turns price text into a float, e.g. to_number('$1,299.99') -> 1299.99.",
                    code, namespace)
    assert "to_number('$1,299.99') raised ValueError" in said
    assert "'$1,299.99' is a number written as text with '$', ','" in said and said.endswith("Fix to_number so that it "
                                                                                            "works for such input.")


def test_the_advice_reaches_the_model_and_the_fix_keeps_the_users_data(ip, magics, replay_file):
    ip.user_ns["prices"] = pd.DataFrame({"item": ["a", "b"], "price": ["$1,200", "$35.50"]})
    path = replay_file(fenced("prices['price'] = prices['price'].astype(float)"),
                       fenced("prices['price'] = prices['price'].str.replace(r'[$,]', '', regex=True).astype(float)"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Convert the price column of prices to floats, in place.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["error", "ok"]
    assert "`prices['price']` holds text: '$1,200', '$35.50' are numbers written as text with '$', ','" in \
        result.rounds[0].feedback
    assert result.rounds[0].note.startswith("`prices['price']` holds text: ")  # kept for a restarted prompt
    assert ip.user_ns["prices"]["price"].tolist() == [1200.0, 35.5]


def test_with_facts_on_the_advice_is_said_once():
    from oci_magic.engine.prompting.feedback import error_feedback
    namespace = {"pd": pd, "prices": pd.DataFrame({"price": ["$1,200", "$35.50"]})}
    code = "prices['price'] = prices['price'].astype(float)"
    failed = NamespaceExecutor(namespace).execute(code)
    note = check("Convert the prices.", code, failed, namespace.__contains__)
    said = error_feedback(failed, 2000, True, note)
    assert said.count("are numbers written as text") == 1 and "`prices` is pandas.DataFrame" in said


def test_pandas_replace_meant_for_a_character_is_named():
    """The 0.5B, three rounds on `dollar-prices-to-float`: `.str.replace('$', '').replace(',', '')`
    -- the second replace is pandas' Series.replace, which swaps whole values, so '1,200' stays
    and the conversion fails on it. The note names that call and the one that removes ','."""
    namespace = {"pd": pd, "prices": pd.DataFrame({"price": ["$1,200", "$35.50"]})}
    code = ("prices['price'] = prices['price'].str.replace('$', '').replace(',', '')\n"
            "prices['price'] = prices['price'].astype(float)")
    failed = NamespaceExecutor(namespace).execute(code)
    assert failed.ename == "ValueError"
    note = check("Convert the price column of prices to floats, in place.", code, failed, namespace.__contains__)
    assert ("`prices['price'].str.replace('$', '').replace(',', '')` is pandas' replace: it swaps whole values equal "
            "to ',' and leaves text that only contains ',' as it was. To remove ',' inside each value, use "
            "`.str.replace(',', '', regex=False)`.") in note, note
    assert "holds text: '1,200'" in note  # and what the column holds now, as before
    # a column of the table, replaced in place; a string's own replace (a row of a list of dicts) and
    # a whole value that is a word ('n/a') are not pandas' mistake
    code = "prices['price'] = prices['price'].replace('$', '').astype(float)"
    assert "is pandas' replace" in check("x", code, NamespaceExecutor(namespace).execute(code), namespace.__contains__)
    namespace["rows"] = [{"price": "$1,200"}]
    for code in ("vals = [float(r['price'].replace('$', '')) for r in rows]",
                 "prices['price'] = prices['price'].replace('n/a', None).astype(float)"):
        note = check("x", code, NamespaceExecutor(namespace).execute(code), namespace.__contains__)
        assert note and "is pandas' replace" not in note, note
