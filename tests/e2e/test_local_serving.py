"""The local API Gateway's HTTP: keep-alive latency, chunked bodies, the access log, the pages beside the API."""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from miniauth_tools.admin import RegistryTables
from miniauth_tools.local.playground import PREFIX, Playground
from miniauth_tools.local.server import BadChunking, LocalApi, TooLarge, read_chunked

from support import ROOT, TEMPLATE

CALLS = 25  # medians of this many calls: one slow call on a busy machine does not move them
ENVELOPE = '{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"Success."}}'


class Recorder:
    """Stands in for the functions: keeps each event, answers with a result envelope."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append((logical_id, event))
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": ENVELOPE}

    def close(self) -> None:
        pass


def _playground() -> Playground:
    return Playground(ROOT / "openapi.yaml", RegistryTables("ClientsTable", "AppsTable", "UsersTable"),
                      "http://127.0.0.1:9", "us-east-1")  # a port nothing listens on: only registry.json reads


@pytest.fixture
def local() -> Iterator[tuple[LocalApi, Recorder]]:
    recorder = Recorder()
    api = LocalApi(TEMPLATE.functions(), recorder, port=0, pages=_playground()).start()
    yield api, recorder
    api.stop()


def _connection(api: LocalApi) -> http.client.HTTPConnection:
    host, port = api.httpd.server_address[:2]
    return http.client.HTTPConnection(str(host), int(port), timeout=10)


def _timed_post(connection: http.client.HTTPConnection) -> float:
    begun = time.perf_counter()
    connection.request("POST", "/wallet/getAuthCode", body=b'{"userId":"u"}',
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    return time.perf_counter() - begun


def test_a_keep_alive_call_costs_no_more_than_a_call_on_a_new_connection(local: tuple[LocalApi, Recorder],
                                                                          figures: list[str]) -> None:
    """Without TCP_NODELAY the body, written after the headers, waits for the client's delayed ACK (~40 ms)."""
    api, _ = local
    fresh = []
    for _ in range(CALLS):
        connection = _connection(api)
        fresh.append(_timed_post(connection))
        connection.close()
    kept = _connection(api)
    _timed_post(kept)  # the connection is open from here on
    alive = [_timed_post(kept) for _ in range(CALLS)]
    kept.close()
    new_median, alive_median = statistics.median(fresh), statistics.median(alive)
    figures.append(f"local API latency: keep-alive median {alive_median * 1000:.1f} ms, new connection median "
                   f"{new_median * 1000:.1f} ms ({CALLS} calls each)")
    assert alive_median <= 2 * new_median, (alive_median, new_median)


def test_a_chunked_body_reaches_the_function_whole(local: tuple[LocalApi, Recorder]) -> None:
    api, recorder = local
    connection = _connection(api)
    parts = [b'{"userId": "2088000000000001", ', b'"appId": "2021000000000001", ', b'"scopes": ["auth_base"]}']
    connection.request("POST", "/wallet/getAuthCode", body=iter(parts), encode_chunked=True,
                       headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    response = connection.getresponse()
    assert (response.status, response.read().decode()) == (200, ENVELOPE)
    # the connection stays usable after a chunked body
    assert _timed_post(connection) > 0
    connection.close()
    logical_id, event = recorder.events[0]
    assert logical_id == "GetAuthCodeFunction"
    assert event["body"] == b"".join(parts).decode()
    assert not any(name.lower() == "transfer-encoding" for name in event["headers"])


def _raw(api: LocalApi, request: bytes) -> bytes:
    host, port = api.httpd.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as raw:
        raw.sendall(request)
        raw.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("framing", [b"zz\r\n{}\r\n0\r\n\r\n", b"5\r\n{}\r\n0\r\n\r\n", b"-2\r\n{}\r\n0\r\n\r\n",
                                     b"2\r\n{}"])
def test_a_broken_chunked_body_is_400_and_reaches_no_function(local: tuple[LocalApi, Recorder],
                                                               framing: bytes) -> None:
    api, recorder = local
    answer = _raw(api, b"POST /wallet/getAuthCode HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + framing)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert recorder.events == []


def test_chunk_decoding_keeps_extensions_and_trailers_out_and_stops_at_the_size_limit() -> None:
    stream = io.BytesIO(b"4;name=value\r\nabcd\r\n2\r\nef\r\n0\r\nTrailer: x\r\n\r\nNEXT")
    assert read_chunked(stream) == b"abcdef"
    assert stream.read() == b"NEXT"  # the next request on the connection is untouched
    with pytest.raises(TooLarge):
        read_chunked(io.BytesIO(b"8\r\n12345678\r\n0\r\n\r\n"), limit=7)
    with pytest.raises(BadChunking):
        read_chunked(io.BytesIO(b"4\r\nabcdXX0\r\n\r\n"))


def test_a_request_leaves_one_access_log_line_without_query_or_body(local: tuple[LocalApi, Recorder],
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    api, _ = local
    connection = _connection(api)
    with caplog.at_level(logging.INFO, logger="miniauth_tools.local.access"):
        connection.request("POST", "/v2/authorizations/applyToken?accessToken=QUERYSECRET",
                           body=b'{"authCode":"BODYSECRET"}', headers={"Authorization": "HEADERSECRET"})
        connection.getresponse().read()
        connection.request("GET", "/nowhere")
        connection.getresponse().read()
        connection.close()
        deadline = time.monotonic() + 5  # the server logs just after its answer is sent
        while len(_access(caplog)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = _access(caplog)
    assert len(lines) == 2
    method, path, status, code, ms, unit = lines[0].split()
    assert (method, path, status, code, unit) == ("POST", "/v2/authorizations/applyToken", "200", "SUCCESS", "ms")
    assert int(ms) >= 0
    assert lines[1].split()[:4] == ["GET", "/nowhere", "403", "-"]
    assert not any(secret in caplog.text for secret in ("QUERYSECRET", "BODYSECRET", "HEADERSECRET"))


def _access(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "miniauth_tools.local.access"]


def _get(api: LocalApi, path: str, method: str = "GET") -> http.client.HTTPResponse:
    connection = _connection(api)
    connection.request(method, path)
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def test_the_root_leads_to_the_playground_and_the_api_reference_is_served_locally(
        local: tuple[LocalApi, Recorder]) -> None:
    api, recorder = local
    root = _get(api, "/")
    assert (root.status, root.getheader("Location")) == (302, PREFIX)
    page = _get(api, PREFIX)
    assert page.status == 200 and page.getheader("Content-Type").startswith("text/html")
    assert b'src="wallet.js"' in page.body  # type: ignore[attr-defined]
    script = _get(api, PREFIX + "wallet.js")
    assert script.status == 200 and b"/wallet/getAuthCode" in script.body  # type: ignore[attr-defined]
    spec = _get(api, PREFIX + "openapi.yaml")
    assert spec.body == (ROOT / "openapi.yaml").read_bytes()  # type: ignore[attr-defined]
    reference = _get(api, PREFIX + "api/")
    assert b"SwaggerUIBundle" in reference.body and b"http" not in reference.body.split(b"<body>")[1]  # type: ignore[attr-defined]
    bundle = _get(api, PREFIX + "swagger-ui/swagger-ui-bundle.js")
    assert bundle.status == 200 and len(bundle.body) > 500_000  # type: ignore[attr-defined]
    assert _get(api, PREFIX + "../template.yaml").status == 404
    assert _get(api, PREFIX + "swagger-ui/../../pyproject.toml").status == 404
    assert _get(api, "/", method="POST").status == 403  # the API's own answer for anything else
    assert recorder.events == []


def test_without_the_playground_the_root_is_api_gateways_403() -> None:
    api = LocalApi(TEMPLATE.functions(), Recorder(), port=0).start()
    try:
        answer = _get(api, "/")
        assert answer.status == 403 and json.loads(answer.body) == {"message": "Missing Authentication Token"}  # type: ignore[attr-defined]
        assert _get(api, PREFIX).status == 403
    finally:
        api.stop()


def test_no_template_route_or_documented_path_uses_the_playground_prefix() -> None:
    import yaml

    routes = [route.path for spec in TEMPLATE.functions() for route in spec.routes]
    documented = list(yaml.safe_load(Path(ROOT / "openapi.yaml").read_text())["paths"])
    assert routes and documented
    assert not [path for path in routes + documented if path.startswith(PREFIX.rstrip("/"))]
