"""The OpenAI-compatible backend: against llama-cpp-python's own server running the embedded model
(slow), and against a tiny scripted server for the stream format and the failure cases."""
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from .conftest import run_settings, stop_process

from oci_magic.backends.base import Message
from oci_magic.backends.openai import OpenAIBackend, base_url
from oci_magic.errors import GenerationError
from oci_magic.engine.loop import RefinementLoop
from oci_magic.execution.executor import NamespaceExecutor
from oci_magic.backends.base import GenerationParams

GREEDY = GenerationParams(temperature=0.0, max_tokens=48, seed=7)
MESSAGES = [Message.of("system", "You write Python."),
            Message.of("user", "Print hello ", "world in Python.")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a scripted server ------------------------------------------------------------------------
class Scripted(http.server.BaseHTTPRequestHandler):
    script = []  # lines of the SSE body
    status = 200
    requests = []

    def do_GET(self):
        self._send(200, json.dumps({"data": [{"id": "scripted-model"}]}).encode(), "application/json")

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Scripted.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))  # names are case-blind
        payload = "".join(line + "\n" for line in self.script).encode()
        self._send(self.status, payload, "text/event-stream")

    def _send(self, status, payload, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Scripted.requests, Scripted.status = [], 200
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def sse(*events):
    lines = []
    for event in events:
        lines += [f"data: {event if isinstance(event, str) else json.dumps(event)}", ""]
    return lines


def delta(text):
    return {"choices": [{"delta": {"content": text}}]}


def test_url_forms():
    assert base_url("http://h:8080") == "http://h:8080/v1"
    assert base_url("http://h:8080/v1/") == "http://h:8080/v1"
    assert base_url("https://h/v1/chat/completions") == "https://h/v1"
    with pytest.raises(GenerationError, match="must start with http"):
        base_url("h:8080")


def test_streams_pieces_and_reads_usage(scripted, monkeypatch):
    monkeypatch.setenv("OCI_API_KEY", "sk-test")
    Scripted.script = [": keep-alive", ""] + sse(
        delta("```python\n"), delta("print(1)\n```"),
        {"choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 7,
                                  "prompt_tokens_details": {"cached_tokens": 20}}},
        "[DONE]", delta("never read"))
    backend = OpenAIBackend(scripted + "/v1")
    completion = backend.generate(MESSAGES, GREEDY)
    assert completion.text() == "```python\nprint(1)\n```"
    usage = completion.usage
    assert (usage.prompt_tokens, usage.reused_tokens, usage.generated_tokens) == (30, 20, 7)
    path, headers, body = Scripted.requests[0]
    assert path == "/v1/chat/completions" and headers["authorization"] == "Bearer sk-test"
    assert body["model"] == "scripted-model" and body["stream"] is True and body["seed"] == 7
    assert body["messages"][1] == {"role": "user", "content": "Print hello world in Python."}  # the parts joined


def test_errors_are_one_line_generation_errors(scripted):
    Scripted.status = 500
    Scripted.script = ['{"error": "model exploded"}']
    with pytest.raises(GenerationError, match="HTTP 500.*model exploded"):
        list(OpenAIBackend(scripted, model="m").generate(MESSAGES, GREEDY))
    Scripted.status = 200
    Scripted.script = sse({"error": {"message": "context too long"}})
    with pytest.raises(GenerationError, match="the server reported: context too long"):
        list(OpenAIBackend(scripted, model="m").generate(MESSAGES, GREEDY))
    Scripted.script = sse("{oops")
    with pytest.raises(GenerationError, match="the server sent something that is not JSON: '{oops'"):
        list(OpenAIBackend(scripted, model="m").generate(MESSAGES, GREEDY))
    start = time.monotonic()
    with pytest.raises(GenerationError, match=r"^cannot reach http://127.0.0.1:1/v1: [^\n]*refused[^\n]*$"):
        list(OpenAIBackend("http://127.0.0.1:1", model="m").generate(MESSAGES, GREEDY))
    assert time.monotonic() - start < 5  # one quick retry, not a long wait


def test_magic_with_an_unreachable_server_fails_in_one_line(ip, magics, capsys):
    ip.run_cell("keep = 1", store_history=True)
    ip.run_cell("%%oci --backend openai --url http://127.0.0.1:1/v1 --model m\nprint keep", store_history=True)
    assert magics.session.last_result.outcome == "failed"
    assert "cannot reach http://127.0.0.1:1/v1" in magics.session.last_result.message
    assert ip.user_ns["keep"] == 1
    result = ip.run_cell("%%oci --backend openai\nprint keep")
    assert "needs a server: --url" in str(result.error_in_exec)


# -- llama-cpp-python's own server ------------------------------------------------------------
@pytest.fixture(scope="module")
def server(model_path, tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w+b")  # a pipe could fill and block it
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", str(min(2, os.cpu_count() or 1))],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail("llama_cpp.server exited: " + log.read().decode("utf-8", "replace")[-2000:])
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not answer within 120 s")
                time.sleep(0.3)
        yield url
    finally:
        stop_process(process)
        log.close()


@pytest.mark.slow
def test_streams_from_llama_cpp_server(server):
    backend = OpenAIBackend(server)
    completion = backend.generate(MESSAGES, GREEDY)
    pieces = list(completion)
    assert len(pieces) > 3 and "".join(pieces).strip()
    assert backend.model.endswith(".gguf")  # the server's model, found through /v1/models
    usage = completion.usage
    assert 0 < usage.first_token_seconds <= usage.seconds and usage.generated_tokens >= len(pieces) > 3


@pytest.mark.slow
def test_the_loop_runs_on_the_server(server):
    backend = OpenAIBackend(server)
    executor = NamespaceExecutor({"numbers": [1, 2, 3]})
    settings = run_settings(rounds=2, temperature=0.0, max_tokens=96, seed=1)
    result = RefinementLoop(backend, executor, settings).run("print the sum of numbers")
    assert result.rounds and result.rounds[0].reply.strip()
    assert result.outcome in ("success", "gave-up", "no-progress")
    assert result.rounds[0].code is None or result.rounds[0].execution is not None  # code ran here


@pytest.mark.slow
def test_oci_magic_with_backend_openai(ip, magics, server, capsys):
    ip.run_cell("numbers = [4, 5, 6]", store_history=True)
    ip.run_cell(f"%%oci --backend openai --url {server} --seed 1 --temperature 0 --rounds 1 --max-tokens 96\n"
                "print the sum of the numbers", store_history=True)
    out = capsys.readouterr().out
    result = magics.session.last_result
    assert "loading" not in out  # nothing loaded in this process
    assert result.rounds and result.rounds[0].reply.strip() and result.outcome != "failed"
    assert ip.user_ns["numbers"] == [4, 5, 6]


def test_a_stream_that_breaks_off_is_a_generation_error(scripted, monkeypatch):
    def cut_short(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = "".join(line + "\n" for line in sse(delta("x"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body) + 100))  # promises more than it sends
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    monkeypatch.setattr(Scripted, "do_POST", cut_short)
    stream = OpenAIBackend(scripted, model="m").generate(MESSAGES, GREEDY)
    assert next(stream) == "x"
    with pytest.raises(GenerationError, match=r"^the stream from the server broke off: .*[^\n]$"):
        next(stream)


def test_closing_early_drops_the_connection(scripted, monkeypatch):
    gone = threading.Event()

    def endless(self):  # an HTTP/1.0 body that runs to EOF, one event every 20 ms, like a model generating
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for _ in range(500):
                self.wfile.write(f"data: {json.dumps(delta('x'))}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.02)
        except OSError:  # the client hung up: a real server stops generating here
            gone.set()

    monkeypatch.setattr(Scripted, "do_POST", endless)
    stream = OpenAIBackend(scripted, model="m").generate(MESSAGES, GREEDY)
    assert next(stream) == "x"
    stream.close()
    assert gone.wait(5), "the server kept writing to an open connection after close()"


def test_the_module_does_not_import_the_openai_library_until_used():
    code = ("import sys; from IPython.core.interactiveshell import InteractiveShell; "
            "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'oci_magic'); "
            "import oci_magic.backends.openai as m; print('openai' in sys.modules); "
            "m.OpenAIBackend('http://127.0.0.1:1', model='x'); print('openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_a_models_reply_that_is_not_a_list_is_one_line(scripted, monkeypatch):
    monkeypatch.setattr(Scripted, "do_GET", lambda self: self._send(200, b"[1, 2]", "application/json"))
    with pytest.raises(GenerationError, match="/models did not return a model list"):
        list(OpenAIBackend(scripted).generate(MESSAGES, GREEDY))


def test_counts_are_estimated_when_the_stream_stops_early(scripted):
    Scripted.script = sse(delta("```python\nx = 1\n```\n"), delta("chatter"),
                          {"choices": [], "usage": {"prompt_tokens": 999, "completion_tokens": 9}}, "[DONE]")
    backend = OpenAIBackend(scripted, model="m")
    stream = backend.generate(MESSAGES, GREEDY)
    next(stream)
    stream.close()  # the loop stops at the end of the code block, before the usage event
    assert stream.usage.prompt_tokens == sum(backend.count_tokens(m.content) for m in MESSAGES) > 0


def test_the_magic_keeps_one_remote_backend(ip, magics, scripted, monkeypatch):
    gets = []
    serve_get = Scripted.do_GET
    monkeypatch.setattr(Scripted, "do_GET", lambda self: gets.append(self.path) or serve_get(self))
    Scripted.script = sse(delta("```python\nremote = 1\nprint(remote)\n```\n"), "[DONE]")
    ip.run_cell_magic("oci", f"--backend openai --url {scripted}", "make remote")
    first = magics.session.loaded_backend('openai')
    ip.run_cell_magic("oci", f"--backend openai --url {scripted}", "again")
    assert magics.session.loaded_backend('openai') is first and ip.user_ns["remote"] == 1
    assert [r[0] for r in Scripted.requests] == ["/v1/chat/completions"] * 2
    assert gets == ["/v1/models"]  # the model name was looked up once, not per run


def test_candidates_are_requests_served_at_once(scripted):
    """K replies: K streaming requests in flight together (a served engine batches them), each
    with its own temperature and seed; an error in one is one line for the run."""
    Scripted.script = sse(delta("```python\nx = 1\n```"), "[DONE]")
    backend = OpenAIBackend(scripted + "/v1", model="m")
    params = [GenerationParams(0.2, 32, 1), GenerationParams(0.8, 32, 2), GenerationParams(0.8, 32, 3)]
    replies = backend.generate_many(MESSAGES, params, lambda i, text: False)
    assert sorted(i for i, _ in replies) == [0, 1, 2] and replies.texts == ["```python\nx = 1\n```"] * 3
    sent = sorted((body["temperature"], body["seed"]) for _, _, body in Scripted.requests if body.get("messages"))
    assert sent == [(0.2, 1), (0.8, 2), (0.8, 3)]
    Scripted.status = 500
    with pytest.raises(GenerationError, match="HTTP 500"):
        list(backend.generate_many(MESSAGES, params, lambda i, text: False))
