"""Compile, in parallel processes, the programs a figure's sweep will use (one per structure)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_gpu as b  # noqa: E402
from lamina.config import load_experiment  # noqa: E402
from lamina.sweep import expand_sweep  # noqa: E402
from lamina.sweep.schedule import default_batch  # noqa: E402

out, specs = Path(sys.argv[1]), sys.argv[2:]
progs = []
for name in specs:
    exp = load_experiment(f"sims/{name}.toml", {"simulation.backend": "cuda"})
    seen = {}
    for p in expand_sweep(exp):
        seen.setdefault(json.dumps(p.spec["network"]), p)
    progs += [(p.spec, default_batch(p.experiment)) for p in seen.values()]
b.phase_build(out, progs, len(progs))
