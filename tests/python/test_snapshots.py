"""Snapshots through the official Python client, over both protocols:
collection and full-storage snapshots on the session's in-memory server,
recovery from another server's download URL, and a full snapshot
recovered at start-up (`vicinity serve --storage-snapshot`)."""

import os
import signal
import subprocess
import urllib.request
import uuid

from qdrant_client import QdrantClient, models


def _fill(client, name):
    client.create_collection(
        name, vectors_config=models.VectorParams(size=3, distance=models.Distance.DOT)
    )
    client.upsert(
        name,
        points=[
            models.PointStruct(id=i, vector=[float(i), 1.0, -1.0], payload={"brand": f"b{i}"})
            for i in range(1, 6)
        ],
    )


def test_collection_and_full_snapshots(client, server):
    name = f"py_snap_{uuid.uuid4().hex[:8]}"
    _fill(client, name)
    made = client.create_snapshot(name)
    assert made.size > 0
    assert [s.name for s in client.list_snapshots(name)] == [made.name]

    # recover from a URL: this server's own download link, as a node
    # recovers a collection from another node (the client sends it over REST)
    url = f"http://127.0.0.1:{server['http']}/collections/{name}/snapshots/{made.name}"
    copy = f"{name}_copy"
    assert client.recover_snapshot(copy, url)
    got = client.retrieve(copy, ids=[1, 2, 3, 4, 5], with_vectors=True)
    assert sorted((p.id, p.payload["brand"], p.vector[0]) for p in got) == [
        (i, f"b{i}", float(i)) for i in range(1, 6)
    ]

    full = client.create_full_snapshot()
    assert full.name.startswith("full-snapshot-")
    assert full.name in [s.name for s in client.list_full_snapshots()]
    assert client.delete_full_snapshot(full.name)
    assert full.name not in [s.name for s in client.list_full_snapshots()]
    assert client.delete_snapshot(name, made.name)
    assert client.list_snapshots(name) == []
    client.delete_collection(name)
    client.delete_collection(copy)


def _serve(args):
    binary = os.environ.get("VICINITY_BIN", "target/debug/vicinity")
    proc = subprocess.Popen(
        [binary, "serve", *args, "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ports, lines = {}, []
    while len(ports) < 2:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the server exited: {''.join(lines)}")
        lines.append(line)
        for proto in ("gRPC", "HTTP"):
            if f"{proto} on" in line:
                ports[proto] = int(line.rsplit(":", 1)[1])
    return proc, ports, lines


def test_full_snapshot_recovered_at_start(tmp_path):
    proc, ports, _ = _serve(["--storage", str(tmp_path / "a")])
    try:
        c = QdrantClient(host="127.0.0.1", port=ports["HTTP"], check_compatibility=False)
        _fill(c, "shop")
        c.update_collection_aliases(
            change_aliases_operations=[
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name="shop", alias_name="live")
                )
            ]
        )
        full = c.create_full_snapshot()
        url = f"http://127.0.0.1:{ports['HTTP']}/snapshots/{full.name}"
        file = tmp_path / full.name
        with urllib.request.urlopen(url) as r:
            file.write_bytes(r.read())
        assert file.stat().st_size == full.size
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)

    proc, ports, lines = _serve(
        ["--storage", str(tmp_path / "b"), "--storage-snapshot", str(file)]
    )
    try:
        assert any("recovered 1 collection(s)" in l for l in lines), lines
        c = QdrantClient(
            host="127.0.0.1", grpc_port=ports["gRPC"], prefer_grpc=True, check_compatibility=False
        )
        assert c.count("live").count == 5
        assert [a.alias_name for a in c.get_aliases().aliases] == ["live"]
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)

    # over a folder that holds the collection already: refused, with
    # Qdrant's hint, unless forced
    r = subprocess.run(
        [
            os.environ.get("VICINITY_BIN", "target/debug/vicinity"),
            "serve", "--storage", str(tmp_path / "b"), "--storage-snapshot", str(file),
            "--grpc-port", "0", "--http-port", "0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0
    assert "Use --force-snapshot to overwrite it" in r.stderr, r.stderr
