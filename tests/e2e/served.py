"""`miniauth serve` in a subprocess, as a merchant would run it (its default engine: DynamoDB Local), for HTTP tests."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from miniauth_sdk import MerchantClient, UrllibTransport

from support import APP_ID, ROOT, USER_ID

READY = re.compile(r"^miniauth local API: (http://127\.0\.0\.1:\d+)")


class ServedApi:
    def __init__(self, state_dir: Path, *args: str, command: list[str] | None = None) -> None:
        self.state_dir = state_dir
        self.command = command or [sys.executable, "-m", "miniauth_tools.cli", "serve", "--port", "0",
                                   "--state-dir", str(state_dir), "--workers", "2", *args]
        self.output: list[str] = []
        self.url = ""
        self.started_in = 0.0

    def __enter__(self) -> ServedApi:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WALLET_KEY", "AWS_ENDPOINT_URL"))}
        begun = time.monotonic()
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = begun + 90
        while not self.url:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.__exit__()
                raise RuntimeError("the server did not start:\n" + "".join(self.output))
            match = READY.match(line)
            if match:
                self.url = match.group(1)
        self.started_in = time.monotonic() - begun
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the server stops its workers itself
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # nothing of the session may outlive the test

    @property
    def state(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "server.json").read_text())

    def merchant(self, client_id: str = "2022000000000001", **options: Any) -> MerchantClient:
        keys = self.state["merchantKeys"]
        return MerchantClient.from_files(self.url, client_id, keys[client_id], self.state["walletPublicKey"],
                                         **options)

    def auth_code(self, scopes: list[str] | None = None, user_id: str = USER_ID, app_id: str = APP_ID) -> str:
        """A fresh authCode from the Wallet API, the user consenting to `scopes` (auth_base when none)."""
        body = {"userId": user_id, "appId": app_id, "scopes": scopes or ["auth_base"], "consentedScopes": scopes or []}
        raw = UrllibTransport()(self.url + "/wallet/getAuthCode", json.dumps(body).encode(),
                                {"Content-Type": "application/json"})
        answer = json.loads(raw.body)
        assert raw.status == 200 and answer["result"]["resultCode"] == "SUCCESS", raw.body
        return answer["authCode"]
