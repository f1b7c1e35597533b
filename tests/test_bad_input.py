"""Bad input, tried and listed: each gets one clear line, and the kernel and the user's variables
are left exactly as they were. Plus property-based tests for option parsing and code extraction."""
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from IPython.core.error import UsageError

from oci_magic.engine.extract import extract_code
from oci_magic.ipython.magics import parse_options

from .conftest import fenced

GOOD = fenced("made = 1")


def _files(tmp_path):
    """Named bad files; each test gets fresh ones."""
    files = {
        "EMPTY": b"", "TRUNC": b"GGUF\x03\x00", "TEXT": b"hello, I am not a model", "ZIP": b"PK\x03\x04" + b"\0" * 64,
        "BADJSON": b"not json", "DICT": b'{"a": 1}', "INTS": b"[1, 2]", "NOREPLIES": b"[]",
        "LATIN1": '["caf\xe9"]'.encode("latin-1"), "GOOD": json.dumps([GOOD]).encode(),
    }
    paths = {}
    for name, data in files.items():
        path = tmp_path / f"{name.lower()}.bin"
        path.write_bytes(data)
        paths[name] = str(path)
    paths["DIR"] = str(tmp_path)
    paths["MISSING"] = str(tmp_path / "missing.gguf")
    return paths


# (line, cell, the exact error line); names in CAPITALS are replaced by the files above.
TABLE = [
    # options
    ("--rounds 0", "t", "rounds must be between 1 and 50, not 0"),
    ("--rounds 51", "t", "rounds must be between 1 and 50, not 51"),
    ("--rounds x", "t", "argument -r/--rounds: invalid int value: 'x'"),
    ("--temperature -1", "t", "temperature must be between 0 and 5, not -1.0"),
    ("--temperature nan", "t", "temperature must be between 0 and 5, not nan"),
    ("--max-tokens 0", "t", "max-tokens must be between 1 and 32768, not 0"),
    ("--seed -5", "t", "seed must be between 0 and 4294967295, not -5"),
    ("--context lots", "t", "--context must be all, vars, none or a number of cells, not 'lots'"),
    ("--bogus", "t", "unrecognized arguments: --bogus"),
    ("--timeout -1 --replay GOOD", "t", "--timeout must be 0 (no limit) or up to 1e+06 seconds, not -1"),
    ("--timeout soon", "t", "argument --timeout: invalid float value: 'soon'"),
    ("--allow everything", "t", "argument --allow: invalid choice: 'everything' (choose from 'risky')"),
    ("--replay GOOD --model MISSING", "t", "--replay answers with recorded replies; it cannot be combined with --model"),
    ("--record DIR/no/such/r.json --replay GOOD", "t", "--record: folder does not exist: DIR/no/such"),
    ("--record DIR --replay GOOD", "t", "--record: DIR is a directory"),
    # model files
    ("--model MISSING", "t", "model file not found: MISSING"),
    ("--model EMPTY", "t", "not a GGUF model file (no GGUF magic bytes): EMPTY"),
    ("--model TRUNC", "t", "GGUF header is truncated or corrupt (unexpected end of file): TRUNC"),
    ("--model TEXT", "t", "not a GGUF model file (no GGUF magic bytes): TEXT"),
    ("--model ZIP", "t", "not a GGUF model file (no GGUF magic bytes): ZIP"),
    ("--model DIR", "t", "model path is not a file: DIR"),
    # empty bodies
    ("", "", "%%oci is a cell magic, but the cell body is empty. Did you mean the line magic %oci (single %)?"),  # IPython's
    ("--replay GOOD", "  \n\t \n", "%%oci needs a task in the cell body, e.g."),
    ("--replay GOOD", "\x00\x07\x1b\x7f", "%%oci needs a task in the cell body, e.g."),
    # huge bodies beyond n_ctx (the replay backend's window is 8192 tokens, ~4 characters each)
    ("--replay GOOD", "word " * 8000, "the task is too long: its prompt needs 10121 tokens and the model's context "
                                     "window holds 8192; shorten the task or raise OciMagics.n_ctx"),
    # replay files
    ("--replay MISSING", "t", "replay file not found: MISSING"),
    ("--replay DIR", "t", "replay path is a directory, not a file: DIR"),
    ("--replay BADJSON", "t", "replay file is not valid JSON (Expecting value at line 1): BADJSON"),
    ("--replay DICT", "t", "replay file must hold a JSON list of strings (the model's replies; a list of strings for a round's candidates): DICT"),
    ("--replay INTS", "t", "replay file must hold a JSON list of strings (the model's replies; a list of strings for a round's candidates): INTS"),
    ("--replay NOREPLIES", "t", "replay file holds no replies: NOREPLIES"),
    ("--replay LATIN1", "t", "replay file is not UTF-8 text: LATIN1"),
    ("--model 'unclosed", "t", "cannot read the options (No closing quotation): --model 'unclosed"),
]


def _fill(text, paths):
    for name in sorted(paths, key=len, reverse=True):
        text = text.replace(name, paths[name])
    return text


def _state(ip):
    return {k: v for k, v in ip.user_ns.items() if not k.startswith("_")}, ip.execution_count


@pytest.mark.parametrize("line,cell,message", TABLE, ids=[f"{i:02d}" for i in range(len(TABLE))])
def test_bad_input_gets_one_clear_line_and_changes_nothing(ip, tmp_path, line, cell, message):
    paths = _files(tmp_path)
    ip.run_cell("keep = {'rows': [1, 2]}\nimport math")
    before, count = _state(ip)
    kept = ip.user_ns["keep"]
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("oci", _fill(line, paths), cell)
    error = str(info.value)
    expected = _fill(message, paths)
    if message.startswith("%%oci needs"):
        assert error.startswith(expected)  # the one case that shows an example on a second line
    else:
        assert error == expected
    after, count_after = _state(ip)
    assert after == before and ip.user_ns["keep"] is kept and kept == {"rows": [1, 2]}
    assert count_after == count and ip.rl_next_input is None
    assert ip.run_cell("alive = keep['rows'][1]").success and ip.user_ns["alive"] == 2


def test_the_table_is_at_least_25_cases():
    assert len(TABLE) >= 25


def test_a_replay_file_too_short_ends_the_run_with_a_clear_line(ip, magics, replay_file, capsys):
    ip.run_cell("keep = [1, 2]")
    path = replay_file(fenced("keep = None\n1/0"))
    ip.run_cell_magic("oci", f"--replay {path}", "t")
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"✗ %%oci stopped in round 2: replay file {path} has 1 replies; call 2 asked for another")
    assert ip.user_ns["keep"] == [1, 2] and ip.rl_next_input is None


def test_control_characters_and_undecodable_bytes_in_the_task_are_cleaned(ip, magics, replay_file, monkeypatch):
    from oci_magic.backends.replay import ReplayBackend

    seen = []
    original = ReplayBackend.generate
    monkeypatch.setattr(ReplayBackend, "generate", lambda self, m, p: seen.append(m) or original(self, m, p))
    path = replay_file(GOOD)
    ip.run_cell_magic("oci", f"--replay {path} --context none", "sum\x00 the\x1b[31m caf\udce9\r\nvalues\x07")
    assert seen[0][1].content == "## Task\nsum the caf\ufffd\nvalues"
    assert magics.session.last_result.task == "sum the caf\ufffd\nvalues" and ip.user_ns["made"] == 1


# -- properties ------------------------------------------------------------------------------
_OPTION = st.sampled_from(["-m", "--model", "-r", "--rounds", "-t", "--temperature", "--max-tokens", "--seed",
                           "--no-exec", "-c", "--context", "--record", "--replay", "--timeout", "--allow",
                           "--isolate", "-h", "--help", "--", "-", "'", '"', "\\", "risky", "all"])
_VALUE = st.one_of(st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(str), st.text(max_size=12))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_OPTION, _VALUE), max_size=8))
def test_option_parsing_raises_only_usage_errors(magics, words):
    line = " ".join(words)
    try:
        args = parse_options(magics.oci, line)  # what %%oci calls
        magics.run_options(**{k: v for k, v in vars(args).items() if k not in ('confirm', 'yes', 'allow')})  # %%oci turns its ValueError into a UsageError
    except (UsageError, ValueError) as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()


_CODE = st.lists(st.sampled_from(["x = 1", "print(x)", "for i in range(3):", "    y = i * 2", "def f(a):",
                                  "    return a", "import math", "z = [k for k in 'abc']", "# note", ""]),
                 min_size=1, max_size=8).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_extraction_never_raises(text):
    code = extract_code(text)
    assert code is None or (isinstance(code, str) and code.strip())


@settings(max_examples=200, deadline=None)
@given(_CODE, st.text(alphabet=st.characters(blacklist_characters="`~"), max_size=60), st.sampled_from(["python", "py", ""]))
def test_extraction_of_a_fenced_block_gives_back_the_code(code, prose, tag):
    reply = f"{prose}\n```{tag}\n{code}\n```\n{prose}"
    expected = code.strip("\n").rstrip() or None
    if tag == "" and expected is not None:
        import ast

        try:
            ast.parse(code)
        except SyntaxError:
            expected = None  # an untagged fence counts as Python only when it parses
    assert extract_code(reply) == expected
    if expected is not None:
        assert extract_code(fenced(extract_code(reply))) == expected  # idempotent
