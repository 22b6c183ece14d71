"""SONATA interoperability: the reference reader libsonata opens lamina's spike files."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from conftest import chain_spec
from lamina.config import experiment_from_dict
from lamina.simulation import simulate
from lamina.store.run import SORTING_VALUES, open_run, read_header, sorting_name, write_run


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "40 ms",
                       "network.size": 50, "input.alpha": 30, "input.t0": "20 ms", "input.sigma": "1 ms"})
    return write_run(simulate(experiment_from_dict(spec)), tmp_path_factory.mktemp("sonata"))


def test_spike_groups_follow_sonata(run_file):
    with h5py.File(run_file, "r") as f:
        assert int(f.attrs["magic"]) == 0x0A7A and list(f.attrs["version"]) == [0, 1]
        for name, g in f["spikes"].items():
            assert h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype) == SORTING_VALUES, name
            assert int(g.attrs["sorting"]) == SORTING_VALUES["by_time"]
            assert g["timestamps"].dtype == np.float64 and g["timestamps"].attrs["units"] == "ms"
            assert g["node_ids"].dtype == np.uint64
            for d in (g["timestamps"], g["node_ids"]):
                assert d.compression is None and not d._filters, (name, d.name)  # libsonata has no deflate
            assert np.all(np.diff(g["timestamps"][()]) >= 0)  # by_time is true


def test_libsonata_reads_every_population(run_file):
    libsonata = pytest.importorskip("libsonata")
    run = open_run(run_file)
    reader = libsonata.SpikeReader(str(run_file))
    assert sorted(reader.get_population_names()) == sorted(run.spikes)
    assert any(len(t) for t, _ in run.spikes.values())
    for name, (t, i) in run.spikes.items():
        pop = reader[name]
        assert pop.sorting == "by_time" and pop.time_units == "ms"
        d = pop.get_dict()
        np.testing.assert_array_equal(d["timestamps"], t)
        np.testing.assert_array_equal(d["node_ids"], i)
        assert len(pop.get()) == len(t)
        if len(t):
            assert pop.times == pytest.approx((float(t.min()), float(t.max())))


def test_old_string_sorting_still_reads(run_file, tmp_path):
    """Files written before the SONATA enum (string attr, gzip datasets) open as before."""
    old = tmp_path / "old.h5"
    old.write_bytes(run_file.read_bytes())
    with h5py.File(old, "r+") as f:
        for name, g in f["spikes"].items():
            del g.attrs["sorting"]
            g.attrs["sorting"] = "by_time"
            for key in ("timestamps", "node_ids"):
                data, units = g[key][()], g[key].attrs.get("units")
                del g[key]
                d = g.create_dataset(key, data=data, compression="gzip")
                if units is not None:
                    d.attrs["units"] = units
    new, back = open_run(run_file), open_run(old)
    assert new.spike_sorting == back.spike_sorting == {k: "by_time" for k in new.spikes}
    for k in new.spikes:
        np.testing.assert_array_equal(new.spikes[k][0], back.spikes[k][0])
        np.testing.assert_array_equal(new.spikes[k][1], back.spikes[k][1])
    assert read_header(old)["sorting"] == read_header(run_file)["sorting"] == new.spike_sorting


@pytest.mark.parametrize("value, name", [(2, "by_time"), (np.uint8(1), "by_id"), (0, "none"), ("by_time", "by_time"),
                                         (b"by_id", "by_id"), ("sideways", "none"), (7, "none")])
def test_sorting_name(value, name):
    assert sorting_name(value) == name
