"""The strength-MI table of a figure (QE bias correction, jackknife, shuffle null), with the QE
partitions cut inside numba (lamina) vs in a Python loop over ``np.array_split`` (lamina before
2026-12-06), side by side on the same packet readout.

    python benchmarks/bench_strength_table.py [PACKETS.jsonl.gz] [--n-null 100]

Default input: docs/figures/paper/sensitivity_packets.jsonl.gz (the N = 1000 sensitivity figure's
1 200 runs × 13 layers), grouped by condition and network as the figure does.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lamina.analysis.discrete as discrete
from lamina.figures.information import strength_table


def _python_loop(cx, cy, mx, my, blocks, rng, n_splits):
    values, sizes = [], []
    for _ in range(n_splits if blocks > 1 else 1):
        perm = rng.permutation(cx.size) if blocks > 1 else np.arange(cx.size)
        for part in np.array_split(perm, blocks):
            values.append(discrete._plugin(cx[part], cy[part], mx, my)[0])
            sizes.append(part.size)
    return float(np.mean(values)), float(np.mean(sizes))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("packets", nargs="?", type=Path,
                    default=Path(__file__).parent.parent / "docs/figures/paper/sensitivity_packets.jsonl.gz")
    ap.add_argument("--n-null", type=int, default=100)
    a = ap.parse_args()
    df = pd.read_json(a.packets, lines=True)
    keys = ["condition", "network"] if "condition" in df else ["network"]
    strength_table(df[df.layer <= 1], keys, n_null=2)  # numba compiles before the clock
    fast = discrete._plugin_mean
    out = {}
    for label, fn in (("python loop", _python_loop), ("numba", fast)):
        discrete._plugin_mean = fn
        t0 = time.perf_counter()
        out[label] = (strength_table(df, keys, n_null=a.n_null), time.perf_counter() - t0)
    discrete._plugin_mean = fast
    same = all(np.isclose(x["size"]["mi"], y["size"]["mi"], rtol=0, atol=0, equal_nan=True)
               for x, y in zip(out["python loop"][0], out["numba"][0]))
    print(f"{a.packets.name}: {len(df)} rows, groups {keys}, {a.n_null}-shuffle null")
    for label, (_, s) in out.items():
        print(f"  strength_table, QE partitions in a {label}: {s:.1f} s")
    print(f"  ratio: {out['python loop'][1] / out['numba'][1]:.1f}x; MI values identical: {same}")


if __name__ == "__main__":
    main()
