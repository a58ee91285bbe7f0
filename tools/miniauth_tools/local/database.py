"""The local DynamoDB: an embedded moto server whose requests run one at a time, or an external endpoint.

moto's conditional writes are not atomic under concurrent requests, while DynamoDB's are. Serving
its requests one at a time restores what the service relies on: of N concurrent redemptions of one
authCode, exactly one conditional write succeeds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from miniauth_tools.local.template import Template, create_tables

LOCAL_REGION = "us-east-1"
# Credentials for the embedded database only; moto accepts any.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serialised(app: WsgiApp) -> WsgiApp:
    """A WSGI middleware that runs one request at a time, body included.

    After each request it also drops moto's registry of every model object ever built: each
    TransactWriteItems deep-copies the tables it touches (its rollback copy) and that registry kept
    every copy alive, so a long session grew by megabytes per authorization flow. The registry only
    serves moto's own reset and data-dump endpoints, which nothing here uses.
    """
    from moto.core.model_instances import reset_model_data

    lock = threading.Lock()

    def one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            result = app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
                reset_model_data()

    return one_at_a_time


class EmbeddedDynamoDB:
    """moto's DynamoDB on 127.0.0.1, in a thread of this process; port 0 picks a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one line per DynamoDB call

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port, serialised(app), threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-dynamodb", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmbeddedDynamoDB:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def dynamodb_client(endpoint_url: str, region: str | None = None) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region or LOCAL_REGION)


def ensure_tables(endpoint_url: str, template: Template, region: str | None = None) -> list[str]:
    """Create the template's tables that are missing at the endpoint; returns the names created.

    TTL stays off locally (see create_tables): every read checks expiry itself, and expired rows stay
    readable as they do on AWS for hours after they expire, so a merchant sees EXPIRED_* answers.
    """
    return create_tables(dynamodb_client(endpoint_url, region), template, enable_ttl=False)
