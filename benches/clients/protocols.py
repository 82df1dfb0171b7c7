#!/usr/bin/env python3
"""REST against gRPC through the official Python client, on one server.

Starts `vicinity serve --memory` (or uses --url/--grpc-port of a running
server: ours or Qdrant), then for each protocol:
  - uploads N x D random float32 vectors (with a small payload) through
    `QdrantClient.upload_points` (batches of 64, as the client's default),
    and counts points per second until `count` sees them all;
  - runs single-client `query_points` one at a time (limit 10, hnsw_ef 64)
    and reports latency percentiles and queries per second.

Figures go to stdout as a table and, with --json, to a file. Needs numpy
and qdrant-client (the bench venv of ../../README.md has both):

    python benches/clients/protocols.py --bin target/release/vicinity --n 100000 --dim 384
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
from qdrant_client import QdrantClient, models


def start_server(binary, storage=None):
    """`vicinity serve` on free ports, in memory or over the folder
    `storage`: the process, its REST port and its gRPC port."""
    where = ["--memory"] if storage is None else ["--storage", storage]
    proc = subprocess.Popen(
        [binary, "serve", *where, "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ports = {}
    while len(ports) < 2:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the server exited before listening")
        m = re.search(r"(gRPC|HTTP) on http://[^:]+:(\d+)", line)
        if m:
            ports[m.group(1)] = int(m.group(2))
    return proc, ports["HTTP"], ports["gRPC"]


def percentile(xs, p):
    return float(np.percentile(np.asarray(xs), p))


def run(client, name, vectors, queries, parallel):
    n, dim = vectors.shape
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name, vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE)
    )
    ids = list(range(n))
    payload = [{"brand": f"b{i % 100}", "price": float(i % 1000)} for i in range(n)]
    t0 = time.perf_counter()
    client.upload_points(
        name,
        points=(
            models.PointStruct(id=i, vector=vectors[i].tolist(), payload=payload[i]) for i in ids
        ),
        batch_size=64,
        parallel=parallel,
        wait=False,
    )
    while client.count(name, exact=True).count < n:
        time.sleep(0.01)
    upload_s = time.perf_counter() - t0
    # wait until the background indexing is done, so searches walk a graph
    while client.get_collection(name).status != models.CollectionStatus.GREEN:
        time.sleep(0.1)
    for q in queries[:20]:  # warm-up: connections, caches
        client.query_points(name, query=q.tolist(), limit=10)
    lat = []
    t0 = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        client.query_points(
            name, query=q.tolist(), limit=10, search_params=models.SearchParams(hnsw_ef=64)
        )
        lat.append((time.perf_counter() - t) * 1e6)
    wall = time.perf_counter() - t0
    client.delete_collection(name)
    return {
        "upload_points_per_s": n / upload_s,
        "upload_s": upload_s,
        "qps_single": len(queries) / wall,
        "p50_us": percentile(lat, 50),
        "p95_us": percentile(lat, 95),
        "p99_us": percentile(lat, 99),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/vicinity", help="the server binary to start")
    ap.add_argument("--host", help="a running server's host instead of --bin")
    ap.add_argument("--port", type=int, default=6333, help="its REST port")
    ap.add_argument("--grpc-port", type=int, default=6334, help="its gRPC port")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=1, help="upload_points processes")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    vectors = rng.standard_normal((a.n, a.dim), dtype=np.float32)
    queries = rng.standard_normal((a.queries, a.dim), dtype=np.float32)
    proc = None
    if a.host:
        host, http, grpc = a.host, a.port, a.grpc_port
    else:
        proc, http, grpc = start_server(a.bin)
        host = "127.0.0.1"
    results = {}
    try:
        for proto in ["rest", "grpc"]:
            client = QdrantClient(
                host=host, port=http, grpc_port=grpc, prefer_grpc=proto == "grpc", timeout=600
            )
            results[proto] = run(client, f"protocols-{proto}", vectors, queries, a.parallel)
            client.close()
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    r, g = results["rest"], results["grpc"]
    print(f"{a.n} x {a.dim} random vectors, {a.queries} queries, upload_points parallel={a.parallel}")
    print(f"{'':6} {'upload pts/s':>13} {'QPS 1 client':>13} {'p50 us':>8} {'p95 us':>8} {'p99 us':>8}")
    for proto in ["rest", "grpc"]:
        x = results[proto]
        print(
            f"{proto:6} {x['upload_points_per_s']:13,.0f} {x['qps_single']:13,.0f} "
            f"{x['p50_us']:8.0f} {x['p95_us']:8.0f} {x['p99_us']:8.0f}"
        )
    print(f"REST/gRPC latency p50: {r['p50_us'] / g['p50_us']:.2f}x")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "dim": a.dim, "queries": a.queries, **results}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
