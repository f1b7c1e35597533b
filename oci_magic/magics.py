"""The IPython front end: ``%%oci`` and ``%oci``. Parses options, reads the kernel's state, and
hands plain values to the engine (``loop``, ``context``, ``models``), which knows nothing of IPython."""
from __future__ import annotations

import math
import os
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, CaselessStrEnum, Enum, Float, Int, Unicode, default

from . import context as ctx
from . import history as layout
from . import runrecord
from .backends.replay import RecordingBackend, ReplayBackend, check_record_path
from .confirm import ConfirmGate, ask_stdin
from .conversation import Conversation, first_prompt
from .errors import OciError
from .events import ReadingContext, RunAborted
from .executor import ShellExecutor
from .guard import GuardedExecutor, GuardSettings
from .loop import RefinementLoop
from .models import ModelCache, choose_model
from .policy import policy_gate, risk_note
from .sanitize import clean_text
from .records import GENERATED
from .render import TextRenderer
from .settings import ContextSpec, GenerationParams, RunSettings

MAX_TIMEOUT = 1e6  # seconds; setitimer overflows on larger values (and on inf/nan)
EXAMPLE = "%%oci\nmake a DataFrame df with columns x = 0..9 and y = x squared, then print its mean"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


@magics_class
class OciMagics(Magics):
    """``%%oci``: a local GGUF model writes code for the task, runs it here, and fixes it."""

    model_path = Unicode("", help="GGUF model file. Empty: $OCI_MODEL, else the embedded SmolLM2-135M-Instruct.").tag(config=True)
    n_ctx = Int(0, min=0, help="Context window in tokens. 0: the model's trained context, at most 8192.").tag(config=True)
    n_threads = Int(0, min=0, help="CPU threads for llama.cpp. 0: all cores this process may use.").tag(config=True)
    n_gpu_layers = Int(-1, help="Layers to offload to the GPU/Metal when llama.cpp was built with it. -1: all; 0: none.").tag(config=True)
    rounds = Int(3, min=1, max=50, help="Most generate-run-fix rounds per %%oci run.").tag(config=True)
    temperature = Float(0.2, min=0.0, max=5.0, help="Sampling temperature; 0 is greedy.").tag(config=True)
    max_tokens = Int(512, min=1, max=32768, help="Most tokens the model may write per round.").tag(config=True)
    seed = Int(-1, help="Sampling seed for reproducible runs. -1: random.").tag(config=True)
    context = Unicode("all", help="Notebook context sent with the task: all, vars (variables only), none, or N (the last N cells).").tag(config=True)
    context_tokens = Int(0, min=0, help="Token budget for the notebook context. 0: what n_ctx leaves after the answers of all rounds.").tag(config=True)
    feedback_chars = Int(2000, min=200, help="Longest traceback text fed back to the model per round.").tag(config=True)
    insert_cell = Bool(True, help="Insert the working code as a new cell below (set_next_input).").tag(config=True)
    timeout = Float(60.0, min=0.0, max=MAX_TIMEOUT, help="Seconds generated code may run per round before it is interrupted (the round fails, "
                                        "the kernel and its state stay). 0: no limit.").tag(config=True)
    allow_risky = Bool(False, help="Run code the safety policy flags (file deletion, shell, network, exit, installs) "
                                   "without asking. Per run: --allow risky.").tag(config=True)
    isolate = Bool(False, help="Run generated code on deep copies of the (small) variables it mentions, so a failed "
                               "round cannot change them in place. Per run: --isolate.").tag(config=True)
    isolate_max_mb = Int(64, min=0, help="Largest variable (MiB, deep size) --isolate copies; bigger ones are "
                                         "used as they are.").tag(config=True)
    headless = Bool(help="Nobody can answer questions here (oci run, CI): confirmations are refused, not asked. "
                         "Default: true when $OCI_HEADLESS is 1.").tag(config=True)

    confirm = Bool(False, help="Show each round's code and ask Run / Skip / Stop before running it "
                               "(--confirm for one run). Where nobody can answer, the run stops unless --yes.").tag(config=True)
    assume_yes = Bool(help="Answer Run to every confirmation without asking (--yes for one run; oci run --yes). "
                           "Default: true when $OCI_YES is 1.").tag(config=True)
    view = Enum(["auto", "panel", "text"], "auto", help="How a run is shown: panel (live status line and "
                "round-by-round panel, for Jupyter frontends), text (plain lines, for terminals and logs), or "
                "auto: panel in a Jupyter kernel, text in terminal IPython and when headless.").tag(config=True)
    backend = CaselessStrEnum(["llama", "openai"], default_value="llama",
                              help="Where replies come from: llama (a GGUF model in this process) or openai "
                                   "(an OpenAI-compatible server at `url`: llama-server, vLLM, Ollama).").tag(config=True)
    url = Unicode("", help="Base URL of the OpenAI-compatible server for backend 'openai', e.g. "
                           "http://gpu-host:8080/v1. The API key, if any, comes from $OCI_API_KEY.").tag(config=True)
    remote_model = Unicode("", help="Model name sent to the OpenAI-compatible server. Empty: the first one it lists.").tag(config=True)
    replay_path = Unicode("", help="Answer every %%oci from this replay file, one reply per round, continuing across "
                                   "runs (oci run --replay). A run's own --model or --replay wins.").tag(config=True)
    round_markers = Bool(False, help="Display a marker output around each round's execution, so oci run can split "
                                     "the cell's outputs into one cell per round.").tag(config=True)

    @default("headless")
    def _headless_default(self):
        return os.environ.get("OCI_HEADLESS") == "1"

    @default("assume_yes")
    def _assume_yes_default(self):
        return os.environ.get("OCI_YES") == "1"

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.models = ModelCache()
        self.session_model = None  # set by %oci model PATH
        self.errors = {}  # execution count -> "Ename: message" of cells that raised
        self.generated = {}  # execution count of a %%oci cell -> its task and the code that ran
        self.last_result = None
        self.window = layout.HistoryWindow()  # the history cut: only moves forward (KV-cache reuse)
        self.conversation = None  # the last successful run, for the next one to continue
        self._replay = None  # the session's ReplayBackend when replay_path is set
        self._remote = None  # ((url, model, n_ctx), OpenAIBackend) of the last --backend openai run

    # -- %%oci -------------------------------------------------------------------------------
    @magic_arguments()
    @argument("-m", "--model", metavar="PATH", help="GGUF model file for this run.")
    @argument("-r", "--rounds", type=int, help="Most rounds (default: OciMagics.rounds, 3).")
    @argument("-t", "--temperature", type=float, help="Sampling temperature (default 0.2).")
    @argument("--max-tokens", type=int, help="Most tokens per reply (default 512).")
    @argument("--seed", type=int, help="Sampling seed, for reproducible runs.")
    @argument("--no-exec", action="store_true", help="Generate and insert the code without running it.")
    @argument("-c", "--context", metavar="WHAT", help="Context to send: all, vars, none, or N (last N cells).")
    @argument("--record", metavar="FILE", help="Save the model's raw replies as a JSON list of strings.")
    @argument("--replay", metavar="FILE", help="Answer with replies recorded in FILE instead of a model.")
    @argument("--confirm", action="store_true", help="Ask Run / Skip / Stop before running each round's code.")
    @argument("-y", "--yes", action="store_true", help="Run without asking, even with --confirm or c.OciMagics.confirm.")
    @argument("--timeout", type=float, metavar="S", help="Seconds the code may run per round (default 60; 0: no limit).")
    @argument("--allow", choices=["risky"], help="--allow risky: run code the safety policy flags without asking.")
    @argument("--isolate", action="store_true", help="Run the code on copies of the small variables it mentions.")
    @argument("--backend", choices=["llama", "openai"], help="llama (in-process GGUF) or openai (a server at --url).")
    @argument("--url", metavar="URL", help="OpenAI-compatible server for --backend openai (key: $OCI_API_KEY).")
    @cell_magic
    def oci(self, line, cell):
        """Write Python for the task in the cell body, run it in this kernel, and fix it from the
        traceback until it works or the rounds run out. The working code is inserted below.

        Example::

            %%oci --rounds 3
            make a DataFrame df with columns x = 0..9 and y = x squared, then print its mean
        """
        args = _parse(self.oci, line)
        task = clean_text(cell).strip()
        if not task:
            raise UsageError(f"%%oci needs a task in the cell body, e.g.\n{EXAMPLE}")
        settings = self._settings(args)
        if args.record:
            _check_writable(args.record)
        try:
            self._run(args, task, settings)
        except KeyboardInterrupt:  # ■ while loading the model or reading the notebook: no traceback of ours
            print("%%oci · interrupted; no cell inserted", flush=True)

    def _run(self, args, task, settings) -> None:
        executor, gate = self._executor(args), self._gate(args)
        backend = self._backend(args)
        if args.record:
            backend = RecordingBackend(backend)

        listeners = self._listeners(args)
        for listener in listeners:
            listener(ReadingContext(task))
        cell = self._current_cell(task)
        try:
            messages, gathered = self._prompt(backend, settings, task, cell)
            _check_fits(backend, messages)
        except BaseException as exc:  # UsageError, ■: the live view must not stay on "reading context"
            for listener in listeners:
                listener(RunAborted(type(exc).__name__))
            raise
        loop = RefinementLoop(backend, executor, settings, listeners, gate)
        try:
            result = loop.run(task, messages=messages)
        finally:
            if args.record:
                backend.save(args.record)
        self.last_result = result
        if result.succeeded and settings.context.continues:
            self.conversation = Conversation.after(loop.transcript, cell, gathered, _model_key(backend))
        self._finish(result, backend, task, cell)
        self._show_record(result, backend, settings)

    def _executor(self, args):
        timeout = self.timeout if args.timeout is None else args.timeout
        if not (math.isfinite(timeout) and 0 <= timeout <= MAX_TIMEOUT):
            raise UsageError(f"--timeout must be 0 (no limit) or up to {MAX_TIMEOUT:g} seconds, not {timeout:g}")
        guard = GuardSettings(timeout=timeout or None, isolate=args.isolate or self.isolate,
                              isolate_max_bytes=self.isolate_max_mb * 2**20)
        return GuardedExecutor(ShellExecutor(self.shell), self.shell.user_ns, self.shell.user_ns_hidden, guard, self.shell)

    def _listeners(self, args):
        markers = [runrecord.RoundMarkers(_display_raw)] if self.round_markers else []
        # The run record's output carries the summary line, so no view prints its own.
        if self._panel_view():
            from .display import StatusLine
            from .panel import RoundPanel

            return markers + [StatusLine(confirm=self._confirming(args)), RoundPanel(summary=False)]
        return markers + [TextRenderer(summary=False)]

    def _panel_view(self) -> bool:
        """The rich view needs a Jupyter frontend: a kernel shell, and someone watching it."""
        if self.view != "auto":
            return self.view == "panel"
        zmqshell = sys.modules.get("ipykernel.zmqshell")  # loaded in a kernel; never imported here
        in_kernel = zmqshell is not None and isinstance(self.shell, zmqshell.ZMQInteractiveShell)
        return in_kernel and not self.headless

    def _confirming(self, args) -> bool:
        return (args.confirm or self.confirm) and not (args.yes or self.assume_yes)

    def _gate(self, args):
        allow = args.allow == "risky" or self.allow_risky
        if self._confirming(args):  # one question per round: the confirmation names the risks
            return ConfirmGate(headless=self.headless, warn=None if allow else risk_note(self.shell.transform_cell))
        return policy_gate(ask_stdin, allow, self.headless, self.shell.transform_cell)

    def _settings(self, args) -> RunSettings:
        pick = lambda value, default: default if value is None else value  # noqa: E731
        seed = pick(args.seed, None if self.seed < 0 else self.seed)
        try:
            spec = ContextSpec.parse(pick(args.context, self.context))
            spec = ContextSpec(spec.cells, spec.variables, self.context_tokens or None)
            return RunSettings(
                rounds=pick(args.rounds, self.rounds),
                execute=not args.no_exec,
                generation=GenerationParams(pick(args.temperature, self.temperature), pick(args.max_tokens, self.max_tokens), seed),
                context=spec,
                feedback_chars=self.feedback_chars,
            )
        except ValueError as exc:
            raise UsageError(_one_line(exc)) from None

    def _backend(self, args):
        if self.replay_path and not (args.replay or args.model):
            return self._session_replay()
        if args.replay:
            if args.model:
                raise UsageError("--replay answers from a file; it cannot be combined with --model")
            try:
                return ReplayBackend.from_file(args.replay)
            except OciError as exc:
                raise UsageError(_one_line(exc)) from None
        if (args.backend or ("openai" if args.url else self.backend)) == "openai":
            return self._remote_backend(args)
        return self.load_model(args.model)

    def _remote_backend(self, args):
        """--backend openai: ``--model`` names the server's model; nothing is loaded here."""
        from .backends.openai import OpenAIBackend

        url = args.url or self.url
        if not url:
            raise UsageError("--backend openai needs a server: --url http://HOST:PORT/v1 (or c.OciMagics.url)")
        key = (url, args.model or self.remote_model, self.n_ctx)
        if self._remote is None or self._remote[0] != key:  # kept: its conversation, its model name
            try:
                self._remote = (key, OpenAIBackend(url, model=key[1], n_ctx=self.n_ctx))
            except OciError as exc:
                raise UsageError(_one_line(exc)) from None
        return self._remote[1]

    def _session_replay(self):
        """One ReplayBackend for all runs, so a notebook's runs consume the file's replies in order."""
        current = self._replay
        if current is None or current.source != self.replay_path:
            try:
                current = self._replay = ReplayBackend.from_file(self.replay_path)
            except OciError as exc:
                raise UsageError(_one_line(exc)) from None
        return current

    def _show_record(self, result, backend, settings: RunSettings) -> None:
        """Display the run's structured record (application/vnd.oci-magic.run+json)."""
        record = runrecord.build(result, runrecord.model_info(backend), settings)
        _display_raw(runrecord.bundle(record))

    def load_model(self, option=None):
        try:
            choice = choose_model(option, self.session_model, self.model_path)
            fresh = self.models.loaded_path != choice.path
            if fresh:
                print(f"%%oci · loading {os.path.basename(choice.path)} ({choice.source}) …", flush=True)
            backend = self.models.get(choice.path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                                      n_gpu_layers=self.n_gpu_layers)
        except OciError as exc:
            raise UsageError(_one_line(exc)) from None
        if fresh:
            print(f"%%oci · loaded {backend.name} in {backend.load_seconds:.2f} s "
                  f"(n_ctx {backend.n_ctx}, {backend.n_threads} threads)", flush=True)
        return backend

    def _prompt(self, backend, settings: RunSettings, task: str, cell: int):
        """The first prompt and the notebook state it was made from."""
        spec = settings.context
        gathered = self._gather(cell) if spec.cells != 0 or spec.variables else ctx.NotebookContext()
        messages = first_prompt(backend, settings, task, gathered, self.window, self.conversation, _model_key(backend))
        return messages, gathered

    def _gather(self, cell: int):
        history = self.shell.history_manager
        return ctx.gather(
            inputs=history.input_hist_raw,
            outputs=history.output_hist,
            errors=self.errors,
            generated=self.generated,
            current=cell,
            namespace=self.shell.user_ns,
            hidden=self.shell.user_ns_hidden,
        )

    def _current_cell(self, task: str) -> int:
        """The running %%oci cell's number in the input history (which IPython versions count
        differently while a cell runs); one past the end when called outside a stored cell."""
        inputs = self.shell.history_manager.input_hist_raw
        last = inputs[-1] if len(inputs) > 1 else ""
        running = last.lstrip().startswith("%%oci") and task in last
        return len(inputs) - 1 if running else len(inputs)

    def _finish(self, result, backend, task: str, cell: int) -> None:
        final = result.final_round
        if final is None or not final.code:
            return
        self.generated[cell] = f"# %%oci task: {' '.join(task.split())[:200]}\n{final.code}"
        if self.insert_cell:
            how = "not run" if result.outcome == GENERATED else f"worked in round {final.index}/{result.max_rounds}"
            header = f"# generated by %%oci ({how}, model: {backend.name})"
            self.shell.set_next_input(f"{header}\n{final.code}", replace=False)

    # -- %oci ------------------------------------------------------------------------------
    @magic_arguments()
    @argument("command", nargs="?", default="info", choices=["info", "model"], help="info (default) or model.")
    @argument("path", nargs="?", help="With 'model': a GGUF file to use from now on, or 'default'.")
    @line_magic("oci")
    def oci_line(self, line):
        """Show the model in use (``%oci``), or switch model (``%oci model PATH``, ``%oci model default``)."""
        args = parse_argstring(self.oci_line, line)
        if args.command == "model" and args.path:
            self._switch_model(args.path)
        elif args.path:
            raise UsageError("usage: %oci [info] | %oci model PATH | %oci model default")
        print(self.info_text())

    def _switch_model(self, path: str) -> None:
        if path == "default":
            self.session_model = None
            return
        from .gguf import read_gguf

        try:
            read_gguf(os.path.expanduser(path))  # reject a bad file now, not at the next %%oci
        except OciError as exc:
            raise UsageError(_one_line(exc)) from None
        self.session_model = path

    def info_text(self) -> str:
        from .backends.llama import DEFAULT_MAX_CTX, llama_cpp_build, machine_threads
        from .gguf import read_gguf

        try:
            choice = choose_model(None, self.session_model, self.model_path)
            info = read_gguf(choice.path)
        except OciError as exc:
            return f"model      unusable: {_one_line(exc)}"
        loaded = self.models.backend if self.models.loaded_path == choice.path else None
        if loaded is not None:
            n_ctx, threads, state = loaded.n_ctx, loaded.n_threads, f"loaded in {loaded.load_seconds:.2f} s"
        else:
            n_ctx = self.n_ctx or min(info.context_length or 4096, DEFAULT_MAX_CTX)
            threads, state = self.n_threads or machine_threads(), "not loaded yet (loads on the first %%oci)"
        build = llama_cpp_build()
        gpu = (f"{'all' if self.n_gpu_layers < 0 else self.n_gpu_layers} layers" if build["gpu_offload"]
               else "none (this llama.cpp build is CPU-only)")
        rows = [
            ("model", f"{info.name} [{info.architecture}] ({choice.source})"),
            ("path", choice.path),
            ("size", f"{os.path.getsize(choice.path) / 2**20:.0f} MiB"),
            ("state", state),
            ("context", f"{n_ctx} tokens (trained: {info.context_length or '?'})"),
            ("threads", str(threads)),
            ("GPU offload", gpu),
            ("llama.cpp", f"llama-cpp-python {build['version']}"),
            ("system", build["system_info"]),
        ]
        return "\n".join(f"{k:<12}{v}" for k, v in rows)

    # -- hooks ---------------------------------------------------------------------------------
    def record_error(self, result) -> None:
        """post_run_cell hook: remember which cells raised, for the context's last error."""
        info = getattr(result, "info", None)
        if result.execution_count is None or (info is not None and not info.store_history):
            return  # our own nested runs of generated code (store_history=False) are not cells
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            self.errors[result.execution_count] = f"{type(error).__name__}: {error}"


def _parse(magic, line: str):
    try:
        return parse_argstring(magic, line)
    except ValueError as exc:  # shlex: an unclosed quote
        raise UsageError(f"cannot read the options ({exc}): {line.strip()}") from None


def _model_key(backend):
    """Which loaded model (and so which KV cache) a conversation lives in."""
    backend = getattr(backend, "inner", backend)  # --record wraps the model's backend
    return (id(backend), backend.name, getattr(backend, "model_path", None))


def _check_fits(backend, messages) -> None:
    """Refuse up front a task whose first prompt cannot fit the model's window (the context is
    already cut to its budget; the task is not), instead of failing inside the loop."""
    tokenize = getattr(backend, "tokenize_messages", None)
    needed = len(tokenize(messages)) if tokenize else sum(backend.count_tokens(m["content"]) + 8 for m in messages)
    if needed + 16 > backend.n_ctx:
        raise UsageError(f"the task is too long: its prompt needs {needed} tokens and the model's context window "
                         f"holds {backend.n_ctx}; shorten the task or raise OciMagics.n_ctx")


def _display_raw(data: dict) -> None:
    from IPython.display import display

    display(data, raw=True)


def _check_writable(path: str) -> None:
    try:
        check_record_path(path)
    except OciError as exc:
        raise UsageError(str(exc)) from None
