"""Small real HTTP servers for the interop tests: a FHIR server and a JWK Set host.

They run ``http.server`` in a thread on a free local port: the service under test makes
real HTTP requests to them (no mocked client).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Route = Callable[[str, dict[str, str]], tuple[int, Any]]


@contextmanager
def serve(route: Route) -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """Serve GET requests with ``route(path_and_query, headers) -> (status, json)``.

    Yields the base URL and the list of requests received (path with query, headers).
    """
    seen: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen.append((self.path, headers))
            status, document = route(self.path, headers)
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def resource_type(path: str) -> str:
    """The resource type a FHIR request path names (``/fhir/Condition?x`` -> Condition)."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    return parts[1] if len(parts) > 1 else ""
