#!/usr/bin/env python3
"""The Python package's figures (vicinity-db), on this machine:

- server start: ``vicinity_db.Server()`` until the first answer to the
  official client (``get_collections`` over REST), median of --starts;
- upsert of N x D random float32 vectors: through the numpy API
  (``Collection.upsert`` in batches of 10,000, then ``finish_indexing``), and
  through ``QdrantClient.upload_points`` to the in-process server;
- single-thread search from Python, one query per call, against hnswlib's
  Python binding on the same data with the same M / ef_construction / ef,
  plus recall@10 of both against exact numpy ground truth; and the batched
  call (all queries in one ``search``).

Needs numpy, qdrant-client, hnswlib and the installed vicinity-db wheel:

    python benches/clients/python_package.py --n 100000 --dim 384
"""

import argparse
import http.client
import json
import statistics
import time

import numpy as np

import vicinity_db


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def server_start(starts):
    """Median seconds from Server() to the first answer: a raw HTTP GET of
    /collections, and the official client's get_collections (the client's
    own start, httpx and its version check, included)."""
    raw, client_times = [], []
    for _ in range(starts):
        t = time.perf_counter()
        with vicinity_db.Server() as s:
            conn = http.client.HTTPConnection(s.host, s.http_port)
            conn.request("GET", "/collections")
            assert conn.getresponse().status == 200
            raw.append(time.perf_counter() - t)
            conn.close()
        t = time.perf_counter()
        with vicinity_db.Server() as s:
            client = s.client()
            client.get_collections()
            client_times.append(time.perf_counter() - t)
            client.close()
    return statistics.median(raw), statistics.median(client_times)


def recall(found, truth, k=10):
    return float(np.mean([len(set(a[:k]) & set(b[:k])) / k for a, b in zip(found, truth)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construct", type=int, default=100)
    ap.add_argument("--ef", type=int, default=64)
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--skip-upload-points", action="store_true")
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    out = {"n": a.n, "dim": a.dim, "queries": a.queries, "ef": a.ef, "m": a.m}

    raw, client = server_start(a.starts)
    out["server_start_to_first_http_answer_ms"] = raw * 1e3
    out["server_start_to_first_client_answer_ms"] = client * 1e3

    rng = np.random.default_rng(3)
    # clustered data: nearest neighbours mean something, as in real embeddings
    centers = rng.standard_normal((200, a.dim), dtype=np.float32)
    base = centers[rng.integers(0, 200, a.n)] + 0.35 * rng.standard_normal(
        (a.n, a.dim), dtype=np.float32
    )
    queries = centers[rng.integers(0, 200, a.queries)] + 0.35 * rng.standard_normal(
        (a.queries, a.dim), dtype=np.float32
    )
    bn = base / np.linalg.norm(base, axis=1, keepdims=True)
    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    truth = np.argsort(-(qn @ bn.T), axis=1)[:, :10]

    db = vicinity_db.Database()
    c = db.create_collection("bench", a.dim, "Cosine", m=a.m, ef_construct=a.ef_construct)
    ids = np.arange(a.n, dtype=np.uint64)

    def load():
        for s in range(0, a.n, 10_000):
            c.upsert(ids[s : s + 10_000], base[s : s + 10_000])

    t_start = time.perf_counter()
    _, t_upsert = timed(load)
    _, t_index = timed(c.finish_indexing)
    out["numpy_upsert_points_per_s"] = a.n / t_upsert
    out["numpy_upsert_then_indexed_s"] = t_upsert + t_index
    # the indexer renumbers a bulk load for locality after it: measure after
    while c.info()["status"] != "green":
        time.sleep(0.05)
    out["numpy_upsert_until_green_s"] = time.perf_counter() - t_start

    def one_by_one(search):
        lat = []
        found = []
        for q in queries:
            t = time.perf_counter()
            found.append(search(q))
            lat.append(time.perf_counter() - t)
        return found, len(queries) / sum(lat), statistics.median(lat) * 1e6

    found, qps, p50 = one_by_one(lambda q: c.search(q, 10, ef=a.ef)[0])
    out["vicinity_qps_single"] = qps
    out["vicinity_p50_us"] = p50
    out["vicinity_recall"] = recall(found, truth)
    (batch_ids, _), t_batch = timed(lambda: c.search(queries, 10, ef=a.ef))
    out["vicinity_batch_qps"] = a.queries / t_batch
    out["vicinity_batch_recall"] = recall(batch_ids, truth)

    try:
        import hnswlib

        index = hnswlib.Index(space="cosine", dim=a.dim)
        index.init_index(max_elements=a.n, M=a.m, ef_construction=a.ef_construct)
        _, t_build = timed(lambda: index.add_items(base, np.arange(a.n)))
        out["hnswlib_build_s"] = t_build
        index.set_ef(a.ef)
        index.set_num_threads(1)
        found, qps, p50 = one_by_one(lambda q: index.knn_query(q, k=10)[0][0])
        out["hnswlib_qps_single"] = qps
        out["hnswlib_p50_us"] = p50
        out["hnswlib_recall"] = recall(found, truth)
        # the per-call cost of each binding: a 1-point index, so the search is nothing
        tiny = hnswlib.Index(space="cosine", dim=a.dim)
        tiny.init_index(max_elements=1)
        tiny.add_items(base[:1], [0])
        tc = db.create_collection("tiny", a.dim, "Cosine")
        tc.upsert([0], base[:1])
        _, qps_v = one_by_one(lambda q: tc.search(q, 1)[0])[:2]
        _, qps_h = one_by_one(lambda q: tiny.knn_query(q, k=1)[0])[:2]
        out["vicinity_call_overhead_us"] = 1e6 / qps_v
        out["hnswlib_call_overhead_us"] = 1e6 / qps_h
    except ImportError:
        out["hnswlib"] = "not installed"

    if not a.skip_upload_points:
        from qdrant_client import models

        with vicinity_db.Server() as s:
            client = s.client(timeout=600)
            client.create_collection(
                "up", vectors_config=models.VectorParams(size=a.dim, distance=models.Distance.COSINE)
            )
            _, t = timed(
                lambda: client.upload_collection("up", vectors=base, ids=range(a.n), batch_size=64)
            )
            assert client.count("up").count == a.n
            out["upload_collection_rest_points_per_s"] = a.n / t
            client.close()

    for k, v in out.items():
        print(f"{k:40} {v:,.3f}" if isinstance(v, float) else f"{k:40} {v}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
