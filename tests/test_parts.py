"""The parts of text the task says are written in an order (oci_magic/engine/parts.py): new
columns named after the words of a quoted pattern must hold the part at that word's place --
judged on code that ran through the magic's own executor."""
import pytest

from oci_magic.engine.parts import pattern

from .test_stated import judged

pytest.importorskip("pandas")

STAFF = ("staff = pd.DataFrame({'full_name': ['Smith, Alice', 'Jones,Bob', 'Garcia Lopez, Maria', 'Lee ,  Dave'], "
         "'dept': ['ops', 'it', 'hr', 'it']})")
SPLIT = ("full_name in staff is written 'Last, First'. Add two columns to staff, first and last, holding the two "
         "parts without stray spaces.")
PLACES = "places = pd.DataFrame({'where': ['Lyon - France', 'Porto - Portugal', 'Graz - Austria']})"
PAIRS = "cfg = pd.DataFrame({'line': ['host=db1', 'port=5432', 'user=ann']})"


@pytest.mark.parametrize("setup, task, code, said", [
    # the parts swapped (the 1.5B, both modes, two seeds: reported a success)
    (STAFF, SPLIT, "parts = staff['full_name'].str.split(',')\nstaff['first'] = parts.str[0].str.strip()\n"
                   "staff['last'] = parts.str[1].str.strip()",
     "column `first` of `staff` holds 'Smith' for 'Smith, Alice', but the task says `full_name` is written 'Last, "
     "First': that is the 'last' part. `first` is part 2 of 2 (split at ',', index [1])."),
    (STAFF, SPLIT, "parts = staff['full_name'].str.split(',')\nstaff['first'] = parts.str[1].str.strip()\n"
                   "staff['last'] = parts.str[0].str.strip()", None),
    # tasks it was not written for: another mark, a new table, three words
    (PLACES, "Each value of where in places is 'City - Country'. Make a table split with columns city and country.",
     "split = places['where'].str.split(' - ', expand=True)\nsplit.columns = ['country', 'city']",
     "column `country` of `split` holds 'Lyon' for 'Lyon - France'"),
    (PLACES, "Each value of where in places is 'City - Country'. Make a table split with columns city and country.",
     "split = places['where'].str.split(' - ', expand=True)\nsplit.columns = ['city', 'country']\n"
     "split['where'] = places['where']", None),
    (PAIRS, "Each line in cfg is 'key=value'. Add the columns key and value to cfg.",
     "cfg[['value', 'key']] = cfg['line'].str.split('=', expand=True)", "column `value` of `cfg` holds 'host' for 'host=db1'"),
    (PAIRS, "Each line in cfg is 'key=value'. Add the columns key and value to cfg.",
     "cfg[['key', 'value']] = cfg['line'].str.split('=', expand=True)", None),
    # no pattern to hold it to: a quoted example of the result, a column the table had
    (STAFF, "Add a column first to staff with the first names, like 'Alice Smith' has 'Alice'.",
     "staff['first'] = staff['full_name'].str.split(',').str[0]", None),
    (STAFF + "\nstaff['last'] = ['Alice', 'Bob', 'Maria', 'Dave']", SPLIT,
     "staff['first'] = staff['full_name'].str.split(',').str[1].str.strip()", None),
])
def test_a_part_at_another_place_than_the_task_says(setup, task, code, said):
    judged(setup, task, code, "parts", said)


def test_a_pattern_is_words_set_apart_by_one_mark():
    assert pattern("written 'Last, First'.") == (["last", "first"], ",", "'Last, First'")
    assert pattern('as "key=value" pairs') == (["key", "value"], "=", '"key=value"')
    assert pattern("like 'Alice Smith'") == (["alice", "smith"], " ", "'Alice Smith'")
    assert pattern("dates like '05/01/2024'") is None and pattern("'Hello, World!'") is None
    assert pattern("'a, b; c'") is None  # two marks: not one pattern
