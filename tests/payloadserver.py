# SPDX-License-Identifier: MIT
"""The attacker's payload host, on loopback: a tiny HTTP server the traps' downloads fetch from.

One body for every path; each requested path is appended to ``hits`` (a list the test owns),
so a test can tell that the trap really fetched the URL its exploit named.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def serve_payload(body: bytes, hits: list[str] | None = None) -> Iterator[int]:
    """Serve ``body`` on 127.0.0.1 (any path, GET); yields the port."""
    seen = hits if hits is not None else []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()
