"""The three distributions stand alone: the layer as `sam build` packages it runs every function with only
its requirements.txt; the merchant SDK installs and works in a fresh venv with `cryptography` alone; the
tools install beside the runtime and SDK and serve the API. pip may fetch from the package index."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from miniauth import signing
from miniauth.clock import iso8601

from served import ServedApi
from support import EVENTS, ROOT, TEMPLATE, new_key, private_pem, public_pem

pytestmark = pytest.mark.packaging

TOOLS_ONLY = ("miniauth_tools", "miniauth_sdk", "yaml", "moto")  # must never reach a function
# What the python3.13 Lambda runtime ships beside the layer (the layer build may leave them out).
RUNTIME_SHIPS = ("boto3",)
DEV_SITE = sysconfig.get_paths()["purelib"]


def pip(*args: str, python: str = sys.executable, timeout: int = 600) -> None:
    done = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def size_mb(folder: Path, leave_out: tuple[str, ...] = ()) -> float:
    """Bytes on disk under `folder`, leaving out top-level entries whose names start with `leave_out`."""
    files = (f for f in folder.rglob("*") if f.is_file() and not f.relative_to(folder).parts[0].startswith(leave_out))
    return sum(f.stat().st_size for f in files) / 1e6


VENV_TOOLING = ("pip", "setuptools", "_distutils_hack", "distutils-precedence", "pkg_resources")  # every venv has them


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


# -- the layer -----------------------------------------------------------------------------------------


def lambda_python() -> str:
    """The functions' runtime, python3.13, where it runs here; else the interpreter running the tests."""
    found = shutil.which("python3.13")
    if found:
        asked = subprocess.run([found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                               check=False)
        if asked.returncode == 0:
            return asked.stdout.strip()  # the interpreter itself, not a launcher that needs the environment
    return sys.executable


def version_of(python: str) -> str:
    return subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def build_layer(artifacts: Path, python: str) -> Path:
    """The layer's `python/` folder, built the way the template's BuildMethod says, for `python` on this machine."""
    layer = TEMPLATE.resources["MiniauthLayer"]
    content = ROOT / layer["Properties"]["ContentUri"]
    method = layer["Metadata"]["BuildMethod"]
    if method == "makefile":
        # What sam runs (the layer's target with ARTIFACTS_DIR), for this machine's architecture and `python`.
        version = version_of(python)
        architecture = "x86_64" if platform.machine() in ("x86_64", "AMD64") else "arm64"
        done = subprocess.run(["make", "-s", "-C", str(content), "build-MiniauthLayer", f"ARTIFACTS_DIR={artifacts}",
                               f"PYTHON={python}", f"LAYER_ARCHITECTURE={architecture}",
                               f"LAYER_PYTHON_VERSION={version}"],
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    else:
        assert method.startswith("python"), f"unknown layer BuildMethod {method}"
        # sam's python builder: the requirements into python/, then the layer folder's own package beside them.
        pip("-r", str(content / "requirements.txt"), "--target", str(artifacts / "python"), python=python)
        shutil.copytree(content / "miniauth", artifacts / "python" / "miniauth",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return artifacts / "python"


@pytest.fixture(scope="session")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """(the interpreter, the layer's python/ folder, a folder with what the Lambda runtime ships), once per session.

    The layer build leaves out boto3 and botocore, which the python3.13 runtime ships: they are installed
    into a folder of their own, placed after the layer on sys.path as the runtime's are."""
    root = tmp_path_factory.mktemp("layer")
    python = lambda_python()
    layer = build_layer(root / "artifacts", python)
    runtime_ships = root / "runtime"
    pip(*RUNTIME_SHIPS, "--target", str(runtime_ships), python=python)
    return python, layer, runtime_ships


# Runs in `python -I -S`: no site-packages, no PYTHONPATH, no user site. sys.path is what Lambda's would be:
# the function's folder, the layer, the runtime's own packages, then the standard library.
IN_LAMBDA = textwrap.dedent("""
    import importlib.util, json, sys
    function, layer, runtime_ships, event_path, dev_site, forbidden = sys.argv[1:7]
    forbidden = forbidden.split(",")
    sys.path[:0] = [function, layer, runtime_ships]
    assert not any(p.startswith(dev_site) or "site-packages" in p for p in sys.path), sys.path

    class Context:
        function_name = "fn"
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
        memory_limit_in_mb = 128
        aws_request_id = "00000000-0000-0000-0000-000000000000"
        log_group_name = "/aws/lambda/fn"
        log_stream_name = "stream"

        def get_remaining_time_in_millis(self):
            return 3000

    import app
    imported = sorted(m for m in sys.modules if m == "miniauth" or m.startswith("miniauth."))
    answer = app.handler(json.load(open(event_path)), Context())
    report = {
        "status": answer["statusCode"],
        "body": json.loads(answer["body"]),
        "imported": imported,
        "after_request": sorted(m for m in sys.modules if m == "miniauth" or m.startswith("miniauth.")),
        "loaded_forbidden": sorted(m for m in sys.modules if m.split(".")[0] in forbidden),
        "findable_forbidden": [name for name in forbidden if importlib.util.find_spec(name) is not None],
        "files": sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}),
    }
    print("REPORT " + json.dumps(report))
""")


def event_for(route_path: str) -> Path:
    for path in sorted(EVENTS.glob("*.json")):
        if json.loads(path.read_text())["resource"] == route_path:
            return path
    raise AssertionError(f"no event in events/ for {route_path}")


def run_in_lambda(python: str, function: Any, layer: Path, runtime_ships: Path, tmp: Path) -> dict[str, Any]:
    wallet = new_key()
    env = {
        **function.environment,
        "WALLET_KEY_DOCUMENT": json.dumps({"currentKeyVersion": "1", "privateKeys": {"1": private_pem(wallet)}}),
        "WALLET_KEY_SECRET": "",
        # Nothing may leave the machine: every AWS endpoint is a closed local port, each call tried once.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "POWERTOOLS_METRICS_DISABLED": "true",
        "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8",
    }
    event = event_for(function.routes[0].path)
    done = subprocess.run([python, "-I", "-S", "-c", IN_LAMBDA, str(ROOT / function.code_uri), str(layer),
                           str(runtime_ships), str(event), DEV_SITE, ",".join(TOOLS_ONLY)],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{function.logical_id}:\n{output[-4000:]}"
    assert "ModuleNotFoundError" not in output and "ImportError" not in output, output[-4000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT "))


def test_the_layer_alone_runs_every_function(built_layer: tuple[str, Path, Path], tmp_path: Path,
                                             figures: list[str]) -> None:
    python, layer, runtime_ships = built_layer
    assert not (layer / "miniauth_tools").exists() and not (layer / "miniauth_sdk").exists()
    shipped = {".".join(p.relative_to(layer).with_suffix("").parts).removesuffix(".__init__")
               for p in (layer / "miniauth").rglob("*.py")}
    used: set[str] = set()
    begun = time.monotonic()
    for function in TEMPLATE.functions():
        report = run_in_lambda(python, function, layer, runtime_ships, tmp_path)
        assert report["loaded_forbidden"] == [] and report["findable_forbidden"] == [], function.logical_id
        # Every module a function ran comes from the layer, the function's folder or the standard library.
        stray = [f for f in report["files"] if f.startswith(DEV_SITE) or "site-packages" in f]
        assert stray == [], (function.logical_id, stray)
        # The request reached the handler's own answer (the database is a closed port), not an import failure.
        assert "result" in report["body"], (function.logical_id, report["body"])
        used |= set(report["after_request"])
    took = time.monotonic() - begun
    unused = sorted(shipped - used)
    assert unused == [], f"the layer ships modules no function imports (move them to tools/): {unused}"
    figures.append(f"layer: {len(shipped)} modules, all imported by the {len(TEMPLATE.functions())} functions; "
                   f"python/ {size_mb(layer):.1f} MB built for Python {version_of(python)}; every function imported "
                   f"and answered in {took:.1f} s")


# -- the SDK alone -------------------------------------------------------------------------------------

MERCHANT_SCRIPT = textwrap.dedent("""
    import importlib.metadata, importlib.util, json, sys
    from miniauth_sdk import MerchantClient, RawResponse, ResponseVerificationError

    given = json.load(sys.stdin)
    sent = []

    def transport(url, body, headers):
        sent.append({"url": url, "body": body.decode(), "headers": dict(headers)})
        return RawResponse(200, given["answer"]["body"].encode(), given["answer"]["headers"])

    client = MerchantClient("https://wallet.example", given["clientId"], given["merchantPrivateKey"],
                            given["walletPublicKey"], transport=transport)
    pair = client.apply_token("code-1", given["appId"])

    def forged(url, body, headers):
        return RawResponse(200, given["answer"]["body"].replace("AT-1", "AT-2").encode(), given["answer"]["headers"])

    try:
        MerchantClient("https://wallet.example", given["clientId"], given["merchantPrivateKey"],
                       given["walletPublicKey"], transport=forged).apply_token("code-1", given["appId"])
        forged_refused = False
    except ResponseVerificationError:
        forged_refused = True
    print(json.dumps({
        "request": sent[0], "accessToken": pair.access_token, "forgedRefused": forged_refused,
        "miniauthImportable": importlib.util.find_spec("miniauth") is not None,
        "serverModules": sorted(m for m in sys.modules if m.split(".")[0] in ("miniauth", "miniauth_tools")),
        "distributions": sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions()),
    }))
""")


def source_copy(into: Path, *names: str) -> Path:
    """A clean copy of part of the checkout: pip builds in the source folder (build/, *.egg-info), and a stale
    build/ there could put a deleted module back into the wheel. The checkout stays untouched."""
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.pyc")
    for name in names:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=skip)
        else:
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def fresh_venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    return where / "bin" / "python"


def test_the_sdk_installs_and_works_alone(tmp_path: Path, figures: list[str]) -> None:
    python = fresh_venv(tmp_path / "merchant")
    pip(str(source_copy(tmp_path / "src", "sdk") / "sdk"), python=str(python))

    client_id, app_id, path = "2022000000000001", "2021000000000001", "/v2/authorizations/applyToken"
    merchant, wallet = new_key(), new_key()
    body = json.dumps({"result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"},
                       "accessToken": "AT-1", "accessTokenExpiryTime": "2030-01-01T00:00:00.000+00:00",
                       "refreshToken": "RT-1", "refreshTokenExpiryTime": "2030-01-02T00:00:00.000+00:00"})
    # The answer is signed by the server's own module, the request checked by it below: the SDK's copy agrees.
    moment = iso8601(datetime.now(UTC))
    signature = signing.sign(wallet, signing.signed_content(path, client_id, moment, body))
    given = {"clientId": client_id, "appId": app_id, "merchantPrivateKey": private_pem(merchant),
             "walletPublicKey": public_pem(wallet),
             "answer": {"body": body, "headers": {"Client-Id": client_id, "Response-Time": moment,
                                                  "Signature": signing.signature_header("1", signature)}}}
    done = subprocess.run([str(python), "-I", "-c", MERCHANT_SCRIPT], input=json.dumps(given), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ran = json.loads(done.stdout)

    assert ran["accessToken"] == "AT-1" and ran["forgedRefused"]
    assert not ran["miniauthImportable"] and ran["serverModules"] == []
    assert set(ran["distributions"]) - {"pip", "setuptools"} == {"miniauth-sdk", "cryptography", "cffi", "pycparser"}
    request = ran["request"]
    assert request["url"] == "https://wallet.example" + path
    header = signing.parse_signature_header(request["headers"]["Signature"])
    content = signing.signed_content(path, client_id, request["headers"]["Request-Time"], request["body"])
    assert signing.verify(merchant.public_key(), content, header.signature)
    site = site_packages(tmp_path / "merchant")
    figures.append(f"SDK alone in a fresh venv: {size_mb(site, VENV_TOOLING):.1f} MB installed "
                   f"({', '.join(sorted(set(ran['distributions']) - {'pip', 'setuptools'}))}; pip and setuptools "
                   f"left out), site-packages {size_mb(site):.1f} MB")


def test_the_tools_install_beside_the_runtime_and_serve(tmp_path: Path, figures: list[str]) -> None:
    """`pip install . ./sdk ./tools` into a fresh venv, then `miniauth serve` answers a whole flow."""
    python = fresh_venv(tmp_path / "operator")
    src = source_copy(tmp_path / "src", "pyproject.toml", "README.md", "layers/miniauth", "sdk", "tools")
    pip(str(src), str(src / "sdk"), str(src / "tools"), python=str(python), timeout=900)
    miniauth = python.parent / "miniauth"
    helped = subprocess.run([str(miniauth), "serve", "--help"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: miniauth serve"), helped.stderr

    state = tmp_path / "state"
    command = [str(miniauth), "serve", "--engine", "moto", "--port", "0", "--workers", "1", "--state-dir", str(state)]
    with ServedApi(state, command=command) as api:
        merchant = api.merchant()
        pair = merchant.apply_token(api.auth_code(["auth_user"]), "2021000000000001")
        info = merchant.inquiry_user_info(pair.access_token, "2021000000000001")
    assert info.user_id == "2088000000000001"
    site = site_packages(tmp_path / "operator")
    figures.append(f"runtime + SDK + tools in a fresh venv: {size_mb(site, VENV_TOOLING):.1f} MB installed "
                   f"(pip and setuptools left out); "
                   f"`miniauth serve` from it started in {api.started_in:.1f} s and served a flow")
