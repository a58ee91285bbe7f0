"""Identifies the client behind an Open API request. The one seam request signing plugs into."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from miniauth.domain.models import Client
from miniauth.results import InvalidAuthClient, InvalidAuthClientStatus, ParamIllegal
from miniauth.runtime import store

CLIENT_ID_HEADER = "Client-Id"


def _header(event: APIGatewayProxyEvent, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def identify_client(event: APIGatewayProxyEvent) -> Client:
    client_id = (_header(event, CLIENT_ID_HEADER) or "").strip()
    if not client_id or len(client_id) > 128:
        raise ParamIllegal("The Client-Id header is missing or too long.")
    client = store().client(client_id)
    if client is None:
        raise InvalidAuthClient()
    if not client.active:
        raise InvalidAuthClientStatus()
    return client
