"""A sweep spec's runs: :func:`expand_sweep` applies the ``[sweep]`` grid (:mod:`lamina.grid`:
axes, values with units, seeds, run ids) to an Experiment, validating every point with
:mod:`lamina.config`."""
from __future__ import annotations

import copy

from ..config import Experiment, _one_line, apply_overrides, experiment_from_dict
from ..errors import ConfigError
from ..grid import MAX_RUNS, RESERVED, SEED_MODES, SweepPoint, axis_values, derive_seed, run_id, sweep_axes
from ..grid import expand_spec as _expand_grid

__all__ = ["MAX_RUNS", "RESERVED", "SEED_MODES", "SweepPoint", "axis_values", "derive_seed", "expand_spec",
           "expand_sweep", "run_id", "sweep_axes", "swept_paths"]


def expand_sweep(exp: Experiment) -> list[SweepPoint]:
    """All runs of ``exp``'s ``[sweep]`` table (points × repeats), each validated as a complete
    Experiment. Raises :class:`ConfigError` naming the field for any problem."""
    sweep = exp.sweep
    if sweep is None:
        raise ConfigError("sweep", None, "missing [sweep] table (use `lamina run` for a single run)")
    base_spec = copy.deepcopy(exp.spec)
    base_spec.pop("sweep", None)
    return expand_spec(base_spec, sweep, exp.seed)


@_one_line
def expand_spec(base_spec: dict, sweep: dict, base_seed: int) -> list[SweepPoint]:
    """The runs of ``sweep`` applied to ``base_spec`` (a spec without its [sweep] table; it need
    not be a valid run itself), each validated by :func:`lamina.config.experiment_from_dict`."""
    return _expand_grid(base_spec, sweep, base_seed, validate=experiment_from_dict, apply=apply_overrides)


def swept_paths(exp_or_sweep: Experiment | dict) -> list[str]:
    sweep = exp_or_sweep.sweep if isinstance(exp_or_sweep, Experiment) else exp_or_sweep
    return [k for k in (sweep or {}) if k not in RESERVED]
