"""``oci bench notebooks``: real kernels answered by the replay backend (no model), plus one run of the
embedded model (slow) that only checks the bench completes and reports."""
import argparse
import json
import os
import subprocess
import sys

import pytest

from oci_magic.bench import notebooks

pytestmark = pytest.mark.kernel  # starts real Jupyter kernels


def fenced(code: str) -> str:
    return f"Here is the code:\n```python\n{code}\n```\n"


TASKS = [
    {"id": "to-float", "kind": "parsing", "split": "dev",
     "setup": ["import pandas as pd", "prices = pd.DataFrame({'item': ['a', 'b'], 'price': ['$1,200', '$35.50']})"],
     "task": "Convert the price column of prices to floats (drop the $ and thousands separators), in place.",
     "check": "assert prices['price'].dtype.kind == 'f'\nassert prices['price'].tolist() == [1200.0, 35.5]"},
    {"id": "print-sum", "kind": "print", "split": "heldout",
     "setup": ["numbers = list(range(1, 11))"],
     "task": "Print the sum of numbers.",
     "check": "assert _bench_output == '55\\n', _bench_output"},
    {"id": "mean-wrong", "kind": "stats", "split": "dev",
     "setup": ["values = [1, 2, 3, 4]"],
     "task": "Store the mean of values in avg.",
     "check": "assert avg == 2.5"},
    {"id": "name-missing", "kind": "stats", "split": "heldout",
     "setup": ["values = [1, 2, 3, 4]"],
     "task": "Store the largest of values in top.",
     "check": "assert top == 4"},
    {"id": "no-replies", "kind": "stats", "split": "dev", "setup": [], "task": "Anything.", "check": "pass"},
]
REPLIES = {
    "to-float": [fenced("prices['price'] = prices['price'].str.replace('[$,]', '', regex=True).astype(float)")],
    # round 1 prints, then raises: only round 2's output may reach the check
    "print-sum": [fenced("print('partial')\nprint(total(numbers))"), fenced("print(sum(numbers))")],
    "mean-wrong": [fenced("avg = sum(values) / 2")],
    # the magic's own check asks again for `top`; the model writes the same code twice more (round 2
    # asks again once at once, the run then stops as stuck)
    "name-missing": [fenced("biggest = max(values)")] * 3,
}


def bench(*argv) -> int:
    parser = argparse.ArgumentParser()
    notebooks.add_arguments(parser)
    return notebooks.main(parser.parse_args([str(a) for a in argv]))


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"version": 1, "tasks": TASKS}))
    replay = tmp_path / "replay"
    replay.mkdir()
    for task_id, replies in REPLIES.items():
        (replay / f"{task_id}.json").write_text(json.dumps(replies))
    return path, replay


def test_replayed_suite(suite, tmp_path, capsys):
    path, replay = suite
    out_json, record = tmp_path / "bench.json", tmp_path / "record"
    assert bench("--suite", path, "--replay", replay, "--record", record, "--json", out_json, "--timeout", 120) == 0
    stdout, stderr = capsys.readouterr()
    data = json.loads(out_json.read_text())
    assert set(data) == {"settings", "model", "summary", "tasks"}
    assert data["model"]["backend"] == "replay"
    assert data["settings"]["rounds"] == 3 and data["settings"]["seed"] == 0
    tasks = {t["id"]: t for t in data["tasks"]}
    assert list(tasks) == [t["id"] for t in TASKS]  # the suite's order

    t = tasks["to-float"]
    assert (t["solved_round1"], t["solved"], t["rounds"], t["outcome"], t["why"]) == (True, True, 1, "success", None)
    assert t["statuses"] == ["ok"] and t["check"] is None and t["seconds"] > 0
    assert set(t["tokens"]) == {"prompt", "evaluated", "generated"} and t["tokens"]["generated"] > 0

    t = tasks["print-sum"]  # fixed in round 2: the lift
    assert (t["solved_round1"], t["solved"], t["rounds"], t["statuses"]) == (False, True, 2, ["error", "ok"])
    assert t["errors"] == ["NameError"] and t["output"] == "55\n"

    t = tasks["mean-wrong"]
    assert (t["solved"], t["outcome"], t["why"]) == (False, "success", "wrong result")
    assert t["check"].startswith("AssertionError")

    t = tasks["name-missing"]
    assert (t["solved"], t["why"]) == (False, "missing name") and t["check"].startswith("NameError")
    assert t["statuses"] == ["incomplete", "repeated"] and t["asked_again"] == [False, True]
    assert t["imports"] == [[], []] and t["redone"] is None

    t = tasks["no-replies"]  # a missing replay file fails that task only, clearly
    assert (t["solved"], t["outcome"], t["why"]) == (False, "error", "no replay file")
    assert "no-replies.json" in t["error"]

    s = data["summary"]
    # rounds 1, 2, 1, 2: name-missing gets the magic's own "no `top`" feedback and repeats itself twice
    assert s["all"] == {"tasks": 5, "solved_round1": 1, "solved": 2, "pct_round1": 20.0, "pct_solved": 40.0,
                        "lift_points": 20.0, "mean_rounds": 1.5, "seconds": s["all"]["seconds"]}
    assert (s["dev"]["tasks"], s["dev"]["solved_round1"], s["dev"]["solved"]) == (3, 1, 1)
    assert (s["heldout"]["tasks"], s["heldout"]["solved_round1"], s["heldout"]["solved"], s["heldout"]["lift_points"]) \
        == (2, 0, 1, 50.0)
    assert s["why"] == {"wrong result": 1, "missing name": 1, "no replay file": 1}
    assert s["error_kinds"] == {"NameError": 1}

    # --record: each task's replies, as a replay file
    assert json.loads((record / "print-sum.json").read_text()) == REPLIES["print-sum"]
    assert not (record / "no-replies.json").exists()

    lines = stderr.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("[1/5] to-float ")
    assert "round1 ✗  final ✓  2 rounds" in lines[1]
    assert lines[2].endswith("(wrong result)") and "no replay file" in lines[4]
    assert "Traceback" not in stderr
    assert "2/5  40.0 %" in stdout and "+20.0" in stdout
    assert "why unsolved" in stdout and "error kinds, all rounds" in stdout


@pytest.mark.parametrize("argv, message", [
    (["--tasks", "to-float,nope"], "--tasks: no task 'nope'"),
    (["--model", "/no/such/model.gguf"], "model file not found: /no/such/model.gguf"),
    (["--model", "qwen2.5-coder-1.5b"], "is not downloaded (1.1 GB): get it with `oci model pull qwen2.5-coder-1.5b`"),
    (["--set", "roundz=5"], "OciMagics has no trait 'roundz'"),
    (["--set", "rounds=many"], "--set rounds: bad value"),
    (["--rounds", "0"], "--rounds must be between 1 and 50"),
    (["--max-tokens", "0"], "--max-tokens must be between 1 and 32768, not 0"),
    (["--temperature", "9"], "--temperature must be between 0 and 5, not 9"),
])
def test_setup_problems_are_one_line(suite, argv, message, capsys):
    path, _ = suite
    assert bench("--suite", path, *argv) == 1
    stdout, stderr = capsys.readouterr()
    assert stdout == "" and len(stderr.strip().splitlines()) == 1 and message in stderr


def test_a_round_put_back_at_the_end_is_reported():
    from oci_magic.bench.notebooks_report import result

    rounds = [{"status": s, "error": None if s == "incomplete" else {"name": "KeyError", "message": "x"},
               "tokens": None, "feedback": None} for s in ("incomplete", "error", "error")]
    record = {"rounds": rounds, "outcome": "unverified", "model": "m", "message": "",
              "redone": {"round": 1, "restored": ["total"], "removed": []}}
    t = result({"id": "t", "split": "dev"}, 1.0, record)
    assert (t["solved"], t["solved_round1"], t["redone"]) == (True, False, 1)
    assert result({"id": "t", "split": "dev"}, 1.0, dict(record, redone=None))["redone"] is None


def test_no_such_suite_from_the_command_line(tmp_path):
    """``python -m oci_magic.bench.notebooks`` works, and a user error is one line, exit 1."""
    proc = subprocess.run([sys.executable, "-m", "oci_magic.bench.notebooks", "--suite", str(tmp_path / "none.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"oci bench notebooks: no such suite file: {tmp_path / 'none.json'}"]


@pytest.mark.slow
def test_embedded_model_completes_and_reports(tmp_path, capsys, model_path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"version": 1, "tasks": [
        {"id": "sum", "kind": "print", "split": "dev", "setup": ["numbers = list(range(1, 11))"],
         "task": "print the sum of numbers", "check": "assert '55' in _bench_output"}]}))
    out_json = tmp_path / "bench.json"
    env_model = os.environ.get("OCI_MODEL")
    assert bench("--suite", path, "--rounds", 2, "--max-tokens", 128, "--json", out_json, "--timeout", 300) == 0
    stdout, stderr = capsys.readouterr()
    data = json.loads(out_json.read_text())
    (task,) = data["tasks"]
    # every way a run that completes can end; "unverified": the rounds ran out and the last code that
    # ran is kept (the embedded model's reply depends on how many cores are free, so any of them)
    assert task["outcome"] in ("success", "unverified", "gave-up", "no-progress") and 1 <= task["rounds"] <= 2
    assert task["solved"] or task["why"]
    assert task["tokens"]["generated"] > 0
    if not env_model:
        assert data["model"]["path"] == model_path
    assert stderr.startswith("[1/1] sum") and "oci bench notebooks · fresh · 1 tasks" in stdout


def test_a_kernel_that_never_started_gets_one_more_try(monkeypatch):
    """Two benches side by side can race for a port; that is not the model's failure."""
    from oci_magic.bench import tasks

    calls = []

    class Flaky:
        def __init__(self, args, folder):
            calls.append(folder)

        def __enter__(self):
            if len(calls) == 1:
                raise RuntimeError("Kernel didn't respond in 60 seconds")
            raise RuntimeError("Kernel died before replying to kernel_info")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(tasks, "Kernel", Flaky)
    args = argparse.Namespace(replay=None)
    task = {"id": "t", "kind": "stats", "split": "dev", "setup": [], "task": "x", "check": "pass"}
    result = tasks.run_fresh(task, args)
    assert len(calls) == 2 and calls[0] != calls[1]  # a fresh folder, a fresh kernel; then no third try
    assert (result["solved"], result["why"]) == (False, "kernel error") and "died before" in result["error"]


SESSION = [
    {"id": "make-prices", "kind": "parsing", "split": "dev",
     "setup": ["prices = ['$1,200', '$35.50']"],
     "task": "Convert prices to a list of floats, in place.",
     "check": "got = prices\nassert got == [1200.0, 35.5], got"},
    {"id": "total-prices", "kind": "stats", "split": "dev", "after": "make-prices",
     "setup": ["prices = [1200.0, 35.5]"],
     "task": "Print the total of prices.",
     "check": "assert _bench_output.strip() == '1235.5', _bench_output"},
    {"id": "no-trace", "kind": "stats", "split": "heldout", "setup": ["x = 1"],
     "task": "Print whether the bench's checks left anything behind.",
     "check": "assert _bench_output.strip() == 'False False False', _bench_output"},
]
SESSION_REPLIES = {
    "make-prices": [fenced("prices = [float(p.replace('$', '').replace(',', '')) for p in prices]")],
    "total-prices": [fenced("print(sum(prices))")],
    # the checks' names, and their cells in the input history the next %%oci reads
    "no-trace": [fenced("print('got' in globals(), '_ns' in globals(), any('assert' in c for c in In))")],
}


def test_one_session_runs_the_tasks_in_one_kernel_and_leaves_no_trace_of_the_checks(tmp_path, capsys):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"version": 1, "tasks": SESSION}))
    replay = tmp_path / "replay"
    replay.mkdir()
    for task_id, replies in SESSION_REPLIES.items():
        (replay / f"{task_id}.json").write_text(json.dumps(replies))
    out_json = tmp_path / "both.json"
    assert bench("--suite", path, "--replay", replay, "--mode", "both", "--json", out_json, "--timeout", 120) == 0
    stdout, stderr = capsys.readouterr()
    data = json.loads(out_json.read_text())
    for mode in ("fresh", "session"):
        assert [t["solved"] for t in data[mode]["tasks"]] == [True, True, True], (mode, data[mode]["tasks"])
        assert data[mode]["settings"]["mode"] == mode
    assert "fresh kernels against one session" in stdout and "session [1/3] make-prices" in stderr
    assert data["session"]["summary"]["chained"] == {"tasks": 1, "solved": 1, "earlier_solved": 1,
                                                     "solved_after_solved": 1}
    assert data["session"]["summary"]["independent"]["solved"] == 2


def test_a_later_task_works_on_what_the_earlier_run_left(tmp_path, capsys):
    """In one session the task that builds on another runs no setup of its own: a wrong earlier
    result stays wrong, as in a user's notebook. Fresh, its setup gives it the right start."""
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"version": 1, "tasks": SESSION[:2]}))
    replay = tmp_path / "replay"
    replay.mkdir()
    (replay / "make-prices.json").write_text(json.dumps([fenced("prices = [1.0, 2.0]")] * 3))  # wrong
    (replay / "total-prices.json").write_text(json.dumps(SESSION_REPLIES["total-prices"]))
    out_json = tmp_path / "both.json"
    assert bench("--suite", path, "--replay", replay, "--mode", "both", "--json", out_json, "--timeout", 120) == 0
    data = json.loads(out_json.read_text())
    assert [t["solved"] for t in data["fresh"]["tasks"]] == [False, True]
    assert [t["solved"] for t in data["session"]["tasks"]] == [False, False]
    # reported apart: the tasks that stand alone, and the chained one against its earlier task
    for mode in ("fresh", "session"):
        assert data[mode]["summary"]["independent"]["tasks"] == 1
    assert data["session"]["summary"]["chained"] == {"tasks": 1, "solved": 0, "earlier_solved": 0,
                                                     "solved_after_solved": 0}
    stdout = capsys.readouterr().out
    assert "building on an earlier task: fresh 1/1, session 0/1 (0 of the 0 whose earlier task the session solved)" in stdout
    assert "independent" in stdout


def test_candidates_are_reported_per_round_and_summed(tmp_path, capsys):
    """With --candidates the JSON says, per round, each candidate's trial, group and whether it was
    chosen, and the summary counts the rounds where selection chose another than the first."""
    task = {"id": "avg", "kind": "stats", "split": "dev", "setup": ["values = [1, 2, 3, 4]"],
            "task": "Store the mean of values in avg.", "check": "assert avg == 2.5"}
    path, replay = tmp_path / "suite.json", tmp_path / "replay"
    path.write_text(json.dumps({"version": 1, "tasks": [task]}))
    replay.mkdir()
    (replay / "avg.json").write_text(json.dumps([[fenced("avg = sum(values) / 2"), fenced("avg = sum(values) / len(values)"),
                                                  fenced("import statistics\navg = statistics.mean(values)")]]))
    out_json = tmp_path / "bench.json"
    assert bench("--suite", path, "--replay", replay, "--set", "candidates=3", "--json", out_json, "--timeout", 120) == 0
    data = json.loads(out_json.read_text())
    [t] = data["tasks"]
    assert t["solved"] and t["solved_round1"]  # two of three agree on 2.5: the vote chose the second
    [[first, second, third]] = t["candidates"]
    assert first[:1] == ["ok"] and first[2] is False and second[2] is True and third[2] is False
    assert second[1] == third[1] != first[1]
    assert data["summary"]["candidates"] == {"rounds": 1, "chosen_not_first": 1, "none_ran": 0, "all_differ": 0}
    assert "candidates: 1 rounds · the chosen one not the first in 1" in capsys.readouterr().out


def test_plot_tasks_are_judged_by_what_the_notebook_showed(tmp_path, capsys):
    """The plot suite (oci_magic/bench/plots.json) in one real kernel, whose inline backend shows
    and closes every figure at plt.show() or after the cell: a title missing from the plot is
    fed back (the labels rule read the figure first) and fixed in round 2; answers with and
    without plt.show() are judged by what was shown."""
    suite = os.path.join(os.path.dirname(notebooks.__file__), "plots.json")
    tasks = {t["id"]: t for t in notebooks.load_suite(suite)}
    replay = tmp_path / "replay"
    replay.mkdir()
    right = {i: tasks[i]["reference"] for i in ("line-title", "two-lines-legend", "balance-changed")}
    wrong = right["line-title"].replace("'Sales per month'", "'Sales'") + "\nplt.show()"
    for task_id, code in right.items():
        replies = [fenced(wrong), fenced(code)] if task_id == "line-title" else [fenced(code + "\nplt.show()")]
        (replay / f"{task_id}.json").write_text(json.dumps(replies))
    out_json = tmp_path / "plots.json"
    assert bench("--suite", suite, "--tasks", ",".join(right), "--replay", replay, "--mode", "session",
                 "--json", out_json, "--timeout", 120) == 0
    found = {t["id"]: t for t in json.loads(out_json.read_text())["tasks"]}
    assert all(t["solved"] for t in found.values()), found
    assert found["line-title"]["rounds"] == 2 and not found["line-title"]["solved_round1"]
    assert "the task asks for the text 'Sales per month'" in found["line-title"]["feedback"][0]
    assert [found[i]["rounds"] for i in ("two-lines-legend", "balance-changed")] == [1, 1]


def test_a_run_starts_from_an_empty_prompt_cache_of_its_own(tmp_path, capsys):
    """Fresh kernels of one run share a disk cache that no earlier run filled: results must not
    depend on what was saved before (a fresh kernel that found a saved state answered otherwise)."""
    check = ("import os\nkv = get_ipython().magics_manager.registry['OciMagics'].kv_cache_dir\n"
             "assert 'oci-bench-kv-' in kv and os.path.isdir(kv), kv")
    tasks = [{"id": f"t{i}", "kind": "stats", "split": "dev", "setup": ["values = [1, 2]"],
              "task": "Store the sum of values in total.", "check": check} for i in (1, 2)]
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"version": 1, "tasks": tasks}))
    replay = tmp_path / "replay"
    replay.mkdir()
    for t in tasks:
        (replay / f"{t['id']}.json").write_text(json.dumps([fenced("total = sum(values)")]))
    out_json = tmp_path / "out.json"
    assert bench("--suite", path, "--replay", replay, "--json", out_json, "--timeout", 120) == 0
    assert [t["solved"] for t in json.loads(out_json.read_text())["tasks"]] == [True, True]

