"""The session's server: `vicinity serve --memory` on free ports
($VICINITY_BIN), shared by every test file here."""

import os
import re
import signal
import subprocess
import threading

import pytest


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("VICINITY_BIN", "target/debug/vicinity")
    proc = subprocess.Popen(
        [binary, "serve", "--memory", "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ports = {}
    lines = []
    while len(ports) < 2:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited early: {''.join(lines)}")
        lines.append(line)
        m = re.search(r"(gRPC|HTTP) on http://[^:]+:(\d+)", line)
        if m:
            ports[m.group(1)] = int(m.group(2))
    yield {"grpc": ports["gRPC"], "http": ports["HTTP"]}
    # Let the clients' version checks (daemon threads over REST) finish
    # before the server goes: a check cut short warns.
    for t in threading.enumerate():
        if "_check_compatibility" in t.name:
            t.join(timeout=10)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "shutting down" in out


@pytest.fixture(params=["grpc", "rest"])
def client(server, request):
    """The official client on the session's server, once per protocol."""
    from qdrant_client import QdrantClient

    c = QdrantClient(
        host="127.0.0.1",
        port=server["http"],
        grpc_port=server["grpc"],
        prefer_grpc=request.param == "grpc",
    )
    yield c
    c.close()
