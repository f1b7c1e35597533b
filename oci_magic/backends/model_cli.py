"""``oci model list | pull NAME | rm NAME``: the catalog, downloads into the Hugging Face cache,
and freeing them. Errors are one line on stderr and exit code 1 (2 for usage)."""
from __future__ import annotations

import argparse
import sys

from ..errors import OciError
from . import catalog


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="the catalog: what is downloaded, sizes and where")
    pull = sub.add_parser("pull", help="download a model (resumes an interrupted download)")
    pull.add_argument("model", metavar="NAME|REPO_ID/FILE.gguf")
    pull.add_argument("--revision", help="branch, tag or commit of the repo (default main)")
    rm = sub.add_parser("rm", help="delete a downloaded model (and any partial download of it)")
    rm.add_argument("model", metavar="NAME|REPO_ID/FILE.gguf")


def main(args: argparse.Namespace) -> int:
    from .local import remove, rows, table

    action = getattr(args, "action", None) or "list"
    try:
        if action == "list":
            print(table(rows()))
            return 0
        spec = catalog.require(args.model)
        if action == "rm":
            freed = remove(spec)
            print(f"removed {spec.label} ({catalog.human_size(freed)} freed)" if freed
                  else f"{spec.label} is not downloaded: nothing to remove")
            return 0
        if getattr(args, "revision", None):
            spec = catalog.Spec(spec.repo, spec.file, args.revision, spec.name)
        return _pull(spec)
    except OciError as exc:
        print(f"oci model {action}: {exc}", file=sys.stderr)
        return 1


def _pull(spec: catalog.Spec) -> int:
    from tqdm import tqdm

    from .pull import pull

    def echo(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    size, exact = catalog.size_of(spec)
    echo(f"pulling {spec.label} from {spec.repo}" + (f" ({'' if exact else '~'}{catalog.human_size(size)})" if size else ""))
    result = pull(spec, tqdm_class=tqdm, echo=echo)
    state = "downloaded" if result.downloaded else "already downloaded"
    echo(f"{spec.label}: {state}, {catalog.human_size(result.size)}; use it with --model {spec.label}, "
         f"%oci model {spec.label} or OCI_MODEL={spec.label}")
    print(result.path)
    return 0
