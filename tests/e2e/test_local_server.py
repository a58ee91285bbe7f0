"""The local API Gateway in process: the events it builds, and what it answers itself."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest

from miniauth_sdk import UrllibTransport
from miniauth_tools.local.invoker import FunctionFailed
from miniauth_tools.local.serve import parse_overrides
from miniauth_tools.local.server import LocalApi

from support import EVENTS, TEMPLATE, load_event

TEMPLATE_ROUTES = {route.path: spec.logical_id for spec in TEMPLATE.functions() for route in spec.routes}


class Recorder:
    """Stands in for the functions: keeps each event, answers with a fixed proxy response."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.fail = False

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append((logical_id, event))
        if self.fail:
            raise FunctionFailed("boom")
        return {"statusCode": 200, "headers": {"Content-Type": "application/json", "X-One": "1"},
                "multiValueHeaders": {"X-Many": ["a", "b"]}, "body": '{"ok":true}', "isBase64Encoded": False}

    def close(self) -> None:
        pass


@pytest.fixture
def local() -> Iterator[tuple[LocalApi, Recorder]]:
    recorder = Recorder()
    api = LocalApi(TEMPLATE.functions(), recorder, port=0).start()
    yield api, recorder
    api.stop()


def shape(value: Any) -> Any:
    """Keys and value types, recursively: what a handler may rely on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def post(url: str, body: bytes, headers: dict[str, str]) -> Any:
    return UrllibTransport()(url, body, headers)


@pytest.mark.parametrize("name", sorted(path.stem for path in EVENTS.glob("*.json")))
def test_the_server_builds_the_events_of_events_folder(local: tuple[LocalApi, Recorder], name: str) -> None:
    api, recorder = local
    sample = load_event(name)
    headers = {k: v for k, v in sample["headers"].items() if k.lower() != "host"}
    post(api.url + sample["path"], sample["body"].encode(), headers)
    logical_id, built = recorder.events[-1]
    assert logical_id == TEMPLATE_ROUTES[sample["path"]]
    assert (built["resource"], built["path"], built["httpMethod"]) == (sample["resource"], sample["path"], "POST")
    assert built["body"] == sample["body"]
    for key, value in headers.items():
        assert built["headers"][key] == value and built["multiValueHeaders"][key] == [value]
    expected, got = shape(sample), shape(built)
    for header_map in ("headers", "multiValueHeaders"):  # real HTTP adds headers (User-Agent, Content-Length...)
        expected.pop(header_map), got.pop(header_map)
    assert got == expected
    identity = built["requestContext"]["identity"]
    assert (identity["caller"] is not None) == sample["path"].startswith("/wallet/")


def test_repeated_headers_query_strings_and_binary_bodies(local: tuple[LocalApi, Recorder]) -> None:
    import http.client

    api, recorder = local
    host, port = api.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.putrequest("POST", "/v2/users/inquiryUserInfo?a=1&a=2&b=")
    for name, value in (("X-Twice", "one"), ("X-Twice", "two"), ("Content-Length", "3")):
        connection.putheader(name, value)
    connection.endheaders(b"\xff\xfe\x00")
    answer = connection.getresponse()
    assert answer.status == 200 and answer.read() == b'{"ok":true}'
    assert answer.getheader("X-One") == "1" and answer.getheader("X-Many") == "a, b"
    connection.close()
    _, event = recorder.events[-1]
    assert event["headers"]["X-Twice"] == "two" and event["multiValueHeaders"]["X-Twice"] == ["one", "two"]
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["isBase64Encoded"] is True and event["body"] == "//4A"
    assert event["path"] == event["resource"] == "/v2/users/inquiryUserInfo"


def test_what_the_gateway_answers_itself(local: tuple[LocalApi, Recorder]) -> None:
    api, recorder = local
    for path in ("/", "/v2/authorizations", "/v2/authorizations/applyToken/extra", "/wallet/getauthcode"):
        raw = post(api.url + path, b"{}", {})
        assert (raw.status, json.loads(raw.body)) == (403, {"message": "Missing Authentication Token"})
    assert recorder.events == []
    recorder.fail = True
    failed = post(api.url + "/v2/authorizations/applyToken", b"{}", {})
    assert (failed.status, json.loads(failed.body)) == (502, {"message": "Internal server error"})


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "BREW"])
def test_any_other_method_is_the_gateways_403(local: tuple[LocalApi, Recorder], method: str) -> None:
    """Python's server would answer unknown methods with an HTML 501; API Gateway answers 403."""
    api, recorder = local
    where = urlsplit(api.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    connection.request(method, "/wallet/getAuthCode", body=b"{}", headers={"Content-Type": "application/json"})
    answer = connection.getresponse()
    assert (answer.status, json.loads(answer.read())) == (403, {"message": "Missing Authentication Token"})
    connection.close()
    assert recorder.events == []


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_an_unreadable_content_length_is_400(local: tuple[LocalApi, Recorder], length: str) -> None:
    api, recorder = local
    where = urlsplit(api.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    connection.putrequest("POST", "/wallet/getAuthCode")
    connection.putheader("Content-Length", length)
    connection.endheaders()
    answer = connection.getresponse()
    assert (answer.status, json.loads(answer.read())) == (400, {"message": "Bad Request"})
    connection.close()
    assert recorder.events == []


def test_parameter_overrides_are_read_as_sam_reads_them() -> None:
    assert parse_overrides(["RetryGraceSeconds=5 AuthCodeTtlSeconds=60", "LogLevel=DEBUG"]) == {
        "RetryGraceSeconds": "5", "AuthCodeTtlSeconds": "60", "LogLevel": "DEBUG"}
    assert parse_overrides(["ParameterKey=StageName,ParameterValue=dev"]) == {"StageName": "dev"}
    from miniauth_tools.admin import AdminError

    with pytest.raises(AdminError):
        parse_overrides(["RetryGraceSeconds"])


def test_a_function_timeout_counts_execution_not_waiting_for_a_worker(tmp_path: Any) -> None:
    from miniauth_tools.local.invoker import FunctionTimedOut, ProcessInvoker
    from miniauth_tools.local.template import FunctionSpec

    code = tmp_path / "slow"
    code.mkdir()
    (code / "app.py").write_text(
        "import time\n"
        "def handler(event, context):\n"
        "    try:\n"
        "        time.sleep(float(event['body']))\n"
        "    except Exception:\n"  # a catch-all in the handler must not swallow the timeout
        "        return {'statusCode': 500, 'body': 'swallowed'}\n"
        "    return {'statusCode': 200, 'body': event['body']}\n"
    )
    spec = FunctionSpec("SlowFunction", code, "app.handler", {}, timeout=1)
    invoker = ProcessInvoker({"SlowFunction": spec}, workers=1)
    try:
        invoker.warm()
        with ThreadPoolExecutor(max_workers=2) as pool:  # the second waits ~0.7 s for the only worker
            answers = list(pool.map(lambda _: invoker.invoke("SlowFunction", {"body": "0.7"}), range(2)))
        assert [a["statusCode"] for a in answers] == [200, 200]
        with pytest.raises(FunctionTimedOut):
            invoker.invoke("SlowFunction", {"body": "3"})
        assert invoker.invoke("SlowFunction", {"body": "0"})["statusCode"] == 200  # the worker lives on
    finally:
        invoker.close()


def test_the_embedded_database_keeps_no_rollback_copies() -> None:
    """Each TransactWriteItems deep-copies its tables; moto's registry of objects used to keep every copy."""
    from moto.dynamodb.models.table import Table

    from miniauth_tools.local.database import EmbeddedDynamoDB, dynamodb_client

    database = EmbeddedDynamoDB().start()
    try:
        client = dynamodb_client(database.endpoint_url, "us-east-1")
        client.create_table(TableName="T", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        for n in range(40):
            put = {"TableName": "T", "Item": {"k": {"S": str(n)}}, "ConditionExpression": "attribute_not_exists(k)"}
            client.transact_write_items(TransactItems=[{"Put": put}])
        assert client.scan(TableName="T", Select="COUNT")["Count"] == 40
        assert len(Table.instances_tracked) <= 1, "rollback copies of the table are still held"
    finally:
        database.stop()
