"""``oci bench notebooks``: one task's result from its cells' outputs, run record and check, why an
unsolved task failed, and the summary (round 1 against the final round, for all, dev and heldout)."""
from __future__ import annotations

import sys
from collections import Counter
from typing import Dict, List, Optional

from ..engine.records import (FAILED, GAVE_UP, INTERRUPTED, NO_CODE, NO_PROGRESS, REPEATED, SKIPPED, STOPPED,
                              SUCCESS, UNVERIFIED)

GROUPS = ("all", "dev", "heldout", "independent")  # independent: tasks that do not build on an earlier one
OUTPUT_CHARS = 2000  # of _bench_output kept in --json: enough to see why a print task failed
LINE_CHARS = 300  # of an error or check line: an AssertionError may carry a whole DataFrame
RAN = (SUCCESS, UNVERIFIED)  # outcomes whose final code ran


def result(task: dict, seconds: Optional[float], record: Optional[dict] = None, why: Optional[str] = None,
           error: Optional[str] = None, output: Optional[str] = None, check: Optional[str] = None,
           timed_out: bool = False) -> dict:
    """The task's result. ``check``: None when the check passed, else its exception line."""
    rounds = record["rounds"] if record else []
    last_error = next((r["error"] for r in reversed(rounds) if r["error"]), None)
    # "unverified": the magic's own checks doubted the code that ran, and kept it; the bench's check decides
    solved = bool(record and record["outcome"] in RAN and check is None and why is None and not timed_out)
    # The magic stops at the first round whose code runs: if that is round 1, the check after the run
    # is the check after round 1; if round 1 failed, round 1 did not solve it.
    solved_round1 = solved and bool(rounds) and rounds[0]["status"] == "ok"
    tokens = {k: sum((r["tokens"] or {}).get(k, 0) for r in rounds) for k in ("prompt", "evaluated", "generated")}
    out = {
        "id": task["id"], "kind": task.get("kind"), "split": task["split"], "after": task.get("after"),
        "solved_round1": solved_round1, "solved": solved,
        "rounds": len(rounds), "outcome": record["outcome"] if record else "error",
        "statuses": [r["status"] for r in rounds],
        # the code's own exceptions, not the bench's interrupt at the task's timeout
        "errors": [r["error"]["name"] for r in rounds if r["error"] and r["error"]["name"] and r["status"] != INTERRUPTED],
        "error": (error or (record["message"] if record and record["outcome"] == FAILED and record["message"] else None)
                  or (_line(last_error) if last_error else ""))[:LINE_CHARS] or None,
        "check": check[:LINE_CHARS] if check else None, "why": None, "tokens": tokens, "seconds": round(seconds or 0.0, 2),
        "output": output[:OUTPUT_CHARS] if output is not None else None,
        # what each round was told: which checks fired (ablations re-run just the tasks a change touched)
        "feedback": [(r["feedback"] or "")[:LINE_CHARS] for r in rounds],
        "model": record["model"] if record else None,  # build() keeps one copy, tasks keep the name
        # with --candidates: per round, each candidate's trial, group and whether it was chosen
        "candidates": [[[c["trial"], c["group"], c["chosen"]] for c in r.get("candidates") or []] for r in rounds]
        if any(r.get("candidates") for r in rounds) else None,
        # per round: the import lines added to its code, the re-reads left out, whether its first reply repeated earlier code
        "imports": [r.get("imports") or [] for r in rounds],
        "left_out": [r.get("left_out") or [] for r in rounds],
        "asked_again": [bool(r.get("repeated")) for r in rounds],
        # the round whose names were put back at the end (later tries all failed), or None
        "redone": ((record or {}).get("redone") or {}).get("round"),
    }
    if not solved:
        out["why"] = why or ("timeout" if timed_out else classify(record, check))
    return out


def _line(error: dict) -> str:
    return f"{error['name']}: {error['message']}" if error["name"] else error["message"]


def classify(record: Optional[dict], check: Optional[str]) -> str:
    """Why an unsolved task failed, from its run record (first match wins)."""
    if record is None:
        return "kernel error"
    rounds, outcome = record["rounds"], record["outcome"]
    if outcome in RAN:  # the code ran; the check says what was wrong with it
        name = (check or "").split(":")[0]
        return {"AssertionError": "wrong result", "NameError": "missing name"}.get(name, f"check error: {name}")
    statuses = [r["status"] for r in rounds]
    last = rounds[-1] if rounds else None
    if REPEATED in statuses:
        return "repeated code"
    if last is not None and last["status"] == NO_CODE:
        return "no code"
    if outcome == NO_PROGRESS and last is not None and last["error"] and last["error"]["name"]:
        return "same error"
    if last is not None and last["status"] == SKIPPED:
        return "refused"  # the safety policy refused the code (headless: nobody could allow it)
    if outcome in (GAVE_UP, NO_PROGRESS) and last is not None and last["error"] and last["error"]["name"]:
        return f"error: {last['error']['name']}"
    if outcome == STOPPED:
        return "timeout"  # only the bench interrupts a headless kernel
    return f"run {outcome}"  # failed: the backend (e.g. a replay file that ran out); the message is in error


def final_output(by_round: Dict[int, list]) -> str:
    """What the last executed round printed (stdout) and displayed (text/plain), in order. stderr
    is left out: warnings there would break exact-text checks of what the code printed."""
    return output_text(by_round[max(by_round)]) if by_round else ""


def output_text(outputs: list) -> str:
    parts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif kind in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            text = out["data"]["text/plain"]
            text = "".join(text) if isinstance(text, list) else text
            parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts)


def cell_error(cell) -> Optional[str]:
    for out in cell.outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}" if out.get("evalue") else str(out.get("ename"))
    return None


def progress_line(n: int, total: int, width: int, r: dict) -> str:
    digits = len(str(total))
    head = f"[{n:>{digits}}/{total}] {r['id']:<{width}}"
    if r["outcome"] == "error" and not r["rounds"]:
        return f"{head}  ✗ {r['why']}" + (f" ({r['error']})" if r["error"] and r["why"] != r["error"] else "")
    mark = lambda ok: "✓" if ok else "✗"  # noqa: E731
    line = (f"{head}  round1 {mark(r['solved_round1'])}  final {mark(r['solved'])}  "
            f"{r['rounds']} round{'s' * (r['rounds'] != 1)}  {r['seconds']:.1f} s")
    return line if r["solved"] else f"{line}  ({r['why']})"


def summarize(results: List[dict]) -> Dict[str, object]:
    n = len(results)
    one = sum(r["solved_round1"] for r in results)
    final = sum(r["solved"] for r in results)
    ran = [r["rounds"] for r in results if r["rounds"]]
    pct = lambda k: round(100.0 * k / n, 1) if n else None  # noqa: E731
    return {"tasks": n, "solved_round1": one, "solved": final, "pct_round1": pct(one), "pct_solved": pct(final),
            "lift_points": round(pct(final) - pct(one), 1) if n else None,
            "mean_rounds": round(sum(ran) / len(ran), 2) if ran else None,
            "seconds": round(sum(r["seconds"] for r in results), 1)}


def _in(group: str, r: dict) -> bool:
    return group == "all" or (not r.get("after") if group == "independent" else r["split"] == group)


def chained(results: List[dict]) -> Dict[str, int]:
    """Tasks that build on an earlier task's result. In one session such a task starts from what
    the earlier ``%%oci`` left (a fresh kernel gets the earlier task's reference result), so it is
    counted also among those whose earlier task was solved in the same run."""
    solved = {r["id"]: r["solved"] for r in results}
    tasks = [r for r in results if r.get("after")]
    ready = [r for r in tasks if solved.get(r["after"])]
    return {"tasks": len(tasks), "solved": sum(r["solved"] for r in tasks),
            "earlier_solved": len(ready), "solved_after_solved": sum(r["solved"] for r in ready)}


def build(results: List[dict], settings: dict) -> Dict[str, object]:
    summary = {g: summarize([r for r in results if _in(g, r)]) for g in GROUPS}
    summary["chained"] = chained(results)
    summary["why"] = dict(Counter(r["why"] for r in results if not r["solved"]).most_common())
    summary["error_kinds"] = dict(Counter(e for r in results for e in r["errors"]).most_common())
    summary["candidates"] = choices(results)
    model = next((r["model"] for r in results if r["model"]), None)
    tasks = [dict(r, model=r["model"]["name"] if r["model"] else None) for r in results]
    return {"settings": settings, "model": model, "summary": summary, "tasks": tasks}


def choices(results: List[dict]) -> Optional[Dict[str, int]]:
    """Rounds with several candidates: how many, and how often the chosen one was not the first
    (what selection changed), none ran, or those that ran all did something different."""
    rounds = [r for t in results for r in t.get("candidates") or [] if r]
    if not rounds:
        return None
    grouped = lambda r: [c[1] for c in r if c[1] is not None]  # noqa: E731 (the ones compared by what they did)
    return {"rounds": len(rounds),
            "chosen_not_first": sum(1 for r in rounds if not r[0][2]),
            "none_ran": sum(1 for r in rounds if not any(c[0] in ("ok", "missed") for c in r)),
            "all_differ": sum(1 for r in rounds if len(grouped(r)) > 1 and len(set(grouped(r))) == len(grouped(r)))}


def print_summary(data: dict, stream=None, title: str = "") -> None:
    out = stream or sys.stdout
    s, rounds = data["summary"], data["settings"]["rounds"]
    model = data.get("model") or {}
    print(f"oci bench notebooks{' · ' + title if title else ''} · {s['all']['tasks']} tasks · model "
          f"{model.get('name', '?')} · up to {rounds} rounds · seed {data['settings']['seed']}", file=out)
    print(f"{'':<9}{'round 1':>16}{f'after {rounds} rounds':>20}{'lift':>9}{'mean rounds':>13}{'seconds':>10}", file=out)
    for g in GROUPS:
        x = s.get(g)
        if x is None or (g == "independent" and x["tasks"] == s["all"]["tasks"]):
            continue  # an older --json, or no task builds on another
        if not x["tasks"]:
            print(f"{g:<9}{'no tasks':>16}", file=out)
            continue
        frac = lambda k, p: f"{k}/{x['tasks']} {p:5.1f} %"  # noqa: E731
        mean = f"{x['mean_rounds']:.2f}" if x["mean_rounds"] is not None else "-"
        print(f"{g:<9}{frac(x['solved_round1'], x['pct_round1']):>16}{frac(x['solved'], x['pct_solved']):>20}"
              f"{x['lift_points']:>+9.1f}{mean:>13}{x['seconds']:>10.1f}", file=out)
    c = s.get("chained")
    if c and c["tasks"]:
        print(f"\nbuilding on an earlier task: {c['solved']}/{c['tasks']} solved; of the {c['earlier_solved']} whose "
              f"earlier task was solved, {c['solved_after_solved']}", file=out)
    if s.get("candidates"):
        c = s["candidates"]
        print(f"\ncandidates: {c['rounds']} rounds · the chosen one not the first in {c['chosen_not_first']} · "
              f"none ran in {c['none_ran']} · all that ran differed in {c['all_differ']}", file=out)
    for title, counts in (("why unsolved", s["why"]), ("error kinds, all rounds", s["error_kinds"])):
        if counts:
            width = max(len(title), *(len(k) for k in counts))
            print(f"\n{title:<{width}}  count", file=out)
            for key, count in counts.items():
                print(f"{key:<{width}}  {count:>5}", file=out)


def print_modes(fresh: dict, session: dict, stream=None) -> None:
    """The two modes side by side: solved in round 1 and after N, seconds per task, and which
    tasks one mode solved and the other did not."""
    out = stream or sys.stdout
    rounds = fresh["settings"]["rounds"]
    print(f"\nfresh kernels against one session{'':>4}{'fresh r1':>10}{f'after {rounds}':>9}{'s/task':>8}"
          f"{'session r1':>12}{f'after {rounds}':>9}{'s/task':>8}", file=out)
    for g in GROUPS:
        a, b = fresh["summary"].get(g), session["summary"].get(g)
        if a is None or b is None or not a["tasks"] or (g == "independent" and a["tasks"] == fresh["summary"]["all"]["tasks"]):
            continue
        per = lambda x: x["seconds"] / x["tasks"] if x["tasks"] else 0.0  # noqa: E731
        print(f"{g:<38}{a['solved_round1']:>10}{a['solved']:>9}{per(a):>8.1f}{b['solved_round1']:>12}{b['solved']:>9}"
              f"{per(b):>8.1f}", file=out)
    a, b = fresh["summary"].get("chained"), session["summary"].get("chained")
    if a and b and a["tasks"]:
        print(f"building on an earlier task: fresh {a['solved']}/{a['tasks']}, session {b['solved']}/{b['tasks']} "
              f"({b['solved_after_solved']} of the {b['earlier_solved']} whose earlier task the session solved)", file=out)
    solved = {m: {t["id"] for t in d["tasks"] if t["solved"]} for m, d in (("fresh", fresh), ("session", session))}
    for label, ids in (("solved fresh, not in the session", solved["fresh"] - solved["session"]),
                       ("solved in the session, not fresh", solved["session"] - solved["fresh"])):
        print(f"{label}: {', '.join(sorted(ids)) or '-'}", file=out)
