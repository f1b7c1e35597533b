"""The run record each %%oci run displays (application/vnd.oci-magic.run+json), against its schema."""
import hashlib

import jsonschema
import pytest

from oci_magic.engine import runrecord
from oci_magic.ipython.outputs import RoundMarkers
from oci_magic.engine.loop import RefinementLoop
from oci_magic.backends.replay import ReplayBackend
from oci_magic.execution.executor import NamespaceExecutor

from .conftest import fenced, run_settings

SCHEMA = runrecord.load_schema()


def test_a_fail_fix_run_displays_one_valid_record(ip, replay_file, capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("oci_magic.ipython.magics._display_raw", shown.append)
    ip.run_cell("base = 40", store_history=True)
    path = replay_file(fenced("y = bas + 2"), "no code here", fenced("y = base + 2"))
    ip.run_cell_magic("oci", f"--replay {path} --seed 7 -t 0.5", "make y from base")
    assert len(shown) == 1
    record = shown[0][runrecord.RUN_MIME]
    jsonschema.validate(record, SCHEMA)
    assert shown[0]["text/plain"] == "✓ %%oci succeeded in round 3 of 3"
    assert "succeeded" not in capsys.readouterr().out  # the record's text carries the summary, once
    assert record["task"] == "make y from base" and record["outcome"] == "success" and record["final_round"] == 3
    assert record["settings"] == {"rounds": 3, "temperature": 0.5, "seed": 7, "max_tokens": 512, "execute": True}
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert record["model"]["backend"] == "replay" and record["model"]["file"] == "replies.json"
    assert record["model"]["sha256_first_mib"] == digest
    first, second, third = record["rounds"]
    assert (first["status"], first["code"]) == ("error", "y = bas + 2")
    assert first["error"]["name"] == "NameError" and first["error"]["message"] == "name 'bas' is not defined"
    assert any("y = bas + 2" in frame for frame in first["error"]["traceback"])
    assert "NameError: name 'bas' is not defined" in first["feedback"]
    assert second["status"] == "no-code" and second["code"] is None and second["error"]["name"] is None
    assert second["feedback"] and second["reply"] == "no code here"
    assert third["status"] == "ok" and third["error"] is None and third["feedback"] is None
    for r in record["rounds"]:
        t = r["tokens"]
        assert t["prompt"] > 0 and t["evaluated"] == t["prompt"] - t["reused"] and t["generated"] > 0
    assert first["tokens"]["prompt"] < third["tokens"]["prompt"]  # the transcript grows round by round


def test_the_schema_rejects_what_it_should(ip, replay_file, monkeypatch):
    shown = []
    monkeypatch.setattr("oci_magic.ipython.magics._display_raw", shown.append)
    ip.run_cell_magic("oci", f"--replay {replay_file(fenced('1/0'))} --rounds 1", "divide")
    record = shown[0][runrecord.RUN_MIME]
    jsonschema.validate(record, SCHEMA)
    assert record["outcome"] == "gave-up" and record["final_round"] is None and not record["succeeded"]
    for bad in ({"status": "crashed"}, {"tokens": {"prompt": 1}}, {"extra": 1}):
        broken = dict(record, rounds=[dict(record["rounds"][0], **bad)])
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(record, outcome="fine"), SCHEMA)


def test_timeout_is_a_status_the_schema_knows():
    statuses = SCHEMA["$defs"]["round"]["properties"]["status"]["enum"]
    assert "timeout" in statuses


def test_model_id_is_sha256_of_the_first_mib(model_path):
    class Described:
        def describe(self):
            return {"name": "SmolLM2", "backend": "llama.cpp", "path": model_path}

    info = runrecord.model_info(Described())
    with open(model_path, "rb") as f:
        assert info["sha256_first_mib"] == hashlib.sha256(f.read(1 << 20)).hexdigest()
    assert info["file"] == model_path.rsplit("/", 1)[-1] and info["size_bytes"] > 1 << 20
    assert info["backend"] == "llama.cpp"


def test_each_backend_names_itself_in_the_record(model_path):
    from oci_magic.backends.llama import LlamaBackend
    from oci_magic.backends.openai import OpenAIBackend

    assert runrecord.model_info(LlamaBackend(model_path, n_ctx=512))["backend"] == "llama.cpp"
    assert runrecord.model_info(OpenAIBackend("http://127.0.0.1:1", model="m"))["backend"] == "openai"


def test_a_backend_that_says_only_its_name_still_gets_a_record():
    from oci_magic.backends.base import Backend

    class Bare(Backend):
        name = "bare"

    info = runrecord.model_info(Bare())
    assert info["name"] == "bare" and info["file"] is None and info["sha256_first_mib"] is None


def test_round_markers_bracket_each_execution():
    shown = []
    markers = RoundMarkers(shown.append)
    loop = RefinementLoop(ReplayBackend([fenced("1/0"), "nothing", fenced("x = 1")]), NamespaceExecutor(),
                          run_settings(rounds=3), [markers])
    loop.run("task")
    fields = [(b[runrecord.ROUND_MIME]["round"], b[runrecord.ROUND_MIME]["event"], b[runrecord.ROUND_MIME].get("status"))
              for b in shown]
    assert fields == [(1, "start", None), (1, "end", None), (1, "finished", "error"),
                      (2, "finished", "no-code"),
                      (3, "start", None), (3, "end", None), (3, "finished", "ok")]
    assert all(b["text/plain"] == "" for b in shown)  # nothing to see where a frontend shows them
