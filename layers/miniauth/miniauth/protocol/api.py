"""The routes of one function: match the request, read its body, run the handler, answer every failure.

Each function serves one operation (two paths where a v1 spelling exists), so a route table is a dict
keyed by method and resource path. In order, for every request:
1. the body must be a JSON object the routes may read (`intake.read_body`), else PARAM_ILLEGAL;
2. no route for the method and resource -> INVALID_API;
3. the body is validated into the route's request dataclass (`requests.reader`), else PARAM_ILLEGAL,
   naming the fields and reasons, never the values sent;
4. the guard (the Open API signature check) runs, then the handler;
5. a MiniauthError answers its result code, a throttled table REQUEST_TRAFFIC_EXCEED_LIMIT, anything
   else UNKNOWN_EXCEPTION (logged, never on the wire).
Every refusal is counted and logged with its code and route only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic_core import SchemaValidator, ValidationError

from miniauth import runtime
from miniauth.domain.ports import StorageThrottled
from miniauth.observability import REPLAYS_DETECTED, count, count_refusal, instrument, logger
from miniauth.protocol.envelope import respond, version_of
from miniauth.protocol.intake import read_body, route_of
from miniauth.protocol.requests import reader
from miniauth.results import (
    INVALID_API,
    PARAM_ILLEGAL,
    REQUEST_TRAFFIC_EXCEED_LIMIT,
    UNKNOWN_EXCEPTION,
    MiniauthError,
    ResultCode,
)

Answer = dict[str, Any]  # Lambda proxy form: statusCode, headers, body, isBase64Encoded
LambdaHandler = Callable[[dict[str, Any], Any], Answer]


@dataclass(frozen=True)
class Route:
    handler: Callable[[Any], Answer]
    body: SchemaValidator


def describe(errors: list[Any]) -> str:
    """Field locations and reasons only: never echo the values a caller sent."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "Illegal parameters: " + "; ".join(parts) if parts else PARAM_ILLEGAL.message


def refused(result: ResultCode, event: dict[str, Any], message: str | None = None, **fields: Any) -> Answer:
    """Count and log a refusal (its code and route only); the caller's API version spells the code."""
    route = event.get("resource")
    version = version_of(route)
    count_refusal(result.code)
    logger.info("request refused", extra={"resultCode": result.spelled(version), "route": route})
    return respond(result, version, message, **fields)


class Routes:
    """A function's routes. `guard`, when given, runs after the body is valid and before the handler, and
    what it returns (the calling client) is `caller` for that request."""

    def __init__(self, guard: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self._routes: dict[tuple[str, str], Route] = {}
        self._guard = guard
        self.caller: Any = None

    def post(self, path: str) -> Callable[[Callable[[Any], Answer]], Callable[[Any], Answer]]:
        """Register a handler taking one argument, annotated with its request dataclass. Its validator is
        built here, at import (Lambda init), not on the first request."""

        def register(handler: Callable[[Any], Answer]) -> Callable[[Any], Answer]:
            (parameter,) = inspect.signature(handler).parameters
            self._routes[("POST", path)] = Route(handler, reader(get_type_hints(handler)[parameter]))
            return handler

        return register

    def resolve(self, event: dict[str, Any]) -> Answer:
        self.caller = None
        try:
            return self._answer(event)
        except MiniauthError as error:
            if error.replay:
                count(REPLAYS_DETECTED)
            return refused(error.result, event, error.message, **error.extra)
        except StorageThrottled:
            return refused(REQUEST_TRAFFIC_EXCEED_LIMIT, event)
        except Exception:
            logger.exception("unexpected failure")
            return refused(UNKNOWN_EXCEPTION, event)

    def _answer(self, event: dict[str, Any]) -> Answer:
        sent = read_body(event)
        method, resource = event.get("httpMethod") or "", route_of(event)
        route = self._routes.get((method.upper(), resource))
        if route is None:
            return refused(INVALID_API, event, f"No API at {method[:16]} {resource[:256]}.")
        try:
            request = route.body.validate_python(sent)
        except ValidationError as invalid:
            return refused(PARAM_ILLEGAL, event, describe(invalid.errors(include_url=False, include_input=False)))
        if self._guard is not None:
            self.caller = self._guard(event)
        return route.handler(request)


def entry_point(handler: LambdaHandler, store_calls: Iterable[str], wallet_key: bool = False) -> LambdaHandler:
    """Lambda init's last steps, run at module level of every app.py: warm the requests of the store
    methods the handlers call (and load the wallet key, for functions that sign), wrap the handler
    with logging and metrics, then freeze what init built (`runtime.settle`)."""
    runtime.prepare(wallet_key=wallet_key, uses=store_calls)
    wrapped = instrument(handler)
    runtime.settle()
    return wrapped


def lambda_handler(routes: Routes, store_calls: Iterable[str]) -> LambdaHandler:
    """The Lambda entry point of a wallet API function; `store_calls` names the store methods its
    handlers call, whose requests Lambda init warms."""

    def handler(event: dict[str, Any], context: Any) -> Answer:
        return routes.resolve(event)

    return entry_point(handler, store_calls)
