"""Imports a reply forgot: added before the code runs, only where nothing binds the name."""
import json

import jsonschema
import pytest

from oci_magic.backends.replay import ReplayBackend
from oci_magic.engine.imports import add_imports
from oci_magic.engine.loop import RefinementLoop
from oci_magic.engine.prompting import plain
from oci_magic.engine.runrecord import build, load_schema
from oci_magic.execution.executor import NamespaceExecutor

from .conftest import fenced, run_settings


def test_a_forgotten_import_goes_after_the_codes_own_imports():
    code = "import os\ncounts = Counter(words)\nprint(np.mean(list(counts.values())))"
    done, lines = add_imports(code, {"words": ["a", "b", "a"]})
    assert lines == ("from collections import Counter", "import numpy as np")
    assert done == "import os\nfrom collections import Counter\nimport numpy as np\n" + code.split("\n", 1)[1]


def test_without_leading_imports_the_import_comes_first():
    done, lines = add_imports("# count\ntotal = pd.Series([1, 2]).sum()", {})
    assert lines == ("import pandas as pd",)
    assert done == "import pandas as pd\n# count\ntotal = pd.Series([1, 2]).sum()"


@pytest.mark.parametrize("code, defined", [
    ("print(np.mean([1]))", {"np": object()}),  # the notebook has it: its binding stays
    ("np = [1]\nprint(np)", {}),  # the code binds it itself
    ("def f(np):\n    return np", {}),  # a parameter
    ("for json in []:\n    pass\nprint(json)", {}),  # a loop variable
    ("from os.path import *\nprint(np)", {}),  # a star import could bind anything
    ("%matplotlib inline\nprint(np)", {}),  # not plain Python: left as it is
    ("print(undefined_thing)", {}),  # not a well-known name
    ("d = datetime.now() - datetime.timedelta(days=1)", {}),  # fits neither reading of datetime
])
def test_nothing_is_added_where_the_name_is_bound_or_in_doubt(code, defined):
    assert add_imports(code, defined) == (code, ())


def test_an_alias_imported_as_a_module_becomes_the_import_it_means_on_the_same_line():
    """The 0.5B copied a session prompt's module list ("np (numpy), pd (pandas)") into its code."""
    code = "import io, json, np, pd, re\n\ndef top(values):\n    return np.max(values)\nprint(top([3, 9]))\nprint(pd)"
    done, lines = add_imports(code, {})
    assert done.split("\n")[0] == "import io, json, re; import numpy as np; import pandas as pd"
    assert done.split("\n")[1:] == code.split("\n")[1:]  # the rest where it was: line numbers hold
    assert lines == ("import numpy as np  # in place of import np", "import pandas as pd  # in place of import pd")
    namespace = {}
    exec(done, namespace)
    assert namespace["top"]([3, 9]) == 9
    # not where it shares its line, nor for a module that exists by that name
    assert add_imports("import np; x = 1", {}) == ("import np; x = 1", ())
    assert add_imports("import json, re", {}) == ("import json, re", ())


def test_nothing_is_added_where_the_executor_cannot_tell_what_exists():
    assert add_imports("print(np.pi)", None) == ("print(np.pi)", ())


@pytest.mark.parametrize("code, line", [
    ("d = datetime.now()", "from datetime import datetime"),
    ("d = datetime(2024, 1, 5)", "from datetime import datetime"),
    ("d = datetime.date(2024, 1, 5)", "import datetime"),
    ("t = time(9, 30)", "from datetime import time"),
    ("t = time.time()", "import time"),
    ("pprint({'a': 1})", "from pprint import pprint"),
])
def test_a_name_with_two_readings_gets_the_one_its_use_fits(code, line):
    assert add_imports(code, {})[1] == (line,)


def test_a_function_nobody_calls_yet_gets_the_imports_its_body_and_annotations_use():
    code = "def top(words: List[str], n: int) -> List[str]:\n    return [w for w, _ in Counter(words).most_common(n)]"
    done, lines = add_imports(code, {})
    assert lines == ("from typing import List", "from collections import Counter")
    namespace = {}
    exec(done, namespace)
    assert namespace["top"](["a", "b", "a"], 1) == ["a"]


def _run(replies, namespace, **settings):
    backend = ReplayBackend(replies)
    executor = NamespaceExecutor(namespace)
    loop = RefinementLoop(backend, executor, run_settings(**settings))
    return loop.run("count the words", plain("count the words")), backend


def test_the_loop_runs_the_completed_code_and_records_the_lines_added():
    namespace = {"words": ["to", "be", "or", "not", "to", "be"]}
    result, backend = _run([fenced("counts = Counter(words)\ntop = counts.most_common(1)")], namespace)
    assert [r.status for r in result.rounds] == ["ok"]
    assert namespace["top"] == [("to", 2)]
    round_ = result.rounds[0]
    assert round_.imports == ("from collections import Counter",)
    assert round_.code.startswith("from collections import Counter\ncounts = Counter(words)")
    assert "from collections import" not in round_.reply  # the reply stays the model's own


def test_code_that_runs_as_an_earlier_rounds_is_a_repeat_though_the_model_wrote_the_import_itself():
    namespace = {}
    first, second = fenced("m = np.mean(values)"), fenced("import numpy as np\nm = np.mean(values)")
    result, _ = _run([first, second, fenced("values = [1, 3]\nm = sum(values) / 2")], namespace)
    assert [r.status for r in result.rounds] == ["error", "ok"] and result.rounds[1].repeated == second
    assert namespace["m"] == 2


def test_off_the_name_error_is_fed_back_as_before():
    namespace = {"words": ["a"]}
    result, _ = _run([fenced("counts = Counter(words)"), fenced("from collections import Counter\ncounts = Counter(words)")],
                     namespace, imports=False)
    assert [r.status for r in result.rounds] == ["error", "ok"]
    assert result.rounds[0].execution.ename == "NameError" and result.rounds[0].imports == ()


def test_candidates_are_tried_with_the_imports_they_forgot(ip, magics, replay_file, capsys):
    ip.run_cell("words = ['x', 'y', 'x']", store_history=True)
    reply = fenced("counts = Counter(words)")
    path = replay_file([reply, reply])
    ip.run_cell_magic("oci", f"--replay {path} --candidates 2", "count the words")
    result = magics.session.last_result
    assert result.outcome == "success"
    assert [c.trial for c in result.rounds[0].candidates] == ["ok", "same code"]
    assert ip.user_ns["counts"] == {"x": 2, "y": 1}
    assert "added to the code: from collections import Counter" in capsys.readouterr().out
    assert ip.rl_next_input.endswith("from collections import Counter\ncounts = Counter(words)")
    record = build(result, magics.run_options(candidates=2).settings)
    jsonschema.validate(json.loads(json.dumps(record)), load_schema())
    assert record["rounds"][0]["imports"] == ["from collections import Counter"]



def test_a_repeat_is_seen_and_imports_follow_the_undo(ip, magics, replay_file):
    """Round 1 ran (np imported for it) but missed the check; round 2's reply is the same code:
    still the same code, so asked for again, not run. The next try starts from the names as they
    were before round 1 -- np gone again -- so its code gets the import too."""
    same = fenced("m = np.mean([1, 2])")
    path = replay_file(same, same, fenced("avg = np.mean([1, 2])"))
    ip.run_cell_magic("oci", f"--replay {path} --candidates 1", "Store the mean of 1 and 2 in avg.")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["incomplete", "ok"] and result.rounds[1].repeated == same
    assert result.rounds[1].undone.removed == ("m", "np")
    assert result.rounds[1].code == "import numpy as np\navg = np.mean([1, 2])"
    assert ip.user_ns["avg"] == 1.5 and "m" not in ip.user_ns
