"""Headless kernels, for ``oci run`` and ``oci bench notebooks`` alike: how one is started and
configured, the notebook client that interrupts a cell once at its time limit, and the checks of
their command-line options, each rule stated once (with the limits of :class:`OciConfig`)."""
from __future__ import annotations

import asyncio
import math
import os
import sys
from typing import Callable, Dict, List, Optional

from ..engine.runrecord import ROUND_MIME
from ..engine.settings import OciConfig
from ..errors import OciError
from ..text import first_line

# Every headless kernel of ours: round markers split a %%oci cell's outputs per round; ERROR: not
# the kernel's TCP warning.
HEADLESS_ARGUMENTS = ["--OciMagics.round_markers=True", "--IPKernelApp.log_level=ERROR"]


class UsageProblem(Exception):
    """A bad option or input file: one line for the user, never a traceback."""


def headless_env(model: Optional[str] = None) -> Dict[str, str]:
    env = dict(os.environ, OCI_HEADLESS="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning on kernel start
    if model:
        env["OCI_MODEL"] = model
    return env


# -- the options, checked before any kernel starts -------------------------------------------------
def check_run_options(rounds: Optional[int] = None, temperature: Optional[float] = None,
                      max_tokens: Optional[int] = None, replay: Optional[str] = None, model: Optional[str] = None,
                      candidates: Optional[int] = None):
    """The magic's own checks of these options (its ranges, --replay against --model); the run
    options they give."""
    try:
        return OciConfig().run_options(rounds=rounds, temperature=temperature, max_tokens=max_tokens,
                                       replay=replay or None, model=model or None, candidates=candidates)
    except ValueError as exc:
        message = str(exc)
        raise UsageProblem(message if message.startswith("-") else f"--{message}") from None


def check_seconds(value: Optional[float], option: str = "--timeout") -> Optional[float]:
    """A time limit of a cell or task: a positive, finite number of seconds (None: no limit)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise UsageProblem(f"{option} must be a positive number of seconds, not {value:g}")
    return value


def check_model(value: str) -> str:
    """A path, catalog name or REPO_ID/FILE as a GGUF file that reads: a bad one would otherwise
    fail every cell or task, a kernel start each."""
    from ..backends.models import model_file

    try:
        return model_file(value)
    except OciError as exc:
        raise UsageProblem(first_line(exc)) from None


def check_replay(path: str) -> None:
    from ..backends.replay import load_replies

    try:
        load_replies(path)
    except OciError as exc:
        raise UsageProblem(str(exc)) from None


def check_record(path: str) -> None:
    from ..backends.replay import check_record_path

    try:
        check_record_path(path)
    except OciError as exc:
        raise UsageProblem(str(exc)) from None


# -- the kernel and its client -------------------------------------------------------------------
def client(nb, *, timeout: Optional[float], grace: float, extra_arguments: List[str], folder: str,
           on_marker: Optional[Callable[[int, dict], None]] = None,
           on_timeout: Optional[Callable[[float], None]] = None, **options):
    """A notebook client for a fresh kernel on this interpreter (the one that has oci_magic,
    whatever kernel spec is installed), run in ``folder``. At a cell's ``timeout`` it interrupts
    the kernel once (a %%oci run then stops cleanly, with its record) and gives the cell ``grace``
    seconds to answer before giving up on it."""
    from jupyter_client import AsyncKernelManager

    manager = AsyncKernelManager(kernel_name="python3")  # a blocking client would stall nbclient's timeout
    manager.kernel_spec.argv[0] = sys.executable
    made = _client_class()(nb, km=manager, timeout=math.ceil(timeout) if timeout else None, interrupt_on_timeout=True,
                           record_timing=False, extra_arguments=extra_arguments, kernel_name="python3",
                           resources={"metadata": {"path": folder}}, **options)
    made.grace, made.on_marker, made.on_timeout = grace, on_marker, on_timeout
    return made


def _client_class():
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError
    from nbclient.util import ensure_async

    class InterruptOnce(NotebookClient):
        grace = 10.0
        timed_out = False  # some cell reached its time limit
        on_marker: Optional[Callable[[int, dict], None]] = None
        on_timeout: Optional[Callable[[float], None]] = None
        _interrupted = False  # the cell running now was interrupted

        async def async_execute_cell(self, *args, **kwargs):
            self._interrupted = False
            return await super().async_execute_cell(*args, **kwargs)

        def output(self, outs, msg, display_id, cell_index):
            out = super().output(outs, msg, display_id, cell_index)
            if (self.on_marker is not None and out is not None and out.get("output_type") == "display_data"
                    and ROUND_MIME in out.get("data", {})):
                self.on_marker(cell_index, out["data"][ROUND_MIME])
            return out

        async def _async_handle_timeout(self, timeout, cell=None):
            if not self._interrupted:
                self._interrupted = self.timed_out = True
                if self.on_timeout is not None:
                    self.on_timeout(timeout)
                await ensure_async(self.km.interrupt_kernel())
                # nbclient would wait a whole timeout again; the reply gets the grace period
                for _ in range(max(1, int(self.grace * 10))):
                    if await ensure_async(self.kc.shell_channel.msg_ready()):
                        return None
                    await asyncio.sleep(0.1)
            raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)

    return InterruptOnce
