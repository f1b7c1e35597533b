"""The package's folders are its layers: a module imports only from its own layer's package or
from a lower layer, never upward (lazy imports inside functions included), and no module grows
past 300 lines."""
import ast
import importlib
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "oci_magic"
# lowest first; packages on one level do not import each other
LAYERS = [{"errors", "text", "values", "conversions"}, {"backends", "context", "execution"}, {"engine"}, {"ipython"}, {"runner"}, {"bench"},
          {"cli", "__init__"}, {"__main__"}]
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def part(path: Path) -> str:
    """The top-level package or module of the package that ``path`` belongs to."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_parts(path: Path):
    """(line, part) for every import of oci_magic's own code in ``path``, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = path.relative_to(PACKAGE).parts[:-1]  # the folders of the importing module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(inside)[: len(inside) - (node.level - 1)] if node.level > 1 else list(inside)
            target = base + (node.module.split(".") if node.module else [])
            names = [target[0]] if target else [alias.name for alias in node.names]
            for name in names:
                yield node.lineno, name
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.startswith("oci_magic."):
                    yield node.lineno, module.split(".")[1]


def test_every_module_belongs_to_a_layer():
    assert {part(p) for p in MODULES} - {"schemas"} <= set(LEVEL), "a new top-level module needs a layer in LAYERS"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_or_sideways_imports(path):
    own = part(path)
    for line, target in imported_parts(path):
        if target == own:
            continue
        assert target in LEVEL, f"{path.name}:{line} imports unknown part {target!r}"
        assert LEVEL[target] < LEVEL[own], (f"{path.relative_to(PACKAGE)}:{line} imports {target} "
                                            f"(layer {LEVEL[target]}) from layer {LEVEL[own]}")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_300_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300


def test_the_magic_class_stays_thin():
    from oci_magic.ipython.magics import OciMagics
    import inspect

    assert len(inspect.getsource(OciMagics).splitlines()) < 200


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path):
    """Modules of the package that ``path`` imports when it is imported (not inside functions)."""
    package = list(path.relative_to(PACKAGE).parts[:-1])
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            if node.module:
                yield ".".join(target)
            else:
                yield from (".".join(target + [a.name]) for a in node.names)


def test_no_import_cycles():
    graph = {_module_name(p): set(_top_level_imports(p)) for p in MODULES}
    done, stack = set(), []

    def visit(module):
        if module in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(module):] + [module]))
        if module in done or module not in graph:
            return
        stack.append(module)
        for target in graph[module]:
            visit(target)
        stack.pop()
        done.add(module)

    for module in graph:
        visit(module)


_REFERENCE = re.compile(r":(?:mod|class|func|meth|attr):`~?([A-Za-z_.][\w.]*)`")


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ImportError(dotted)


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "__main__.py"],  # importing it runs oci
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_docstrings_name_what_exists(path):
    """A reference in a docstring (``:mod:`.history```, ``:class:`~oci_magic.engine.memory.Memory```,
    ``:meth:`Session.run```) names a module, class or function that exists: renamed code takes its
    references along. A bare name is looked up in the module itself, as Sphinx does."""
    name = "oci_magic." + _module_name(path) if _module_name(path) else "oci_magic"
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    module = importlib.import_module(name)
    for dotted in _REFERENCE.findall(path.read_text(encoding="utf-8")):
        try:
            if dotted.startswith("."):
                level = len(dotted) - len(dotted.lstrip("."))
                base = package.split(".")[: len(package.split(".")) - (level - 1)]
                _resolve(".".join(base) + "." + dotted.lstrip("."))
            elif dotted.startswith("oci_magic"):
                _resolve(dotted)
            else:
                found = module
                for part in dotted.split("."):
                    found = getattr(found, part)
        except (ImportError, AttributeError):
            pytest.fail(f"{path.relative_to(PACKAGE)} refers to {dotted}, which does not exist")
