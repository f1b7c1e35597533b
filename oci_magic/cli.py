"""The ``oci`` command. Each subcommand lives in its own module, imported only when used."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

# name -> (module, help). A module provides ``add_arguments(parser)`` and ``main(args) -> int``.
SUBCOMMANDS = {
    "run": ("oci_magic.runner.cli", "run a notebook with %%oci cells headless and write the generated cells into it"),
    "model": ("oci_magic.backends.model_cli", "code models by name: list the catalog, pull (download) one, rm it"),
    "bench": ("oci_magic.bench.cli", "measure the loop: prompt-cache reuse, throughput, HumanEval"),
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="oci", description="oci_magic: a local, offline code interpreter for Jupyter.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # not written yet
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(modules[args.command].main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
