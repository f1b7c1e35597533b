"""Every option's one default, and the plain settings the engine receives.

:class:`OciConfig` holds the engine's options as traitlets traits with their help text: the
front end (``OciMagics`` derives from it, so ``c.OciMagics.rounds = 5`` and ``%config`` reach it)
and ``oci bench`` read their defaults from here and nowhere else. :meth:`OciConfig.run_options`
merges one call's overrides (``None``: not given) with the traits into frozen dataclasses; the
engine never sees a trait.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

from traitlets import Bool, Float, Int, Unicode
from traitlets.config import Configurable

from ..backends import ModelOptions
from ..backends.base import GenerationParams
from ..backends.statecache import cache_folder
from ..execution.guard import MAX_TIMEOUT, GuardSettings
from .prompting.history import ContextSpec
from .sanity import RULES as SANITY_RULES, rules as sanity_rules

REFINE = ("auto", "restart", "transcript")
SELECTION = ("vote", "first")
# The range of each numeric option, for its trait and for a call's own value alike.
LIMITS = {"rounds": (1, 50), "temperature": (0, 5), "max_tokens": (1, 32768), "seed": (0, 2**32 - 1),
          "candidates": (0, 8)}
MAX_ROUNDS = LIMITS["rounds"][1]


def check_range(name: str, value) -> None:
    """Raise ValueError (one line, the option's name as typed) for a value outside LIMITS."""
    low, high = LIMITS[name]
    if not low <= value <= high:  # nan is outside every range too
        raise ValueError(f"{name.replace('_', '-')} must be between {low} and {high}, not {value}")


@dataclass(frozen=True)
class RunSettings:
    rounds: int
    execute: bool
    generation: GenerationParams
    context: ContextSpec
    feedback_chars: int
    refine: str  # "auto", "restart" or "transcript": how a later round is prompted (see loop._next_prompt)
    facts: bool  # what the failing line worked on goes into the feedback
    checks: bool  # code that ran is checked against the task (names it asks for, in place, output)
    retries: int  # rounds a stuck run (repeated code, the same error) gets before it stops
    retry_temperature: float  # sampling temperature for a round after getting stuck
    continue_runs: bool  # a later run continues the last run's conversation (else: the notebook afresh)
    exercise: bool  # functions the code defines are called on the task's examples (uncalled ones on its data)
    sanity: Tuple[str, ...]  # rules for the values code left (engine.sanity.RULES)
    short_tracebacks: bool  # library frames of a traceback reduced to the call that failed
    candidates: int  # replies per round, tried off the live state, one chosen by what they did (0: the model's choice)
    candidate_temperature: float  # of every candidate but the first
    ask_again: bool = True  # a reply repeating earlier code is asked for again in its round (once per run)
    imports: bool = True  # well-known names the code uses and nothing binds get their import (engine.imports)
    rereads: bool = True  # a line reading a name the notebook holds from a file that is not there is left out
    copies: bool = True  # a line typing in again the data of a name the notebook holds and the task reads is left out
    redo: bool = True  # tries that failed after a round that missed a check: that round's names are put back, its code kept
    selection: str = "vote"  # among candidates that ran: the biggest group of agreeing ones, or the earliest
    stop_after_code: bool = True  # end a reply at its first complete ```python block (not an option)

    @property
    def feedback_tokens(self) -> int:
        """Room one round's feedback may take in the prompt (about 3 characters a token, with the
        request to fix the code after it)."""
        return self.feedback_chars // 3 + 40

    def __post_init__(self):
        gen = self.generation
        for name, value in (("rounds", self.rounds), ("temperature", gen.temperature), ("max_tokens", gen.max_tokens),
                            ("candidates", self.candidates)):
            check_range(name, value)
        if self.refine not in REFINE:
            raise ValueError(f"refine must be one of {', '.join(REFINE)}, not {self.refine!r}")
        if self.selection not in SELECTION:
            raise ValueError(f"selection must be one of {', '.join(SELECTION)}, not {self.selection!r}")
        if gen.seed is not None:
            check_range("seed", gen.seed)


@dataclass(frozen=True)
class PrefillSettings:
    """Reading the notebook into the KV cache while the kernel is idle (see engine.prefill)."""

    enabled: bool
    threads: int  # llama.cpp threads for background reading (0: n_threads, less the cores others keep busy)
    batch_seconds: float  # about how long one chunk reads (work lost when a cell starts mid-chunk)


@dataclass(frozen=True)
class RunOptions:
    settings: RunSettings
    model: ModelOptions
    guard: GuardSettings
    record: str = ""  # save the raw replies here ("": do not)


class OciConfig(Configurable):
    """The engine's options. Per-call overrides come from ``%%oci`` arguments or ``oci`` flags."""

    model_path = Unicode("", help="GGUF model file. Empty: $OCI_MODEL, else the embedded SmolLM2-135M-Instruct.").tag(config=True)
    n_ctx = Int(0, min=0, help="Context window in tokens. 0: the model's trained context, at most 8192.").tag(config=True)
    n_threads = Int(0, min=0, help="CPU threads for llama.cpp. 0: all cores this process may use.").tag(config=True)
    n_gpu_layers = Int(-1, help="Layers to offload to the GPU/Metal when llama.cpp was built with it. -1: all; 0: none.").tag(config=True)
    rounds = Int(3, min=LIMITS["rounds"][0], max=LIMITS["rounds"][1], help="Most generate-run-fix rounds per %%oci run.").tag(config=True)
    temperature = Float(0.2, min=LIMITS["temperature"][0], max=LIMITS["temperature"][1], help="Sampling temperature; 0 is greedy.").tag(config=True)
    max_tokens = Int(512, min=LIMITS["max_tokens"][0], max=LIMITS["max_tokens"][1], help="Most tokens the model may write per round.").tag(config=True)
    seed = Int(-1, help="Sampling seed for reproducible runs. -1: random.").tag(config=True)
    draft = Int(32, min=0, max=64, help="Most tokens drafted per step from what the reply copies (prompt lookup: "
                                        "the tokens that followed its last few tokens earlier in the prompt or the "
                                        "reply) and checked in one batched decode, where the backend can "
                                        "(llama): a fix round that rewrites its code writes several tokens per pass "
                                        "over the weights. Only drafts that pay are made (the backend times its "
                                        "decodes); each token is still the one the sampler draws. 0: off.").tag(config=True)
    context = Unicode("all", help="Notebook context sent with the task: all, vars (variables only), none, or N (the last N cells).").tag(config=True)
    context_tokens = Int(2048, min=0, help="Most tokens of notebook context a run sends (cells, outputs, variables, "
                                           "the last error; a continued conversation counts whole). A long session "
                                           "then shows about what a fresh kernel would: the newest cells, older ones "
                                           "that define names the task uses, the variables (those the task names "
                                           "with their summaries). "
                                           "0: all that n_ctx leaves after every round's answer.").tag(config=True)
    samples = Int(2, min=0, max=10, help="First values shown for each column of a DataFrame (and each Series or array) "
                                        "among the variables, so the model sees what the data looks like.").tag(config=True)
    feedback_chars = Int(2000, min=200, help="Longest traceback text fed back to the model per round.").tag(config=True)
    refine = Unicode("auto", help="How a round after a failed one is prompted: transcript (the whole "
                                  "exchange: code, error, facts, fix request), restart (the first prompt "
                                  "again, with what went wrong in each try and none of the failed code), or auto "
                                  "(the transcript until the run is stuck -- the same code or the same error "
                                  "again -- then restart). oci bench: transcript solves more than restart with "
                                  "Qwen2.5-Coder-1.5B; auto as many as transcript in fresh kernels, more in one "
                                  "long session and on HumanEval.").tag(config=True)
    facts = Bool(False, help="Feed back what the failing line was working on: the names on it with type, size and "
                             "first values; for a missing key, attribute or name the ones that exist. Off by "
                             "default: oci bench notebooks solved as many tasks without it (Qwen2.5-Coder 0.5B: "
                             "15 either way; 1.5B: 25 without, 24 with).").tag(config=True)
    checks = Bool(True, help="Check code that ran against the task: the names it asks for exist and changed, "
                             "'in place' changed something, something was shown or stored, no pandas "
                             "copy warnings. A miss is fed back for another round.").tag(config=True)
    retries = Int(1, min=0, max=10, help="Rounds a stuck run (the same code again, the same error) gets, with a "
                                         "sharper request and retry_temperature, before it stops.").tag(config=True)
    retry_temperature = Float(0.7, min=LIMITS["temperature"][0], max=LIMITS["temperature"][1], help="Sampling temperature of a round after a stuck one "
                                                          "(never lower than `temperature`).").tag(config=True)
    continue_runs = Bool(True, help="A follow-up %%oci (with focus off: every later one) continues the last run's "
                                    "conversation (its replies and feedback stay in view) instead of laying the notebook out afresh: the cells as they are, "
                                    "earlier %%oci cells as their task and the code that worked, the variables, the "
                                    "last error. Only while the conversation fits context_tokens: past it, afresh.").tag(config=True)
    focus = Bool(True, help="A %%oci after cells that made new data since the last %%oci (or whose task asks for "
                            "a new function and refers to nothing of the last run) sees the notebook from those cells "
                            "on, summaries of the variables those cells use and of the earlier ones its "
                            "task or the last error names (not a result the task asks to make: 'store the Axes as "
                            "ax' does not show an earlier plot's ax): about what a fresh kernel shows, not the earlier "
                            "cells' code or the earlier tasks' conversation. A follow-up (no new data since) continues the "
                            "conversation (continue_runs). In one long session (oci bench notebooks --mode session) "
                            "the 1.5B solved as many stand-alone tasks as in fresh kernels, each faster. False: the "
                            "newest cells up to context_tokens, and continue_runs for every later run.").tag(config=True)
    exercise = Bool(True, help="When code that ran defines functions, call them on the task's examples (f(x) -> y, "
                               ">>> lines), and one it never calls without examples on the notebook's data its "
                               "parameters fit; an exception or a result other than the example's is fed back."
                     ).tag(config=True)
    sanity = Unicode(",".join(SANITY_RULES), help="Rules for the values code that ran left, comma-separated: "
                     "split (a table of one column whose name holds several: read with the wrong separator), header (a table whose first row is the "
                     "file's header line), nan (a result that is NaN, None or empty), one (many values where the task asks for the total), per (more "
                     "rows than keys where the task asks for one row per key, or no column per key), dupes (every row kept where the task says some "
                     "repeat), coerced (a column turned mostly NaN), text (numbers left as text where the task asks for numbers), merge (a merge that "
                     "blanked the columns it brought), column (a column the task asks to add or lists by name that no table has), kind (a result the "
                     "task calls a list, a Series, a dict, the Axes ... left as something else), items (items that are not the email addresses, "
                     "domains, links or names the task asks for), order (a list the task asks for sorted or distinct that is not), labels (a title, "
                     "axis label or legend text the task quotes that the plot does not show), spaces (text the code made that keeps spaces at its "
                     "ends, or runs of them, or runs words together, where the task says it should not), case (text not in the case the task asks "
                     "for), parts (columns named after the words of a quoted pattern, 'Last, First', holding another word's part), fill (missing values the task asks to fill that a fill left missing, but for fills from a neighbour, or values that were "
                     "there that it changed). A miss is fed back with the values. Empty: none.").tag(config=True)
    short_tracebacks = Bool(True, help="Tracebacks of generated code keep its own frames and, of the libraries', only the "
                                       "call that failed, in the feedback and on screen (the whole one a click away "
                                       "in a notebook, %tb in a terminal).").tag(config=True)
    imports = Bool(True, help="Add the import a reply forgot for a well-known name (np, pd, plt, Counter, "
                              "defaultdict, List, json, re ...) that its code uses and neither it nor the notebook "
                              "binds, before it runs; the kept cell has the import line.").tag(config=True)
    rereads = Bool(True, help="Leave out (as a comment) a line of a reply that loads a name the notebook already "
                              "holds from a file that is not there (orders = pd.read_csv('orders.csv') with orders "
                              "in memory): it could only raise.").tag(config=True)
    copies = Bool(True, help="Leave out (as a comment) a line of a reply that types in again the data of a name "
                             "the notebook holds and the task works on (games = pd.DataFrame({...}) with games in "
                             "memory): the data may have come from a file or changed since the cell that made it. "
                             "Not a name the task asks to make.").tag(config=True)
    redo = Bool(True, help="When no round passes its checks and every try after one that ran (but missed a "
                           "check) failed, that round's names are put back as it left them and its code is kept, "
                           "marked unverified. Off: the run gives up with the names as before it.").tag(config=True)
    ask_again = Bool(True, help="A reply that repeats code an earlier round ran is not a try: the model is asked "
                                "again at once, in the same round (as a stuck run's next round: the first prompt "
                                "with what went wrong, retry_temperature), once per run.").tag(config=True)
    candidates = Int(0, min=LIMITS["candidates"][0], max=LIMITS["candidates"][1], help="Replies per round: generated together (llama: one batch per step), each "
                                         "tried on copies of the data it uses before any touches yours, the one most "
                                         "of them agree with (same values, output, figures) run for real. Per run: "
                                         "--candidates K. 1: one reply, run as it is. 0: the model's choice, by oci bench "
                                         "notebooks: 2 for Qwen2.5-Coder-1.5B (more tasks solved for 1.3-1.4x the "
                                         "time), 1 for any other.").tag(config=True)
    candidate_temperature = Float(0.8, min=LIMITS["temperature"][0], max=LIMITS["temperature"][1],
                                  help="Sampling temperature of every candidate but the first (which keeps "
                                       "`temperature`), so they differ.").tag(config=True)
    selection = Unicode("vote", help="How a round with several candidates chooses among those that ran: vote (the "
                                     "biggest group that did the same, ties to the earliest) or first (the earliest "
                                     "that ran and passed the checks: the first reply, unless its trial failed).").tag(config=True)
    timeout = Float(60.0, min=0.0, max=MAX_TIMEOUT, help="Seconds generated code may run per round before it is interrupted (the round fails, "
                                                         "the kernel and its state stay). 0: no limit.").tag(config=True)
    # on: with `copies` a model can no longer undo by typing the data in again what a missed round
    # changed inside a table (`orders['amount']` converted in place), so a missed round must not
    # change it; the cost is one deep copy per round of the small names the code mentions
    isolate = Bool(True, help="Run generated code on deep copies of the (small) variables it mentions, so a round "
                              "that fails or misses a check cannot change them in place. Per run: --isolate / "
                              "--no-isolate.").tag(config=True)
    isolate_max_mb = Int(64, min=0, help="Largest variable (MiB, deep size) --isolate copies; bigger ones are "
                                         "used as they are.").tag(config=True)
    backend = Unicode("llama", help="Where replies come from: llama (a GGUF model in this process), openai (an "
                                    "OpenAI-compatible server at `url`: llama-server, vLLM, Ollama), or the name "
                                    "another package registered (oci_magic.backends.register).").tag(config=True)
    url = Unicode("", help="Base URL of the OpenAI-compatible server for backend 'openai', e.g. "
                           "http://gpu-host:8080/v1. The API key, if any, comes from $OCI_API_KEY.").tag(config=True)
    remote_model = Unicode("", help="Model name sent to the OpenAI-compatible server. Empty: the first one it lists.").tag(config=True)
    kv_cache_mb = Int(1024, min=0, help="Prompt cache on disk, in MiB: the model's state for the longest prompt read, "
                                        "so the same notebook after a kernel restart is not read from the start. "
                                        "Least recently used states go first. 0: off.").tag(config=True)
    kv_cache_dir = Unicode("", help="Folder of the prompt cache on disk. Empty: $OCI_KV_CACHE, else "
                                    "$XDG_CACHE_HOME/oci_magic/kv (~/.cache/oci_magic/kv).").tag(config=True)
    share_cores = Bool(True, help="Before each reply, see how many cores other processes keep busy and use only the "
                                  "free ones (at least 1 thread; Linux). llama.cpp's threads wait for each other, so "
                                  "a thread on a busy core slows every token: on 2 cores beside one CPU-bound process "
                                  "2 threads generate at about half the speed of 1.").tag(config=True)
    prefill = Bool(True, help="While the kernel is idle, read each executed cell into the loaded model's KV cache in "
                              "a background thread, so the next %%oci finds the notebook already read. A running "
                              "cell pauses it.").tag(config=True)
    prefill_threads = Int(0, min=0, help="llama.cpp threads for background prefill. 0: n_threads, less the cores "
                                         "other processes keep busy (the kernel is idle while it reads; a cell that "
                                         "starts stops it within milliseconds).").tag(config=True)
    replay_path = Unicode("", help="Answer every %%oci from this replay file, one reply per round, continuing across "
                                   "runs (oci run --replay). A run's own --model or --replay wins.").tag(config=True)

    def run_options(self, *, model: Optional[str] = None, rounds: Optional[int] = None,
                    temperature: Optional[float] = None, max_tokens: Optional[int] = None, seed: Optional[int] = None,
                    context: Optional[str] = None, timeout: Optional[float] = None, isolate: Optional[bool] = None,
                    backend: Optional[str] = None, url: Optional[str] = None, replay: Optional[str] = None,
                    no_exec: bool = False, record: Optional[str] = None, candidates: Optional[int] = None) -> RunOptions:
        """This call's options: each override that is not None wins over its trait. Raises
        ValueError with a one-line message for a value out of range or a contradiction."""
        pick = lambda value, trait: trait if value is None else value  # noqa: E731
        if replay and model:
            raise ValueError("--replay answers with recorded replies; it cannot be combined with --model")
        spec = ContextSpec.parse(pick(context, self.context))
        seconds = pick(timeout, self.timeout)
        kind = "replay" if replay or (self.replay_path and not model) else (
            backend or ("openai" if url else self.backend)).lower()
        if kind == "openai" and not (url or self.url):
            raise ValueError("--backend openai needs a server: --url http://HOST:PORT/v1 (or c.OciMagics.url)")
        settings = RunSettings(
            rounds=pick(rounds, self.rounds),
            execute=not no_exec,
            generation=GenerationParams(pick(temperature, self.temperature), pick(max_tokens, self.max_tokens),
                                        pick(seed, None if self.seed < 0 else self.seed), self.draft),
            context=ContextSpec(spec.cells, spec.variables, self.context_tokens or None, self.samples, self.focus),
            feedback_chars=self.feedback_chars,
            refine=self.refine,
            facts=self.facts,
            checks=self.checks,
            retries=self.retries,
            retry_temperature=self.retry_temperature,
            continue_runs=self.continue_runs,
            exercise=self.exercise,
            sanity=tuple(sanity_rules(self.sanity)),
            short_tracebacks=self.short_tracebacks,
            candidates=pick(candidates, self.candidates),
            candidate_temperature=self.candidate_temperature,
            selection=self.selection,
            imports=self.imports,
            ask_again=self.ask_again,
            redo=self.redo,
            rereads=self.rereads,
            copies=self.copies,
        )
        guard = GuardSettings(timeout=seconds or None, isolate=pick(isolate, self.isolate),
                              isolate_max_bytes=self.isolate_max_mb * 2**20)
        where = ModelOptions(kind, model or "", self.model_path, url or self.url, self.remote_model, replay or "",
                             self.replay_path, self.n_ctx, self.n_threads, self.n_gpu_layers,
                             kv_folder(self.kv_cache_dir) if self.kv_cache_mb else "", self.kv_cache_mb * 2**20,
                             self.share_cores, settings.candidates)
        return RunOptions(settings, where, guard, record or "")

    def prefill_settings(self) -> PrefillSettings:
        return PrefillSettings(self.prefill, self.prefill_threads, 1.0)


def kv_folder(configured: str = "") -> str:
    """Where the prompt cache lives: the trait, else $OCI_KV_CACHE, else the user's cache folder."""
    if configured:
        return os.path.expanduser(configured)
    if os.environ.get("OCI_KV_CACHE"):
        return os.environ["OCI_KV_CACHE"]
    return cache_folder("kv")
