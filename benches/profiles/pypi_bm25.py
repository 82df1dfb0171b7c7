"""Builds `pypi-bm25`: a sparse (BM25) benchmark profile from real text.

The texts are the one-line summaries of PyPI packages (the `packages/pypi.tsv`
list of the tool library's `env` entry), the same cleaned set as
`pypi_minilm.py` uses. Each summary becomes a BM25 document vector, the
way Qdrant's BM25 recipe (and fastembed's `Bm25`) makes them: lowercased
word tokens (letters and digits, 2+ characters, a short English stopword
list dropped), one dimension per distinct token (ids from a vocabulary in
order of first appearance), the weight of a token

    tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))   k1 = 1.2, b = 0.75

Held-out summaries are the queries: one dimension per distinct token known
to the corpus, weight `idf = ln((n - df + 0.5) / (df + 0.5) + 1)`, the IDF
that Qdrant's `modifier: idf` applies to a query of weight 1 (written
weighted, so that engines without an IDF modifier score the same thing).
Term frequencies follow the real Zipf distribution of the words: "python"
and "library" are in a large share of the documents, most words in few.

Files (little-endian), in `<out>/pypi-bm25/`:
    docs.csr      u64 rows, u64 nnz, u64 offsets[rows + 1], u32 indices[nnz], f32 values[nnz]
    queries.csr   the same layout
    gt.ibin       u32 nq, u32 k, i32 ids[nq * k]: exact top-k (ties by smaller id)
    gt_scores.fbin u32 nq, u32 k, f32 scores[nq * k]
    meta.json     sizes, parameters, the seed

Rebuild (about a minute on 2 cores):

    python3 benches/profiles/pypi_bm25.py --tsv /work/.library/env/packages/pypi.tsv \\
        --out /work/bench/data
"""

import argparse
import json
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from pypi_minilm import read_texts  # noqa: E402  (the same cleaned summaries)

STOPWORDS = set(
    "a an and are as at be but by for from has have in into is it its of on or "
    "that the this to was were will with your you we our can not no".split()
)
TOKEN = re.compile(r"[a-z0-9]+")
K1, B = 1.2, 0.75


def tokens(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text.lower()) if len(t) > 1 and t not in STOPWORDS]


def write_csr(path: str, rows: list[tuple[np.ndarray, np.ndarray]]) -> None:
    offsets = np.zeros(len(rows) + 1, dtype=np.uint64)
    offsets[1:] = np.cumsum([len(i) for i, _ in rows])
    with open(path, "wb") as f:
        np.array([len(rows), int(offsets[-1])], dtype=np.uint64).tofile(f)
        offsets.tofile(f)
        np.concatenate([i for i, _ in rows] or [np.zeros(0, np.uint32)]).astype(np.uint32).tofile(f)
        np.concatenate([v for _, v in rows] or [np.zeros(0, np.float32)]).astype(np.float32).tofile(f)


def read_csr(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        rows, nnz = np.fromfile(f, dtype=np.uint64, count=2)
        offsets = np.fromfile(f, dtype=np.uint64, count=int(rows) + 1)
        indices = np.fromfile(f, dtype=np.uint32, count=int(nnz))
        values = np.fromfile(f, dtype=np.float32, count=int(nnz))
    return offsets, indices, values


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=500_000)
    ap.add_argument("--nq", type=int, default=1_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    t0 = time.time()
    rows = read_texts(args.tsv)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(rows))
    if args.n + args.nq > len(rows):
        sys.exit(f"only {len(rows)} distinct summaries")
    base = [tokens(rows[i]["summary"]) for i in order[: args.n]]
    held = [tokens(rows[i]["summary"]) for i in order[args.n : args.n + args.nq]]
    vocab: dict[str, int] = {}
    for toks in base:
        for t in toks:
            vocab.setdefault(t, len(vocab))
    avg_len = sum(len(t) for t in base) / len(base)
    docs = []
    df = np.zeros(len(vocab), dtype=np.int64)
    for toks in base:
        ids, tf = np.unique(np.array([vocab[t] for t in toks], dtype=np.int64), return_counts=True)
        w = tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(toks) / avg_len))
        docs.append((ids.astype(np.uint32), w.astype(np.float32)))
        df[ids] += 1
    n = len(base)
    idf = np.log((n - df + 0.5) / (df + 0.5) + 1.0).astype(np.float32)
    queries = []
    for toks in held:
        ids = np.unique(np.array([vocab[t] for t in toks if t in vocab], dtype=np.int64))
        queries.append((ids.astype(np.uint32), idf[ids]))
    # exact top-k through posting lists (ties by smaller id)
    all_ids = np.concatenate([i for i, _ in docs]).astype(np.int64)
    all_w = np.concatenate([w for _, w in docs])
    doc_of = np.repeat(np.arange(n, dtype=np.int64), [len(i) for i, _ in docs])
    by_term = np.argsort(all_ids, kind="stable")
    term_start = np.searchsorted(all_ids[by_term], np.arange(len(vocab) + 1))
    gt = np.full((len(queries), args.k), -1, dtype=np.int32)
    gt_scores = np.zeros((len(queries), args.k), dtype=np.float32)
    for qi, (ids, vals) in enumerate(queries):
        scores = np.zeros(n, dtype=np.float32)
        touched = np.zeros(n, dtype=bool)
        for t, qv in zip(ids, vals):
            p = by_term[term_start[t] : term_start[t + 1]]
            np.add.at(scores, doc_of[p], all_w[p] * qv)
            touched[doc_of[p]] = True
        cand = np.nonzero(touched & (scores != 0))[0]
        best = cand[np.lexsort((cand, -scores[cand]))][: args.k]
        gt[qi, : len(best)] = best
        gt_scores[qi, : len(best)] = scores[best]
    out = os.path.join(args.out, "pypi-bm25")
    os.makedirs(out, exist_ok=True)
    write_csr(os.path.join(out, "docs.csr"), docs)
    write_csr(os.path.join(out, "queries.csr"), queries)
    with open(os.path.join(out, "gt.ibin"), "wb") as f:
        np.array([len(queries), args.k], dtype=np.uint32).tofile(f)
        gt.tofile(f)
    with open(os.path.join(out, "gt_scores.fbin"), "wb") as f:
        np.array([len(queries), args.k], dtype=np.uint32).tofile(f)
        gt_scores.tofile(f)
    lens = np.array([len(i) for i, _ in docs])
    qlens = np.array([len(i) for i, _ in queries])
    meta = {
        "name": "pypi-bm25",
        "docs": n,
        "queries": len(queries),
        "k": args.k,
        "vocabulary": len(vocab),
        "nnz": int(lens.sum()),
        "doc_terms_mean": float(lens.mean()),
        "query_terms_mean": float(qlens.mean()),
        "largest_df": int(df.max()),
        "k1": K1,
        "b": B,
        "avg_len": avg_len,
        "seed": args.seed,
        "query_weights": "idf (Qdrant's modifier: idf, precomputed over the docs)",
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps(meta, indent=2), f"{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
