"""A Docker API socket in front of the real one that puts `sam local`'s Lambda containers on the host network.

Why: `sam local --docker-network host` only skips connecting the container to a network; the container
keeps the engine's default network (the docker bridge, or none when the engine runs with --bridge=none),
and SAM reaches the emulator through a published port. Where containers may use only the host network
and 127.0.0.1, this rewrites each `POST /containers/create` of a container labelled by SAM:
NetworkMode host, no published ports, and the emulator (aws-lambda-rie) told to listen on
127.0.0.1:<the port SAM would have published>, with its Runtime API on a free port of its own (host
networking shares ports, so two containers cannot both use the defaults 8080 and 9001). Every other
request passes through byte for byte.

    python3 scripts/docker_host_network.py --listen /tmp/sam-docker.sock [--upstream /var/run/docker.sock]
    DOCKER_HOST=unix:///tmp/sam-docker.sock sam local start-api ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import sys

CREATE = re.compile(rb"^POST /(v[\d.]+/)?containers/create(\?|\s)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rewrite_create(body: dict) -> dict:
    """Host networking for a SAM Lambda container; anything else unchanged."""
    labels = body.get("Labels") or {}
    if labels.get("sam.cli.container.type") != "lambda":
        return body
    host = body.setdefault("HostConfig", {})
    bindings = host.pop("PortBindings", None) or {}
    body.pop("ExposedPorts", None)
    host["NetworkMode"] = "host"
    published = (bindings.get("8080/tcp") or [{}])[0].get("HostPort")
    entrypoint = body.get("Entrypoint") or []
    if published and entrypoint and entrypoint[0].endswith("aws-lambda-rie"):
        body["Entrypoint"] = [*entrypoint, "--runtime-interface-emulator-address", f"127.0.0.1:{published}",
                              "--runtime-api-address", f"127.0.0.1:{free_port()}"]
    return body


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()


async def _serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, upstream: str) -> None:
    try:
        head = await client_reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        client_writer.close()
        return
    lines = head[:-4].split(b"\r\n")
    headers = [line for line in lines[1:] if line]
    names = {line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip() for line in headers}
    body = b""
    if CREATE.match(lines[0]) and b"content-length" in names:
        body = await client_reader.readexactly(int(names[b"content-length"]))
        with contextlib.suppress(ValueError):
            body = json.dumps(rewrite_create(json.loads(body))).encode()
        headers = [line for line in headers if not line.lower().startswith(b"content-length:")]
        headers.append(b"Content-Length: " + str(len(body)).encode())
    if b"upgrade" not in names:
        # one request per connection: the engine closes after answering, so the client never reuses it
        headers = [line for line in headers if not line.lower().startswith(b"connection:")]
        headers.append(b"Connection: close")
    upstream_reader, upstream_writer = await asyncio.open_unix_connection(upstream)
    upstream_writer.write(b"\r\n".join([lines[0], *headers]) + b"\r\n\r\n" + body)
    await upstream_writer.drain()
    await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
    for writer in (client_writer, upstream_writer):
        writer.close()


async def main_async(listen: str, upstream: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(listen)
    server = await asyncio.start_unix_server(lambda r, w: _serve(r, w, upstream), path=listen)
    os.chmod(listen, 0o600)
    print(f"docker API with host networking for sam local: unix://{listen}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, metavar="SOCKET")
    parser.add_argument("--upstream", default="/var/run/docker.sock", metavar="SOCKET")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args.listen, args.upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
