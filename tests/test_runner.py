"""``oci run``: a notebook with %%oci cells runs headless in a fresh kernel and comes back with the
rounds as cells. Each test that runs a notebook starts a real kernel (about a second)."""
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from oci_magic import cli
from oci_magic.engine import runrecord
from oci_magic.runner.cli import default_output
from oci_magic.runner.weave import records

from .conftest import fenced

pytestmark = pytest.mark.kernel  # starts real Jupyter kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
ENV.pop("OCI_MODEL", None)


def notebook(folder, *cells, name="nb.ipynb"):
    nb = new_notebook(cells=[new_code_cell(c) if isinstance(c, str) else c for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = os.path.join(str(folder), name)
    nbformat.write(nb, path)
    return path


def replies(folder, *texts, name="replay.json"):
    path = os.path.join(str(folder), name)
    with open(path, "w") as f:
        json.dump(list(texts), f)
    return path


def oci_run(*args, timeout=300):
    proc = subprocess.run([sys.executable, "-m", "oci_magic", "run", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def outputs(cell):
    return [o["output_type"] for o in cell.get("outputs", [])]


@pytest.fixture(scope="module")
def fail_fix(tmp_path_factory):
    """One run shared by the layout tests: two %%oci cells, replies consumed across both."""
    folder = tmp_path_factory.mktemp("failfix")
    path = notebook(folder, new_markdown_cell("# title"), "nums = [1, 2, 3]\nzero = 0",
                    "%%oci\nadd up nums", "%%oci\ndouble it", "print('after', total, doubled)")
    replay = replies(folder, fenced("total = sum(nums) / zero"), fenced("total = sum(nums)\nprint('total', total)\ntotal"),
                     fenced("doubled = total * 2"))
    rc, out, err = oci_run(path, "--replay", replay)
    return {"rc": rc, "out": out, "err": err, "path": path, "replay": replay,
            "nb": nbformat.read(default_output(path), as_version=4)}


def test_exit_0_and_out_beside_the_notebook(fail_fix):
    assert fail_fix["rc"] == 0, fail_fix["err"]
    assert fail_fix["out"].strip() == default_output(fail_fix["path"]) == fail_fix["path"][:-6] + ".oci.ipynb"
    nbformat.validate(fail_fix["nb"])


def test_progress_lines_on_stderr(fail_fix):
    lines = fail_fix["err"].splitlines()
    assert lines == [
        "oci run · cell 1/4: ok (0.0 s)",
        "oci run · cell 2/4 %%oci round 1: error (ZeroDivisionError: division by zero)",
        "oci run · cell 2/4 %%oci round 2: ok",
        lines[3],
        "oci run · cell 3/4 %%oci round 1: ok",
        lines[5],
        lines[6],
        f"oci run · 2 %%oci cells: 2 succeeded; wrote {default_output(fail_fix['path'])}",
    ]
    assert lines[3].startswith("oci run · cell 2/4: %%oci succeeded in round 2 of 3 (")
    assert lines[5].startswith("oci run · cell 3/4: %%oci succeeded in round 1 of 3 (")
    assert lines[6].startswith("oci run · cell 4/4: ok (")


def test_exact_cell_layout(fail_fix):
    cells = fail_fix["nb"].cells
    assert [c.source for c in cells] == [
        "# title",
        "nums = [1, 2, 3]\nzero = 0",
        "%%oci\nadd up nums",
        "# %%oci round 1/3: error — ZeroDivisionError\ntotal = sum(nums) / zero",
        "# %%oci round 2/3: worked (model: replay)\ntotal = sum(nums)\nprint('total', total)\ntotal",
        "%%oci\ndouble it",
        "# %%oci round 1/3: worked (model: replay)\ndoubled = total * 2",
        "print('after', total, doubled)",
    ]
    assert [outputs(c) for c in cells] == [
        [], [], ["stream", "display_data"], ["error", "display_data"], ["stream", "execute_result"],
        ["stream", "display_data"], [], ["stream"]]
    assert len({c.id for c in cells}) == len(cells)


def test_tags_and_metadata(fail_fix):
    cells = fail_fix["nb"].cells
    assert cells[2].metadata["tags"] == ["skip-execution"]  # its rounds follow; a re-run must not run them twice
    assert cells[2].metadata["oci"] == {"outcome": "success", "final_round": 2}
    failed, worked = cells[3], cells[4]
    assert failed.metadata["tags"] == ["raises-exception"]
    assert failed.metadata["oci"] == {"round": 1, "rounds": 3, "status": "error", "final": False, "model": "replay",
                                      "model_file": "replay.json", "task": "add up nums", "error": "division by zero"}
    assert "tags" not in worked.metadata
    assert worked.metadata["oci"]["status"] == "ok" and worked.metadata["oci"]["final"] is True
    assert cells[6].metadata["oci"]["task"] == "double it" and "tags" not in cells[6].metadata
    assert all(c.get("execution_count") is None for c in (failed, worked, cells[6]))


def test_outputs_land_in_their_round(fail_fix):
    cells = fail_fix["nb"].cells
    error = cells[3].outputs[0]
    assert (error.ename, error.evalue) == ("ZeroDivisionError", "division by zero")
    assert cells[4].outputs[0].text == "total 6\n" and cells[4].outputs[1].data["text/plain"] == "6"
    log = cells[2].outputs[0].text  # the live log stays with the %%oci cell
    assert "── round 1/3 ── generating" in log and "✗ round 1: ZeroDivisionError" in log
    assert "total 6" not in log  # the round's own output moved to its cell
    assert cells[2].outputs[1].data["text/plain"] == "✓ %%oci succeeded in round 2 of 3"
    assert cells[-1].outputs[0].text == "after 6 12\n"
    for c in cells:  # no round markers are left
        assert not any(runrecord.ROUND_MIME in o.get("data", {}) for o in c.get("outputs", []))


def test_records_validate_and_name_the_replay_file(fail_fix):
    found = records(fail_fix["nb"])
    assert [r["task"] for r in found] == ["add up nums", "double it"]
    for record in found:
        jsonschema.validate(record, runrecord.load_schema())
        assert record["model"]["path"] == os.path.abspath(fail_fix["replay"])
    assert [r["status"] for r in found[0]["rounds"]] == ["error", "ok"]


def test_nbconvert_reruns_out(fail_fix, tmp_path):
    out = default_output(fail_fix["path"])
    proc = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--execute", "--to", "notebook",
                           "--output-dir", str(tmp_path), "--output", "again.ipynb", out],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    again = nbformat.read(str(tmp_path / "again.ipynb"), as_version=4)
    assert again.cells[3].outputs[0].ename == "ZeroDivisionError"  # ran again, and the run went on past it
    assert again.cells[4].outputs[0].text == "total 6\n"
    assert again.cells[2].outputs[1].data["text/plain"] == "✓ %%oci succeeded in round 2 of 3"  # skipped, kept
    assert again.cells[-1].outputs[0].text == "after 6 12\n"


def test_final_only_and_papermill(tmp_path):
    path = notebook(tmp_path, "nums = [1, 2]", "%%oci\nadd up nums", "print(total)")
    replay = replies(tmp_path, fenced("total = sum(nums) / 0"), fenced("total = sum(nums)"))
    out = str(tmp_path / "final.ipynb")
    rc, _, err = oci_run(path, "--replay", replay, "--final-only", "-o", out)
    assert rc == 0, err
    nb = nbformat.read(out, as_version=4)
    assert [c.source for c in nb.cells] == ["nums = [1, 2]", "%%oci\nadd up nums",
                                           "# %%oci round 2/3: worked (model: replay)\ntotal = sum(nums)", "print(total)"]
    # papermill fails a notebook with any error output, tags or not: --final-only gives it a clean one
    proc = subprocess.run([sys.executable, "-m", "papermill", out, str(tmp_path / "pm.ipynb")],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert nbformat.read(str(tmp_path / "pm.ipynb"), as_version=4).cells[-1].outputs[0].text == "3\n"


def test_a_cell_that_gives_up_exits_1(tmp_path):
    path = notebook(tmp_path, "%%oci --rounds 2\ndivide", "print('still ran')")
    replay = replies(tmp_path, fenced("1/0"), fenced("[][1]"))
    rc, _, err = oci_run(path, "--replay", replay)
    assert rc == 1
    assert err.splitlines()[-1].endswith("1 %%oci cell: 0 succeeded, 1 did not; wrote " + default_output(path))
    cells = nbformat.read(default_output(path), as_version=4).cells
    assert [c.metadata.get("tags") for c in cells[1:3]] == [["raises-exception"], ["raises-exception"]]
    assert [c.outputs[0].ename for c in cells[1:3]] == ["ZeroDivisionError", "IndexError"]
    assert cells[3].outputs[0].text == "still ran\n"


def test_a_raising_notebook_cell_stops_the_run_exit_1(tmp_path):
    path = notebook(tmp_path, "x = 1", "undefined_name", "print('never')")
    rc, _, err = oci_run(path)
    assert rc == 1
    assert "stopped: cell 2/3 raised NameError: name 'undefined_name' is not defined" in err
    cells = nbformat.read(default_output(path), as_version=4).cells
    assert outputs(cells[1]) == ["error"] and outputs(cells[2]) == []


def test_timeout_interrupts_the_round_and_the_run_goes_on(tmp_path):
    path = notebook(tmp_path, "%%oci\nwait", "print('next')")
    replay = replies(tmp_path, fenced("import time\ntime.sleep(60)"))
    rc, _, err = oci_run(path, "--replay", replay, "--timeout", "2", timeout=60)
    assert rc == 1, err
    assert "cell 1/2: over 2 s, interrupting" in err
    nb = nbformat.read(default_output(path), as_version=4)
    record = records(nb)[0]
    assert record["outcome"] == "stopped" and record["rounds"][0]["status"] == "interrupted"
    assert nb.cells[1].metadata["tags"] == ["raises-exception", "skip-execution"]  # a re-run must not hang
    assert nb.cells[2].outputs[0].text == "next\n"


def test_rounds_option_and_record(tmp_path):
    path = notebook(tmp_path, "%%oci\nmake x")
    replay = replies(tmp_path, fenced("x = 1/0"), fenced("x = 1"))
    saved = str(tmp_path / "saved.json")
    rc, _, _ = oci_run(path, "--replay", replay, "--rounds", "1", "--record", saved)
    assert rc == 1
    record = records(nbformat.read(default_output(path), as_version=4))[0]
    assert record["settings"]["rounds"] == 1 and len(record["rounds"]) == 1
    with open(saved) as f:
        assert json.load(f) == [fenced("x = 1/0")]


@pytest.mark.parametrize("argv, message", [
    (["missing.ipynb"], "oci run: no such notebook: missing.ipynb"),
    (["{text}"], "oci run: not a readable notebook: {text} ("),
    (["{nb}", "--rounds", "0"], "oci run: --rounds must be between 1 and 50, not 0"),
    (["{nb}", "--timeout", "-1"], "oci run: --timeout must be a positive number of seconds, not -1"),
    (["{nb}", "--replay", "nope.json"], "oci run: replay file not found: nope.json"),
    (["{nb}", "--model", "{text}"], "oci run: "),
    (["{nb}", "--model", "qwen2.5-coder-7b"], "oci run: model qwen2.5-coder-7b is not downloaded"),
    (["{nb}", "-o", "/no/such/dir/out.ipynb"], "oci run: output folder does not exist: /no/such/dir"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # an empty cache: no model is downloaded
    text = tmp_path / "notes.txt"
    text.write_text("not json")
    nb = notebook(tmp_path, "x = 1")
    fill = lambda s: s.format(text=str(text), nb=nb)  # noqa: E731
    assert cli.main(["run", *map(fill, argv)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(fill(message))
    assert not os.path.exists(default_output(nb))


def test_a_bad_option_value_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "x.ipynb", "--rounds", "many"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == "oci run: argument --rounds: invalid int value: 'many' (see oci run --help)\n"


@pytest.mark.parametrize("name, expect", [
    ("teaching", ["error", "ok"]),
    ("analysis", ["ok"]),
    ("plotting", ["ok"]),
])
def test_examples_run_from_their_replays(tmp_path, name, expect):
    for f in (f"{name}.ipynb", f"{name}.replay.json", "sales.csv"):
        shutil.copy(os.path.join(EXAMPLES, f), tmp_path)
    rc, _, err = oci_run(str(tmp_path / f"{name}.ipynb"), "--replay", str(tmp_path / f"{name}.replay.json"))
    assert rc == 0, err
    nb = nbformat.read(str(tmp_path / f"{name}.oci.ipynb"), as_version=4)
    generated = [c for c in nb.cells if "oci" in c.metadata and "round" in c.metadata["oci"]]
    assert [c.metadata["oci"]["status"] for c in generated] == expect
    final = generated[-1]
    if name == "teaching":
        assert generated[0].outputs[0].ename == "KeyError"
        assert nb.cells[-1].outputs[0].data["text/plain"] == "'East'"  # the kernel kept the fixed round's variable
    if name == "analysis":
        assert final.outputs[0].text.splitlines()[:2] == ["region", "East     3552.50"]
    if name == "plotting":
        assert "image/png" in final.outputs[0].data


@pytest.mark.slow
def test_a_real_model_run(tmp_path, model_path):
    path = notebook(tmp_path, "numbers = list(range(1, 11))",
                    "%%oci --seed 1 --temperature 0 --max-tokens 64 --rounds 1\nprint the sum of the numbers 1 to 10")
    rc, _, err = oci_run(path, "--model", model_path, timeout=600)
    nb = nbformat.read(default_output(path), as_version=4)
    record = records(nb)[0]
    jsonschema.validate(record, runrecord.load_schema())
    assert record["model"]["path"] == model_path and record["model"]["backend"] == "llama.cpp"
    assert record["model"]["name"] == "SmolLM2-135M-Instruct.Q4_1"
    first = record["rounds"][0]
    assert first["tokens"]["generated"] > 0 and first["seconds"]["generate"] > 0
    assert rc == (0 if record["succeeded"] else 1), err
    generated = nb.cells[2:]
    assert [c.metadata["oci"]["round"] for c in generated] == ([1] if first["code"] else [])
    for c in generated:
        assert c.metadata["oci"]["model"] == "SmolLM2-135M-Instruct.Q4_1"
        assert c.source.split("\n", 1)[1] == first["code"]


@pytest.mark.parametrize("extra,rc,summary", [
    ((), 1, "interrupted in round 1: --confirm asks before running code, and nobody can answer here"),
    (("--yes",), 0, "succeeded in round 1 of 3"),
])
def test_confirm_needs_yes_headless(tmp_path, extra, rc, summary):
    path = notebook(tmp_path, "%%oci --confirm\nmake x")
    code, out, err = oci_run(path, "--replay", replies(tmp_path, fenced("x = 1")), *extra)
    assert code == rc, err
    assert summary in records(nbformat.read(default_output(path), as_version=4))[0]["summary"]


@pytest.mark.parametrize("extra,statuses", [((), ["skipped", "ok"]), (("--allow", "risky"), ["ok"])])
def test_risky_code_is_refused_headless_unless_allowed(tmp_path, extra, statuses):
    marker = tmp_path / "made"
    path = notebook(tmp_path, "%%oci\nmake a file")
    replay = replies(tmp_path, fenced(f"import os\nos.system('touch {marker}')"), fenced("done = True"))
    code, out, err = oci_run(path, "--replay", replay, *extra)
    assert code == 0, err
    record = records(nbformat.read(default_output(path), as_version=4))[0]
    assert [r["status"] for r in record["rounds"]] == statuses
    assert marker.exists() == bool(extra)
    if not extra:
        assert record["rounds"][0]["feedback"].startswith("Refused: the code uses os.system")


def test_record_to_a_directory_is_a_usage_error(tmp_path):
    path = notebook(tmp_path, "x = 1")
    code, out, err = oci_run(path, "--record", str(tmp_path))
    assert code == 2 and err.strip() == f"oci run: --record: {tmp_path} is a directory"


def test_a_cell_without_a_record_keeps_what_it_printed():
    from nbformat.v4 import new_output

    from oci_magic.runner.weave import weave

    cell = new_code_cell("%%oci\nt")
    cell.outputs = [new_output("stream", name="stdout", text="loading the model …\n"),
                    new_output("display_data", data={runrecord.ROUND_MIME: {"round": 1}, "text/plain": ""}),
                    new_output("stream", name="stdout", text="partial output\n")]
    woven, _ = weave(new_notebook(cells=[cell]), final_only=False)
    assert "".join(o.get("text", "") for o in woven.cells[0].outputs) == "loading the model …\npartial output\n"
    assert all(runrecord.ROUND_MIME not in o.get("data", {}) for o in woven.cells[0].outputs)
