"""Builds `clustered-768-cos`: the shared runner's clustered profile (its
hierarchical anisotropic Gaussian mixture, sentence-embedding-like) at 768
dimensions, the size of BERT-base, E5-base or CLIP ViT-L text embeddings,
for the binary quantization benchmark (binary codes are meant for 768-d and
wider vectors).

It reuses `../shared/bench/gen_synthetic.py` unchanged, with one profile
added under a new name and seed, so the data differ from the 384-d profile
only in dimension:

    python3 benches/profiles/clustered_768.py --shared ../shared/bench --out /tmp/data

100,000 base vectors, 1,000 queries, exact ground truth, payload and filters
as every synthetic profile (about a minute on 2 cores). Then, from the
shared runner's folder, with `--data` pointing there:

    python run_peers.py clustered-768-cos --data /tmp/data --out /tmp/results \
        --no-filters --efs 16,32,64,128 \
        --only "hnswlib M16 efc100,faiss HNSWFlat M16 efc100" \
        --extra-config '{"label": "vicinity binary x4", "engine": "command",
            "build_threads": [2], "params": {"cmd": "<repo>/target/release/vicinity bench",
            "m": 16, "ef_construct": 100, "quantization": {"binary": {"always_ram": true}},
            "search_params": {"quantization": {"rescore": true, "oversampling": 4.0}}}}'
"""

import argparse
import os
import sys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", required=True, help="the shared bench folder (gen_synthetic.py)")
    ap.add_argument("--out", required=True, help="where the profile's folder goes")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--nq", type=int, default=1_000)
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.shared))
    import gen_synthetic as g

    name = "clustered-768-cos"
    g.PROFILES[name] = dict(kind="clustered", n=a.n, nq=a.nq, dim=768, metric="cos", seed=768001)
    g.PROFILE_DOC[name] = (
        "hierarchical anisotropic Gaussian mixture, sentence-embedding-like, 768-d "
        "(vicinity benches/profiles/clustered_768.py)"
    )
    g.generate(name, a.out)


if __name__ == "__main__":
    main()
