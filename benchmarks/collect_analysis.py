"""Every run file's sweep point, seed, provenance and /analysis numbers under a results folder,
as JSON lines — what comes back from the GPU host when the run files themselves are too many.

    python benchmarks/collect_analysis.py RESULTS_DIR OUT.jsonl
"""
from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

from lamina.store.run import open_run


def _plain(x):  # numpy scalars and arrays (fig1's /analysis holds arrays)
    return x.tolist() if hasattr(x, "tolist") else float(x)


def main() -> None:
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    with out.open("w") as f:
        for path in sorted(root.rglob("*.h5")):
            if path.name.startswith(".") or path.name == "sweep.h5":
                continue
            run = open_run(path)
            spec = tomllib.loads(run.config_toml)
            keep = ("seed", "backend", "precision", "structure_key", "batch_size", "batch_index", "loop_time_s",
                    "wall_time_s", "batch_wall_time_s", "program_setup_s", "duration_ms")
            f.write(json.dumps({"file": str(path.relative_to(root)), "point": run.point,
                                "layers": [l["name"] for l in run.layers], "cells": [l["cell"] for l in run.layers],
                                "attrs": {k: run.attrs[k] for k in keep if k in run.attrs},
                                "analysis": run.analysis, "spec_input": spec.get("input")}, default=_plain) + "\n")


if __name__ == "__main__":
    main()
