"""Figures analyse many runs in worker processes: the numbers equal those of a serial analysis."""
from __future__ import annotations

import shutil

from conftest import chain_spec
from lamina.config import experiment_from_dict
from lamina.simulation import simulate
from lamina.store import open_run, write_run
from lamina.store.results import analyze_file
from lamina.store.run import has_analysis
from lamina.sweep import cache


def test_parallel_analysis_equals_serial(tmp_path, monkeypatch):
    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "80 ms",
                       "network.size": 60, "input.alpha": 40, "input.t0": "50 ms", "input.sigma": "1 ms"})
    first = write_run(simulate(experiment_from_dict(spec)), tmp_path)
    copies = [shutil.copy(first, tmp_path / f"copy{k}.h5") for k in range(3)]
    monkeypatch.setattr(cache, "PARALLEL_ANALYSIS_MIN", 2)
    assert not has_analysis(first)
    serial = analyze_file(first)
    assert has_analysis(first)
    ctx = cache.Results(workers=2, quiet=True)
    cache._analyze_in_parallel(ctx, [first, *map(type(first), copies), None])
    for c in copies:
        assert has_analysis(c)
        assert open_run(c).analysis.keys() == open_run(first).analysis.keys()
        for layer, numbers in serial.items():
            stored = open_run(c).analysis[layer]
            for name, v in numbers.items():
                assert stored[name] == v or (v != v and stored[name] != stored[name]), (layer, name)
