"""The refinement loop, driven by the shipped replay backend: no model, no IPython."""
import sys

import pytest

from oci_magic.backends.base import Message
from oci_magic.backends.replay import RecordingBackend, ReplayBackend
from oci_magic.execution.executor import NamespaceExecutor
from oci_magic.engine.loop import RefinementLoop
from oci_magic.engine.prompting import plain

from .conftest import fenced, run_settings


def run(replies, rounds=3, execute=True, namespace=None, listeners=(), executor=None, **kw):
    backend = ReplayBackend(replies)
    executor = executor or NamespaceExecutor(namespace if namespace is not None else {})
    loop = RefinementLoop(backend, executor, run_settings(rounds=rounds, execute=execute, **kw), listeners)
    return loop.run("the task", plain("the task", "## Variables in the kernel\n- a: 1")), backend, executor


def test_fail_then_fix_then_success():
    result, backend, executor = run([fenced("y = undefined_name + 1"), fenced("y = 41 + 1")])
    assert result.outcome == "success"
    assert [r.status for r in result.rounds] == ["error", "ok"]
    assert executor.namespace["y"] == 42
    first = result.rounds[0]
    assert first.execution.ename == "NameError"
    assert "undefined_name" in first.feedback and "NameError" in first.feedback
    assert '<generated code>", line 1' in first.feedback
    # round 2's prompt is round 1's prompt plus the raw reply and the feedback: append-only
    p1, p2 = backend.calls
    assert p2[: len(p1)] == p1
    assert p2[len(p1):] == [Message.of("assistant", first.reply), Message.of("user", first.feedback)]
    assert p1[1].content.endswith("## Task\nthe task") and "- a: 1" in p1[1].content
    assert result.summary() == "succeeded in round 2 of 3"
    assert result.final_round is result.rounds[1]


def test_round_limit():
    result, backend, _ = run([fenced("1/0"), fenced("[][1]"), fenced("{}['k']"), fenced("x = 1")], rounds=3)
    assert result.outcome == "gave-up"
    assert len(result.rounds) == 3 and len(backend.calls) == 3
    assert result.final_round is None
    assert result.summary() == "gave up after 3 rounds; last error: KeyError: 'k'"


def test_no_code_reply_counts_as_failed_round_with_feedback():
    result, backend, _ = run(["I am not sure what you mean.", fenced("z = 5")])
    assert result.outcome == "success"
    assert result.rounds[0].status == "no-code"
    assert "no Python code" in backend.calls[1][-1].content


def test_two_no_code_replies_stop_as_no_progress():
    result, _, _ = run(["no idea", "still no idea", fenced("z = 5")], rounds=3)
    assert result.outcome == "no-progress"
    assert [r.status for r in result.rounds] == ["no-code", "no-code"]


def test_repeated_code_stops_without_running_it_again():
    runs = []

    class Counting(NamespaceExecutor):
        def execute(self, code):
            runs.append(code)
            return super().execute(code)

    result, _, _ = run([fenced("1/0"), fenced("1/0"), fenced("x = 1")], executor=Counting(), retries=0)
    assert result.outcome == "no-progress"
    assert [r.status for r in result.rounds] == ["error", "repeated"]
    assert runs == ["1/0"]
    assert "repeated the previous round's code" in result.summary()


class Noting(ReplayBackend):
    """Replays, noting each call's temperature."""

    def __init__(self, replies):
        super().__init__(replies)
        self.temperatures = []

    def stream(self, messages, params, usage):
        self.temperatures.append(params.temperature)
        return super().stream(messages, params, usage)


def test_a_repeat_gets_a_sharper_retry_at_a_higher_temperature():
    backend = Noting([fenced("1/0"), fenced("1/0"), fenced("x = 1")])
    result = RefinementLoop(backend, NamespaceExecutor({}), run_settings(temperature=0.2, ask_again=False)).run("t")
    assert [r.status for r in result.rounds] == ["error", "repeated", "ok"] and result.outcome == "success"
    assert backend.temperatures == [0.2, 0.2, 0.7]  # round 3 follows a stuck round
    assert "exactly the same code" in result.rounds[1].feedback
    stuck = RefinementLoop(ReplayBackend([fenced("1/0"), fenced("1/0"), fenced("1/0")]), NamespaceExecutor({}),
                           run_settings(rounds=5, ask_again=False)).run("t")
    assert stuck.outcome == "no-progress" and [r.status for r in stuck.rounds] == ["error", "repeated", "repeated"]


def test_a_repeat_is_not_a_try_the_model_is_asked_again_in_the_same_round():
    """ask_again (default): the repeating reply is kept in the record, not run, and the round asks
    again at once as a stuck run's next round would (restarted prompt, retry temperature)."""
    events = []
    backend = Noting([fenced("1/0"), fenced("1/0"), fenced("x = 1")])
    result = RefinementLoop(backend, NamespaceExecutor({}), run_settings(temperature=0.2, rounds=2),
                            [events.append]).run("t", plain("t"))
    assert [r.status for r in result.rounds] == ["error", "ok"] and result.outcome == "success"
    assert result.summary() == "succeeded in round 2 of 2"
    assert backend.temperatures == [0.2, 0.2, 0.7]
    second = result.rounds[1]
    assert second.repeated == fenced("1/0") and second.reply == fenced("x = 1") and second.code == "x = 1"
    first, _, again = backend.calls
    assert len(again) == len(first) and "Attempt 1 failed with ZeroDivisionError" in again[1].parts[-1]
    assert "1/0" not in again[1].parts[-1]
    assert [type(e).__name__ for e in events].count("ReplyRepeated") == 1
    # asked again once per run: the second repeat is a round of its own, and a third stops the run
    stuck = RefinementLoop(ReplayBackend([fenced("1/0")] * 4), NamespaceExecutor({}), run_settings(rounds=5)).run("t")
    assert stuck.outcome == "no-progress" and [r.status for r in stuck.rounds] == ["error", "repeated"]
    assert stuck.rounds[1].repeated == fenced("1/0")


def test_a_restarted_prompt_keeps_what_a_check_noted_on_an_error(tmp_path, monkeypatch):
    """A reply that reads a file named after a variable, repeated: asked again with the first
    prompt and the attempts, where the note (the data is in `orders`) is kept beside the error."""
    from oci_magic.engine.checks import check

    monkeypatch.chdir(tmp_path)
    namespace = {"orders": [1, 2]}
    reads = fenced("orders = open('orders.csv').read()\nn = len(orders)")
    backend = Noting([reads, reads, fenced("n = len(orders)")])
    result = RefinementLoop(backend, NamespaceExecutor(namespace), run_settings(rounds=2),
                            check=lambda task, code, ran, ns: None if ran.ok else check(task, code, ran, namespace.__contains__)).run("t", plain("t"))
    assert [r.status for r in result.rounds] == ["error", "ok"] and namespace["n"] == 2
    note = "There is no file 'orders.csv': the data is already in the kernel as `orders`."
    assert result.rounds[0].note.startswith(note) and note in result.rounds[0].feedback
    assert "Attempt 1 failed with FileNotFoundError" in backend.calls[2][1].parts[-1]
    assert note in backend.calls[2][1].parts[-1]


def test_without_a_snapshot_a_missed_round_is_kept_and_nothing_is_said_to_be_put_back():
    """An executor that undoes nothing (a plain namespace) leaves the missed round's names in
    place: the run keeps that round, unverified, and does not claim to have put anything back."""
    namespace = {}
    missed = lambda task, code, ran, ns: "The task asks for `answer`." if ran.ok else None
    result = RefinementLoop(ReplayBackend([fenced("total = 2"), fenced("answer = 1/0"), fenced("answer = [][1]")]),
                            NamespaceExecutor(namespace), run_settings(rounds=3), check=missed).run("t", plain("t"))
    assert [r.status for r in result.rounds] == ["incomplete", "error", "error"]
    assert result.outcome == "unverified" and result.final_round.index == 1 and result.redone is None
    assert namespace["total"] == 2 and "put back" not in result.summary()


def test_auto_refine_restarts_once_the_run_is_stuck():
    """refine=auto: the transcript while each round fails in a new way; after a repeat (or the
    same error again) the first prompt plus the attempts, without the code it kept writing."""
    result, backend, _ = run([fenced("1/0"), fenced("y = [][1]"), fenced("y = [][1]"), fenced("y = 1")],
                             rounds=4, refine="auto", ask_again=False)
    assert [r.status for r in result.rounds] == ["error", "error", "repeated", "ok"]
    first, second, third, fourth = backend.calls
    assert second[:len(first)] == first and second[len(first)] == Message.of("assistant", result.rounds[0].reply)
    assert third[:len(second)] == second  # not stuck yet: the transcript goes on
    assert len(fourth) == len(first) and fourth[1].parts[:-1] == first[1].parts  # stuck: restarted
    note = fourth[1].parts[-1]
    assert "Attempt 1 failed with ZeroDivisionError" in note and "Attempt 2 failed with IndexError" in note
    assert "Attempt 3: it repeated an earlier attempt's code." in note
    assert "[][1]" not in note and "1/0" not in note
    # the same error twice is stuck too, and a restarted run stays restarted after a new error
    result, backend, _ = run([fenced("print(missing)"), fenced("print( missing )"), fenced("int('x')"),
                              fenced("y = 1")], rounds=4, refine="auto", retries=2)
    assert [r.status for r in result.rounds] == ["error", "error", "error", "ok"]
    assert [len(call) for call in backend.calls] == [2, 4, 2, 2]
    assert "Attempt 3 failed with ValueError" in backend.calls[3][1].parts[-1]
    # the transcript alone never restarts
    _, backend, _ = run([fenced("1/0"), fenced("1/0"), fenced("y = 1")], refine="transcript")
    assert [len(call) for call in backend.calls] == [2, 4, 6]


def test_same_error_twice_stops_as_no_progress():
    result, _, _ = run([fenced("print(missing)"), fenced("print( missing )"), fenced("x = 1")], retries=0)
    assert result.outcome == "no-progress"
    assert len(result.rounds) == 2
    assert "NameError" in result.summary()
    result, _, _ = run([fenced("print(missing)"), fenced("print( missing )"), fenced("x = 1")])
    assert result.outcome == "success" and len(result.rounds) == 3  # one retry when stuck


def test_different_errors_keep_going():
    result, _, _ = run([fenced("print(missing)"), fenced("int('x')"), fenced("x = 1")])
    assert result.outcome == "success" and len(result.rounds) == 3


def test_no_exec_generates_once_and_runs_nothing():
    ns = {}
    result, backend, _ = run([fenced("boom = 1/0"), fenced("x = 1")], execute=False, namespace=ns)
    assert result.outcome == "generated" and len(backend.calls) == 1
    assert result.rounds[0].status == "not-run" and result.final_round.code == "boom = 1/0"
    assert "boom" not in ns


def test_replay_exhausted_stops_with_a_clear_message():
    result, _, _ = run([fenced("1/0")], rounds=3)
    assert result.outcome == "failed"
    assert "has 1 replies; call 2 asked for another" in result.message
    assert len(result.rounds) == 2 and result.rounds[1].status == "error"


def test_stdout_tail_goes_into_the_feedback(capsys):
    result, _, _ = run([fenced("for i in range(50):\n    print('line', i)\n1/0"), fenced("x = 1")])
    feedback = result.rounds[0].feedback
    assert "line 49" in feedback and "line 30" not in feedback
    assert "line 0\n" in capsys.readouterr().out  # the user still saw all of it


def test_feedback_is_bounded_and_plain():
    deep = "def f(n):\n    return f(n + 1) if n < 200 else 1/0\nf(0)"
    result, _, _ = run([fenced(deep), fenced("x = 1")], feedback_chars=500)
    feedback = result.rounds[0].feedback
    assert len(feedback) < 1200
    assert "characters cut" in feedback and "ZeroDivisionError" in feedback
    assert "\x1b[" not in feedback


def test_generated_code_that_exits_does_not_end_the_loop():
    result, _, _ = run([fenced("import sys\nsys.exit(3)"), fenced("raise KeyboardInterrupt"), fenced("x = 1")])
    assert result.rounds[0].execution.ename == "SystemExit"
    assert result.outcome == "stopped" and result.message == "during execution"


def test_interrupt_during_generation_keeps_the_partial_round():
    class Interrupting(ReplayBackend):
        def stream(self, messages, params, usage):
            yield "```python\nx ="
            raise KeyboardInterrupt

    loop = RefinementLoop(Interrupting(["unused"]), NamespaceExecutor(), run_settings())
    result = loop.run("task")
    assert result.outcome == "stopped" and result.message == "during generation"
    assert result.rounds[0].reply == "```python\nx =" and result.rounds[0].status == "interrupted"


def test_events_arrive_in_order():
    seen = []
    run([fenced("1/0"), fenced("x = 1")], listeners=[lambda e: seen.append(type(e).__name__)])
    compact = [n for i, n in enumerate(seen) if n != "TokenGenerated" or seen[i - 1] != "TokenGenerated"]
    assert compact == ["RunStarted",
                       "RoundStarted", "TokenGenerated", "CodeReady", "ExecutionStarted", "ExecutionFinished", "RoundFinished",
                       "RoundStarted", "TokenGenerated", "CodeReady", "ExecutionStarted", "ExecutionFinished", "RoundFinished",
                       "RunFinished"]


def test_reply_stops_at_the_first_complete_block():
    chatter = "```python\nx = 1\n```\nOutput:\n```\n1\n```\nThis sets x."
    result, _, _ = run([chatter])
    assert result.rounds[0].reply == "```python\nx = 1\n```\n"
    result, _, _ = run([chatter], stop_after_code=False)
    assert result.rounds[0].reply == chatter


def test_recording_backend_keeps_raw_replies(tmp_path):
    replies = [fenced("1/0"), fenced("x = 2")]
    recorder = RecordingBackend(ReplayBackend(replies))
    RefinementLoop(recorder, NamespaceExecutor(), run_settings()).run("t")
    assert recorder.replies == replies
    path = tmp_path / "rec.json"
    recorder.save(str(path))
    again = RefinementLoop(ReplayBackend.from_file(str(path)), NamespaceExecutor(), run_settings()).run("t")
    assert again.outcome == "success" and len(again.rounds) == 2


def test_loop_module_imports_neither_ipython_nor_llama_cpp():
    import subprocess

    code = ("import sys, oci_magic.engine.session, oci_magic.engine.loop, oci_magic.context.notebook, oci_magic.engine.extract, oci_magic.backends; "
            "print(sorted(m for m in ('IPython', 'llama_cpp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_gate_can_skip_with_feedback_or_stop():
    from oci_magic.execution.gate import SKIP, STOP, Decision

    asked = []

    def gate(index, code):
        asked.append(code)
        return Decision(SKIP, "Do not divide by zero.") if "1/0" in code else Decision()

    backend = ReplayBackend([fenced("x = 1/0"), fenced("x = 1")])
    ns = {}
    result = RefinementLoop(backend, NamespaceExecutor(ns), run_settings(), gate=gate).run("t")
    assert [r.status for r in result.rounds] == ["skipped", "ok"] and ns["x"] == 1
    assert "Do not divide by zero." in backend.calls[1][-1].content
    assert asked == ["x = 1/0", "x = 1"]

    result = RefinementLoop(ReplayBackend([fenced("x = 2")]), NamespaceExecutor(ns), run_settings(),
                            gate=lambda i, c: Decision(STOP, "the user pressed Stop")).run("t")
    assert result.outcome == "stopped" and ns["x"] == 1
    assert result.summary() == "interrupted in round 1: the user pressed Stop"


@pytest.mark.parametrize("answers,result", [
    (["r"], "run"), (["", "maybe", "s", "Skip"], "skip"), (["stop"], "stop")])
def test_ask_stdin_repeats_until_a_valid_choice(answers, result):
    from oci_magic.execution.confirm import ask_stdin

    replies = iter(answers)
    assert ask_stdin("Run it?", ["run", "skip", "stop"], read=lambda prompt: next(replies)) == result


def test_ask_stdin_without_stdin_returns_none():
    from oci_magic.execution.confirm import ask_stdin

    class StdinNotImplementedError(RuntimeError):
        pass

    def no_stdin(prompt):
        raise StdinNotImplementedError("no stdin")

    assert ask_stdin("Run it?", ["run", "skip"], read=no_stdin) is None

    def eof(prompt):
        raise EOFError

    assert ask_stdin("Run it?", ["run", "skip"], read=eof) is None


def test_feedback_fits_the_room_the_budget_reserves_for_it():
    from oci_magic.engine.prompting.feedback import ASK_FIX, error_feedback
    from oci_magic.execution.result import Execution

    huge = Execution(ok=False, ename="ValueError", evalue="v" * 5000,
                     traceback=[f'  File "<generated code>", line {i}, in f' for i in range(500)], stdout_tail="o\n" * 900)
    text = error_feedback(huge, limit=2000, facts=True)
    assert len(text) <= 2000 + 40 + len(ASK_FIX) and text.endswith(ASK_FIX)  # 40: the "characters cut" marker
    assert len(text) / 3 <= run_settings(feedback_chars=2000).feedback_tokens


def test_restart_shows_the_mistakes_not_the_code():
    """refine=restart: round 2 is the first prompt plus what went wrong, as one more part (the
    first prompt stays a cached prefix), without the failed code the model would copy."""
    result, backend, _ = run([fenced("df = {'a': 1}\ny = df['amount']"), fenced("y = 1")], refine="restart", facts=True)
    assert result.outcome == "success"
    first, second = backend.calls
    assert len(second) == len(first) == 2  # no assistant turn: the earlier reply is not shown
    assert second[1].parts[:-1] == first[1].parts
    note = second[1].parts[-1]
    assert "Attempt 1 failed with KeyError: 'amount'." in note
    assert "`df` has no 'amount'; its keys are: 'a'" in note  # what is there instead of the key
    assert "df = {'a': 1}" not in note and "y = df" not in note
    _, backend, _ = run([fenced("df = {'a': 1}\ny = df['amount']"), fenced("y = 1")], refine="restart", facts=False)
    note = backend.calls[1][1].parts[-1]
    assert "Attempt 1 failed with KeyError: 'amount'." in note and "its keys are" not in note  # facts off
