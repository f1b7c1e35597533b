"""Several candidates per round: tried on copies before any touches the user's state, chosen by
what they did, recorded; driven by recorded candidates (a replay entry that is a list)."""
import json

import pytest

from .conftest import fenced


def run(ip, replay_file, entries, task, options=""):
    path = replay_file(*entries)
    ip.run_cell_magic("oci", f"--replay {path} --candidates 5 {options}", task)
    return ip.magics_manager.registry["OciMagics"].session.last_result


def test_the_candidates_most_agree_with_is_the_one_that_runs(ip, replay_file):
    ip.user_ns["values"] = [1, 2, 3]
    entries = [[fenced("total = sum(values) / 2"), fenced("total = sum(values)"),
                fenced("total = 0\nfor v in values:\n    total += v"), fenced("1/0"), "no code at all"]]
    result = run(ip, replay_file, entries, "Store the sum of values in total.")
    assert result.outcome == "success" and ip.user_ns["total"] == 6 and "v" not in ip.user_ns
    candidates = result.rounds[0].candidates
    assert [c.trial for c in candidates] == ["ok", "ok", "ok", "error", "no code"]
    assert [c.chosen for c in candidates] == [False, True, False, False, False]
    assert candidates[1].group == candidates[2].group != candidates[0].group  # the loop variable does not count
    assert result.rounds[0].code == "total = sum(values)"  # the round's code is the chosen one's


def test_selection_first_runs_the_earliest_candidate_whose_trial_ran(ip, replay_file):
    """Greedy-with-trials, the baseline the vote is measured against: the first reply unless its
    trial failed, whatever the others agree on."""
    from oci_magic.engine.settings import OciConfig

    magics = ip.magics_manager.registry["OciMagics"]
    ip.user_ns["values"] = [1, 2, 3]
    entries = [[fenced("1/0"), fenced("total = sum(values) / 2"), fenced("total = sum(values)"),
                fenced("total = sum(values)"), fenced("total = 0")]]
    magics.selection = "first"
    try:
        result = run(ip, replay_file, entries, "Store the sum of values in total.")
    finally:
        magics.selection = "vote"
    assert [c.chosen for c in result.rounds[0].candidates] == [False, True, False, False, False]
    assert ip.user_ns["total"] == 3.0
    with pytest.raises(ValueError, match="selection must be one of vote, first"):
        OciConfig(selection="best").run_options()


def test_trials_never_touch_the_users_variables_or_files(ip, replay_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("keep me")
    ip.user_ns["rows"] = [3, 1, 2]
    entries = [[fenced("best = max(rows)"),
                fenced("rows.sort()\nbest = rows[-1]\nimport os\nos.remove('data.txt')"),
                fenced("rows.clear()\nbest = 0")]]
    result = run(ip, replay_file, entries, "Store the largest of rows in best.", "--allow risky")
    candidates = result.rounds[0].candidates
    assert [c.trial for c in candidates] == ["ok", "ok", "ok"] and candidates[0].chosen
    assert candidates[0].group != candidates[1].group  # same best, but one sorted rows: they did not do the same
    assert ip.user_ns["rows"] == [3, 1, 2] and ip.user_ns["best"] == 3  # only the chosen one ran here
    assert (tmp_path / "data.txt").read_text() == "keep me"  # a trial deleted only its copy


@pytest.mark.parametrize("bad", [
    "while True:\n    pass",
    "import os\nos._exit(3)",
    "x = bytearray(10 ** 13)",
    "%%oci\nmake y",
    "get_ipython().run_cell_magic('oci', '', 'again')",
    "raise SystemExit(0)",
])
def test_a_bad_candidate_never_reaches_the_kernel(ip, replay_file, bad, fake_llama, monkeypatch):
    import oci_magic.execution.trials as trials

    monkeypatch.setattr(trials, "SECONDS", 2.0)
    ip.user_ns["n"] = 4
    result = run(ip, replay_file, [[fenced(bad), fenced("y = n * 2")]], "Store twice n in y.", "--allow risky")
    assert result.outcome == "success" and ip.user_ns["y"] == 8 and fake_llama == []
    bad_one = result.rounds[0].candidates[0]
    assert bad_one.trial in ("error", "refused") and not bad_one.chosen


def test_an_interrupt_during_the_trials_stops_the_run(ip, replay_file, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the trials' folder copies go
    code = "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nimport time\ntime.sleep(3)\ny = 1"
    result = run(ip, replay_file, [[fenced(code), fenced("y = 2")]], "Store 2 in y.", "--allow risky")
    assert result.outcome == "stopped" and "y" not in ip.user_ns and ip.rl_next_input is None
    assert not list(tmp_path.glob("oci-trial-*"))  # the interrupted trial's copy of the folder went with it


def test_data_too_big_to_copy_means_one_candidate(ip, replay_file, capsys, tmp_path):
    magics = ip.magics_manager.registry["OciMagics"]
    magics.isolate_max_mb = 0
    ip.user_ns["values"] = list(range(1000))
    recorded = tmp_path / "rec.json"
    entries = [[fenced("total = sum(values) + nope"), fenced("total = 0")], [fenced("total = sum(values)"), fenced("total = 0")]]
    result = run(ip, replay_file, entries, "Store the sum of values in total.", f"--record {recorded}")
    assert result.outcome == "success" and ip.user_ns["total"] == 499500
    assert [r.candidates for r in result.rounds] == [(), ()]
    assert "one candidate: values is too big to copy for trials" in capsys.readouterr().out
    # round 1 found out after generating both; round 2 generated one reply only
    assert [len(e) for e in json.loads(recorded.read_text())] == [2, 1]


def test_a_working_folder_too_big_to_copy_means_one_reply_generated(ip, replay_file, capsys, tmp_path, monkeypatch):
    from oci_magic.execution import trials

    monkeypatch.setattr(trials, "MAX_FILES", 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("a\n1\n")
    recorded = tmp_path / "rec.json"
    result = run(ip, replay_file, [[fenced("total = 6"), fenced("total = 0")]], "Store 6 in total.", f"--record {recorded}")
    assert result.outcome == "success" and ip.user_ns["total"] == 6 and result.rounds[0].candidates == ()
    assert "one candidate: the working folder is too big to copy for trials" in capsys.readouterr().out
    assert [len(e) for e in json.loads(recorded.read_text())] == [1]  # the other reply was never generated


def test_the_record_keeps_every_candidate_and_a_replay_of_it_chooses_the_same(ip, replay_file, tmp_path):
    import jsonschema

    from oci_magic.engine.runrecord import build, load_schema

    ip.user_ns["values"] = [1, 2, 3]
    entries = [[fenced("total = sum(values) * 2"), fenced("total = sum(values)"), fenced("total = sum(values)")]]
    recorded = tmp_path / "rec.json"
    first = run(ip, replay_file, entries, "Store the sum of values in total.", f"--record {recorded}")
    record = build(first, ip.magics_manager.registry["OciMagics"].run_options(candidates=5).settings)
    jsonschema.validate(record, load_schema())
    assert [c["trial"] for c in record["rounds"][0]["candidates"]] == ["ok", "ok", "same code"]
    assert json.loads(recorded.read_text()) == [[e for e in entries[0]]]  # one entry: the round's candidates
    del ip.user_ns["total"]  # the same start again
    ip.run_cell_magic("oci", f"--replay {recorded} --candidates 5", "Store the sum of values in total.")
    again = ip.magics_manager.registry["OciMagics"].session.last_result
    assert again.rounds[0].code == first.rounds[0].code == "total = sum(values)"


def test_no_candidate_that_runs_feeds_back_the_error_most_hit(ip, replay_file):
    ip.user_ns["prices"] = {"a": 1.0}
    entries = [[fenced("t = prices['b']"), fenced("t = prices['b'] + 1"), fenced("t = 1 / 0")],
               fenced("t = prices.get('b', 0)")]
    result = run(ip, replay_file, entries, "Store prices' b in t (0 if missing).")
    first = result.rounds[0]
    assert first.status == "error" and first.execution.ename == "KeyError" and "KeyError" in first.feedback
    assert result.outcome == "success" and ip.user_ns["t"] == 0


@pytest.mark.slow
def test_the_embedded_model_decodes_candidates_together(model_path):
    from oci_magic.backends.base import GenerationParams, Message
    from oci_magic.backends.llama import LlamaBackend

    backend = LlamaBackend(model_path, n_ctx=4096, sequences=4)
    assert backend.capabilities.candidates == 4
    messages = [Message.of("system", "You write Python."), Message.of("user", "Print the numbers 1 to 5.")]
    params = [GenerationParams(0.0, 40, 1)] + [GenerationParams(0.9, 40, s) for s in (2, 3, 4)]
    replies = backend.generate_many(messages, params, lambda i, text: False)
    order = [i for i, _ in replies]
    assert set(order) == {0, 1, 2, 3} and all(replies.texts) and len(set(replies.texts)) > 1
    assert all(0 < u.generated_tokens <= 40 for u in replies.usages)
    # the cache holds the prompt and reply 0: a plain reply to the same prompt reuses the prompt
    again = backend.generate(messages, GenerationParams(0.0, 8, 1))
    again.text()
    assert again.usage.reused_tokens == again.usage.prompt_tokens - 1
    backend.close()


def test_a_candidate_in_ipython_syntax_is_tried_as_a_cell_would_run_it(ip, replay_file):
    ip.user_ns["n"] = 2
    entries = [[fenced("%config OciMagics.rounds = 3\ny = n + 1"), fenced("y = n + 1")]]
    result = run(ip, replay_file, entries, "Store n plus one in y.")
    assert [c.trial for c in result.rounds[0].candidates] == ["ok", "ok"] and ip.user_ns["y"] == 3


SLUG = ("Write a function slugify(title) that lower-cases the title, replaces every run of characters that are "
        "not letters or digits with a single '-', and strips '-' from both ends, e.g. slugify('Hello, World!') -> 'hello-world'.")
SLUG_WRONG = "def slugify(title):\n    return title.lower().replace(', ', '-').replace('!', '')"
SLUG_RIGHT = "import re\ndef slugify(title):\n    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')"
SLUG_RIGHT_TOO = ("def slugify(title):\n    out, gap = [], False\n    for ch in title.lower():\n"
                  "        if ch.isalnum():\n            if gap and out:\n                out.append('-')\n"
                  "            out.append(ch)\n            gap = False\n        else:\n            gap = True\n"
                  "    return ''.join(out)\n\nprint(slugify('Hello, World!'))  # a try-out the other does not print")


def test_candidates_that_define_a_function_are_grouped_by_what_it_returns(ip, replay_file):
    """Three functions pass the task's one example; called on variations of it, two return the
    same and the first does not: the two agree and win, though only one prints a try-out call.
    (Compared by name, all three would be "a function" and the first would run.)"""
    result = run(ip, replay_file, [[fenced(SLUG_WRONG), fenced(SLUG_RIGHT), fenced(SLUG_RIGHT_TOO)]], SLUG)
    candidates = result.rounds[0].candidates
    assert [c.trial for c in candidates] == ["ok", "ok", "ok"]
    assert candidates[1].group == candidates[2].group != candidates[0].group
    assert [c.chosen for c in candidates] == [False, True, False]
    assert ip.user_ns["slugify"]("Hello, World!") == "hello-world"
    assert ip.user_ns["slugify"]("!dlroW ,olleH") == "dlrow-olleh"  # the chosen one is the right one


def test_a_function_that_hangs_or_exits_on_a_probe_costs_its_trial_nothing_more(ip, replay_file, monkeypatch, fake_llama):
    """A probe call that never returns is cut by the probes' own clock, one that calls os._exit
    raises instead; the kernel, the user's names and the vote go on."""
    import oci_magic.execution.trials as trials

    monkeypatch.setattr(trials, "PROBE_SECONDS", 0.5)
    hangs = "def slugify(title):\n    while title != 'Hello, World!':\n        pass\n    return 'hello-world'"
    exits = ("import os\ndef slugify(title):\n    if title != 'Hello, World!':\n        os._exit(3)\n"
             "    return 'hello-world'")
    ip.user_ns["keep"] = 1
    third = "import re\ndef slugify(title):\n    return re.sub(r'[^A-Za-z0-9]+', '-', title).strip('-').lower()"
    result = run(ip, replay_file, [[fenced(hangs), fenced(exits), fenced(SLUG_RIGHT), fenced(SLUG_RIGHT_TOO), fenced(third)]],
                 SLUG, "--allow risky")
    candidates = result.rounds[0].candidates
    assert [c.trial for c in candidates] == ["ok"] * 5 and fake_llama == [], [c.error for c in candidates]
    assert candidates[2].chosen and candidates[2].group == candidates[3].group == candidates[4].group
    assert len({candidates[0].group, candidates[1].group, candidates[2].group}) == 3  # not returning is a difference
    assert ip.user_ns["keep"] == 1 and ip.user_ns["slugify"]("a b") == "a-b"


def test_probe_inputs_come_from_the_tasks_examples_and_vary_them():
    from oci_magic.engine import probes

    calls = probes.inputs(SLUG, [SLUG_RIGHT, "def helper(x):\n    return x"])
    assert list(calls) == ["slugify"]  # a function the task does not name is not probed
    args = [a for a, _ in calls["slugify"]]
    assert args[0] == ("Hello, World!",) and ("!dlroW ,olleH",) in args and len(args) <= probes.MAX_PROBES
    assert probes.inputs("Write a function slugify(title).", [SLUG_RIGHT]) == {}  # no example, nothing to vary
    moving = probes.inputs("moving_max(values, k), e.g. moving_max([1, 3, 2, 5, 4], 2) -> [3, 3, 5, 5]",
                           ["def moving_max(values, k):\n    return values"])["moving_max"]
    assert (([4, 5, 2, 3, 1], 2), {}) in moving and (([1, 3, 2, 5, 4], 3), {}) in moving
    dates = [a for a, _ in probes.inputs("is_valid_date(s), e.g. is_valid_date('2024-02-30') -> False",
                                         ["def is_valid_date(s):\n    return True"])["is_valid_date"]]
    assert ("2024-02-29",) in dates and ("2024-02-31",) in dates  # a number in text moved by one


def test_a_probe_most_candidates_reject_is_left_out_of_the_comparison():
    from oci_magic.engine import probes

    from oci_magic.execution.calls import Raised

    raised, late = Raised("ValueError"), Raised("TimeoutError")
    kept = probes.answered([{"f": [1, 2, raised]}, {"f": [1, 3, late]}, {"f": [1, 3, 4]}, {"g": [raised]}])
    assert kept == {"f": [0, 1], "g": []}  # two of three rejected the third input: outside the task, likely
    assert probes.compared({"f": [1, 2, raised]}, kept) == probes.compared({"f": [1, 2, 9]}, kept) != \
        probes.compared({"f": [1, 3, 4]}, kept)
    one = probes.answered([{"f": [1, raised]}, {"f": [1, 2]}, {"f": [1, 2]}, {"f": [1, ("raised", "X")]}])
    assert one == {"f": [0, 1]}  # one that alone does not return differs from the others there
    assert probes.compared({"f": [1, raised]}, one) == probes.compared({"f": [1, late]}, one) != probes.compared({"f": [1, 2]}, one)
    assert probes.compared({"f": [1, ("raised", "X")]}, one) != probes.compared({"f": [1, raised]}, one)  # a value, not an error


def test_a_candidate_without_the_title_the_task_asks_for_is_not_chosen(ip, replay_file):
    """A trial closes the figures it draws (they never show), and in a notebook plt.show() closes
    them first: their titles and labels are read as they are shown or closed, so the labels rule
    judges each candidate, not only the one that runs for real."""
    pytest.importorskip("matplotlib_inline")
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("module://matplotlib_inline.backend_inline")  # plt.show() shows and closes

    plt.close("all")
    ip.user_ns["sales"] = [3, 1, 2]
    plot = "import matplotlib.pyplot as plt\nplt.plot(sales)\nplt.title({!r})\nplt.show()"
    entries = [[fenced(plot.format("Sales")), fenced(plot.format("Monthly sales")), fenced(plot.format("Sales"))]]
    try:
        result = run(ip, replay_file, entries, "Plot sales as a line chart with the title 'Monthly sales'.")
        assert [c.chosen for c in result.rounds[0].candidates] == [False, True, False]
        assert result.outcome == "success" and len(result.rounds) == 1
        assert [c.trial for c in result.rounds[0].candidates] == ["missed", "ok", "same code"]
    finally:
        matplotlib.use("Agg")
        plt.close("all")
