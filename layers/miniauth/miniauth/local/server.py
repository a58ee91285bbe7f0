"""The local API Gateway: serves every `Api` event route of the template over HTTP on 127.0.0.1.

Each request becomes a REST (v1) proxy event of the shape `sam local start-api` builds and goes to
the route's function; the function's proxy response becomes the HTTP answer. What API Gateway
itself answers is imitated too: an unknown route or method is 403 Missing Authentication Token, a
failing function 502, a function past its timeout 504.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from miniauth.local.events import proxy_event
from miniauth.local.invoker import FunctionTimedOut, Invoker
from miniauth.local.template import FunctionSpec

log = logging.getLogger("miniauth.local")

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
MISSING_TOKEN = {"message": "Missing Authentication Token"}


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of merchants' connections waits instead of being reset


class RouteTable:
    def __init__(self, specs: list[FunctionSpec]) -> None:
        self.routes: dict[tuple[str, str], tuple[str, bool]] = {}
        for spec in specs:
            for route in spec.routes:
                self.routes[(route.method, route.path)] = (spec.logical_id, route.iam)

    def find(self, method: str, path: str) -> tuple[str, bool] | None:
        return self.routes.get((method.upper(), path)) or self.routes.get(("ANY", path))

    def describe(self) -> list[str]:
        return [f"{method:<5}{path}  -> {logical_id}" for (method, path), (logical_id, _) in sorted(
            self.routes.items(), key=lambda item: item[0][1])]


def build_event(method: str, target: str, raw_headers: list[tuple[str, str]], body: bytes, client_ip: str,
                iam: bool) -> dict[str, Any]:
    """The REST proxy event for one HTTP request (headers keep their case; repeats go to multiValue*)."""
    split = urlsplit(target)
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in raw_headers:
        headers[name] = value
        multi.setdefault(name, []).append(value)
    query = parse_qsl(split.query, keep_blank_values=True)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    event = proxy_event(method, split.path, text, headers, resource=split.path, source_ip=client_ip,
                        iam_caller="local-wallet-backend" if iam else None)
    event["multiValueHeaders"] = multi
    event["isBase64Encoded"] = encoded
    if query:
        event["queryStringParameters"] = dict(query)
        event["multiValueQueryStringParameters"] = {k: [v for key, v in query if key == k] for k, _ in query}
    host = headers.get("Host") or headers.get("host")
    if host:
        event["requestContext"]["domainName"] = host
    return event


class LocalApi:
    """HTTP in front of an Invoker. `on_event` sees every event built (tests compare shapes with events/)."""

    def __init__(self, specs: list[FunctionSpec], invoker: Invoker, host: str = "127.0.0.1", port: int = 3000,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.table = RouteTable(specs)
        self.invoker = invoker
        self.on_event = on_event
        self.httpd = _Listener((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalApi:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="local-api", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def answer(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
               client_ip: str) -> tuple[int, list[tuple[str, str]], bytes]:
        found = self.table.find(method, urlsplit(target).path)
        if found is None:
            return _gateway(403, MISSING_TOKEN)
        logical_id, iam = found
        event = build_event(method, target, headers, body, client_ip, iam)
        if self.on_event:
            self.on_event(event)
        try:
            response = self.invoker.invoke(logical_id, event)
        except FunctionTimedOut:
            log.error("%s timed out", logical_id)
            return _gateway(504, {"message": "Endpoint request timed out"})
        except Exception as failure:  # noqa: BLE001 - FunctionFailed or a dead worker: API Gateway's 502
            log.error("%s failed: %s", logical_id, failure)
            return _gateway(502, {"message": "Internal server error"})
        return _http_answer(response)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "miniauth-local"

            def _serve(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0:
                    self._send(*_gateway(400, {"message": "Bad Request"}), close=True)
                    return
                if length > MAX_BODY:
                    self._send(*_gateway(413, {"message": "Request Too Long"}), close=True)
                    return
                body = self.rfile.read(length) if length else b""
                self._send(*api.answer(self.command, self.path, list(self.headers.items()), body,
                                       self.client_address[0]))

            def __getattr__(self, name: str) -> Any:
                """Every method (TRACE, CONNECT, made-up ones) reaches the route table, as at API Gateway."""
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, close: bool = False) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.info("%s %s", self.address_string(), format % args)

        return Handler


_ERROR_TYPES = {
    400: "BadRequestException",
    403: "MissingAuthenticationTokenException",
    413: "RequestTooLargeException",
    502: "InternalServerErrorException",
    504: "IntegrationTimeoutException",
}


def _gateway(status: int, body: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", _ERROR_TYPES[status])]
    return status, headers, json.dumps(body).encode()


def _http_answer(response: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers: dict[str, list[str]] = {}
    for name, value in (response.get("headers") or {}).items():
        headers[name] = [str(value)]
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = [str(v) for v in values]
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(response["statusCode"]), [(n, v) for n, values in headers.items() for v in values], raw
