"""Runs a template function's real handler for one API Gateway event, as the Lambda runtime would.

ProcessInvoker keeps a pool of worker processes; each is a warm container that loads a function's
handler once and runs one invocation at a time, so module-level state (the route table, the
logger, the per-container caches) is never shared between concurrent requests, exactly as on Lambda.
InProcessInvoker runs everything in this process, one invocation at a time (for debugging).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from miniauth_tools.local.functions import LambdaContext, load_handler
from miniauth_tools.local.template import FunctionSpec


class FunctionFailed(Exception):
    """The handler raised or returned something API Gateway cannot use (a 502 there)."""


class FunctionTimedOut(BaseException):
    """The handler ran past the function's Timeout (a 504 there). Only worker processes enforce it.

    A BaseException, so no handler's catch-all can turn it into an answer: Lambda stops the run.
    """


class Invoker(Protocol):
    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


_SPECS: dict[str, FunctionSpec] = {}


def _install(specs: dict[str, FunctionSpec]) -> None:
    # Metrics are off locally, so Powertools warns on every invocation that it has none to publish.
    warnings.filterwarnings("ignore", "No application metrics to publish")
    _SPECS.clear()
    _SPECS.update(specs)


def _run(logical_id: str, event: dict[str, Any], enforce_timeout: bool = False) -> dict[str, Any]:
    spec = _SPECS[logical_id]
    os.environ.update(spec.environment)
    if enforce_timeout:  # a worker's main thread: time the execution itself, as Lambda does, not the queueing

        def expire(*_: Any) -> None:
            raise FunctionTimedOut(f"{logical_id} ran past its {spec.timeout} s timeout")

        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, spec.timeout)
    try:
        response = load_handler(spec)(event, LambdaContext(logical_id, aws_request_id=str(uuid.uuid4())))
    except FunctionTimedOut:
        raise
    except Exception as error:  # the runtime reports it; API Gateway answers 502
        raise FunctionFailed("".join(traceback.format_exception_only(error)).strip()) from None
    finally:
        if enforce_timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        raise FunctionFailed(f"{logical_id} returned no statusCode")
    return response


def _warm(logical_ids: list[str]) -> int:
    for logical_id in logical_ids:
        os.environ.update(_SPECS[logical_id].environment)
        load_handler(_SPECS[logical_id])
    return os.getpid()


class ProcessInvoker:
    def __init__(self, specs: dict[str, FunctionSpec], workers: int = 4) -> None:
        self._specs = specs
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_install,
            initargs=(specs,),
        )

    def warm(self) -> int:
        """Start every worker and load every handler; returns how many distinct workers answered."""
        futures = [self._pool.submit(_warm, list(self._specs)) for _ in range(self.workers)]
        return len({future.result() for future in futures})

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        # The worker enforces the function's Timeout from the moment it starts running the event; time
        # spent waiting for a free worker is not counted (on Lambda another container would take it).
        return self._pool.submit(_run, logical_id, event, True).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class InProcessInvoker:
    def __init__(self, specs: dict[str, FunctionSpec]) -> None:
        self._lock = threading.Lock()
        _install(specs)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return _run(logical_id, event)

    def close(self) -> None:
        pass
