"""Parameter sweeps: :mod:`.expand` turns a ``[sweep]`` table into validated points with
recorded seeds; :mod:`.schedule` runs them (local processes or a Dask scheduler), resumably,
and writes the index.

::

    import lamina, lamina.sweep as ls
    summary = ls.run_sweep(lamina.load_experiment("sims/figA2_small.toml"), workers=2)
    df = ls.open_sweep(summary.out).to_dataframe()
"""
from __future__ import annotations

from ..store.sweep_index import Sweep, open_sweep
from .expand import SweepPoint, derive_seed, expand_sweep, run_id, swept_paths
from .schedule import SweepSummary, default_workers, run_sweep

__all__ = ["Sweep", "SweepPoint", "SweepSummary", "default_workers", "derive_seed", "expand_sweep",
           "open_sweep", "run_id", "run_sweep", "swept_paths"]
