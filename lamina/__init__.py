"""lamina — deep spiking feedforward networks with heterogeneous layers, and their analysis.

Public entry points::

    exp = lamina.load_experiment("sims/quickstart.toml", overrides={"input.alpha": 600})
    result = lamina.simulate(exp)                 # Brian2, compiled once per structure
    path = lamina.write_run(result, "results/")   # atomic HDF5
    run = lamina.open_run(path)                   # spikes, rates, stimulus, config
    df = lamina.open_sweep("results/figA2").to_dataframe()   # one row per sweep run
"""
from __future__ import annotations

from ._version import __version__

from typing import Any

__all__ = ["__version__", "load_experiment", "simulate", "write_run", "open_run", "open_sweep", "ConfigError"]


def __getattr__(name: str) -> Any:
    # Lazy imports: `lamina.analysis` and `lamina validate` must not pay for importing Brian2.
    if name in ("load_experiment", "ConfigError"):
        from . import config

        return getattr(config, name)
    if name == "simulate":
        from .simulation import simulate

        return simulate
    if name == "open_sweep":
        from .store.sweep_index import open_sweep

        return open_sweep
    if name in ("write_run", "open_run"):
        from .store import run

        return getattr(run, name)
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")
