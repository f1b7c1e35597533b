"""A later %%oci continues the last run's conversation (solved or not): only what is new is sent."""
import pytest

from oci_magic.backends.base import Message
from oci_magic.context.notebook import Cell, NotebookContext
from oci_magic.engine.prompting import plain
from oci_magic.engine.prompting.turns import DONE, UNSOLVED, Conversation, continue_from, next_turn

from .conftest import fenced, run_settings


def words(text):
    return len(text.split())


def previous(**kw):
    first = (Message.of("system", "sys"), Message.of("user", "ctx + task 1"), Message.of("assistant", fenced("a = 1")))
    return Conversation(first, last_cell=3, variables={"a": "1", "b": "2", "old": "3"}, modules={"np": "numpy"},
                        model="m", **kw)


def now(cells=(), variables=(("a", "1"), ("b", "5"), ("c", "7")), error=None, modules=None):
    return NotebookContext(list(cells), list(variables), modules or {"np": "numpy", "pd": "pandas"}, error)


def test_the_turn_holds_only_what_is_new():
    cells = [Cell("x = 1", number=2), Cell("# %%oci task\na = 1", number=3), Cell("b = 5", "5", number=4)]
    turn = next_turn(previous(), now(cells, error="NameError: name 'q' is not defined"), "plot b")
    # parts: the head, each new cell, variables and error (prefill reads them while idle), the task
    assert turn.parts[:2] == (f"{DONE}\n\n## Cells run since\n\n", "```python\nb = 5\n```\nOutput:\n```\n5\n```\n\n")
    assert turn.parts[2].startswith("## Variables new or changed") and turn.parts[3] == "## Task\nplot b"
    assert turn.content == (f"{DONE}\n\n## Cells run since\n\n```python\nb = 5\n```\nOutput:\n```\n5\n```\n\n"
                    "## Variables new or changed\nImported modules: pd (pandas)\n- b: 5\n- c: 7\n"
                    "No longer defined: old\n\n## Last error\nNameError: name 'q' is not defined\n\n## Task\nplot b")


def test_nothing_new_is_just_the_task():
    same = now(variables=(("a", "1"), ("b", "2"), ("old", "3")), modules={"np": "numpy"})
    assert next_turn(previous(), same, "again").content == f"{DONE}\n\n## Task\nagain"


def test_an_unsolved_task_is_said_so():
    same = now(variables=(("a", "1"), ("b", "2"), ("old", "3")), modules={"np": "numpy"})
    turn = next_turn(previous(unsolved="gave up after 3 rounds; last error: KeyError: 'x'"), same, "again").content
    assert turn.startswith(UNSOLVED.format(why=": gave up after 3 rounds; last error: KeyError: 'x'"))
    assert DONE not in turn and turn.endswith("## Task\nagain")


def test_continued_prompt_extends_the_transcript():
    before = previous()
    messages = continue_from(before, now(), "plot b", "m", 10_000, words)
    assert messages[:3] == before.messages
    assert messages[3].role == "user" and messages[3].content.endswith("## Task\nplot b")


def test_when_to_start_fresh():
    assert continue_from(None, now(), "t", "m", 10_000, words) is None
    assert continue_from(previous(), now(), "t", "another model", 10_000, words) is None
    assert continue_from(previous(), now([Cell("x", number=1)]), "t", "m", 10_000, words) is None  # history restarted
    assert continue_from(previous(), now(), "t", "m", 20, words) is None  # over the budget


def test_magic_continues_after_success_and_after_failure(ip, magics, replay_file):
    from oci_magic.backends.replay import ReplayBackend

    path = replay_file(fenced("a = 1"), fenced("1/0"), fenced("b = a + 1"), fenced("c = b + 1"))
    magics.replay_path = path  # one backend for all runs, like one loaded model
    magics.continue_runs, magics.focus = True, False
    ip.run_cell("%%oci\nmake a", store_history=True)
    first = magics.session.memory.conversation.messages
    ip.run_cell("%%oci --rounds 1\nfail", store_history=True)  # gave up: continued all the same
    failed = magics.session.memory.conversation.messages
    assert failed[: len(first)] == first and failed[-1] == Message.of("assistant", fenced("1/0"))
    ip.run_cell("x = 10", store_history=True)
    ip.run_cell("%%oci\nmake b", store_history=True)
    calls = magics.session.loaded_backend('replay').calls
    assert tuple(calls[1][: len(first)]) == first and tuple(calls[2][: len(failed)]) == failed
    turn = calls[2][len(failed)].content
    assert turn.startswith("That task was left unsolved: gave up after 1 round; last error: ZeroDivisionError")
    assert "x = 10" in turn and "- x: 10" in turn and turn.endswith("## Task\nmake b")
    assert "Last error" not in turn  # the failed run's error is in the transcript, not repeated
    assert ip.user_ns["b"] == 2 and magics.session.memory.conversation.messages[-1] == Message.of("assistant", fenced("b = a + 1"))
    ip.run_cell("%%oci --context vars\nmake c", store_history=True)  # asks for less: a fresh prompt
    assert len(magics.session.loaded_backend('replay').calls[3]) == 2
    assert isinstance(magics.session.loaded_backend('replay'), ReplayBackend)


@pytest.mark.slow
def test_a_continued_run_evaluates_little_more_than_its_new_turn(model_path):
    from oci_magic.backends.llama import LlamaBackend
    from oci_magic.context.notebook import gather
    from oci_magic.engine.loop import RefinementLoop
    from oci_magic.execution.result import Execution, Executor

    class Works(Executor):
        def execute(self, code):
            return Execution(ok=True)

    backend = LlamaBackend(model_path, n_ctx=4096)
    settings = run_settings(rounds=1, temperature=0.0, max_tokens=48, seed=1)
    inputs = ["", "import math\nradii = [1, 2, 3]", "areas = [math.pi * r * r for r in radii]"]
    state = gather(inputs, {}, {}, {}, 3, {"radii": [1, 2, 3]})
    first = RefinementLoop(backend, Works(), settings).run(
        "print the areas", plain("print the areas", "## Variables in the kernel\n- radii: list len=3 [1, 2, 3]\n\n"))
    before = backend.tokenize_messages(first.transcript)
    conversation = Conversation.after(first.transcript, 3, state, "m")
    later = gather(inputs + ["%%oci\nprint the areas", "total = sum(radii)"], {}, {}, {}, 5,
                   {"radii": [1, 2, 3], "total": 6})
    messages = continue_from(conversation, later, "print the total", "m", 3000, backend.count_tokens)
    assert messages[: len(first.transcript)] == first.transcript
    result = RefinementLoop(backend, Works(), settings).run("print the total", messages)
    usage = result.rounds[0].usage
    # all of the first run but the tail of its reply (its last sampled tokens were never evaluated,
    # and re-tokenized text may split differently there) comes from the cache
    assert usage.reused_tokens >= len(before) - 10
    assert usage.evaluated_tokens == usage.prompt_tokens - usage.reused_tokens < 80


def test_only_a_run_with_all_context_continues():
    from oci_magic.engine.prompting.history import ContextSpec

    assert ContextSpec().continues and ContextSpec(token_budget=900).continues
    assert not any(ContextSpec.parse(s).continues for s in ("vars", "none", "3"))
