"""Results of the wrong shape (oci_magic/engine/shapes.py): a file's header line read as a row,
many values where the task asks for the total -- on code run through the magic's own executor."""
import pytest

from .test_stated import judged

pd = pytest.importorskip("pandas")

LOAD = "Load measurements.csv into a DataFrame meas; temp and rain must come out as numbers."


@pytest.fixture
def measurements(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "measurements.csv").write_text("station;temp;rain\nA;12,5;0,0\nB;9,75;3,2\nC;-1,5;12,0\n")
    (tmp_path / "plain.csv").write_text("A;12,5;0,0\nB;9,75;3,2\n")  # a file without a header line


@pytest.mark.parametrize("code, said", [
    ("meas = pd.read_csv('measurements.csv', sep=';', decimal=',', names=['station', 'temp', 'rain'])",
     "the first row of `meas` holds 'station', 'temp', 'rain': the file's header line was read as data, so every "
     "column holds text. Read it with header=0 and without names="),
    ("meas = pd.read_csv('measurements.csv', sep=';', decimal=',', names=['Station', 'Temp', 'Rain'])",
     "the first row of `meas` holds 'station', 'temp', 'rain'"),  # the same words in other capitals
    ("meas = pd.read_csv('measurements.csv', sep=';', decimal=',', header=None)",
     "the first row of `meas` holds 'station', 'temp', 'rain': the file's header line was read as data, so every "
     "column holds text. Read it with header=0 (rename"),
    ("meas = pd.read_csv('measurements.csv', sep=';', decimal=',')", None),
    # no header line in the file: numbered columns over data are right
    ("meas = pd.read_csv('plain.csv', sep=';', decimal=',', header=None)", None),
    ("meas = pd.DataFrame({'name': ['ann', 'bo'], 'team': ['red', 'blue']})", None),  # text all the way down
])
def test_a_header_line_read_as_data(measurements, code, said):
    judged("", LOAD, code, "header", said)


FILTERED = "df = pd.DataFrame({'qty': [3, 5, 2], 'price': [2.2, 1.65, 4.4], 'region': ['n', 's', 'n']})"
TOTAL = "Store the total value of df (the sum of qty times price over its rows) in total_value."


@pytest.mark.parametrize("task, code, said", [
    # each row times the sum, where the task asks for one total (the name is too far for "store ... in")
    (TOTAL, "total_value = df['qty'] * df['price'].sum()",
     "the task asks for one total in `total_value`, but `total_value` holds 3 values (pandas.Series len=3"),
    (TOTAL, "total_value = (df['qty'] * df['price']).sum()", None),
    ("Compute the total of qty times price and store it in total.", "total = list(df['qty'] * df['price'])",
     "`total` holds 3 values"),
    # one total per group, a running total, totals of each column: many values are the answer
    ("Store the total value per region in total_value.", "total_value = df.groupby('region')['qty'].sum()", None),
    ("Store the total of qty by region in by_region.", "by_region = df.groupby('region')['qty'].sum()", None),
    ("Add the running total of qty as a column cum to df.", "df['cum'] = df['qty'].cumsum()", None),
    ("Store the sum of each column of df in sums.", "sums = df[['qty', 'price']].sum()", None),
    ("Store the totals of qty and price in totals.", "totals = df[['qty', 'price']].sum()", None),
    # a table the task does not name as the result is not judged
    (TOTAL, "rows = df['qty'] * df['price']\ntotal_value = float(rows.sum())", None),
])
def test_many_values_where_the_task_asks_for_the_total(task, code, said):
    judged(FILTERED, task, code, "one", said)


CONTACTS = ("contacts = pd.DataFrame({'name': ['Ann', 'Ann B.', 'Bob', 'Cara', 'Robert'],\n"
            "                         'email': ['ann@x.com', ' ANN@x.com', 'bob@y.org', 'cara@z.net', 'Bob@Y.org ']})")
DEDUPE = ("Some people are in contacts twice because their email was typed differently (upper case, extra "
          "spaces). Keep only the first row per email address and store the result in unique_contacts.")


@pytest.mark.parametrize("task, code, said", [
    (DEDUPE, "unique_contacts = contacts.drop_duplicates(subset='email', keep='first')",
     "`unique_contacts` still has all 5 rows of `contacts`: no duplicates were dropped, but the task says some rows repeat."),
    (DEDUPE, "key = contacts['email'].str.strip().str.lower()\nunique_contacts = contacts[~key.duplicated()]", None),
    # the task allows none to repeat; a table of other rows; no dropping in the code
    ("Drop the duplicate rows of contacts, if any.", "contacts = contacts.drop_duplicates()", None),
    (DEDUPE, "unique_contacts = pd.DataFrame({'n': range(5)}).drop_duplicates()", None),
    (DEDUPE, "unique_contacts = contacts.copy()", None),
])
def test_duplicates_dropped_where_none_were_found(task, code, said):
    judged(CONTACTS, task, code, "dupes", said)


READINGS = ("readings = pd.DataFrame({'date': ['d1', 'd1', 'd1', 'd2', 'd2', 'd3'], 'sensor': ['s1', 's2', 's1', 's1', 's2', 's2'],"
            " 'value': [1.0, 5.0, 3.0, 4.0, 6.0, 7.0]})")
WIDE = ("Reshape readings into a wide DataFrame named wide: one row per date, one column per sensor. If a sensor has "
        "more than one reading on a date, average them.")
GAMES = "games = pd.DataFrame({'team': list('ABAC'), 'points': [10, 7, 12, 9]})"
PER_TEAM = "Summarize games per team into a DataFrame by_team with one row per team and a column total_points."


@pytest.mark.parametrize("setup, task, code, said", [
    # grouped by both keys and never reshaped: more rows than dates
    (READINGS, WIDE, "wide = readings.groupby(['date', 'sensor'], as_index=False)['value'].mean()",
     "the task asks for one row per date, but `wide` has 5 rows for the 3 values of `readings['date']` ('d1', 'd2', "
     "'d3'). Aggregate to one row each"),
    # a list of values: the columns are pairs
    (READINGS, WIDE, "wide = readings.pivot_table(index='date', columns='sensor', values=['value'])",
     "the task asks for one column per sensor ('s1', 's2'), but the columns of `wide` are ('value', 's1'), "
     "('value', 's2'): pairs, from a list of values. Pass values= one column name."),
    (READINGS, WIDE, "wide = readings.pivot_table(index='date', columns='sensor', values='value')", None),
    (READINGS, WIDE, "wide = readings.pivot_table(index='date', columns='sensor', values='value').reset_index()", None),
    # the key as a column, and in other capitals; one row per team whether the key is the index or not
    (GAMES, PER_TEAM, "by_team = games.rename(columns={'points': 'total_points'})",
     "the task asks for one row per team, but `by_team` has 4 rows for the 3 values of `games['team']`"),
    (GAMES, PER_TEAM, "by_team = games.groupby('team').agg(total_points=('points', 'sum'))", None),
    (GAMES, PER_TEAM, "by_team = games.groupby('team', as_index=False).agg(total_points=('points', 'sum'))", None),
    # fewer rows than keys may be a filter the task asks for; a key no table has is not judged
    (GAMES, "Make top, a DataFrame with one row per team for the teams with over 15 points.",
     "top = games.groupby('team').sum().query('points > 15')", None),
    ("import json\nraw = json.dumps([{'id': 1}, {'id': 2}])", "Make a DataFrame users with one row per user.",
     "users = pd.DataFrame(json.loads(raw) * 2)", None),
])
def test_one_row_or_column_per_key(setup, task, code, said):
    judged(setup, task, code, "per", said)
