"""Weaving the rounds into the notebook: each %%oci cell's rounds become real code cells below
it, with their own outputs. Plain nbformat work."""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Tuple

from ..context.notebook import is_oci_cell as is_oci_source
from ..engine.headers import round_cell
from ..engine.records import INTERRUPTED, REPEATED, SKIPPED, TIMEOUT
from ..engine.runrecord import ROUND_MIME, RUN_MIME

# A round's code cell is re-run by nbclient/papermill; these tags keep a re-run of OUT going.
RAISES, SKIP = "raises-exception", "skip-execution"


def is_oci_cell(cell) -> bool:
    return cell.cell_type == "code" and is_oci_source(cell.source)


# -- weaving the rounds into the notebook ------------------------------------------------------
def find_record(outputs) -> Optional[dict]:
    for out in outputs or []:
        if out.get("output_type") == "display_data" and RUN_MIME in out.get("data", {}):
            return out["data"][RUN_MIME]
    return None


def records(nb) -> List[dict]:
    """The run records of the notebook's %%oci cells, in order."""
    found = (find_record(c.get("outputs")) for c in nb.cells if is_oci_cell(c))
    return [r for r in found if r is not None]


def split_outputs(outputs) -> Tuple[list, Dict[int, list]]:
    """The %%oci cell's own outputs, and each executed round's outputs (between its markers)."""
    own: list = []
    rounds: Dict[int, list] = {}
    current: Optional[int] = None
    for out in outputs or []:
        fields = out.get("data", {}).get(ROUND_MIME) if out.get("output_type") == "display_data" else None
        if fields is not None:
            event = fields.get("event")
            current = fields.get("round") if event == "start" else None
            if event == "start":
                rounds.setdefault(current, [])
            continue
        (rounds[current] if current is not None else own).append(out)
    return _merge_streams(own), {k: _merge_streams(v) for k, v in rounds.items()}


def _merge_streams(outputs: list) -> list:
    """Adjacent pieces of the same stream become one output, as a frontend shows them."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (prev is not None and out.get("output_type") == "stream" and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            merged[-1] = prev = copy.copy(prev)  # never change the notebook's own outputs
            prev["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def _cell_round(record: dict, r: dict, outputs: list):
    from nbformat.v4 import new_code_cell

    n, of, status = r["round"], record["settings"]["rounds"], r["status"]
    model = record["model"]["name"]
    final = r["round"] == record["final_round"]
    header = round_cell(n, of, status, model, (r["error"] or {}).get("name"))
    tags = []
    if not final:
        tags.append(RAISES)  # it failed once; a re-run must go on past it
    if status in (INTERRUPTED, TIMEOUT):
        tags.append(SKIP)  # it never finished; re-running it could hang again
    meta = {"oci": {"round": n, "rounds": of, "status": status, "final": final, "model": model,
                    "model_file": record["model"]["file"], "task": record["task"],
                    "error": (r["error"] or {}).get("message") if r["error"] else None}}
    if tags:
        meta["tags"] = tags
    return new_code_cell(source=f"{header}\n{r['code']}", outputs=outputs, metadata=meta)


def weave(nb, final_only: bool = False) -> Tuple[object, List[dict]]:
    """The notebook to write, and one summary dict per %%oci cell (task, outcome)."""
    out = copy.deepcopy(nb)
    cells, summaries = [], []
    for cell in out.cells:
        cells.append(cell)
        if not is_oci_cell(cell):
            continue
        own, by_round = split_outputs(cell.outputs)
        record = find_record(own)
        outcome = record["outcome"] if record else "error"
        summaries.append({"task": cell.source, "outcome": outcome})
        if record is None:  # bad options, or the kernel died / never answered: keep all it printed
            cell.outputs = [o for o in cell.outputs if ROUND_MIME not in o.get("data", {})]
            continue
        cell.outputs = own
        tags = cell.metadata.setdefault("tags", [])
        if SKIP not in tags:
            tags.append(SKIP)  # its rounds follow as cells: re-running OUT must not run them twice
        cell.metadata["oci"] = {"outcome": outcome, "final_round": record["final_round"]}
        for r in record["rounds"]:
            if r["code"] is None or r["status"] in (REPEATED, SKIPPED):
                continue  # nothing new to show, or code that was refused
            if final_only and r["round"] != record["final_round"]:
                continue
            cells.append(_cell_round(record, r, by_round.get(r["round"], [])))
    out.cells = cells
    return out, summaries
