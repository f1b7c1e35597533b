"""What generated code may not do without asking, as tables the policy's check reads
(:mod:`.policy`): calls, modules, methods, magics, and the writers that overwrite a file."""
from __future__ import annotations

from typing import Dict

FILES, SHELL, NETWORK, EXIT, PROCESS, INSTALL, CODE, CRASH = (
    "deletes or overwrites files", "runs a shell command", "accesses the network", "ends the program",
    "kills processes", "installs packages", "runs code this check cannot see", "can crash the kernel")
MODEL = "starts another model run"  # never allowed: a run inside a run (%%oci, %oci, loading a model)

# Dotted call targets (after resolving imports) -> what they do.
CALLS: Dict[str, str] = {
    **{f"os.{f}": FILES for f in ("remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace",
                                   "truncate")},
    "shutil.rmtree": FILES, "shutil.move": FILES,
    **{f"os.{f}": SHELL for f in ("system", "popen", "execl", "execle", "execlp", "execlpe", "execv", "execve",
                                   "execvp", "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
                                   "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "startfile")},
    "pty.spawn": SHELL, "commands.getoutput": SHELL,
    "os._exit": EXIT, "sys.exit": EXIT, "exit": EXIT, "quit": EXIT, "os.abort": EXIT,
    "os.kill": PROCESS, "os.killpg": PROCESS, "signal.pthread_kill": PROCESS, "signal.raise_signal": PROCESS,
    "pip.main": INSTALL, "exec": CODE, "eval": CODE, "__import__": CODE, "importlib.import_module": CODE,
    "sys.setrecursionlimit": CRASH,
}
# Any use of these modules (import or call) is risky.
MODULES: Dict[str, str] = {
    "subprocess": SHELL, "socket": NETWORK, "urllib.request": NETWORK, "urllib3": NETWORK, "requests": NETWORK,
    "httpx": NETWORK, "http.client": NETWORK, "ftplib": NETWORK, "smtplib": NETWORK, "aiohttp": NETWORK,
    "paramiko": NETWORK, "telnetlib": NETWORK, "websocket": NETWORK, "websockets": NETWORK, "pip": INSTALL,
    "ctypes": CRASH, "llama_cpp": MODEL, "oci_magic": MODEL,
}
# Methods risky on whatever object they are called (pathlib.Path, Popen, ...).
# Not ``rename`` (DataFrame.rename is everywhere) nor ``remove`` (list.remove).
METHODS = {"unlink": FILES, "rmdir": FILES, "write_text": FILES, "write_bytes": FILES,
           "kill": PROCESS, "terminate": PROCESS}
# IPython magics (get_ipython().run_line_magic / run_cell_magic after transform_cell).
MAGICS = {**{m: SHELL for m in ("system", "sx", "bash", "sh", "script", "perl", "ruby", "sc", "cd", "killbgscripts")},
          "pip": INSTALL, "conda": INSTALL, "mamba": INSTALL, "micromamba": INSTALL, "uv": INSTALL,
          "exit": EXIT, "quit": EXIT, "writefile": FILES, "rm": FILES, "reset": FILES, "run": CODE,
          "oci": MODEL}
# Calls that write a whole file at a path argument: (position, keyword names) of that argument.
# Flagged only when the path is a literal naming an existing file: a computed argument is as often
# a buffer (``df.to_csv(io.StringIO())``) as a path, and a new file overwrites nothing.
WRITERS = {m: (0, ("path_or_buf", "excel_writer", "path", "buf", "fname"))
           for m in ("to_csv", "to_excel", "to_json", "to_parquet", "to_pickle", "to_feather", "to_hdf",
                     "to_stata", "to_html", "to_xml", "to_latex", "to_markdown", "to_orc", "savefig")}
FILE_WRITERS = {**{f"numpy.{f}": (0, ("file", "fname")) for f in ("save", "savetxt", "savez", "savez_compressed")},
                **{f"shutil.{f}": (1, ("dst",)) for f in ("copy", "copy2", "copyfile")}}
