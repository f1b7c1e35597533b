"""The user's variables as the model sees them: public names, modules apart, each summarized by
:func:`oci_magic.values.summarize`."""
from __future__ import annotations

import types
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from ..values import summarize


def user_variables(namespace: Mapping[str, Any], hidden: Iterable[str] = (),
                   samples: int = 0) -> Tuple[List[Tuple[str, str]], Dict[str, str]]:
    """Summaries of the user's public, non-module names, sorted by name; plus module aliases."""
    hidden = set(hidden)
    variables, modules = [], {}
    for name in sorted(namespace):
        if name.startswith("_") or name in hidden:
            continue
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            modules[name] = getattr(value, "__name__", name)
            continue
        variables.append((name, summarize(value, samples)))
    return variables, modules
