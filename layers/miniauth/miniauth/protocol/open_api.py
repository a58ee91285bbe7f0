"""What every Open API route shares: who the calling client is, and that it may act."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from miniauth import runtime
from miniauth.domain.models import Client
from miniauth.observability import instrument, logger
from miniauth.protocol.api import prepare_routes, resolver, screened
from miniauth.protocol.envelope import proxy_answer, version_of
from miniauth.protocol.security import identify_client, sign_response
from miniauth.results import UNKNOWN_EXCEPTION, InvalidAuthClient
from miniauth.wallet_keys import WalletKeyUnavailable, current_wallet_key


def open_api_resolver() -> APIGatewayRestResolver:
    app = resolver()

    def authenticate(app: APIGatewayRestResolver, next_middleware: Callable[..., Response[str]]) -> Response[str]:
        app.context["client"] = identify_client(app.current_event)  # what append_context does, typed
        return next_middleware(app)

    app.use(middlewares=[authenticate])
    return app


def calling_client(app: APIGatewayRestResolver, body_client_id: str | None = None) -> Client:
    """The authenticated client; a body authClientId, when sent, must name the same client."""
    client: Client = app.context["client"]
    if body_client_id is not None and body_client_id != client.client_id:
        raise InvalidAuthClient("authClientId does not match the Client-Id header.")
    return client


def open_api_handler(app: APIGatewayRestResolver) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of an Open API function: load the signing key, resolve, sign with that key.

    Without a usable wallet key nothing is done: no answer could be signed, so the request is refused
    (unsigned) before any table is touched, and a redemption is never committed without its answer.
    """

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            key = current_wallet_key()
        except WalletKeyUnavailable as unavailable:
            logger.error("wallet signing key unavailable", extra={"reason": str(unavailable)})
            return proxy_answer(UNKNOWN_EXCEPTION, version_of(event.get("resource")))
        return sign_response(event, screened(app, event, context), key)

    prepare_routes(app)
    runtime.prepare(wallet_key=True)  # module level of every app.py: Lambda init
    return instrument(handler)
