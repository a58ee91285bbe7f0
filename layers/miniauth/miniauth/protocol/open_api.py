"""What every Open API route shares: who the calling client is, that it may act, and the signed answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from miniauth.domain.models import Client
from miniauth.observability import logger
from miniauth.protocol.api import Answer, LambdaHandler, Routes, entry_point
from miniauth.protocol.envelope import respond, version_of
from miniauth.protocol.security import GUARD_STORE_CALLS, identify_client, sign_response
from miniauth.results import UNKNOWN_EXCEPTION, InvalidAuthClient
from miniauth.wallet_keys import WalletKeyUnavailable, current_wallet_key


def open_api_routes() -> Routes:
    """Routes whose requests must carry a verified merchant signature before the handler runs."""
    return Routes(guard=identify_client)


def calling_client(routes: Routes, body_client_id: str | None = None) -> Client:
    """The authenticated client; a body authClientId, when sent, must name the same client."""
    client: Client = routes.caller
    if body_client_id is not None and body_client_id != client.client_id:
        raise InvalidAuthClient("authClientId does not match the Client-Id header.")
    return client


def open_api_handler(routes: Routes, store_calls: Iterable[str]) -> LambdaHandler:
    """The Lambda entry point of an Open API function: load the signing key, resolve, sign with that key.
    `store_calls` names the store methods its handlers call; init warms their requests and those of
    the signature check (`security.GUARD_STORE_CALLS`).

    Without a usable wallet key nothing is done: no answer could be signed, so the request is refused
    (unsigned) before any table is touched, and a redemption is never committed without its answer.
    """

    def handler(event: dict[str, Any], context: Any) -> Answer:
        try:
            key = current_wallet_key()
        except WalletKeyUnavailable as unavailable:
            logger.error("wallet signing key unavailable", extra={"reason": str(unavailable)})
            return respond(UNKNOWN_EXCEPTION, version_of(event.get("resource")))
        return sign_response(event, routes.resolve(event), key)

    return entry_point(handler, (*GUARD_STORE_CALLS, *store_calls), wallet_key=True)
