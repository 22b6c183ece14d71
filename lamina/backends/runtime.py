"""Brian2's runtime mode with the numpy target: no compiler, for tiny networks and tests."""
from __future__ import annotations

import time
from typing import Any

import brian2 as b2
import numpy as np

from ..config import Experiment
from ..network import Built, build
from .base import Backend


class RuntimeBackend(Backend):
    """Builds the network anew for every run (connectivity is drawn while building)."""

    name = "runtime"

    def prepare(self, exp: Experiment, batch: int, device_seed: int, shared=None) -> tuple[Built, dict[str, Any]]:
        b2.set_device("runtime")
        b2.prefs.codegen.target = "numpy"
        b2.prefs.core.default_float_dtype = np.float32 if exp.precision == "single" else np.float64
        b2.seed(device_seed)
        return build(exp, batch, shared), {"compiled": False, "build_s": 0.0}

    def execute(self, exp: Experiment, built: Built, values: dict[tuple[int, str], np.ndarray],
                current: np.ndarray | None, device_seed: int, progress: bool) -> dict[str, float]:
        for (group, var), arr in values.items():
            built.groups[group].variables[var].set_value(arr)
        if current is not None:
            built.stim_array.values[:] = current
        t0 = time.perf_counter()
        built.network.run(exp.duration, namespace={})
        return {"run_s": time.perf_counter() - t0}
