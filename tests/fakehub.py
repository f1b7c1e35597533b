"""A local stand-in for the Hugging Face Hub's file endpoints, on 127.0.0.1, for tests without
internet (``HF_ENDPOINT=http://127.0.0.1:PORT``). It answers as the Hub does for an LFS file:

* ``HEAD|GET /{repo}/resolve/{revision}/{file}``: 302 to an absolute ``/cdn/{sha256}`` URL with
  ``X-Repo-Commit``, ``X-Linked-Etag`` (the sha256), ``X-Linked-Size`` and ``ETag``; 404 with
  ``X-Error-Code: RepoNotFound`` / ``EntryNotFound``; 401 ``GatedRepo`` for a gated repo without
  the right ``Authorization: Bearer`` token;
* ``GET /cdn/{sha256}`` on a second port (the CDN's own origin): the bytes, with ``Range: bytes=N-`` answered by 206 and ``Content-Range``.

Knobs: ``cut_at`` (bytes after which the next CDN GET of a file drops the connection, once),
``corrupt`` (files served with a flipped byte under their true sha256), ``requests`` (what came).
"""
from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Set, Tuple
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self):
        self.files: Dict[Tuple[str, str], bytes] = {}
        self.gated: Set[str] = set()
        self.token = "hf_test_token"
        self.cut_at: Dict[str, int] = {}
        self.corrupt: Set[str] = set()
        self.requests: List[Tuple[str, str, str]] = []  # (method, path, Range header)
        self._by_sha: Dict[str, Tuple[str, bytes]] = {}
        # the Hub, and its CDN on another origin (huggingface_hub follows redirects within one origin)
        self.servers = [ThreadingHTTPServer(("127.0.0.1", 0), self._handler()) for _ in range(2)]
        for server in self.servers:
            server.daemon_threads = True
            server.handle_error = lambda request, address: None  # a client that hung up (■, a cut): no traceback
        self.url, self.cdn_url = (f"http://127.0.0.1:{s.server_address[1]}" for s in self.servers)

    def add(self, repo: str, name: str, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.files[(repo, name)] = data
        self._by_sha[sha] = (name, data)
        return sha

    def start(self) -> "FakeHub":
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def cdn_gets(self, name: str) -> List[str]:
        """The Range header of each CDN GET of ``name`` ("" without one)."""
        sha = next(s for s, (n, _) in self._by_sha.items() if n == name)
        return [r for m, p, r in self.requests if m == "GET" and p == f"/cdn/{sha}"]

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self._answer(body=False)

            def do_GET(self):
                self._answer(body=True)

            def _send(self, status, headers=(), length=0):
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(length))
                self.end_headers()

            def _answer(self, body):
                path = unquote(self.path.split("?")[0])
                hub.requests.append((self.command, path, self.headers.get("Range", "")))
                if path.startswith("/cdn/"):
                    return self._cdn(path[5:], body)
                head, sep, tail = path.lstrip("/").partition("/resolve/")
                if not sep:
                    return self._send(404, [("X-Error-Code", "RepoNotFound")])
                revision, _, name = tail.partition("/")
                repo = head
                if not any(r == repo for r, _ in hub.files):
                    return self._send(404, [("X-Error-Code", "RepoNotFound"),
                                            ("X-Error-Message", "Repository not found")])
                if repo in hub.gated and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self._send(401, [("X-Error-Code", "GatedRepo"),
                                            ("X-Error-Message", f"Access to model {repo} is restricted.")])
                data = hub.files.get((repo, name))
                if data is None:
                    return self._send(404, [("X-Error-Code", "EntryNotFound"), ("X-Repo-Commit", COMMIT),
                                            ("X-Error-Message", "Entry not found")])
                sha = hashlib.sha256(data).hexdigest()
                self._send(302, [("Location", f"{hub.cdn_url}/cdn/{sha}"), ("X-Repo-Commit", COMMIT),
                                 ("X-Linked-Etag", f'"{sha}"'), ("X-Linked-Size", str(len(data))),
                                 ("ETag", '"0000000000000000000000000000000000000000"')])

            def _cdn(self, sha, body):
                if sha not in hub._by_sha:
                    return self._send(404)
                name, data = hub._by_sha[sha]
                if name in hub.corrupt:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                start = 0
                spec = self.headers.get("Range", "")
                if spec.startswith("bytes="):
                    start = int(spec[6:].split("-")[0])
                    self._send(206, [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"),
                                     ("Accept-Ranges", "bytes")], len(data) - start)
                else:
                    self._send(200, [("Accept-Ranges", "bytes")], len(data))
                if not body:
                    return
                cut = hub.cut_at.pop(name, None) if self.command == "GET" else None
                end = len(data) if cut is None else max(cut, start)
                view = memoryview(data)[start:end]
                for i in range(0, len(view), 1 << 20):
                    self.wfile.write(view[i:i + (1 << 20)])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)

        return Handler

