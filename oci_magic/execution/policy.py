"""What generated code may do without asking: a check of its syntax tree for risky operations, and
the gate that asks (or refuses) before such code runs.

This guards the user against a small model's accidents (``shutil.rmtree``, ``!pip install``,
``os._exit``), not against an adversary: code can always hide intent (``getattr`` with computed
names). ``exec``/``eval`` are flagged because they run code this check cannot see.
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from .confirm import Ask
from .gate import RUN, SKIP, STOP, Decision, Gate
from .risks import CALLS, CODE, EXIT, FILE_WRITERS, FILES, MAGICS, METHODS, MODEL, MODULES, NETWORK, SHELL, WRITERS

_SHELL_LINE = re.compile(r"^[ \t]*(!|%{1,2}([A-Za-z_]\w*))", re.M)  # [ \t]: \s would cross lines
_URL = re.compile(r"^(https?|ftp|wss?)://", re.I)
_EXITS = {"SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"}


@dataclass(frozen=True)
class Finding:
    what: str  # e.g. "subprocess.run", "open(..., 'w')", "!ls"
    why: str  # one of the categories in .risks (FILES, SHELL, ...)
    line: int = 0
    path: Optional[str] = None  # the existing file a write with a literal path (open, to_csv, ...) overwrites

    def __str__(self) -> str:
        return f"{self.what} ({self.why}{f', line {self.line}' if self.line else ''})"


def check(code: str, transformed: Optional[str] = None) -> List[Finding]:
    """Risky operations in ``code``. ``transformed`` is IPython's rewrite of it (``!ls`` becomes
    ``get_ipython().system('ls')``): both are checked, so magics are caught either way."""
    findings = _magic_lines(code)
    for source in dict.fromkeys([transformed or code, code]):
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue  # it will fail to compile and never run
        findings += _Visitor().scan(tree)
    return list(dict.fromkeys(findings))


def _magic_lines(code: str) -> List[Finding]:
    found = []
    for match in _SHELL_LINE.finditer(code):
        line = code.count("\n", 0, match.start()) + 1
        if match.group(1) == "!":
            found.append(Finding(code.splitlines()[line - 1].strip()[:41], SHELL, line))  # as "!" + 40 below
        elif match.group(2) in MAGICS:
            found.append(Finding(f"%{match.group(2)}", MAGICS[match.group(2)], line))
        elif "oci_magic" in code.splitlines()[line - 1]:  # %load_ext oci_magic, %reload_ext oci_magic
            found.append(Finding(f"%{match.group(2)} oci_magic", MODEL, line))
    return found


class _Visitor(ast.NodeVisitor):
    def scan(self, tree: ast.AST) -> List[Finding]:
        self.aliases: Dict[str, str] = {}  # local name -> dotted origin ("sp" -> "subprocess")
        self.found: List[Finding] = []
        self.visit(tree)
        return self.found

    def _add(self, what: str, why: str, node: ast.AST, path: Optional[str] = None) -> None:
        self.found.append(Finding(what, why, getattr(node, "lineno", 0), path))

    def _module_risk(self, dotted: str) -> Optional[str]:
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            if ".".join(parts[:i]) in MODULES:
                return MODULES[".".join(parts[:i])]
        return None

    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            risk = self._module_risk(alias.name)
            if risk:
                self._add(f"import {alias.name}", risk, node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            risk = self._module_risk(full) or CALLS.get(full)
            if risk:
                self._add(f"from {module} import {alias.name}", risk, node)

    def _dotted(self, node) -> Optional[str]:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(self.aliases.get(node.id, node.id))
            return ".".join(reversed(parts))
        if isinstance(node, ast.Call) and self._dotted(node.func) == "get_ipython":
            parts.append("get_ipython()")
            return ".".join(reversed(parts))
        return None

    def visit_Call(self, node):
        self.generic_visit(node)
        name = self._dotted(node.func)
        if isinstance(node.func, ast.Attribute) and node.func.attr in WRITERS:  # df.groupby(...).to_csv('x.csv') too
            self._overwrite(f".{node.func.attr}", WRITERS[node.func.attr], node)
        if name is None:
            if isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:  # Path("a").unlink()
                self._add(f".{node.func.attr}()", METHODS[node.func.attr], node)
            return
        risk = CALLS.get(name) or self._module_risk(name)
        if risk:
            self._add(name, risk, node)
        elif name.startswith("get_ipython()."):
            self._ipython_call(name.split(".", 1)[1], node)
        elif name == "open" or name.endswith(".open"):
            self._open(name, node)
        elif _numpy(name) in FILE_WRITERS:  # np is usually imported in an earlier cell
            self._overwrite(name, FILE_WRITERS[_numpy(name)], node)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:
            self._add(f".{node.func.attr}()", METHODS[node.func.attr], node)
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _URL.match(arg.value):
                self._add(f"{name}({arg.value[:40]!r})", NETWORK, node)

    def _ipython_call(self, method: str, node) -> None:
        if method in ("system", "getoutput", "system_raw", "system_piped"):
            self._add("!" + _literal(node.args[0])[:40] if node.args else method, SHELL, node)
        elif method in ("run_line_magic", "run_cell_magic", "magic") and node.args:
            magic = _literal(node.args[0]).lstrip("%").split(" ")[0]
            if magic in MAGICS:
                self._add(f"%{magic}", MAGICS[magic], node)
        elif method in ("ask_exit", "run_cell", "ex", "ev", "safe_execfile"):
            self._add(f"get_ipython().{method}", EXIT if method == "ask_exit" else CODE, node)

    def _open(self, name: str, node) -> None:
        mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        mode_text = _literal(mode) if mode is not None else "r"
        if not any(c in mode_text for c in "wa+") and mode is not None and not isinstance(mode, ast.Constant):
            mode_text = "w"  # a computed mode may write
        if not any(c in mode_text for c in "wa+"):
            return
        target = node.args[0] if node.args else None
        path = target.value if isinstance(target, ast.Constant) and isinstance(target.value, str) else None
        if path is not None and not os.path.isfile(path):
            return  # writing a new file overwrites nothing
        where = repr(path) if path is not None else "a computed path"
        self._add(f"{name}({where}, {mode_text!r})", FILES, node, path)

    def _overwrite(self, name: str, slot, node) -> None:
        position, keywords = slot
        target = node.args[position] if len(node.args) > position else next(
            (k.value for k in node.keywords if k.arg in keywords), None)
        path = _literal(target)
        if path and os.path.isfile(path):
            self._add(f"{name}({path!r})", FILES, node, path)

    def visit_Raise(self, node):
        self.generic_visit(node)
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(exc, ast.Name) and exc.id in _EXITS:
            self._add(f"raise {exc.id}", EXIT, node)


def _numpy(name: str) -> str:
    return "numpy." + name[3:] if name.startswith("np.") else name


def _literal(node) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


# -- the gate ---------------------------------------------------------------------------------


def describe(findings: Sequence[Finding]) -> str:
    return "; ".join(str(f) for f in findings[:4]) + (f"; and {len(findings) - 4} more" if len(findings) > 4 else "")


def refusal(findings: Sequence[Finding], who: str = "Refused") -> str:
    """The feedback the model gets for a refused round."""
    whys = ", ".join(dict.fromkeys(f.why for f in findings))
    return (f"{who}: the code uses {describe(findings)}. Code that {whys} is not allowed here. "
            "Do the task without it, in plain Python on the variables in memory. "
            "Reply with the complete code in one ```python block.")


def check_cell(code: str, transform: Optional[Callable[[str], str]] = None, task: str = "") -> List[Finding]:
    """:func:`check` a cell's code together with IPython's rewrite of it (``!cmd``, magics), less
    what the ``task`` asks for (:func:`asked_for`)."""
    try:
        transformed = transform(code) if transform else None
    except Exception:  # IPython could not transform it: run_cell will report the error
        transformed = None
    return [f for f in check(code, transformed) if not asked_for(f, task)]


_WRITE_WORDS = re.compile(r"\b(sav(e|es|ed|ing)|writ(e|es|ing|ten)|overwrit\w*|export\w*|stor(e|es|ed|ing)|"
                          r"dump\w*|persist\w*|updat(e|es|ed|ing))\b", re.I)


def asked_for(finding: Finding, task: str) -> bool:
    """Writing over a file the task names and asks to write ("save cfg back to config.json") is
    what the user asked for, not a risk to ask about; a task that only reads it ("load sales.csv")
    does not. Only a literal path (open, to_csv, ...); deleting, a computed path and every other
    risk still count."""
    if not task or finding.path is None or finding.why != FILES or not _WRITE_WORDS.search(task):
        return False
    path = finding.path[2:] if finding.path.startswith("./") else finding.path
    return bool(path) and re.search(r"(?<![\w./\\-])(?:\./)?" + re.escape(path) + r"(?![\w/\\-])", task) is not None


NESTED = ("Refused: the code starts another model run ({what}). You are that run: write the Python that does "
          "the task itself, without %%oci, %oci, oci_magic or llama_cpp. Reply with the complete code in one "
          "```python block.")


def no_model_runs(gate: Gate, transform: Optional[Callable[[str], str]] = None) -> Gate:
    """``gate``, after refusing code that would start another model run: a small model shown a
    notebook full of ``%%oci`` cells writes one, which would run a model inside this run, whose
    model does the same. Nobody may allow it, not even with --allow risky."""

    def refuse(index: int, code: str) -> Decision:
        nested = [f for f in check_cell(code, transform) if f.why == MODEL]
        if nested:
            return Decision(SKIP, NESTED.format(what=describe(nested)))
        return gate(index, code)

    return refuse


def policy_gate(ask: Optional[Ask], allow_risky: bool = False, headless: bool = False,
                transform: Optional[Callable[[str], str]] = None, task: str = "") -> Gate:
    """A gate that lets safe code run, and for risky code asks ``ask`` (run / skip / stop); where
    nobody can answer (headless, or ``ask`` returns None) the round is refused with a reason the
    model can act on. ``allow_risky`` lets everything run; writing a file the ``task`` names is
    not a risk."""

    def gate(index: int, code: str) -> Decision:
        if allow_risky:
            return Decision(RUN)
        findings = check_cell(code, transform, task)
        if not findings:
            return Decision(RUN)
        if headless or ask is None:
            return Decision(SKIP, refusal(findings))
        answer = ask(f"%%oci · round {index}: the code uses {describe(findings)}. Run it?", ["run", "skip", "stop"])
        if answer == "run":
            return Decision(RUN)
        if answer == "stop":
            return Decision(STOP, f"the user stopped the run before risky code ({describe(findings)})")
        return Decision(SKIP, refusal(findings, "Refused" if answer is None else "The user refused to run it"))

    return gate


def risk_note(transform: Optional[Callable[[str], str]] = None, task: str = "") -> Callable[[str], str]:
    """For a confirmation question: "" for safe code, else what the code does that is risky."""

    def note(code: str) -> str:
        findings = check_cell(code, transform, task)
        return f"careful: it uses {describe(findings)}" if findings else ""

    return note
