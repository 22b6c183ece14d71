"""HDF5 layout, round trip and atomic, never-overwriting writes."""
from __future__ import annotations

import tomllib

import tomli_w

import h5py
import numpy as np
import pytest

from conftest import chain_spec
from lamina import store
import lamina.store.run  # noqa: F401 (store.run._write is patched below)
from lamina.config import experiment_from_dict
from lamina.simulation import simulate
from lamina.store.run import MAGIC, open_run, write_run


@pytest.fixture(scope="module")
def result():
    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "40 ms",
                       "network.size": 50, "input.alpha": 30, "input.t0": "20 ms", "input.sigma": "1 ms"})
    return simulate(experiment_from_dict(spec), point={"input.alpha": 30})


def test_layout_attributes_and_dtypes(result, tmp_path):
    path = write_run(result, tmp_path)
    with h5py.File(path, "r") as f:
        for key in ("lamina_version", "brian2_version", "backend", "seed", "created", "wall_time_s",
                    "structure_key", "magic", "version"):
            assert key in f.attrs, key
        assert int(f.attrs["magic"]) == MAGIC
        assert list(f.attrs["version"]) == [0, 1]
        assert f.attrs["seed"] == 11 and f.attrs["backend"] == "runtime"
        assert set(f["spikes"]) == {"L0_input", "L1_int", "L2_diff"}
        g = f["spikes/L1_int"]
        assert store.run.sorting_name(g.attrs["sorting"]) == "by_time" and int(g.attrs["sorting"]) == 2  # SONATA enum
        assert g["timestamps"].dtype == np.float64 and g["timestamps"].attrs["units"] == "ms"
        assert g["node_ids"].dtype == np.uint64
        t = g["timestamps"][()]
        assert np.all(np.diff(t) >= 0)
        r = f["rates/L1_int"]
        assert r.dtype == np.float32 and r.attrs["units"] == "Hz" and r.attrs["dt_ms"] == 0.5
        assert len(r) == 80  # 40 ms / 0.5 ms
        assert tomllib.loads(f["config"].attrs["toml"])["input"]["alpha"] == 30
        assert f["stimulus/packet/L0_input/node_ids"].shape == (30,)


def test_round_trip(result, tmp_path):
    run = open_run(write_run(result, tmp_path))
    for layer, (t, i) in result.spikes.items():
        np.testing.assert_array_equal(run.spikes[layer][0], t)
        np.testing.assert_array_equal(run.spikes[layer][1], i)
        np.testing.assert_array_equal(run.rates[layer], result.rates[layer])
    assert run.point == {"input.alpha": 30}
    assert run.layer_names == ["L0_input", "L1_int", "L2_diff"]
    assert run.stimulus["kind"] == "pulse_packet" and run.stimulus["alpha"] == 30
    exp = run.experiment()  # the stored config is a complete, valid spec
    assert exp.input.params["alpha"] == 30 and exp.seed == 11
    # Population rate and spikes agree: total spikes = sum(rate * n * bin).
    n = 50
    assert run.rates["L1_int"].sum() * n * 0.5e-3 == pytest.approx(len(run.spikes["L1_int"][0]), rel=1e-4)


def test_files_of_lamina_before_0_3_rerun_with_brian2_noise(result, tmp_path):
    """lamina < 0.3 drew every run's noise from Brian2's xi and did not name the generator in the
    resolved spec; re-running such a file must use that generator, not 0.3's counter default."""

    path = write_run(result, tmp_path)
    assert open_run(path).experiment().spec["simulation"]["noise"] == "counter"  # named since 0.3
    with h5py.File(path, "r+") as f:  # make it a 0.2 file: no noise in the spec, version 0.2.0
        spec = tomllib.loads(f["config"].attrs["toml"])
        del spec["simulation"]["noise"]
        f["config"].attrs["toml"] = tomli_w.dumps(spec)
        f.attrs["lamina_version"] = "0.2.0"
    assert open_run(path).experiment().spec["simulation"]["noise"] == "brian2"


def test_never_overwrites(result, tmp_path):
    a = write_run(result, tmp_path)
    b = write_run(result, tmp_path)
    assert a != b and a.exists() and b.exists()
    assert b.name == a.stem + "_1.h5"


def test_killed_write_leaves_no_partial_file(result, tmp_path, monkeypatch):
    def boom(f, r):
        f.create_group("spikes")
        raise KeyboardInterrupt  # as if killed half-way
    monkeypatch.setattr(store.run, "_write", boom)
    with pytest.raises(KeyboardInterrupt):
        write_run(result, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the planted blow-up overflows on purpose
def test_blow_up_is_an_error_not_silence():
    """A numerically exploding run must fail loudly (SimulationError), not return few spikes."""
    from lamina.errors import SimulationError

    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "5 ms", "simulation.dt": "0.5 ms",
                       "network.size": 20, "input.alpha": 1, "input.t0": "1 ms",
                       "cells.all.C": "0.01 uF/cm**2"})  # tiny capacitance: explicit Euler explodes
    with pytest.raises(SimulationError, match="non-finite"):
        simulate(experiment_from_dict(spec))
