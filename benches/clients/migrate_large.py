#!/usr/bin/env python3
"""`vicinity migrate` between two servers on this machine: throughput and
peak memory (not in CI: a million points take minutes).

1. writes N x D random float32 vectors with small payloads into a folder
   through the Python package's numpy API (vicinity_db.Database);
2. serves that folder (`vicinity serve --storage A`) and an empty one
   (`--storage B`) on free ports;
3. runs `vicinity migrate --from grpc://A --to grpc://B` under
   `/usr/bin/time -v` and reports points per second and the peak resident
   memory of the migrate process and of both servers.

    python benches/clients/migrate_large.py --bin target/release/vicinity --n 1000000 --dim 128
"""

import argparse
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import numpy as np

import vicinity_db
from protocols import start_server


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/vicinity")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--in-flight", type=int, default=4)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    out = {"n": a.n, "dim": a.dim, "batch_size": a.batch_size, "in_flight": a.in_flight}
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
        src, dst = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        rng = np.random.default_rng(11)
        t = time.perf_counter()
        with vicinity_db.Database(src) as db:
            c = db.create_collection("big", a.dim, "Dot")
            step = 50_000
            for s in range(0, a.n, step):
                m = min(step, a.n - s)
                v = rng.standard_normal((m, a.dim), dtype=np.float32)
                c.upsert(np.arange(s, s + m, dtype=np.uint64), v,
                         [{"brand": f"b{i % 100}", "n": i} for i in range(s, s + m)])
            c.finish_indexing()
        out["load_seconds"] = time.perf_counter() - t
        a_proc, _, a_grpc = start_server(binary, src)
        b_proc, _, b_grpc = start_server(binary, dst)
        a_addr, b_addr = f"127.0.0.1:{a_grpc}", f"127.0.0.1:{b_grpc}"
        try:
            t = time.perf_counter()
            run = subprocess.run(
                ["/usr/bin/time", "-v", binary, "migrate", "--from", f"grpc://{a_addr}",
                 "--to", f"grpc://{b_addr}", "--batch-size", str(a.batch_size),
                 "--in-flight", str(a.in_flight), "--quiet",
                 "--state", os.path.join(tmp, "state.json")],
                capture_output=True, text=True,
            )
            out["migrate_seconds"] = time.perf_counter() - t
            if run.returncode != 0:
                raise RuntimeError(run.stdout + run.stderr)
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
            out["migrate_peak_rss_mib"] = int(m.group(1)) / 1024 if m else None
            out["points_per_second"] = a.n / out["migrate_seconds"]
            out["source_server_peak_rss_mib"] = peak_rss_kib(a_proc.pid) / 1024
            out["target_server_peak_rss_mib"] = peak_rss_kib(b_proc.pid) / 1024
            out["migrate_stdout"] = run.stdout.strip()
        finally:
            for p in (a_proc, b_proc):
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=120)
    for k, v in out.items():
        print(f"{k:30} {v:,.2f}" if isinstance(v, float) else f"{k:30} {v}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
