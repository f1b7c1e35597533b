"""What each item of a result is, by the task's words (oci_magic/engine/items.py): the email
addresses, domains, links or names a task asks for, and the case it asks text to be in -- judged on
code that ran through the magic's own executor, and through the magic with a replay."""
import pytest

from oci_magic.engine.items import KINDS

from .conftest import fenced
from .test_stated import judged

pd = pytest.importorskip("pandas")

NOTES = ("notes = ['Contact ann.lee@example.com or bob@test.org for info', 'no email here', "
         "'write to support-team@company.co.uk today.', 'Ping CARL_99@mail.net, thanks']")
EXTRACT = "Pull every email address out of notes into a list named emails, in the order they appear."
EMAILS = "emails = ['ann.lee@example.com', 'bob@test.org', 'support-team@company.co.uk', 'CARL_99@mail.net']"
DOMAINS = "Make domains: the sorted list of the distinct domains in emails (the part after the @), in lower case."
SCORES = "scores = {'ann': 13, 'bo': 5, 'cy': 4, 'di': 4}"
RANKING = "Store the names in scores, from the highest score to the lowest, in ranking (a list). Break ties alphabetically."
PEOPLE = "people = pd.DataFrame({'name': ['  alice SMITH ', 'BOB jones', 'carol  de la cruz'], 'age': [34, 29, 41]})"
TIDY = ("Clean up the name column of people in place: no spaces at the ends, single spaces between words, and every "
        "word capitalized like 'Alice Smith'.")


@pytest.mark.parametrize("setup, task, code, said", [
    # a word and an address with the comma after it, from a regex that takes any run of non-spaces around an @
    (NOTES, EXTRACT, "import re\nemails = [w for n in notes for w in re.findall(r'\\S+@\\S+|to', n)]",
     "`emails` should hold email addresses, but 3 of its 6 items are not: 'to', 'CARL_99@mail.net,'."),
    (NOTES, EXTRACT, "emails = [n.split('@')[0] for n in notes if '@' in n]", "are not: 'Contact ann.lee'"),
    (NOTES, EXTRACT, "import re\nemails = [m for n in notes for m in re.findall(r'[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+', n)]",
     None),
    (NOTES, EXTRACT, "emails = []", None),  # nothing found is not judged here
    # the input's name is not the kind: `emails` is where the domains come from
    (EMAILS, DOMAINS, "domains = sorted({e.split('@')[1] for e in emails})", None),
    (EMAILS + "\nemails.append('Sue@Mail.net today.')", DOMAINS, "domains = sorted({e.split('@')[1] for e in emails})",
     "`domains` should hold domains, but 1 of its 5 items are not: 'Mail.net today.'"),
    (EMAILS, DOMAINS, "domains = sorted(emails)", "items are not: 'CARL_99@mail.net'"),
    # links, from a task the rule was not written for
    ("posts = ['see https://a.org/x, then', 'www.b.com/y.']", "Collect the links in posts into a list called links.",
     "links = [w for p in posts for w in p.split() if 'http' in w or 'www' in w]",
     "items are not: 'https://a.org/x,', 'www.b.com/y.'"),
    # names kept as pairs; names as text; a task that asks for pairs
    (SCORES, RANKING, "ranking = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))",
     "the task asks for names in `ranking`, but 4 of its 4 items are not text: ('ann', 13)"),
    (SCORES, RANKING, "ranking = sorted(scores, key=lambda k: (-scores[k], k))", None),
    (SCORES, "Store the names and scores as (name, score) pairs in ranking, best first.",
     "ranking = sorted(scores.items(), key=lambda kv: -kv[1])", None),
    # the three most common words as Counter pairs; cluster labels are numbers, not names
    ("text = 'a b a c a b'", "Store the three most frequent words in text in a list top_words.",
     "from collections import Counter\ntop_words = Counter(text.split()).most_common(3)",
     "the task asks for words in `top_words`, but 3 of its 3 items are not text: ('a', 3)"),
    ("points = [0.1, 0.2, 5.0]", "Group points into two clusters and store the cluster labels in labels.",
     "labels = [0 if p < 1 else 1 for p in points]", None),
])
def test_items_that_are_not_what_the_task_names(setup, task, code, said):
    judged(setup, task, code, "items", said)


INACTIVE = "Which customers have never placed an order? Save their names, sorted alphabetically, as a list called inactive."


@pytest.mark.parametrize("setup, task, code, said", [
    # the 1.5B in one session: the domains of every address, in their order, one of them twice
    (EMAILS + "\nemails.append('cy@test.org')", DOMAINS, "domains = [e.split('@')[1].lower() for e in emails]",
     "the task asks for distinct items in `domains`, but 'test.org' is there more than once (5 items, 4 distinct)."),
    (EMAILS, DOMAINS, "domains = [e.split('@')[1].lower() for e in emails]",
     "the task asks for `domains` sorted, but it is not: 'test.org' comes before 'company.co.uk'. Sort it"),
    (EMAILS, DOMAINS, "domains = sorted({e.split('@')[1].lower() for e in emails})", None),
    ("names = ['cy', 'Ann', 'bo']", INACTIVE, "inactive = sorted(names, key=str.lower)", None),  # either way of sorting
    ("names = ['cy', 'Ann', 'bo']", INACTIVE, "inactive = names", "comes before 'Ann'"),
    # another order the task asks for, or ties broken alphabetically, or a set: not judged
    (SCORES, RANKING, "ranking = sorted(scores, key=lambda k: (-scores[k], k))", None),
    ("x = [3, 1, 2]", "Store the values of x sorted from the highest to the lowest in top.", "top = sorted(x, reverse=True)", None),
    (EMAILS, "Make domains, the set of distinct domains in emails.", "domains = {e.split('@')[1] for e in emails}", None),
])
def test_a_list_not_sorted_or_not_distinct_where_the_task_says(setup, task, code, said):
    judged(setup, task, code, "order", said)


@pytest.mark.parametrize("setup, task, code, said", [
    (PEOPLE, TIDY, "people['name'] = people['name'].str.split().str.join(' ')",
     "column `name` of `people` is not with every word capitalized in 3 of 3 values ('alice SMITH', 'BOB jones', "
     "'carol de la cruz')"),
    (PEOPLE, TIDY, "people['name'] = people['name'].str.split().str.join(' ').str.title()", None),
    (EMAILS, DOMAINS, "domains = sorted({e.split('@')[1] for e in emails})", None),
    (EMAILS + "\nemails.append('sue@Mail.NET')", DOMAINS, "domains = sorted({e.split('@')[1] for e in emails})",
     "`domains` is not in lower case in 1 of 5 values ('Mail.NET')"),
    # a case the text came in is not one it is asked for
    ("contacts = pd.DataFrame({'email': ['a@x.com', ' A@x.com']})",
     "Some people are in contacts twice because their email was typed differently (upper case, extra spaces). "
     "Keep only the first row per email address and store the result in unique_contacts.",
     "unique_contacts = contacts.assign(email=contacts['email'].str.strip()).drop_duplicates('email')", None),
    # the first word only, where the task says no more; a short word in capitals may stay
    ("titles = ['the cat', 'a dog']", "Make each title in titles capitalized and store them in fixed.",
     "fixed = [t.capitalize() for t in titles]", None),
    ("cities = ['new york ny', 'paris']", "Put the cities in title case into a list called nice.",
     "nice = [' '.join(w.capitalize() if len(w) > 2 else w.upper() for w in c.split()) for c in cities]", None),
    ("cities = ['new york', 'paris']", "Put the cities in title case into a list called nice.", "nice = [c.upper() for c in cities]",
     "`nice` is not with every word capitalized in 2 of 2 values ('NEW YORK', 'PARIS')"),
])
def test_text_not_in_the_case_the_task_asks_for(setup, task, code, said):
    judged(setup, task, code, "case", said)


RESULTS = ("results = pd.DataFrame({'class': ['7a', '7a', '7b', '7b'], 'student': ['Ana', 'Ben', 'Cy', 'Dee'], "
           "'score': [88, 92, 75, 95]})")
BEST = "For every class in results, who scored highest? Keep a class -> student name mapping in best."


@pytest.mark.parametrize("setup, task, code, said", [
    # idxmax's row labels kept as the names (the 1.5B in one session, "ok")
    (RESULTS, BEST, "best = results.groupby('class')['score'].idxmax().to_dict()",
     "the task asks for names as the values of `best`, but they are not text: 1, 3. `idxmax()` gives the row label"),
    (RESULTS, BEST, "best = results.loc[results.groupby('class')['score'].idxmax()].set_index('class')['student'].to_dict()",
     None),
    (RESULTS, BEST, "best = results.groupby('class')['score'].max()", "they are not text: 92, 95."),  # a Series too
    # tasks it was not written for
    ("ids = {1: 'ann', 2: 'bo'}", "Map each id to its name in lookup, upper-cased.",
     "lookup = {k: v.upper() for k, v in ids.items()}", None),
    ("ids = {1: 'ann', 2: 'bo'}", "Map each id to its name length in sizes.", "sizes = {k: len(v) for k, v in ids.items()}",
     None),
    ("ids = {1: 'ann', 2: 'bo'}", "Map each id to its name in lookup.", "lookup = {k: k for k in ids}",
     "the task asks for names as the values of `lookup`, but they are not text: 1, 2."),
])
def test_a_mapping_to_names_whose_values_are_not_text(setup, task, code, said):
    judged(setup, task, code, "items", said)


def test_each_kind_knows_one_of_its_own():
    ok = {"email addresses": "ann.lee+x@mail.co.uk", "domains": "company.co.uk", "links": "https://a.org/x?y=1"}
    bad = {"email addresses": "ann@x.com,", "domains": "x.com today", "links": "https://a.org/x."}
    for kind, _, shape, _ in KINDS:
        assert shape.fullmatch(ok[kind]) and not shape.fullmatch(bad[kind]), kind


def test_a_list_of_pairs_for_names_gets_another_round(ip, magics, replay_file):
    """Through the magic: the round that stored (name, score) pairs is fed back with them, and the
    next round's names are kept."""
    ip.user_ns["scores"] = {"ann": 13, "bo": 5, "cy": 4, "di": 4}
    path = replay_file(fenced("ranking = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))"),
                       fenced("ranking = sorted(scores, key=lambda k: (-scores[k], k))"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", RANKING)
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["incomplete", "ok"]
    assert "the task asks for names in `ranking`, but 4 of its 4 items are not text: ('ann', 13)" in result.rounds[0].feedback
    assert ip.user_ns["ranking"] == ["ann", "bo", "cy", "di"]
    assert ip.user_ns["scores"] == {"ann": 13, "bo": 5, "cy": 4, "di": 4}
