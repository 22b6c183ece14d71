"""Compile, in parallel processes, the programs that figures' sweeps will use (no GPU needed).

    python benchmarks/prebuild.py OUT SPEC[:BATCH] [SPEC[:BATCH] ...] [--jobs N]

One build per distinct program (structure key and batch size; Het, Diff-only and Int-only chains of
one size share a program), at the batch size the sweep will choose (``batch_sizes``: equal batches
near the backend's size) or at BATCH (the ``--batch`` the sweep will be given). Build records go to OUT/bench_gpu.jsonl.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_gpu as b  # noqa: E402
from lamina.backends import get_backend  # noqa: E402
from lamina.config import load_experiment  # noqa: E402
from lamina.sweep import expand_sweep  # noqa: E402
from lamina.sweep.schedule import _structure_keys, batch_sizes  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("out", type=Path)
ap.add_argument("specs", nargs="+", help="sims/<SPEC>.toml at --scale paper, optionally :BATCH")
ap.add_argument("--jobs", type=int, default=16, help="programs compiled at once")
a = ap.parse_args()
a.out.mkdir(parents=True, exist_ok=True)
backend = get_backend("cuda", build_only=True)
progs: dict[str, tuple[dict, int]] = {}
for item in a.specs:
    name, _, batch = item.partition(":")
    exp = load_experiment(f"sims/{name}.toml", {"simulation.backend": "cuda"})
    points = expand_sweep(exp)
    keys = _structure_keys(points)
    sizes = batch_sizes(points, keys, int(batch) if batch else None)
    first = {}
    for p in points:
        first.setdefault(keys[p.run_id], p)
    for k, p in first.items():
        progs.setdefault(backend.program_key(p.experiment, sizes[k]), (p.spec, sizes[k]))
print(f"prebuild: {len(progs)} programs for {' '.join(a.specs)}", flush=True)
b.phase_build(a.out, list(progs.values()), a.jobs)
