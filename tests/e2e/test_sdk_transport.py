"""The SDK's default transport over real HTTP on 127.0.0.1 (the rest of the SDK runs in-process, in tests/unit)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from miniauth_sdk import TransportError, UrllibTransport

# -- the default transport, over real HTTP on 127.0.0.1 --------------------------------------------------


@pytest.fixture
def echo_server() -> Iterator[str]:
    class Echo(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = 418 if self.path.endswith("/teapot") else 200
            self.send_response(status)
            self.send_header("Client-Id", self.headers["Client-Id"] or "")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_urllib_transport_returns_error_statuses_and_raises_on_no_answer(echo_server: str) -> None:
    transport = UrllibTransport(timeout=5)
    ok = transport(echo_server + "/v2/x", b'{"a":1}', {"Client-Id": "42", "Content-Type": "application/json"})
    assert (ok.status, ok.body, ok.header("client-id")) == (200, b'{"a":1}', "42")
    teapot = transport(echo_server + "/teapot", b"{}", {"Client-Id": "42"})
    assert (teapot.status, teapot.body) == (418, b"{}")

    with pytest.raises(TransportError) as refused:
        transport("http://127.0.0.1:9/v2/x", b"{}", {})
    assert refused.value.retryable and refused.value.unsent and refused.value.http_status is None
    with pytest.raises(TransportError, match="http and https"):
        transport("file:///etc/passwd", b"{}", {})
