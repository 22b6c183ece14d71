"""Reading run files back: ``open_run`` with ``/analysis`` from its JSON text vs from the scalar
datasets (files analysed before 0.3.0 have only those), side by side on the same files.

    python benchmarks/bench_open_run.py RUNS_DIR [--n 30]

RUNS_DIR: analysed run files (e.g. results/figA3_small/runs after ``lamina figures figA3``). Each
file is copied twice into a temporary directory, once as it is and once without the JSON text;
both sets are read in alternation and the per-file medians and their ratio printed.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import h5py

from lamina.store.run import NUMBERS_JSON, open_run
from lamina.store.results import analyze_file


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs_dir", type=Path)
    ap.add_argument("--n", type=int, default=30, help="files (default 30)")
    a = ap.parse_args()
    files = sorted(a.runs_dir.glob("*.h5"))[: a.n]
    if not files:
        raise SystemExit(f"no run files in {a.runs_dir}")
    with tempfile.TemporaryDirectory() as tmp:
        pairs = []
        for k, p in enumerate(files):
            new, old = Path(tmp) / f"{k}_json.h5", Path(tmp) / f"{k}_datasets.h5"
            shutil.copy(p, new)
            analyze_file(new)  # the current writer: with the JSON text
            shutil.copy(new, old)
            with h5py.File(old, "a") as f:
                del f["analysis"][NUMBERS_JSON]
            pairs.append((new, old))
        times: dict[str, list[float]] = {"json": [], "datasets": []}
        for _ in range(3):
            for new, old in pairs:
                for label, path in (("json", new), ("datasets", old)):
                    t0 = time.perf_counter()
                    open_run(path)
                    times[label].append(time.perf_counter() - t0)
    n_layers = sum(isinstance(v, dict) for v in open_run(files[0]).analysis.values()) if open_run(files[0]).analysis else 0
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"{len(files)} files of {a.runs_dir} ({n_layers} layers analysed), 3 rounds, median per file:")
    print(f"  open_run, /analysis from the scalar datasets: {med['datasets']:.1f} ms")
    print(f"  open_run, /analysis from the JSON text:       {med['json']:.1f} ms")
    print(f"  ratio datasets / JSON: {med['datasets'] / med['json']:.1f}x")


if __name__ == "__main__":
    main()
