"""The live view (status line, round panel), the choice of view, and --confirm's gate."""
import gc
import time

import pytest

from oci_magic.execution import confirm
from oci_magic.ipython import status as display
from oci_magic.backends.replay import ReplayBackend
from oci_magic.ipython.status import StatusLine, Throttle
from oci_magic.engine.events import (ExecutionStarted, ReadingContext, RoundStarted, RunAborted, RunFinished, RunStarted,
                                     TokenGenerated)
from oci_magic.engine.records import RunResult
from oci_magic.execution.executor import NamespaceExecutor
from oci_magic.engine.loop import RefinementLoop
from oci_magic.ipython.panel import RoundPanel
from oci_magic.ipython.text import TextRenderer

from .conftest import fenced, run_settings


class Frontend:
    """Stands in for JupyterLab: keeps every display and its updates, by display."""

    def __init__(self, works=None):
        self.displays = []  # one list of bundles per display, oldest first
        self.works = works  # updates that work before the display is gone (a closed page); None: all

    def show(self, bundle):
        versions = [bundle]
        self.displays.append(versions)
        frontend = self

        class Handle:
            def update(self, new, raw=True):
                if frontend.works == 0:
                    raise RuntimeError("display gone")
                frontend.works = frontend.works and frontend.works - 1
                versions.append(new)

        return Handle()

    def latest(self, kind="text/plain"):
        return [versions[-1][kind] for versions in self.displays]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def run_loop(replies, listeners, gate=None, rounds=3):
    loop = RefinementLoop(ReplayBackend(replies), NamespaceExecutor({"base": 40}), run_settings(rounds=rounds),
                          listeners, **({"gate": gate} if gate else {}))
    return loop.run("make y")


def test_throttle_limits_token_updates_but_never_phase_changes():
    clock, frontend = Clock(), Frontend()
    status = StatusLine(frontend.show, clock=clock)
    status(ReadingContext("t"))
    status(RunStarted("t", 3, "model"))
    status(RoundStarted(1, 3))
    for _ in range(400):  # two seconds of a 200 tok/s model
        clock.now += 0.005
        status(TokenGenerated(1, "x"))
    versions = frontend.displays[0]
    token_updates = len(versions) - 2  # the first display (reading context) and round 1's start
    assert 18 <= token_updates <= 21  # ~10 per second, not 400
    assert versions[-1]["text/plain"].startswith("%%oci · model · round 1/3 · generating · 200 tok/s · 2.0 s")
    status(RoundStarted(2, 3))  # a phase change shows at once, however soon
    assert versions[-1]["text/plain"] == "%%oci · model · round 2/3 · fixing · 2.0 s"


def test_throttle():
    clock = Clock()
    throttle = Throttle(0.1, clock)
    assert throttle.ready() and not throttle.ready() and throttle.ready(force=True)
    clock.now += 0.15
    assert throttle.ready()


def test_status_line_walks_through_the_phases():
    frontend = Frontend()
    status = StatusLine(frontend.show)
    status(ReadingContext("make y"))
    run_loop([fenced("y = bas + 2"), fenced("y = base + 2")], [status])
    phases = [v["text/plain"].split(" · ")[2:4] for v in frontend.displays[0][1:]]
    assert ["round 1/3", "generating"] in phases and ["round 1/3", "running"] in phases
    assert ["round 1/3", "reading the traceback"] in phases and ["round 2/3", "fixing"] in phases
    assert frontend.displays[0][0]["text/plain"].startswith("%%oci · reading context")
    final = frontend.displays[0][-1]["text/plain"]
    assert final.startswith("%%oci · replay · round 2/3 · done · ") and " tokens · " in final
    assert len(frontend.displays) == 1  # one line, updated in place


def test_panel_folds_failed_rounds_once_one_works():
    frontend = Frontend()
    run_loop([fenced("y = bas + 2"), fenced("y = base + 2\nprint(y)")], [RoundPanel(frontend.show)])
    round1, round2, summary = frontend.displays
    first = round1[-1]["text/html"]
    assert "✗ round 1/3 · NameError: name &#x27;bas&#x27; is not defined" in first
    assert '<details class="oci-round" data-round="1"' in first and " open>" not in first  # folded
    assert any(" open>" in v["text/html"] for v in round1)  # it was open while it ran
    # the traceback is IPython's error output of the cell, not repeated in the panel
    shown = first.split('<details class="oci-feedback"')[0]  # the feedback (folded) quotes it for the model
    assert "oci-traceback" not in shown and "File &quot;" not in shown and "Traceback" not in shown
    assert round1[-1]["text/plain"] == "── ✗ round 1/3 · NameError: name 'bas' is not defined\ny = bas + 2"
    assert "feedback sent to the model" in first and "Fix the code." in first
    assert " open>" in round2[-1]["text/html"] and "✓ round 2/3 · ran in" in round2[-1]["text/html"]
    assert '<span style="color: #008000">print</span>(y)' in round2[-1]["text/html"]  # highlighted
    assert [v["text/plain"] for v in summary] == ["✓ %%oci succeeded in round 2 of 3"]


def wait_for(condition, seconds=5.0):  # for the ticker thread, in real time
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.005)


def test_a_replay_shows_no_speed():
    clock, frontend = Clock(), Frontend()
    status = StatusLine(frontend.show, clock=clock)
    for event in [RunStarted("t", 3, "replay", timed=False), RoundStarted(1, 3), *[TokenGenerated(1, "x")] * 50,
                  ExecutionStarted(1, "x")]:
        clock.now += 0.0001  # a replay's tokens come all at once: an absurd rate
        status(event)
    assert frontend.latest() == ["%%oci · replay · round 1/3 · running · 0.0 s"]  # a model's shows: see above


def test_the_elapsed_time_ticks_while_nothing_happens_and_the_ticker_stops_at_the_end():
    clock, frontend = Clock(), Frontend()
    status = StatusLine(frontend.show, clock=clock, tick=0.01)  # a tick each 10 ms of real time
    status(ReadingContext("t"))
    assert status.ticker is not None and status.ticker.alive  # started by the first event
    for event in [RunStarted("t", 3, "replay", timed=False), RoundStarted(1, 3), ExecutionStarted(1, "sleep(60)")]:
        status(event)
    versions = frontend.displays[0]
    clock.now += 4.2  # the code runs for a while, no event comes
    wait_for(lambda: versions[-1]["text/plain"].endswith("· running · 4.2 s"))
    shown = len(versions)
    clock.now += 0.005  # nothing new to show before a whole tick has passed
    status.ticker._stop.wait(0.05)
    assert len(versions) == shown
    status(RunFinished(RunResult("t", 3, outcome="success")))
    assert not status.ticker.alive  # stopped, and joined, when the run ends
    done = versions[-1]["text/plain"]
    assert done.startswith("%%oci · replay · round 1/3 · done · ") and done.endswith("4.2 s")
    clock.now += 10  # nothing moves once it is done
    assert versions[-1]["text/plain"] == done and status.tick() is None


def test_the_ticker_is_never_left_running():
    clock = Clock()
    aborted = StatusLine(Frontend().show, clock=clock, tick=0.01)
    aborted(ReadingContext("t"))
    aborted(RunAborted("KeyboardInterrupt"))
    assert not aborted.ticker.alive
    frontend = Frontend(works=1)
    broken = StatusLine(frontend.show, clock=clock, tick=0.01)
    broken(ReadingContext("t"))
    clock.now += 1
    wait_for(lambda: len(frontend.displays[0]) == 2)  # one tick shown
    clock.now += 1
    wait_for(lambda: not broken.ticker.alive)  # the next one raised: it stopped, quietly
    assert len(frontend.displays[0]) == 2 and frontend.displays[0][-1]["text/plain"].endswith("· 1.0 s")
    dropped = StatusLine(Frontend().show, tick=0.01)
    dropped(ReadingContext("t"))  # and then no RunFinished (a listener before it raised): the view goes
    ticker = dropped.ticker
    del dropped
    gc.collect()
    wait_for(lambda: not ticker.alive)  # and its ticker with it


def test_panel_streams_the_reply_before_the_code_is_complete():
    clock, frontend = Clock(), Frontend()
    panel = RoundPanel(frontend.show, clock=clock)
    panel(RoundStarted(1, 3))
    for word in ["Here", " is", " the", " code"]:
        clock.now += 0.2
        panel(TokenGenerated(1, word))
    shown = [v["text/html"] for v in frontend.displays[0]]
    assert 'class="oci-stream"' in shown[-1] and "Here is the code</pre>" in shown[-1]
    assert "round 1/3 · generating…" in shown[-1]


def test_panel_keeps_failed_rounds_open_when_the_run_gives_up():
    frontend = Frontend()
    result = run_loop([fenced("1/0"), fenced("[][1]")], [RoundPanel(frontend.show)], rounds=2)
    assert result.outcome == "gave-up"
    assert all(" open>" in d[-1]["text/html"] for d in frontend.displays[:2])
    assert frontend.latest()[-1].startswith("✗ %%oci gave up after 2 rounds; last error: IndexError")


# -- the magic chooses the view ----------------------------------------------------------------
def test_terminal_ipython_gets_plain_text(ip, magics, replay_file, capsys):
    from oci_magic.ipython.outputs import listeners

    assert [type(x) for x in listeners(magics.shell, magics.view, magics.headless, False, False, print)] == [TextRenderer]
    ip.run_cell_magic("oci", f"--replay {replay_file(fenced('y = 1'))}", "make y")
    assert capsys.readouterr().out.rstrip().endswith("✓ %%oci succeeded in round 1 of 3")


def test_panel_view_shows_the_summary_once(ip, magics, replay_file, capsys, monkeypatch):
    frontend = Frontend()
    monkeypatch.setattr(display, "_ipython_show", frontend.show)
    magics.view = "panel"
    ip.run_cell_magic("oci", f"--replay {replay_file(fenced('y = 1'))}", "make y")
    shown = frontend.latest()
    assert shown[0].startswith("%%oci · replay · round 1/3 · done · 10 tokens · ")
    assert not any("%%oci succeeded" in text for text in shown)  # the panel leaves it to the record
    # the run record's output carries the line (shown as text by this terminal shell)
    assert capsys.readouterr().out.count("✓ %%oci succeeded in round 1 of 3") == 1
    assert ip.rl_next_input.endswith("y = 1")


def test_headless_kernel_gets_text(magics):
    magics.view, magics.headless = "auto", True
    from oci_magic.ipython.outputs import listeners

    assert [type(x) for x in listeners(magics.shell, magics.view, magics.headless, False, False, print)] == [TextRenderer]


# -- --confirm ------------------------------------------------------------------------------------
def scripted(monkeypatch, *answers):
    asked = []
    replies = iter(answers)

    def ask(question, choices):
        asked.append(question)
        return next(replies)

    monkeypatch.setattr(confirm, "ask_stdin", ask)
    return asked


REFUSED = ("✗ %%oci interrupted in round 1: --confirm asks before running code, and nobody can answer here "
           "(no stdin / headless); nothing was run. Pass --yes to run without asking")


@pytest.mark.parametrize("options,headless,answers,outcome,y,last_line", [
    ("--confirm", False, ["run"], "success", 42, "✓ %%oci succeeded in round 1 of 3"),
    ("--confirm", False, ["stop"], "stopped", None,
     "✗ %%oci interrupted in round 1: stopped by you before running round 1"),
    ("--confirm", False, ["skip", "use base, it exists", "run"], "success", 41, "✓ %%oci succeeded in round 2 of 3"),
    ("--confirm", False, [None], "stopped", None, REFUSED),  # a kernel with no stdin (nbclient)
    ("--confirm", True, [], "stopped", None, REFUSED),  # headless: not even asked
    ("--confirm --yes", True, [], "success", 42, "✓ %%oci succeeded in round 1 of 3"),
    ("", False, [], "success", 42, "✓ %%oci succeeded in round 1 of 3"),
])
def test_confirm_gate(ip, magics, replay_file, capsys, monkeypatch, options, headless, answers, outcome, y, last_line):
    asked = scripted(monkeypatch, *answers)
    magics.headless = headless
    ip.user_ns["base"] = 40
    path = replay_file(fenced("y = base + 2"), fenced("y = base + 1"))
    ip.run_cell_magic("oci", f"--replay {path} {options}", "make y")
    assert magics.session.last_result.outcome == outcome
    assert ip.user_ns.get("y") == y
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == last_line
    assert len(asked) == len(answers)
    assert (ip.rl_next_input is not None) == (outcome == "success")
    if "skip" in answers:  # the reason for skipping went back to the model
        first = magics.session.last_result.rounds[0]
        assert first.status == "skipped" and "use base, it exists" in first.feedback


def test_confirm_trait_and_assume_yes(ip, magics, replay_file, monkeypatch):
    asked = scripted(monkeypatch, "run")
    magics.confirm = True
    ip.run_cell_magic("oci", f"--replay {replay_file(fenced('y = 1'))}", "make y")
    assert asked == ["Run the code of round 1?"]
    magics.assume_yes = True
    ip.run_cell_magic("oci", f"--replay {replay_file(fenced('y = 2'), name='b.json')}", "make y")
    assert len(asked) == 1 and ip.user_ns["y"] == 2


def test_ask_stdin_free_text_answer():
    assert confirm.ask_stdin("Why?", (), read=lambda prompt: "  too slow ") == "too slow"


def test_confirm_names_the_risks_in_its_one_question():
    from oci_magic.execution.confirm import ConfirmGate
    from oci_magic.execution.policy import risk_note

    questions = []

    def ask(question, choices):
        questions.append(question)
        return "run"

    gate = ConfirmGate(ask=ask, warn=risk_note())
    assert gate(1, "import os\nos.system('ls')").action == "run"
    assert gate(2, "x = 1").action == "run"
    assert questions[0].startswith("Run the code of round 1? (careful: it uses os.system")
    assert questions[1] == "Run the code of round 2?"


def test_a_no_exec_round_is_the_result_not_a_failure():
    frontend = Frontend()
    backend = ReplayBackend([fenced("y = 1")])
    RefinementLoop(backend, None, run_settings(execute=False), [RoundPanel(frontend.show)]).run("t")
    html = frontend.displays[0][-1]["text/html"]
    assert " open>" in html and "#cf222e" not in html  # not folded, not red


def test_a_run_refused_after_reading_the_notebook_does_not_leave_the_status_reading(ip, magics, replay_file,
                                                                                  monkeypatch):
    from IPython.core.error import UsageError

    frontend = Frontend()
    monkeypatch.setattr(display, "_ipython_show", frontend.show)
    magics.view = "panel"
    with pytest.raises(UsageError, match="the task is too long"):
        ip.run_cell_magic("oci", f"--replay {replay_file(fenced('y = 1'))}", "word " * 40_000)
    status = frontend.displays[0]
    assert status[0]["text/plain"].startswith("%%oci · reading context")
    assert status[-1]["text/plain"].startswith("%%oci · stopped")
