"""The notebook benchmark suite (oci_magic/bench/notebooks.json) is sound, and so are the probe
suites run with --suite: numbers and dates written as text (oci_magic/bench/textdata.json), tables
and text the task describes in words (oci_magic/bench/wording.json), the kind and case of the
items a result holds (oci_magic/bench/items.json).

For every task, run with plain ``exec`` in a fresh namespace and a fresh working folder:
the setup cells alone must leave the check failing (the task is not already solved), and
setup + reference must make the check pass. No model, no kernel.
"""
import ast
import builtins
import contextlib
import importlib.util
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest

KINDS = {"parsing", "strings", "dates", "groupby", "pivot", "merge", "fillna", "regex", "numpy",
         "functions", "plots", "json", "io", "sorting", "window", "stats"}


def _suite_path(name: str = "notebooks.json") -> Path:
    # find_spec: locate the package without importing it (its import pulls in IPython).
    spec = importlib.util.find_spec("oci_magic")
    return Path(spec.origin).parent / "bench" / name


SUITE = json.loads(_suite_path().read_text(encoding="utf-8"))
PROBE_SUITES = {name: json.loads(_suite_path(name).read_text(encoding="utf-8"))["tasks"]
                for name in ("textdata.json", "wording.json", "items.json")}
PROBES = [t for tasks in PROBE_SUITES.values() for t in tasks]
TASKS = SUITE["tasks"]
EVERY = TASKS + PROBES  # what holds for any task, in either suite


@pytest.mark.parametrize("name", PROBE_SUITES)
def test_probe_suite_shape(name):
    probes = PROBE_SUITES[name]
    assert len(probes) >= 8 and {t["split"] for t in probes} == {"heldout"} and {t["kind"] for t in probes} <= KINDS
    ids = [t["id"] for t in PROBES]  # no id twice across the suite and every probe suite
    assert not set(ids) & {t["id"] for t in TASKS} and len(set(ids)) == len(ids)


def test_suite_shape():
    assert SUITE["version"] == 1
    assert len(TASKS) >= 40
    ids = [t["id"] for t in TASKS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    for t in TASKS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", t["id"]), t["id"]
        assert t["kind"] in KINDS, (t["id"], t["kind"])
        assert t["split"] in ("dev", "heldout"), (t["id"], t["split"])
        assert isinstance(t["setup"], list) and all(isinstance(c, str) for c in t["setup"]), t["id"]
        assert t["task"].strip() and t["check"].strip() and t["reference"].strip(), t["id"]
        for src in t["setup"] + [t["check"], t["reference"]]:
            compile(src, t["id"], "exec")
    splits = Counter(t["split"] for t in TASKS)
    assert splits["dev"] and splits["heldout"] >= 10, splits
    kinds = Counter(t["kind"] for t in TASKS)
    assert set(kinds) == KINDS and min(kinds.values()) >= 2, kinds
    # held-out tasks spread across kinds, not bunched in one
    assert len({t["kind"] for t in TASKS if t["split"] == "heldout"}) >= 8


def _bound(src: str) -> set:
    names = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _read(src: str) -> set:
    return {n.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@pytest.mark.parametrize("task", EVERY, ids=[t["id"] for t in EVERY])
def test_task_names_what_its_check_reads(task):
    """Every name the check reads that the reference creates (not setup) is named in the task text."""
    new = _read(task["check"]) & _bound(task["reference"])
    new -= _bound("\n".join(task["setup"])) | _bound(task["check"]) | set(dir(builtins)) | {"_bench_output"}
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", task["task"]))
    assert new <= words, f"task text does not name {sorted(new - words)}"


@pytest.fixture
def plt():
    pytest.importorskip("pandas")
    pytest.importorskip("numpy")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


def _run(task, tmp_path, monkeypatch, plt, solve):
    work = tmp_path / ("solved" if solve else "unsolved")
    work.mkdir()
    monkeypatch.chdir(work)
    plt.close("all")
    ns = {"__name__": "__main__"}
    for i, cell in enumerate(task["setup"]):
        exec(compile(cell, f"<{task['id']} setup {i}>", "exec"), ns)
    output = ""
    if solve:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(task["reference"], f"<{task['id']} reference>", "exec"), ns)
        output = buf.getvalue()
    ns["_bench_output"] = output
    exec(compile(task["check"], f"<{task['id']} check>", "exec"), ns)


@pytest.mark.parametrize("task", EVERY, ids=[t["id"] for t in EVERY])
def test_check_fails_before_the_task(task, tmp_path, monkeypatch, plt):
    with pytest.raises((AssertionError, NameError)):
        _run(task, tmp_path, monkeypatch, plt, solve=False)


@pytest.mark.parametrize("task", EVERY, ids=[t["id"] for t in EVERY])
def test_reference_passes_the_check(task, tmp_path, monkeypatch, plt):
    _run(task, tmp_path, monkeypatch, plt, solve=True)


CHAINS = [t for t in TASKS if t.get("after")]


def test_a_task_that_builds_on_another_comes_right_after_it():
    ids = [t["id"] for t in TASKS]
    assert len(CHAINS) >= 5
    for t in CHAINS:
        assert ids.index(t["after"]) == ids.index(t["id"]) - 1, t["id"]


@pytest.mark.parametrize("task", CHAINS, ids=[t["id"] for t in CHAINS])
def test_in_one_session_a_chained_task_starts_from_its_predecessors_result(task, tmp_path, monkeypatch, plt):
    """What the session mode runs: the earlier task's setup and reference, then only this task's
    session setup: its reference passes its check there too, and its check fails without it."""
    before = next(t for t in TASKS if t["id"] == task["after"])
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__main__"}
    for cell in before["setup"] + [before["reference"]] + task.get("session_setup", []):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(cell, task["id"], "exec"), ns)
    ns["_bench_output"] = ""
    with pytest.raises((AssertionError, NameError)):
        exec(compile(task["check"], task["id"], "exec"), dict(ns))
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(task["reference"], task["id"], "exec"), ns)
    exec(compile(task["check"], task["id"], "exec"), ns)
