"""The IPython front end: ``%%oci`` and ``%oci``. Parse the options, read the shell's state into
plain values, ``session.run``, show. The engine (:class:`~oci_magic.engine.session.Session`)
knows nothing of IPython."""
from __future__ import annotations

import argparse
import dataclasses
import os

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Enum, default

from ..context.notebook import is_oci_cell
from ..engine.headers import inserted
from ..engine.runrecord import build
from ..engine.session import NotebookState, Session
from ..engine.settings import OciConfig
from ..errors import OciError
from ..execution.confirm import ConfirmGate, ask_stdin
from ..execution.executor import ShellExecutor
from ..execution.guard import GuardedExecutor
from ..execution.policy import no_model_runs, policy_gate, risk_note
from ..text import clean_text, one_line
from .outputs import listeners, record_bundle

_FRONT_END_OPTIONS = ("confirm", "yes", "allow")  # %%oci options the front end acts on itself
EXAMPLE = "%%oci\nmake a DataFrame df with columns x = 0..9 and y = x squared, then print its mean"


@magics_class
class OciMagics(Magics, OciConfig):
    """``%%oci``: a local GGUF model writes code for the task, runs it here, and fixes it."""

    # The engine's options are OciConfig's traits; these are the front end's own.
    allow_risky = Bool(False, help="Run code the safety policy flags (file deletion, shell, network, exit, installs) "
                                   "without asking. Per run: --allow risky.").tag(config=True)
    headless = Bool(help="Nobody can answer questions here (oci run, CI): confirmations are refused, not asked. "
                         "Default: true when $OCI_HEADLESS is 1.").tag(config=True)
    confirm = Bool(False, help="Show each round's code and ask Run / Skip / Stop before running it "
                               "(--confirm for one run). Where nobody can answer, the run stops unless --yes.").tag(config=True)
    assume_yes = Bool(help="Answer Run to every confirmation without asking (--yes for one run; oci run --yes). "
                           "Default: true when $OCI_YES is 1.").tag(config=True)
    view = Enum(["auto", "panel", "text"], "auto", help="How a run is shown: panel (live status line and "
                "round-by-round panel, for Jupyter frontends), text (plain lines, for terminals and logs), or "
                "auto: panel in a Jupyter kernel, text in terminal IPython and when headless.").tag(config=True)
    insert_cell = Bool(True, help="Insert the working code as a new cell below (set_next_input).").tag(config=True)
    round_markers = Bool(False, help="Display a marker output around each round's execution, so oci run can split "
                                     "the cell's outputs into one cell per round.").tag(config=True)
    preload = Bool(False, help="Load the model in a background thread right after %load_ext, so the first %%oci "
                               "does not wait for it (and prefill can read the notebook before it).").tag(config=True)
    demo_hint = Bool(True, help="On the first %%oci in a kernel answered by the embedded demo model, print one line "
                                "saying how to get a real code model (not when headless).").tag(config=True)

    @default("headless")
    def _headless_default(self):
        return os.environ.get("OCI_HEADLESS") == "1"

    @default("assume_yes")
    def _assume_yes_default(self):
        return os.environ.get("OCI_YES") == "1"

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.session = Session()
        self._hinted = False
        if self.preload:
            try:
                self.session.preload(self.run_options().model)
            except ValueError:  # a bad trait: the first %%oci says so
                pass

    @magic_arguments()
    @argument("-m", "--model", metavar="PATH", help="GGUF model file, catalog name or REPO_ID/FILE.gguf for this run.")
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
    @argument("--isolate", action=argparse.BooleanOptionalAction, help="Run the code on copies of the small variables it mentions (default).")
    @argument("--backend", metavar="NAME", help="llama (in-process GGUF), openai (a server at --url), or a registered one.")
    @argument("--url", metavar="URL", help="OpenAI-compatible server for --backend openai (key: $OCI_API_KEY).")
    @argument("-k", "--candidates", type=int, metavar="K",
              help="Replies per round, tried on copies first; the one most agree with runs (default: the model's).")
    @cell_magic
    def oci(self, line, cell):
        """Write Python for the task in the cell body, run it in this kernel, and fix it from the
        traceback until it works or the rounds run out. The working code is inserted below.

        Example::

            %%oci --rounds 3
            make a DataFrame df with columns x = 0..9 and y = x squared, then print its mean
        """
        args = parse_options(self.oci, line)
        task = clean_text(cell).strip()
        if not task:
            raise UsageError(f"%%oci needs a task in the cell body, e.g.\n{EXAMPLE}")
        self._run(args, task)

    def _run(self, args, task: str, model=None) -> None:
        try:
            options = self.run_options(**{k: v for k, v in vars(args).items() if k not in _FRONT_END_OPTIONS})
            if model is not None:  # %oci fix: the last run's model
                options = dataclasses.replace(options, model=model)
            confirming = (args.confirm or self.confirm) and not (args.yes or self.assume_yes)
            state = self._state(task)
            allow = args.allow == "risky" or self.allow_risky
            result = self.session.run(task, state, options, executor=self._executor(options),
                                      gate=self._gate(allow, confirming, task),
                                      trial_gate=no_model_runs(policy_gate(None, allow, True, self.shell.transform_cell, task),
                                                               self.shell.transform_cell),
                                      listeners=listeners(self.shell, self.view, self.headless, self.round_markers,
                                                          confirming, _display_raw))
        except (OciError, ValueError) as exc:
            raise UsageError(one_line(exc)) from None
        except KeyboardInterrupt:  # ■ while loading the model or reading the notebook: no traceback of ours
            print("%%oci · interrupted; no cell inserted", flush=True)
            return
        _display_raw(record_bundle(build(result, options.settings), result))
        if self.demo_hint and not (self._hinted or self.headless):
            from .pull import demo_hint

            hint = demo_hint(result.model)
            if hint:
                self._hinted = True
                print(hint, flush=True)
        final = result.final_round
        if final is not None and final.code and self.insert_cell:
            header = inserted(result.outcome, final.index, result.max_rounds, result.model["name"])
            self.shell.set_next_input(f"{header}\n{final.code}", replace=False)

    def _state(self, task: str) -> NotebookState:
        """The shell's history and namespace, and the running %%oci cell's number in the input
        history (which IPython versions count differently while a cell runs)."""
        history = self.shell.history_manager
        inputs = history.input_hist_raw
        last = inputs[-1] if len(inputs) > 1 else ""
        running = is_oci_cell(last) and task in last
        return NotebookState(inputs, history.output_hist, self.shell.user_ns, self.shell.user_ns_hidden,
                             len(inputs) - 1 if running else len(inputs))

    def _executor(self, options):
        shell = self.shell
        return GuardedExecutor(ShellExecutor(shell, options.settings.short_tracebacks), shell.user_ns,
                               shell.user_ns_hidden, options.guard, shell)

    def _gate(self, allow: bool, confirming: bool, task: str):
        transform = self.shell.transform_cell
        if confirming:  # one question per round: the confirmation names the risks
            gate = ConfirmGate(headless=self.headless, warn=None if allow else risk_note(transform, task))
        else:
            gate = policy_gate(ask_stdin, allow, self.headless, transform, task)
        return no_model_runs(gate, transform)  # a run inside a run: never, whatever the user allows

    @magic_arguments()
    @argument("command", nargs="?", default="info", choices=["info", "model", "fix", "pull", "models"],
              help="info (default), model, fix (the last cell that raised; takes the options of %%%%oci, and "
                   "without --model uses the last run's model), pull NAME, or models (the catalog).")
    @argument("path", nargs="?", help="With 'model': a GGUF file, catalog name or REPO_ID/FILE.gguf to use from now "
                                      "on, or 'default'. With 'pull': the name or REPO_ID/FILE.gguf to download.")
    @line_magic("oci")
    def oci_line(self, line):
        """Show the model in use (``%oci``), switch model (``%oci model NAME|PATH``, ``%oci model default``),
        fix the last cell that raised (``%oci fix``: the fixed cell is inserted below), download a
        model (``%oci pull NAME``) or list the catalog (``%oci models``)."""
        from .info import info_text, check_model

        if line.split()[:1] == ["fix"]:  # %oci fix takes the options of %%oci
            return self._fix(parse_options(self.oci, line.strip()[3:]))
        args = parse_argstring(self.oci_line, line)
        if self.session.running and args.command in ("pull", "model"):
            raise UsageError(f"%oci {args.command} cannot run from the code of a %%oci run")
        if args.command in ("pull", "models"):
            from .pull import models_text, pull_model

            try:
                return pull_model(args.path) if args.command == "pull" else print(models_text())
            except OciError as exc:
                raise UsageError(one_line(exc)) from None
        if args.command == "fix":
            return self._fix(parse_options(self.oci, ""))
        if args.command == "model" and args.path:
            try:
                self.session.use_model(None if args.path == "default" else check_model(args.path))
            except OciError as exc:
                raise UsageError(one_line(exc)) from None
        elif args.path:
            raise UsageError("usage: %oci [info] | %oci model NAME|PATH | %oci model default | %oci fix | "
                             "%oci pull NAME | %oci models")
        print(info_text(self.session, self.run_options().model))

    def _fix(self, args) -> None:
        """``%oci fix [%%oci options]``: the last cell that raised, through the loop; without
        --model (or --backend, --url, --replay) on the model of the last run."""
        try:
            task = self.session.fix_task(self.shell.history_manager.input_hist_raw)
        except OciError as exc:
            raise UsageError(one_line(exc)) from None
        last = self.session.memory.options
        same = not (args.model or args.backend or args.url or args.replay) and last is not None and not last.model.replay
        self._run(args, task, last.model if same else None)

    def cell_started(self, info=None) -> None:
        """pre_run_cell hook: the kernel is busy, background prefill pauses."""
        self.session.prefiller.pause()

    def cell_finished(self, result) -> None:
        """post_run_cell hook: remember which cells raised (the context's last error), then let
        prefill read the notebook as the next %%oci will see it."""
        info = getattr(result, "info", None)
        error = result.error_before_exec or result.error_in_exec
        # our own nested runs of generated code (store_history=False) are not cells
        if error is not None and result.execution_count is not None and (info is None or info.store_history):
            self.session.note_error(result.execution_count, error)
        try:  # the layout of the last run (rounds, replies' room), else the defaults
            history = self.shell.history_manager
            state = NotebookState(history.input_hist_raw, history.output_hist, self.shell.user_ns,
                                  self.shell.user_ns_hidden, len(history.input_hist_raw))
            self.session.prefill(state, self.session.memory.options or self.run_options(), self.prefill_settings())
        except Exception as exc:  # never into the user's cell (a bad trait, say): %oci shows it
            self.session.prefiller.failed(exc)


def parse_options(magic, line: str):
    try:
        return parse_argstring(magic, line)
    except ValueError as exc:  # shlex: an unclosed quote
        raise UsageError(f"cannot read the options ({exc}): {one_line(line)}") from None


def _display_raw(data: dict) -> None:
    from IPython.display import display

    display(data, raw=True)
