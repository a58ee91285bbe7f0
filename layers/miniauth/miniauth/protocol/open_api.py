"""What every Open API route shares: who the calling client is, and that it may act."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from miniauth.domain.models import Client
from miniauth.protocol.api import resolver
from miniauth.protocol.security import identify_client
from miniauth.results import InvalidAuthClient


def open_api_resolver() -> APIGatewayRestResolver:
    app = resolver()

    def authenticate(app: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
        app.append_context(client=identify_client(app.current_event))
        return next_middleware(app)

    app.use(middlewares=[authenticate])
    return app


def calling_client(app: APIGatewayRestResolver, body_client_id: str | None = None) -> Client:
    """The authenticated client; a body authClientId, when sent, must name the same client."""
    client: Client = app.context["client"]
    if body_client_id is not None and body_client_id != client.client_id:
        raise InvalidAuthClient("authClientId does not match the Client-Id header.")
    return client
