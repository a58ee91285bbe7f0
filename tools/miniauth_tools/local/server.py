"""The local API Gateway: serves every `Api` event route of the template over HTTP on 127.0.0.1.

Each request becomes a REST (v1) proxy event of the shape `sam local start-api` builds and goes to
the route's function; the function's proxy response becomes the HTTP answer. What API Gateway
itself answers is imitated too: an unknown route or method is 403 Missing Authentication Token, a
failing function 502, a function past its timeout 504. A chunked request body reaches the function
whole, as API Gateway passes it on. Each request leaves one access-log line (method, path, status,
resultCode, milliseconds): never a body, a query string, a header, a code or a token.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from miniauth_tools.local.events import proxy_event
from miniauth_tools.local.invoker import FunctionTimedOut, Invoker
from miniauth_tools.local.template import FunctionSpec

log = logging.getLogger("miniauth_tools.local")
access_log = logging.getLogger("miniauth_tools.local.access")

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
MISSING_TOKEN = {"message": "Missing Authentication Token"}
Answer = tuple[int, list[tuple[str, str]], bytes]


class Pages(Protocol):
    """What `miniauth serve` adds beside the template's routes (the playground); never part of the deployed API."""

    PREFIX: str

    def answer(self, method: str, path: str) -> Answer | None: ...


class BadChunking(Exception):
    """A chunked body that does not follow HTTP/1.1's framing."""


class TooLarge(Exception):
    """A body over MAX_BODY."""


def read_chunked(stream: IO[bytes], limit: int = MAX_BODY) -> bytes:
    """A `Transfer-Encoding: chunked` body, decoded (RFC 9112 7.1); trailers are read and dropped."""
    body = bytearray()
    while True:
        line = stream.readline(1026)
        if not line.endswith(b"\n"):
            raise BadChunking("chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadChunking("chunk size") from None
        if size < 0 or not size_text.isalnum():
            raise BadChunking("chunk size")
        if size == 0:
            while stream.readline(8194) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields: not passed on
            return bytes(body)
        if len(body) + size > limit:
            raise TooLarge
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(3) not in (b"\r\n", b"\n"):
            raise BadChunking("chunk data")
        body += chunk


def result_code(body: bytes) -> str:
    """The envelope's resultCode, for the access log; '-' for anything else."""
    if not body.startswith(b"{"):
        return "-"
    try:
        code = json.loads(body)["result"]["resultCode"]
    except (ValueError, KeyError, TypeError):
        return "-"
    return code if isinstance(code, str) and code.isidentifier() and len(code) <= 64 else "-"


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
                 on_event: Callable[[dict[str, Any]], None] | None = None, pages: Pages | None = None) -> None:
        self.table = RouteTable(specs)
        self.invoker = invoker
        self.on_event = on_event
        self.pages = pages
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
               client_ip: str) -> Answer:
        path = urlsplit(target).path
        if self.pages and (path == "/" or path.startswith(self.pages.PREFIX.rstrip("/"))):
            page = self.pages.answer(method, path)
            if page is not None:
                return page
        found = self.table.find(method, path)
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

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: with Nagle's algorithm the second waits for the
                # client's delayed ACK, about 40 ms on every keep-alive call.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                begun = time.perf_counter()
                (status, headers, body), close = self._answer()
                self._send(status, headers, body, close=close)
                access_log.info("%s %s %d %s %.0f ms", self.command, urlsplit(self.path).path[:200], status,
                                result_code(body), (time.perf_counter() - begun) * 1000)

            def _read_body(self) -> bytes:
                coding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
                if coding:
                    if coding.rsplit(",", 1)[-1].strip() != "chunked":
                        raise BadChunking(coding)
                    return read_chunked(self.rfile)
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    raise BadChunking("Content-Length") from None
                if length < 0:
                    raise BadChunking("Content-Length")
                if length > MAX_BODY:
                    raise TooLarge
                return self.rfile.read(length) if length else b""

            def _answer(self) -> tuple[Answer, bool]:
                """The answer, and whether the connection must close (its framing can no longer be trusted)."""
                try:
                    body = self._read_body()
                except BadChunking:
                    return _gateway(400, {"message": "Bad Request"}), True
                except TooLarge:
                    return _gateway(413, {"message": "Request Too Long"}), True
                headers = [(name, value) for name, value in self.headers.items()
                           if name.lower() != "transfer-encoding"]
                return api.answer(self.command, self.path, headers, body, self.client_address[0]), False

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

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """The access log is written by _serve, without the request line's query string."""

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


def _gateway(status: int, body: dict[str, str]) -> Answer:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", _ERROR_TYPES[status])]
    return status, headers, json.dumps(body).encode()


def _http_answer(response: dict[str, Any]) -> Answer:
    headers: dict[str, list[str]] = {}
    for name, value in (response.get("headers") or {}).items():
        headers[name] = [str(value)]
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = [str(v) for v in values]
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(response["statusCode"]), [(n, v) for n, values in headers.items() for v in values], raw
