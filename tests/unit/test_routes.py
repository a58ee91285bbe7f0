"""protocol/api.py Routes: matching, body validation before the guard, and every failure as a result code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from miniauth.protocol.api import Answer, Routes
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import APP_ID, USER_ID, body, optional, required
from miniauth.results import InvalidApp


@body
class Hello:
    userId: str = required(USER_ID)
    appId: str | None = optional(APP_ID)


def event(resource: str, sent: Any, method: str = "POST", path: str | None = None) -> dict[str, Any]:
    return {"httpMethod": method, "resource": resource, "path": path or resource, "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json"}, "body": json.dumps(sent)}


def outcome(answer: Answer) -> tuple[int, str, str]:
    result = json.loads(answer["body"])["result"]
    return answer["statusCode"], result["resultCode"], result["resultMessage"]


@pytest.fixture
def guarded() -> tuple[Routes, list[str]]:
    seen: list[str] = []

    def guard(event: dict[str, Any]) -> str:
        seen.append("guard")
        return "the caller"

    routes = Routes(guard=guard)

    @routes.post("/v2/hello")
    def hello(request: Hello) -> Answer:
        seen.append(f"handler {request.userId} {request.appId} {routes.caller}")
        if request.userId == "boom":
            raise RuntimeError("secret detail")
        if request.userId == "no-app":
            raise InvalidApp()
        return success(V2, hello=request.userId)

    return routes, seen


def test_a_valid_body_reaches_the_guard_then_the_handler(guarded: tuple[Routes, list[str]]) -> None:
    routes, seen = guarded
    answer = routes.resolve(event("/v2/hello", {"userId": "u1", "unknownField": 1}))
    assert json.loads(answer["body"])["hello"] == "u1"
    assert seen == ["guard", "handler u1 None the caller"]  # unknown fields ignored, optional ones None


def test_behind_a_custom_domain_the_route_is_matched_by_resource(guarded: tuple[Routes, list[str]]) -> None:
    """A base path mapping puts its prefix in `path`; `resource` is the template's route (and what is signed)."""
    routes, _ = guarded
    answer = routes.resolve(event("/v2/hello", {"userId": "u1"}, path="/miniauth/v2/hello"))
    assert outcome(answer)[1] == "SUCCESS", answer


@pytest.mark.parametrize(("resource", "method"), [("/v2/unknown", "POST"), ("/v2/hello", "GET")])
def test_no_route_is_invalid_api_before_any_guard(guarded: tuple[Routes, list[str]], resource: str,
                                                  method: str) -> None:
    routes, seen = guarded
    _, code, message = outcome(routes.resolve(event(resource, {"userId": "u1"}, method=method)))
    assert code == "INVALID_API" and resource in message
    assert seen == []


@pytest.mark.parametrize(("sent", "named"), [
    ({}, "userId: Field required"),
    ({"userId": 7}, "userId: Input should be a valid string"),
    ({"userId": "u", "appId": "a" * 33}, "appId: String should have at most 32 characters"),
    ({"userId": ""}, "userId: String should have at least 1 character"),
])
def test_an_invalid_body_is_param_illegal_naming_fields_not_values(guarded: tuple[Routes, list[str]],
                                                                   sent: dict[str, Any], named: str) -> None:
    routes, seen = guarded
    _, code, message = outcome(routes.resolve(event("/v2/hello", sent)))
    assert code == "PARAM_ILLEGAL"
    assert message == f"Illegal parameters: {named}"
    assert "aaaa" not in message
    assert seen == []  # the guard (the signature check, the replay marker's write) never ran


def test_a_refusal_answers_its_code_and_a_failure_answers_unknown_exception(guarded: tuple[Routes, list[str]]) -> None:
    routes, _ = guarded
    assert outcome(routes.resolve(event("/v2/hello", {"userId": "no-app"})))[1] == "INVALID_APP"
    _, code, message = outcome(routes.resolve(event("/v2/hello", {"userId": "boom"})))
    assert code == "UNKNOWN_EXCEPTION" and "secret" not in message


def test_the_caller_is_forgotten_between_requests(guarded: tuple[Routes, list[str]]) -> None:
    routes, _ = guarded
    routes.resolve(event("/v2/hello", {"userId": "u1"}))
    routes.resolve(event("/v2/hello", {}))
    assert routes.caller is None
