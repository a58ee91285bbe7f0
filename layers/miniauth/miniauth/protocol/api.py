"""API Gateway REST resolvers shared by every function: validation, errors, not-found, handler."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError, ValidationException

from miniauth import runtime
from miniauth.domain.ports import StorageThrottled
from miniauth.observability import REPLAYS_DETECTED, count, count_refusal, instrument, logger
from miniauth.protocol.envelope import proxy_answer, respond, version_of
from miniauth.protocol.intake import check_request
from miniauth.results import (
    INVALID_API,
    PARAM_ILLEGAL,
    REQUEST_TRAFFIC_EXCEED_LIMIT,
    UNKNOWN_EXCEPTION,
    MiniauthError,
    ResultCode,
)


def _describe(errors: list[dict[str, Any]]) -> str:
    """Field locations and reasons only: never echo the values a caller sent."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "Illegal parameters: " + "; ".join(parts) if parts else PARAM_ILLEGAL.message


def _noted(result: ResultCode, route: str | None) -> str:
    """Count and log a refusal (its code and route only); the caller's API version spells the code."""
    version = version_of(route)
    count_refusal(result.code)
    logger.info("request refused", extra={"resultCode": result.spelled(version), "route": route})
    return version


def resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)

    def refuse(result: ResultCode, message: str | None = None, **fields: Any) -> Response[str]:
        return respond(result, _noted(result, app.current_event.resource), message, **fields)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]  # powertools: unannotated
    def _invalid(error: RequestValidationError) -> Response[str]:
        return refuse(PARAM_ILLEGAL, _describe(list(error.errors())))

    @app.exception_handler(ValidationException)  # type: ignore[untyped-decorator]  # powertools: unannotated
    def _unreadable(error: ValidationException) -> Response[str]:
        return refuse(PARAM_ILLEGAL)  # a body the resolver cannot read (intake refuses these first)

    @app.exception_handler(MiniauthError)  # type: ignore[untyped-decorator]  # powertools: unannotated
    def _refused(error: MiniauthError) -> Response[str]:
        if error.replay:
            count(REPLAYS_DETECTED)
        return refuse(error.result, error.message, **error.extra)

    @app.exception_handler(StorageThrottled)  # type: ignore[untyped-decorator]  # powertools: unannotated
    def _throttled(error: StorageThrottled) -> Response[str]:
        return refuse(REQUEST_TRAFFIC_EXCEED_LIMIT)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # powertools: unannotated
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected failure")
        return refuse(UNKNOWN_EXCEPTION)

    @app.not_found
    def _no_route(error: Exception) -> Response[str]:
        return refuse(INVALID_API, f"No API at {app.current_event.http_method} {app.current_event.path}.")

    return app


def screened(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve the event, unless its body is not one a route may read: then PARAM_ILLEGAL, untouched tables."""
    try:
        check_request(event)
    except MiniauthError as refused:
        return proxy_answer(refused.result, _noted(refused.result, event.get("resource")), refused.message)
    return app.resolve(event, context)


def prepare_routes(app: APIGatewayRestResolver) -> None:
    """At Lambda init: build what Powertools builds on each route's first request (its dependant, the
    body's validation field), so the first request does not (about 0.7 ms of it). Best effort:
    Powertools keeps its routes in private lists; should they move, the first request builds these
    as it always has."""
    with suppress(Exception):
        for route in [*app._static_routes, *app._dynamic_routes]:
            _ = route.dependant, route.body_field, route.has_dependencies


def lambda_handler(app: APIGatewayRestResolver) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return screened(app, event, context)

    prepare_routes(app)
    runtime.prepare()  # module level of every app.py: Lambda init
    return instrument(handler)
