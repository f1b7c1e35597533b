"""Generated code cannot hurt the session: time limits, exit(), rollback, --isolate, policy."""
import signal
import threading
import time

import pytest
from IPython.core.error import UsageError

from oci_magic.execution.executor import NamespaceExecutor
from oci_magic.execution.guard import GuardedExecutor
from oci_magic.engine.loop import RefinementLoop
from oci_magic.execution.gate import RUN, SKIP, STOP, Decision
from oci_magic.execution.policy import check, policy_gate
from oci_magic.backends.replay import ReplayBackend
from oci_magic.execution.timeout import ExecutionTimeout, time_limit

from .conftest import fenced, guard_settings, run_settings


def guarded(namespace, **settings):
    return GuardedExecutor(NamespaceExecutor(namespace), namespace, {}, guard_settings(**settings))


def loop_run(replies, namespace, rounds=3, gate=None, **settings):
    loop = RefinementLoop(ReplayBackend(replies), guarded(namespace, **settings), run_settings(rounds=rounds),
                          gate=gate or (lambda i, c: Decision(RUN)))
    return loop.run("task")


# -- time limits -------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [
    "import time\ntime.sleep(30)",
    "while True:\n    pass",
    "while True:\n    try:\n        sum(range(10**6))\n    except Exception:\n        pass",  # swallows errors
    "import time\nwhile True:\n    try:\n        time.sleep(5)\n    except BaseException:\n        pass",  # swallows all
])
def test_a_round_that_runs_too_long_times_out_and_the_next_round_runs(code):
    namespace = {"keep": [1, 2]}
    start = time.perf_counter()
    result = loop_run([fenced(code), fenced("done = keep + [3]")], namespace, timeout=0.5)
    elapsed = time.perf_counter() - start
    assert [r.status for r in result.rounds] == ["timeout", "ok"]
    first = result.rounds[0]
    assert first.execution.error_line == "TimeoutError: timed out after 0.5 s"
    assert first.feedback.startswith("The code was stopped: it timed out after 0.5 s.")
    assert namespace["done"] == [1, 2, 3]
    assert elapsed < 4  # 0.5 s, plus one insisting interrupt for code that swallows everything


def test_time_limit_restores_the_previous_alarm_handler():
    seen = []
    previous = signal.signal(signal.SIGALRM, lambda *a: seen.append("theirs"))
    try:
        with time_limit(5) as limit:
            pass
        assert not limit.fired and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is not None and signal.getsignal(signal.SIGALRM)(0, None) is None
        assert seen == ["theirs"]
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_time_limit_in_a_worker_thread_uses_a_watchdog():
    outcome = []

    def work():
        try:
            with time_limit(0.3) as limit:
                while True:
                    pass
        except ExecutionTimeout:  # injected as a bare class: the guard reads limit.describe()
            outcome.append(limit.describe() if limit.fired else "not fired")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(5)
    assert outcome == ["timed out after 0.3 s"] and not thread.is_alive()


def test_no_limit_means_no_alarm():
    with time_limit(0) as limit:
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert not limit.fired


# -- exceptions that end programs ----------------------------------------------------------------
@pytest.mark.parametrize("code,ename", [
    ("import sys\nsys.exit(3)", "SystemExit"),
    ("raise SystemExit", "SystemExit"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ("class Boom(BaseException):\n    pass\nraise Boom('x')", "Boom"),
    ("def f():\n    return f()\nf()", "RecursionError"),
    ("raise GeneratorExit", "GeneratorExit"),
])
def test_code_that_raises_base_exceptions_only_fails_its_round(code, ename):
    namespace = {}
    result = loop_run([fenced(code), fenced("after = 1")], namespace)
    assert [r.status for r in result.rounds] == ["error", "ok"]
    assert result.rounds[0].execution.ename == ename and namespace["after"] == 1


def test_a_real_interrupt_stops_the_run():
    namespace = {"x": 1}
    code = "import os, signal, time\nx = 2\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)"
    result = loop_run([fenced(code), fenced("never = 1")], namespace)
    assert result.outcome == "stopped" and result.summary() == "interrupted in round 1: during execution"
    assert namespace == {"x": 1, "__builtins__": namespace["__builtins__"], "__name__": "__main__"} or namespace["x"] == 1
    assert "never" not in namespace and namespace["x"] == 1  # rolled back


@pytest.fixture(params=["default handler", "ignored at start", "left to the OS"])
def sigint(request):
    """SIGINT as a foreground process has it, as a background job of a script or nohup leaves it
    (ignored), and as code that reset it to the OS default leaves it."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, {"default handler": signal.default_int_handler, "ignored at start": signal.SIG_IGN,
                                  "left to the OS": signal.SIG_DFL}[request.param])
    yield request.param
    signal.signal(signal.SIGINT, before)


def test_interrupts_do_not_depend_on_how_the_process_started(sigint):
    namespace = {}
    raised = loop_run([fenced("raise KeyboardInterrupt"), fenced("after = 1")], namespace)
    assert [r.status for r in raised.rounds] == ["error", "ok"] and namespace["after"] == 1  # only its round failed
    code = "import os, signal, time\nx = 2\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)"
    real = loop_run([fenced(code), fenced("never = 1")], {"x": 1})
    assert real.outcome == "stopped" and real.summary() == "interrupted in round 1: during execution"
    assert signal.getsignal(signal.SIGINT) in (signal.default_int_handler, signal.SIG_IGN, signal.SIG_DFL)  # put back


@pytest.mark.filterwarnings("ignore:To exit")
def test_exit_in_the_shell_fails_the_round_and_keeps_the_shell(ip, capsys, replay_file):
    path = replay_file(fenced("exit()"), fenced("a = 1\nquit()"),
                       fenced("a = 1\nb = 2\nget_ipython().ask_exit()"), fenced("fine = 1"))
    ip.run_cell_magic("oci", f"--replay {path} --rounds 4 --allow risky", "do it")
    result = ip.magics_manager.registry["OciMagics"].session.last_result
    assert [r.status for r in result.rounds] == ["error", "error", "error", "ok"]
    assert result.rounds[0].execution.evalue == "exit() is not allowed in generated code; the kernel keeps running"
    assert ip.exit_now is False and "ask_exit" not in vars(ip) and ip.user_ns["fine"] == 1


def test_the_shell_times_out_and_keeps_state(ip, replay_file, capsys):
    ip.run_cell("data = [1, 2, 3]")
    path = replay_file(fenced("data = None\nimport time\ntime.sleep(20)"), fenced("total = sum(data)"))
    ip.run_cell_magic("oci", f"--replay {path} --timeout 0.5", "sum data")
    out = capsys.readouterr().out
    assert "✗ round 1: TimeoutError: timed out after 0.5 s" in out
    assert "  rolled back: restored data" in out
    assert ip.user_ns["total"] == 6 and ip.user_ns["data"] == [1, 2, 3]


def test_timeout_trait_and_option(ip, magics, replay_file):
    assert magics.timeout == 60.0
    magics.timeout = 0.3
    path = replay_file(fenced("while True: pass"))
    ip.run_cell_magic("oci", f"--replay {path} --rounds 1", "loop")
    assert magics.session.last_result.rounds[0].status == "timeout"


# -- rollback --------------------------------------------------------------------------------
def test_a_failed_round_is_rolled_back(ip, magics, replay_file, capsys):
    ip.run_cell("import math\ndf = [1, 2]\nkeep = 'k'\nold = 5")
    before = {k: ip.user_ns[k] for k in ("df", "keep", "old", "math")}
    path = replay_file(fenced("df = 'replaced'\ndel old\ntmp = 3\n_scratch = 4\n1/0"), fenced("fixed = len(df)"))
    ip.run_cell_magic("oci", f"--replay {path}", "task")
    out = capsys.readouterr().out
    assert "  rolled back: restored df, old; removed _scratch, tmp" in out
    assert all(ip.user_ns[k] is v for k, v in before.items())
    assert "tmp" not in ip.user_ns and "_scratch" not in ip.user_ns and ip.user_ns["fixed"] == 2
    execution = magics.session.last_result.rounds[0].execution
    assert (execution.restored, execution.removed) == (["df", "old"], ["_scratch", "tmp"])


def test_in_place_changes_are_not_undone_without_isolate(ip, replay_file):
    ip.run_cell("rows = [1, 2]")
    path = replay_file(fenced("rows.append(3)\n1/0"))
    ip.run_cell_magic("oci", f"--replay {path} --rounds 1 --no-isolate", "t")
    assert ip.user_ns["rows"] == [1, 2, 3]  # the documented limit


def test_isolate_is_on_by_default_for_failed_and_missed_rounds(ip, magics, replay_file):
    """A round that raised, and one that ran but missed a check, leave the user's small objects as
    they were: the next round starts from the data, not from what a wrong try did to it."""
    ip.run_cell("import pandas as pd\norders = pd.DataFrame({'amount': ['$1', '$2']})\nrows = [1, 2]")
    path = replay_file(fenced("rows.append(3)\n1/0"),
                       fenced("orders['amount'] = orders['amount'].str.len()"),  # ran; no `total` made
                       fenced("total = len(rows) + len(orders)"))
    ip.run_cell_magic("oci", f"--replay {path} --rounds 3", "Store in total the number of rows plus orders.")
    assert ip.user_ns["rows"] == [1, 2] and ip.user_ns["orders"]["amount"].tolist() == ["$1", "$2"]
    assert ip.user_ns["total"] == 4
    statuses = [r.status for r in magics.session.last_result.rounds]
    assert statuses == ["error", "incomplete", "ok"], statuses


def test_isolate_protects_mentioned_small_variables(ip, magics, replay_file):
    ip.run_cell("rows = [1, 2]\nalias = rows\nbig = bytearray(3 * 2**20)\nnums = {'a': [1]}")
    original = ip.user_ns["rows"]
    magics.isolate_max_mb = 1
    path = replay_file(fenced("rows.append(3)\nnums['a'].append(2)\nbig[0] = 1\n1/0"),
                       fenced("rows.append(4)\nalias.append(5)"))
    ip.run_cell_magic("oci", f"--replay {path} --isolate", "t")
    first, second = magics.session.last_result.rounds
    assert first.execution.isolated == ["nums", "rows"]  # big is over the 1 MiB cap
    assert ip.user_ns["nums"] == {"a": [1]} and ip.user_ns["big"][0] == 1
    # the successful round keeps its copies; names that shared an object still share its copy
    assert second.execution.isolated == ["alias", "rows"] and second.execution.restored == []
    assert ip.user_ns["rows"] == [1, 2, 4, 5] and ip.user_ns["alias"] is ip.user_ns["rows"]
    assert original == [1, 2]


def test_isolate_gives_back_the_originals_the_code_only_read(ip, replay_file):
    """Copies cost the user no identity: a name the round only read is the user's object again,
    one it changed stays the changed copy, and one a new name now shares stays shared."""
    ip.run_cell("rows = [1, 2]\nkept = {'a': 1}\nnums = [5]\nholder = [rows]")
    rows, kept, nums = (ip.user_ns[n] for n in ("rows", "kept", "nums"))
    path = replay_file(fenced("n = len(rows) + len(kept)\nnums.append(6)\nsame = kept"))
    ip.run_cell_magic("oci", f"--replay {path}", "Store in n the number of rows plus kept.")
    assert ip.user_ns["rows"] is rows and ip.user_ns["holder"][0] is rows  # only read: the original
    assert ip.user_ns["nums"] is not nums and ip.user_ns["nums"] == [5, 6] and nums == [5]  # changed: the copy
    assert ip.user_ns["same"] is ip.user_ns["kept"]  # still one object under both names


def test_a_big_table_is_known_big_without_reading_every_value(monkeypatch):
    """isolate is on for every round: a table over the limit is told from its buffers and a sample
    of its text, not by sizing each string (sys.getsizeof on a DataFrame reads them all)."""
    pd = pytest.importorskip("pandas")
    from oci_magic.execution import rollback

    big = pd.DataFrame({"x": range(20_000), "t": [f"text {i}" for i in range(20_000)]})
    small = big.head(50)
    deep = int(big.memory_usage(index=True, deep=True).sum())
    assert rollback._table_size(big) >= deep * 0.9  # an estimate that errs towards big
    monkeypatch.setattr(type(big), "__sizeof__", lambda self: pytest.fail("sized value by value"))
    assert rollback.deep_size(big, deep // 2) is None
    monkeypatch.undo()
    assert rollback.deep_size(small, deep // 2) is not None  # small enough: walked and copied as before
    assert rollback._table_size([1, 2]) is None


# -- policy ------------------------------------------------------------------------------------
@pytest.mark.parametrize("code,what,why", [
    ("import os\nos.remove('x.txt')", "os.remove", "deletes or overwrites files"),
    ("import shutil\nshutil.rmtree('d')", "shutil.rmtree", "deletes or overwrites files"),
    ("from pathlib import Path\nPath('a').unlink()", ".unlink()", "deletes or overwrites files"),
    ("open(name, 'w').write('x')", "open(a computed path, 'w')", "deletes or overwrites files"),
    ("import subprocess as sp\nsp.run(['ls'])", "subprocess.run", "runs a shell command"),
    ("from subprocess import check_output", "from subprocess import check_output", "runs a shell command"),
    ("import os\nos.system('ls')", "os.system", "runs a shell command"),
    ("from os import system as s\ns('ls')", "os.system", "runs a shell command"),
    ("get_ipython().system('ls')", "!ls", "runs a shell command"),
    ("import requests\nrequests.get(u)", "import requests", "accesses the network"),
    ("import urllib.request", "import urllib.request", "accesses the network"),
    ("import pandas as pd\npd.read_csv('https://x.org/a.csv')", "pandas.read_csv('https://x.org/a.csv')", "accesses the network"),
    ("import os\nos._exit(0)", "os._exit", "ends the program"),
    ("import sys\nsys.exit()", "sys.exit", "ends the program"),
    ("exit()", "exit", "ends the program"),
    ("raise SystemExit(1)", "raise SystemExit", "ends the program"),
    ("import os\nos.kill(1, 9)", "os.kill", "kills processes"),
    ("p.terminate()", ".terminate()", "kills processes"),
    ("import pip\npip.main(['install', 'x'])", "import pip", "installs packages"),
    ("eval(text)", "eval", "runs code this check cannot see"),
    ("import sys\nsys.setrecursionlimit(10**6)", "sys.setrecursionlimit", "can crash the kernel"),
])
def test_policy_flags_risky_code(code, what, why):
    findings = check(code)
    assert (what, why) in [(f.what, f.why) for f in findings], findings


@pytest.mark.parametrize("raw,what,why", [
    ("!ls -la", "!ls -la", "runs a shell command"),
    ("x = 1\n!!rm -rf /", "!!rm -rf /", "runs a shell command"),
    ("%%bash\nrm -rf /tmp/x", "%bash", "runs a shell command"),
    ("%sx ls", "%sx", "runs a shell command"),
    ("%pip install requests", "%pip", "installs packages"),
    ("files = !ls", "!ls", "runs a shell command"),
])
def test_policy_catches_ipython_shell_escapes(ip, raw, what, why):
    findings = check(raw, ip.transform_cell(raw))
    assert why in {f.why for f in findings}, findings
    assert any(f.what == what for f in findings), findings


@pytest.mark.parametrize("code", [
    "import pandas as pd\ndf = pd.DataFrame({'x': range(3)})\ndf = df.rename(columns={'x': 'y'})\nprint(df)",
    "import os\nprint(os.path.join('a', 'b'), os.getcwd())",
    "with open('data.csv') as f:\n    text = f.read()",
    "with open('brand_new_file_oci_test.txt', 'w') as f:\n    f.write('x')",
    "items = [1, 2]\nitems.remove(1)",
    "import math\nprint(math.sqrt(2))",
    "def f(:",  # does not parse: it will fail to compile, nothing to flag
])
def test_policy_lets_ordinary_code_through(code):
    assert check(code) == []


def test_open_for_writing_an_existing_file_is_flagged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.csv").write_text("precious")
    assert [f.what for f in check("open('results.csv', 'w').write('')")] == ["open('results.csv', 'w')"]


@pytest.mark.parametrize("task,code,runs", [
    ("Save cfg back to config.json as JSON indented by 2 spaces.", "with open('config.json', 'w') as f:\n    f.write('{}')", True),
    ("write the totals to ./config.json", "open('./config.json', 'w').write('')", True),
    ("Save cfg back to config.json.", "open('config.json', mode='a').write('')", True),
    ("Save cfg back to myconfig.json.", "open('config.json', 'w').write('')", False),  # another file
    ("Save cfg to backup/config.json.", "open('config.json', 'w').write('')", False),  # another folder's
    ("Save cfg back to config.json.", "open('results.csv', 'w').write('')", False),  # named, but not this one
    ("Save cfg back to config.json.", "p = 'config.json'\nopen(p, 'w').write('')", False),  # a computed path
    ("Save cfg back to config.json.", "import os\nos.remove('config.json')", False),  # deleting is not writing
    ("", "open('config.json', 'w').write('')", False),
    ("Load config.json and print its retries.", "open('config.json', 'w').write('')", False),  # named, only read
    ("Export the cleaned table to results.csv.", "df.dropna().to_csv('results.csv', index=False)", True),
    ("Load results.csv and drop the empty rows.", "df = df.dropna()\ndf.to_csv('results.csv')", False),
    ("Drop the empty rows.", "df.to_excel(excel_writer='results.csv')", False),
    ("Drop the empty rows.", "import numpy as np\nnp.savetxt('results.csv', [1])", False),
    ("Drop the empty rows.", "np.save('results.csv', [1])", False),  # np imported in an earlier cell
    ("Drop the empty rows.", "import shutil\nshutil.copy('config.json', 'results.csv')", False),
    ("Drop the empty rows.", "df.to_csv('new.csv')\nnp.save('new.npy', [1])", True),  # new files overwrite nothing
    ("Drop the empty rows.", "out = df.to_csv()\ndf.to_csv(buffer)", True),  # a string, or a buffer
])
def test_writing_over_a_file_the_task_names_is_what_was_asked(tmp_path, monkeypatch, task, code, runs):
    monkeypatch.chdir(tmp_path)
    for name in ("config.json", "myconfig.json", "results.csv"):
        (tmp_path / name).write_text("{}")
    assert not (tmp_path / "new.csv").exists()
    decision = policy_gate(None, headless=True, task=task)(1, code)
    assert (decision.action == RUN) is runs
    if not runs:
        assert decision.reason.startswith("Refused: the code uses") and "deletes or overwrites files" in decision.reason


def test_a_replayed_task_that_saves_a_named_file_writes_it(ip, magics, replay_file, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(magics, "headless", True)
    (tmp_path / "config.json").write_text('{"retries": 2}')
    ip.run_cell("cfg = {'retries': 5}")
    path = replay_file(fenced("import json\nwith open('config.json', 'w') as f:\n    json.dump(cfg, f, indent=2)"))
    ip.run_cell_magic("oci", f"--replay {path}", "Save cfg back to config.json as JSON indented by 2 spaces.")
    assert magics.session.last_result.outcome == "success"
    assert (tmp_path / "config.json").read_text() == '{\n  "retries": 5\n}'
    path = replay_file(fenced("with open('config.json', 'w') as f:\n    f.write('')"), fenced("done = 1"))
    ip.run_cell_magic("oci", f"--replay {path}", "clear the settings")  # not named: refused, the file kept
    assert [r.status for r in magics.session.last_result.rounds] == ["skipped", "ok"]
    assert (tmp_path / "config.json").read_text() == '{\n  "retries": 5\n}'


def test_gate_refuses_headless_and_lets_allowed_code_run():
    asked = []
    ask = lambda q, c: asked.append(q) or "run"  # noqa: E731
    headless = policy_gate(ask, headless=True)
    decision = headless(2, "import subprocess\nsubprocess.run(['ls'])")
    assert decision.action == SKIP and not asked
    assert decision.reason.startswith("Refused: the code uses import subprocess (runs a shell command, line 1); "
                                      "subprocess.run (runs a shell command, line 2). Code that runs a shell command "
                                      "is not allowed here. Do the task without it")
    assert policy_gate(ask, allow_risky=True, headless=True)(1, "import os\nos.system('x')").action == RUN
    assert policy_gate(ask)(1, "x = 1").action == RUN and not asked


@pytest.mark.parametrize("answer,action,start", [
    ("run", RUN, ""), ("skip", SKIP, "The user refused to run it: the code uses os.system"),
    ("stop", STOP, "the user stopped the run before risky code (os.system"), (None, SKIP, "Refused: the code uses"),
])
def test_gate_asks_the_user(answer, action, start):
    asked = []
    gate = policy_gate(lambda q, c: asked.append((q, list(c))) or answer)
    decision = gate(3, "import os\nos.system('ls')")
    assert asked == [("%%oci · round 3: the code uses os.system (runs a shell command, line 2). Run it?",
                      ["run", "skip", "stop"])]
    assert decision.action == action and decision.reason.startswith(start)


def test_refused_rounds_feed_the_reason_back_and_the_run_goes_on(ip, magics, replay_file, capsys, monkeypatch):
    monkeypatch.setattr(magics, "headless", True)
    path = replay_file(fenced("import os\nos.system('rm -rf data')"), fenced("ok = 1"))
    ip.run_cell_magic("oci", f"--replay {path}", "t")
    result = magics.session.last_result
    assert [r.status for r in result.rounds] == ["skipped", "ok"] and ip.user_ns["ok"] == 1
    assert "✗ round 1: the code was not run: Refused: the code uses os.system" in capsys.readouterr().out
    assert magics.session.last_result.rounds[0].feedback.startswith("Refused:")


def test_shell_escape_through_the_magic_is_refused(ip, magics, replay_file, monkeypatch, tmp_path):
    monkeypatch.setattr(magics, "headless", True)
    marker = tmp_path / "touched"
    path = replay_file(fenced(f"!touch {marker}"), fenced(f"%%bash\ntouch {marker}"))
    ip.run_cell_magic("oci", f"--replay {path} --rounds 2", "t")
    assert [r.status for r in magics.session.last_result.rounds] == ["skipped", "skipped"]
    assert not marker.exists()


def test_an_interrupt_outside_the_loop_is_one_line(ip, magics, replay_file, capsys, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    from oci_magic.engine.memory import Memory

    monkeypatch.setattr(Memory, "notebook", interrupted)  # ■ while the notebook is read
    ip.run_cell_magic("oci", f"--replay {replay_file(fenced('x = 1'))}", "t")
    assert capsys.readouterr().out == "%%oci · interrupted; no cell inserted\n"
    assert "x" not in ip.user_ns and ip.rl_next_input is None


def test_safety_options_and_traits_are_documented():
    from oci_magic.ipython.magics import OciMagics

    doc = OciMagics.oci.__doc__
    assert all(option in doc for option in ("--timeout", "--allow", "--isolate"))
    for name in ("timeout", "allow_risky", "isolate", "isolate_max_mb"):
        trait = OciMagics.class_traits()[name]
        assert trait.metadata.get("config") and trait.help, name


def test_a_shell_escape_after_a_blank_line_is_named_once():
    findings = check("x = 1\n\n!ls -la")
    assert [(f.what, f.line) for f in findings] == [("!ls -la", 3)]


def test_rollback_gives_ipython_names_back(ip, magics, replay_file):
    hidden_in = ip.user_ns["In"]
    path = replay_file(fenced("In = 'mine'\n1/0"), fenced("ok = 1"))
    ip.run_cell_magic("oci", f"--replay {path}", "t")
    assert ip.user_ns["In"] is hidden_in


@pytest.mark.parametrize("value", ["inf", "nan", "1e12", "-1"])
def test_timeouts_the_timer_cannot_hold_are_one_line(ip, magics, value, fake_llama):
    loaded = fake_llama
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("oci", f"--timeout {value}", "t")
    assert str(info.value).startswith("--timeout must be 0 (no limit) or up to 1e+06 seconds") and loaded == []


def test_escape_sequences_in_the_task_go_whole():
    from oci_magic.text import clean_text

    assert clean_text("plot \x1b[31mred\x1b[0m bars\x00") == "plot red bars"


def test_an_interrupt_while_isolating_restores_every_name(monkeypatch):
    from oci_magic.execution import rollback

    namespace = {"data": [1, 2, 3]}
    original = namespace["data"]

    def interrupted(snap, ns, names, cap):
        ns["data"] = [1, 2, 3]  # half done: a copy is in place
        raise KeyboardInterrupt

    monkeypatch.setattr(rollback, "isolate", interrupted)
    guard = GuardedExecutor(NamespaceExecutor(namespace), namespace, {}, guard_settings(timeout=None, isolate=True))
    execution = guard.execute("data.append(4)")
    assert not execution.ok and namespace["data"] is original and original == [1, 2, 3]


def test_a_lazily_cached_file_is_not_a_cell():
    """linecache keeps ``(loader,)`` for a module's file not yet read (seen with pandas frames in a
    kernel): telling cells from files must not crash the run's feedback on it."""
    import linecache

    from oci_magic.execution.executor import is_cell

    linecache.cache["/nonexistent/lazy_helper.py"] = (lambda: "x = 1\n",)
    try:
        assert not is_cell("/nonexistent/lazy_helper.py")
    finally:
        linecache.cache.pop("/nonexistent/lazy_helper.py", None)


def test_a_round_that_only_writes_a_file_did_something(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"rows": [1, 2]}
    wrote = guarded(namespace).execute("open('out.txt', 'w').write(str(rows))")
    assert wrote.ok and wrote.wrote == ["out.txt"] and not wrote.created
    again = guarded(namespace).execute("len(rows)")
    assert again.ok and again.wrote == []
