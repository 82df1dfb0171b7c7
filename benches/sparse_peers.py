"""Sparse search against peers, on one dataset in one run: Vicinity
(`vicinity bench sparse`), Qdrant Edge (Qdrant's own sparse index,
in-process) and pyseismic-lsr (Seismic, an approximate learned-sparse
index), on a CSR profile such as `pypi-bm25` (`profiles/pypi_bm25.py`).

Every engine gets the same documents and the same IDF-weighted queries and
returns the top k; recall@k counts a hit whose exact score ties the k-th
true score (recomputed here from the documents, not taken from the engine),
over the true answers each query has. QPS is single-thread, one query per
call; the Python engines pay a binding call per query (a few microseconds,
see `../shared/bench/binding_overhead.py`), Vicinity is timed in Rust.

    python -m venv v && v/bin/pip install numpy qdrant-edge-py==0.9.0 pyseismic-lsr==0.5.4
    v/bin/python benches/sparse_peers.py --data /work/bench/data/pypi-bm25 \\
        --vicinity target/release/vicinity --out results.json
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "profiles"))
from pypi_bm25 import read_csr  # noqa: E402


def load(data: str):
    docs = read_csr(os.path.join(data, "docs.csr"))
    queries = read_csr(os.path.join(data, "queries.csr"))
    with open(os.path.join(data, "gt.ibin"), "rb") as f:
        nq, k = np.fromfile(f, dtype=np.uint32, count=2)
        gt = np.fromfile(f, dtype=np.int32).reshape(nq, k)
    with open(os.path.join(data, "gt_scores.fbin"), "rb") as f:
        np.fromfile(f, dtype=np.uint32, count=2)
        gt_scores = np.fromfile(f, dtype=np.float32).reshape(nq, k)
    return docs, queries, gt, gt_scores


def row(csr, r):
    offsets, indices, values = csr
    a, b = int(offsets[r]), int(offsets[r + 1])
    return indices[a:b], values[a:b]


def true_score(docs, d, qi, qv):
    di, dv = row(docs, d)
    common, a, b = np.intersect1d(di, qi, assume_unique=True, return_indices=True)
    return float(np.dot(dv[a].astype(np.float64), qv[b].astype(np.float64))) if len(common) else None


def recall(docs, queries, gt, gt_scores, found, k):
    ok = wanted = 0
    for q, ids in enumerate(found):
        n = int((gt[q, :k] >= 0).sum())
        wanted += n
        if n == 0:
            continue
        kth = float(gt_scores[q, n - 1])
        qi, qv = row(queries, q)
        truth = set(gt[q, :n].tolist())
        good = 0
        for d in ids[:k]:
            s = None if d in truth else true_score(docs, int(d), qi, qv)
            if d in truth or (s is not None and s >= kth - 1e-4 * max(1.0, abs(kth))):
                good += 1
        ok += min(good, n)
    return ok / max(wanted, 1)


def timed(queries, search, repeats):
    best, lat, found = 0.0, [], None
    nq = len(queries[0]) - 1
    for _ in range(repeats):
        lat, found = [], []
        t0 = time.perf_counter()
        for q in range(nq):
            qi, qv = row(queries, q)
            s = time.perf_counter()
            found.append(search(qi, qv))
            lat.append((time.perf_counter() - s) * 1e6)
        best = max(best, nq / (time.perf_counter() - t0))
    return best, np.percentile(lat, 50), np.percentile(lat, 99), found


def run_edge(docs, queries, k, repeats):
    import qdrant_edge as qe

    path = tempfile.mkdtemp(prefix="edge-sparse-")
    cfg = lambda threads: qe.EdgeConfig(  # noqa: E731
        vectors={},
        sparse_vectors={"text": qe.EdgeSparseVectorParams()},
        optimizers=qe.EdgeOptimizersConfig(
            default_segment_number=1, indexing_threshold=1, max_segment_size=10**9
        ),
        max_search_threads=threads,
        wal_enabled=False,
    )
    shard = qe.EdgeShard.create(os.path.join(path, "s"), cfg(None))
    n = len(docs[0]) - 1
    t0 = time.perf_counter()
    for s in range(0, n, 1000):
        pts = []
        for r in range(s, min(n, s + 1000)):
            i, v = row(docs, r)
            pts.append(qe.Point(r, {"text": qe.SparseVector(i.tolist(), v.tolist())}, None))
        shard.update(qe.UpdateOperation.upsert_points(pts))
    t1 = time.perf_counter()
    shard.optimize()
    build = time.perf_counter() - t0
    info = {"upsert_s": t1 - t0, "optimize_s": time.perf_counter() - t1}
    shard.close()
    shard = qe.EdgeShard.load(os.path.join(path, "s"), cfg(1))

    def search(qi, qv):
        res = shard.query(
            qe.QueryRequest(
                limit=k, query=qe.Query.Nearest(qe.SparseVector(qi.tolist(), qv.tolist()), "text")
            )
        )
        return [p.id for p in res]

    qps, p50, p99, found = timed(queries, search, repeats)
    shard.close()
    shutil.rmtree(path, ignore_errors=True)
    import importlib.metadata as md

    return {
        "engine": "qdrant-edge",
        "version": md.version("qdrant-edge-py"),
        "build_s": build,
        **info,
        "qps": qps,
        "p50_us": p50,
        "p99_us": p99,
    }, found


def run_seismic(docs, queries, k, repeats, params):
    import seismic

    st = seismic.get_seismic_string()
    n = len(docs[0]) - 1
    t0 = time.perf_counter()
    # the documents as Seismic's JSON lines (adding them one call at a time
    # from Python grows slower with the dataset); the large-vocabulary
    # variant, as BM25 over real text has more than 2^16 distinct terms
    # (the default variant's limit, made for SPLADE's 30k)
    path = tempfile.mktemp(prefix="seismic-", suffix=".jsonl")
    with open(path, "w") as f:
        for r in range(n):
            i, v = row(docs, r)
            vec = ", ".join(f'"{t}": {w!r}' for t, w in zip(i.tolist(), v.tolist()))
            f.write(f'{{"id": "{r}", "content": "", "vector": {{{vec}}}}}\n')
    index = seismic.SeismicIndexLV.build(path, num_threads=2, load_content=False, **params["build"])
    os.remove(path)
    build = time.perf_counter() - t0

    def search(qi, qv):
        res = index.search(
            "q", qi.astype(str).astype(st), qv.astype(np.float32), k=k, **params["search"]
        )
        return [int(d) for _, _, d in res]

    qps, p50, p99, found = timed(queries, search, repeats)
    import importlib.metadata as md

    return {
        "engine": "pyseismic-lsr",
        "version": md.version("pyseismic-lsr"),
        "params": params,
        "build_s": build,
        "qps": qps,
        "p50_us": p50,
        "p99_us": p99,
    }, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--vicinity", required=True, help="the vicinity binary")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--skip", default="", help="engines to leave out, comma-separated")
    args = ap.parse_args()
    docs, queries, gt, gt_scores = load(args.data)
    results = []
    skip = set(args.skip.split(","))
    if "vicinity" not in skip:
        out = subprocess.run(
            [args.vicinity, "bench", "sparse", "--data", args.data, "--k", str(args.k),
             "--repeats", str(args.repeats)],
            check=True, capture_output=True, text=True,
        )
        results.append(json.loads(out.stdout))
        print(f"vicinity: {results[-1]['qps']:.0f} QPS, recall {results[-1]['recall']:.4f}",
              file=sys.stderr)
    if "qdrant-edge" not in skip:
        r, found = run_edge(docs, queries, args.k, args.repeats)
        r["recall"] = recall(docs, queries, gt, gt_scores, found, args.k)
        results.append(r)
        print(f"qdrant-edge: {r['qps']:.0f} QPS, recall {r['recall']:.4f}", file=sys.stderr)
    if "seismic" not in skip:
        for params in (
            {"build": {}, "search": {"query_cut": 10, "heap_factor": 0.9}},
            {"build": {}, "search": {"query_cut": 20, "heap_factor": 1.0}},
        ):
            r, found = run_seismic(docs, queries, args.k, args.repeats, params)
            r["recall"] = recall(docs, queries, gt, gt_scores, found, args.k)
            results.append(r)
            print(f"seismic {params['search']}: {r['qps']:.0f} QPS, recall {r['recall']:.4f}",
                  file=sys.stderr)
    ours = next((r for r in results if r["engine"] == "vicinity"), None)
    print("| engine | recall@%d | QPS (1 thread) | vicinity / it | p50 us | p99 us | build s |" % args.k)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        name = r["engine"] + (f" {r['params']['search']}" if "params" in r else "")
        ratio = f"{ours['qps'] / r['qps']:.2f}x" if ours else ""
        print(f"| {name} | {r['recall']:.4f} | {r['qps']:,.0f} | {ratio} | {r['p50_us']:.0f} | "
              f"{r['p99_us']:.0f} | {r['build_s']:.1f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
