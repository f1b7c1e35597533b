"""The structured record of one ``%%oci`` run, and the MIME types ``oci run`` reads.

Plain Python: ``build(result, settings)`` turns the loop's dataclasses into a JSON-ready dict
that follows ``schemas/run.schema.json``. The front end decides where to display it.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, Optional

from .records import Round, RunResult, Undone
from .settings import RunSettings

RUN_MIME = "application/vnd.oci-magic.run+json"
ROUND_MIME = "application/vnd.oci-magic.round+json"
FORMAT_VERSION = 2
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", "run.schema.json")
_ID_BYTES = 1 << 20  # hashing the first MiB names a multi-GB model in milliseconds
_ids: Dict[tuple, str] = {}


def file_id(path: str) -> Optional[str]:
    """sha256 of the file's first MiB (cached per path, size and mtime); None if unreadable."""
    try:
        stat = os.stat(path)
        key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
        if key not in _ids:
            with open(path, "rb") as f:
                _ids[key] = hashlib.sha256(f.read(_ID_BYTES)).hexdigest()
        return _ids[key]
    except OSError:
        return None


def model_info(backend) -> Dict[str, object]:
    """The model part of a record, from ``backend.describe()``: a replay run names its file."""
    description = backend.describe()
    path = description.get("path")
    info = {"name": str(description.get("name", "?")), "backend": str(description.get("backend", "?")),
            "file": os.path.basename(str(path)) if path else None, "path": str(path) if path else None,
            "sha256_first_mib": file_id(str(path)) if path else None,
            "size_bytes": os.path.getsize(str(path)) if path and os.path.isfile(str(path)) else None}
    return info


def _tokens(round_: Round) -> Optional[Dict[str, int]]:
    u = round_.usage
    if u is None:
        return None
    return {"prompt": u.prompt_tokens, "reused": u.reused_tokens, "evaluated": u.evaluated_tokens,
            "generated": u.generated_tokens}


def _error(round_: Round) -> Optional[Dict[str, object]]:
    ex = round_.execution
    if ex is not None and not ex.ok:
        return {"name": ex.ename, "message": ex.evalue or "", "traceback": list(ex.traceback)}
    line = round_.error_line  # no-code, repeated, skipped: no exception, but a reason
    return {"name": None, "message": line, "traceback": []} if line else None


def _put_back(what: Optional[Undone]) -> Optional[Dict[str, object]]:
    return {"round": what.round, "restored": list(what.restored), "removed": list(what.removed)} if what else None


def round_dict(round_: Round) -> Dict[str, object]:
    ex = round_.execution
    return {
        "round": round_.index,
        "status": round_.status,
        "code": round_.code,
        "reply": round_.reply,
        "error": _error(round_),
        "feedback": round_.feedback,
        "tokens": _tokens(round_),
        "seconds": {"generate": round(round_.generate_seconds, 4),
                    "execute": round(ex.seconds, 4) if ex is not None else 0.0},
        "undone": _put_back(round_.undone),
        "imports": list(round_.imports),
        "left_out": list(round_.left_out),
        "repeated": round_.repeated,
        "candidates": [{"index": c.index, "code": c.code, "reply": c.reply, "trial": c.trial, "error": c.error,
                        "group": c.group, "chosen": c.chosen} for c in round_.candidates] or None,
    }


def build(result: RunResult, settings: RunSettings) -> Dict[str, object]:
    gen = settings.generation
    return {
        "format": FORMAT_VERSION,
        "task": result.task,
        "model": result.model,
        "settings": {"rounds": settings.rounds, "temperature": gen.temperature, "seed": gen.seed,
                     "max_tokens": gen.max_tokens, "execute": settings.execute},
        "rounds": [round_dict(r) for r in result.rounds],
        "outcome": result.outcome,
        "succeeded": result.succeeded,
        "final_round": result.final_round.index if result.final_round else None,
        "message": result.message,
        "summary": result.summary(),
        "redone": _put_back(result.redone),
    }


def load_schema() -> dict:
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        return json.load(f)
