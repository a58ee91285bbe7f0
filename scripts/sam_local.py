"""`make sam-local`: the functions in Lambda containers (`sam local start-api`), the demo against them, timed.

1. builds for this machine's architecture (uname -m): a copy of template.yaml whose architectures say
   x86_64 or arm64, plus `--parameter-overrides Architecture=...` when the template declares it;
   `sam build` needs python3.13 on PATH;
2. starts `miniauth serve` for its database and wallet key (its own state folder);
3. starts `sam local start-api --warm-containers EAGER` with `.../sam-env.json`. Where the engine has
   a bridge network the containers reach the database as host.docker.internal; where it has none
   (dockerd --bridge=none: containers may use only the host network), a Docker API shim
   (scripts/docker_host_network.py) puts them on the host network and the database is 127.0.0.1;
4. times the first call of each function (cold: the container is up, the runtime not yet
   initialised), plays `miniauth demo --url` against it, then times --rounds warm flows and the same
   flows against `miniauth serve`;
5. keeps serving until Ctrl-C, or stops with --once. Exit status: non-zero on any failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
SAM_RETRY_GRACE = 2  # the demo waits out the retry window once: keep it short


class Failure(Exception):
    """One line for the operator; exit 1."""


def machine_architecture(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    if machine not in ARCHITECTURES:
        raise Failure(f"no Lambda architecture for this machine ({machine}): Lambda runs x86_64 or arm64")
    return ARCHITECTURES[machine]


def python313_problem() -> str | None:
    """None when `sam build` will find python3.13 on PATH, else a one-line instruction."""
    found = shutil.which("python3.13")
    if found:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if subprocess.run([found, "--version"], capture_output=True, timeout=20).returncode == 0:
                return None
    return ("sam build needs python3.13 on PATH (the functions' runtime): install Python 3.13 and put it on "
            "PATH, e.g. with pyenv: PYENV_VERSION=<your default>:3.13.<n> make sam-local")


_ARCH_LINE = re.compile(r"^(\s*(?:Architectures|CompatibleArchitectures|BuildArchitecture)\s*:.*)$", re.M)


_ARCH_DEFAULT = re.compile(r"^(  Architecture:\n(?:    .*\n)*?    Default:\s*)\"?(arm64|x86_64)\"?", re.M)


def template_for(text: str, architecture: str) -> str:
    """The template with every literal architecture (functions, layer build) and the Architecture parameter's
    default set to `architecture`: start-api then needs no --parameter-overrides (with them, each warm
    container is rebuilt and replaced on its function's first request)."""
    other = "arm64" if architecture == "x86_64" else "x86_64"
    text = _ARCH_LINE.sub(lambda line: line.group(1).replace(other, architecture), text)
    return _ARCH_DEFAULT.sub(lambda match: match.group(1) + architecture, text)


def declares_parameter(text: str, name: str) -> bool:
    parameters = re.search(r"^Parameters:\n((?:[ \t]+.*\n|\n)*)", text, re.M)
    return bool(parameters and re.search(rf"^  {re.escape(name)}:", parameters.group(1), re.M))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def docker_has_bridge(docker: str) -> bool:
    answer = subprocess.run([docker, "network", "inspect", "bridge"], capture_output=True, timeout=30)
    return answer.returncode == 0


def docker_problem(docker: str | None) -> str | None:
    if not docker:
        return "no docker command on PATH"
    try:
        answer = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                                text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"docker info failed: {error}"
    if answer.returncode != 0:
        return "no Docker engine answers (docker info: " + " ".join(answer.stderr.split())[:160] + ")"
    return None


def has_image(docker: str, image: str) -> bool:
    return subprocess.run([docker, "image", "inspect", image], capture_output=True, timeout=30).returncode == 0


@contextlib.contextmanager
def process(command: list[str], log: Path, env: dict[str, str] | None = None, stop: int = signal.SIGTERM,
            ) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as output:
        child = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(stop)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)


def remove_containers(docker: str, sam_log: Path) -> None:
    """The containers this sam run created (it logs each id) that its shutdown left behind (it does leave some)."""
    created = set(re.findall(r"SAM_CONTAINER_ID: ([0-9a-f]{12,64})", sam_log.read_text(errors="replace")))
    if created:
        subprocess.run([docker, "rm", "-f", *sorted(created)], capture_output=True, timeout=120)


def wait_for(pattern: str, log: Path, child: subprocess.Popen[bytes], seconds: float) -> re.Match[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"), re.M)
        if found:
            return found
        if child.poll() is not None:
            break
        time.sleep(0.5)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise Failure(f"{' '.join(child.args[:3])}... did not get ready (see {log}):\n{tail}")


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 - 127.0.0.1 only
            return
        except urllib.error.HTTPError:
            return  # an unknown route answered: the server is up
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise Failure(f"nothing answers at {url}")


# -- timing ----------------------------------------------------------------------------------------------


class Timed:
    """A transport that records how long each POST took, per path."""

    def __init__(self, timeout: float = 60) -> None:
        from miniauth_sdk import UrllibTransport

        self.inner = UrllibTransport(timeout)
        self.times: dict[str, list[float]] = {}

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> object:
        begun = time.perf_counter()
        try:
            return self.inner(url, body, headers)
        finally:
            path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
            self.times.setdefault(path, []).append(time.perf_counter() - begun)


def flow(url: str, state_dir: Path, timed: Timed, user: str, app: str) -> None:
    """One flow, every function once: getAuthCode, applyToken, inquiryUserInfo, refresh, revoke, withdraw."""
    from miniauth_sdk import MerchantClient
    from miniauth_tools.local.walkthrough import DEMO_CLIENT, Deviation, post_wallet

    state = json.loads((state_dir / "server.json").read_text())
    merchant = MerchantClient.from_files(url, DEMO_CLIENT, state["merchantKeys"][DEMO_CLIENT],
                                         state["walletPublicKey"], transport=timed, retries=0)
    answer = post_wallet(url, "/wallet/getAuthCode", {"userId": user, "appId": app, "scopes": ["auth_user"],
                                                      "consentedScopes": ["auth_user"]}, timed)
    if answer["result"]["resultCode"] != "SUCCESS":
        raise Deviation(f"getAuthCode: {answer['result']}")
    pair = merchant.apply_token(answer["authCode"], app)
    merchant.inquiry_user_info(pair.access_token, app)
    pair = merchant.refresh(pair.refresh_token, app)
    merchant.revoke(pair.access_token, app)
    post_wallet(url, "/wallet/authorizations/list", {"userId": user}, timed)
    post_wallet(url, "/wallet/authorizations/revoke", {"userId": user, "appId": app}, timed)


def report(cold: Timed, warm: Timed, served: Timed, out=sys.stdout) -> None:
    def ms(value: float) -> str:
        return f"{value * 1000:.0f}"

    print(f"\n{'call':45} {'cold ms':>8} {'warm p50':>9} {'warm max':>9} {'serve p50':>10} {'ratio':>6}", file=out)
    for path, first in cold.times.items():
        hot, local = warm.times.get(path, []), served.times.get(path, [])
        if not hot or not local:
            continue
        p50, base = statistics.median(hot), statistics.median(local)
        print(f"{path:45} {ms(first[0]):>8} {ms(p50):>9} {ms(max(hot)):>9} {ms(base):>10} {p50 / base:>5.1f}x",
              file=out)
    print(file=out, flush=True)


# -- the run ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    os.environ["SAM_CLI_TELEMETRY"] = "0"
    architecture = machine_architecture()
    problem = python313_problem()
    if problem:
        raise Failure(problem)
    docker = shutil.which("docker")
    problem = docker_problem(docker)
    if problem:
        raise Failure(f"sam local needs a Docker engine: {problem}")
    assert docker is not None
    sam = str(Path(args.sam).resolve())
    work = ROOT / ".aws-sam" / f"local-{architecture}"
    work.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="sam-local-"))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    env["LAYER_ARCHITECTURE"] = architecture  # the layer's makefile build picks its wheels by it

    text = (ROOT / args.template).read_text()
    derived = ROOT / f".sam-local-{architecture}.template.yaml"  # beside template.yaml: CodeUri stays relative
    derived.write_text(template_for(text, architecture))
    overrides = [f"Architecture={architecture}"] if declares_parameter(text, "Architecture") else []
    print(f"building for {architecture} (sam build, python3.13) ...", flush=True)
    build = [sam, "build", "--template", str(derived), "--build-dir", str(work / "build"), "--cached",
             "--cache-dir", str(work / "cache")]
    if overrides:
        build += ["--parameter-overrides", *overrides]
    if subprocess.run(build, cwd=ROOT, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        raise Failure("sam build failed (its output is above)")

    host_network = args.network == "host" or (args.network == "auto" and not docker_has_bridge(docker))
    state_dir = ROOT / ".local" / "sam-local"
    serve = [sys.executable, "-m", "miniauth_tools.cli", "serve", "--port", "0", "--state-dir", str(state_dir),
             "--workers", "1", "--dynamodb-host", "127.0.0.1" if host_network else "0.0.0.0"]  # noqa: S104 bridged containers reach it
    with contextlib.ExitStack() as stack:
        served_process = stack.enter_context(process(serve, logs / "serve.log", env))
        served_url = wait_for(r"^miniauth local API: (\S+)", logs / "serve.log", served_process, 120).group(1)
        variables = json.loads((state_dir / "sam-env.json").read_text())
        variables["Parameters"]["RETRY_GRACE_SECONDS"] = str(SAM_RETRY_GRACE)  # not --parameter-overrides: see above
        if host_network:
            endpoint = variables["Parameters"]["AWS_ENDPOINT_URL_DYNAMODB"]
            variables["Parameters"]["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint.replace("host.docker.internal",
                                                                                    "127.0.0.1")
        env_file = state_dir / "sam-local-env.json"
        env_file.unlink(missing_ok=True)
        descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # holds the wallet key
        with os.fdopen(descriptor, "w") as handle:
            json.dump(variables, handle)

        sam_env = dict(env)
        network_options = ["--add-host", "host.docker.internal:host-gateway"]
        if host_network:
            socket_path = logs / "docker.sock"
            shim = [sys.executable, str(ROOT / "scripts" / "docker_host_network.py"), "--listen", str(socket_path)]
            shim_process = stack.enter_context(process(shim, logs / "shim.log", env))
            wait_for(r"^docker API with host networking", logs / "shim.log", shim_process, 30)
            sam_env["DOCKER_HOST"] = f"unix://{socket_path}"
            network_options = ["--docker-network", "host"]
        image = f"public.ecr.aws/lambda/python:3.13-{architecture}"
        pull = ["--skip-pull-image"] if has_image(docker, image) else []
        port = args.port or free_port()
        start_api = [sam, "local", "start-api", "--template", str(work / "build" / "template.yaml"),
                     "--env-vars", str(env_file), "--warm-containers", "EAGER", "--host", "127.0.0.1",
                     "--port", str(port), *pull, *network_options]
        print(f"starting sam local start-api on 127.0.0.1:{port} ({'host network' if host_network else 'bridge'}"
              f", {image}{', no pull' if pull else ''}) ...", flush=True)
        begun = time.monotonic()
        stack.callback(remove_containers, docker, logs / "sam.log")  # runs after sam has stopped
        sam_process = stack.enter_context(process(start_api, logs / "sam.log", sam_env, stop=signal.SIGINT))
        wait_for(r"Running on http://127\.0\.0\.1", logs / "sam.log", sam_process, 600)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/", 60)
        print(f"sam local start-api ready in {time.monotonic() - begun:.0f} s: {url}", flush=True)

        from miniauth_tools.local.walkthrough import DEMO_APP, DEMO_USER

        cold, warm, served = Timed(), Timed(), Timed()
        flow(url, state_dir, cold, DEMO_USER, DEMO_APP)
        demo = subprocess.run([sys.executable, "-m", "miniauth_tools.cli", "demo", "--url", url, "--state-dir",
                               str(state_dir), "--retry-grace", str(SAM_RETRY_GRACE)], cwd=ROOT, env=env)
        if demo.returncode != 0:
            raise Failure(f"the demo failed against sam local (sam output: {logs / 'sam.log'})")
        for _ in range(args.rounds):
            flow(url, state_dir, warm, DEMO_USER, DEMO_APP)
            flow(served_url, state_dir, served, DEMO_USER, DEMO_APP)
        print(f"per-request times: cold = first call after start (containers up, runtime not initialised); "
              f"warm = {args.rounds} flows; serve = the same flows against miniauth serve", flush=True)
        report(cold, warm, served)
        if not args.once:
            print(f"sam local start-api keeps serving at {url} (Ctrl-C stops it): miniauth demo --url {url} "
                  f"--state-dir {state_dir.relative_to(ROOT)} --retry-grace {SAM_RETRY_GRACE}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while sam_process.poll() is None:
                    time.sleep(1)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sam local start-api for this machine, with the demo against it")
    parser.add_argument("--sam", default=str(ROOT / ".venv-sam" / "bin" / "sam"))
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--port", type=int, default=0, help="start-api port (default: a free one)")
    parser.add_argument("--network", choices=["auto", "bridge", "host"], default="auto",
                        help="auto: host when the Docker engine has no bridge network")
    parser.add_argument("--rounds", type=int, default=5, help="warm flows to time")
    parser.add_argument("--once", action="store_true", help="stop after the demo and the timings")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except Failure as failure:
        print(f"sam-local: {failure}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
