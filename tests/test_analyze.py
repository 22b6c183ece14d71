"""`lamina analyze`: per-layer numbers stored under /analysis, idempotent, atomic."""
from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from conftest import chain_spec
from lamina.analysis import pulse_packet
from lamina.cli import main
from lamina.config import experiment_from_dict
from lamina.simulation import simulate
from lamina.store import open_run, write_run


def _md5(p):
    return hashlib.md5(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def packet_run(tmp_path_factory):
    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "80 ms",
                       "network.size": 80, "input.alpha": 60, "input.t0": "50 ms", "input.sigma": "1 ms"})
    return write_run(simulate(experiment_from_dict(spec)), tmp_path_factory.mktemp("pk"))


@pytest.fixture(scope="module")
def ou_run(tmp_path_factory):
    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "600 ms", "simulation.dt": "0.05 ms",
                       "network.size": 60, "record.rate_bin": "1 ms",
                       "input": {"kind": "ou", "tau": "5 ms", "mean": "60 uA/cm**2", "sigma": "40 uA/cm**2"}})
    return write_run(simulate(experiment_from_dict(spec)), tmp_path_factory.mktemp("ou"))


def test_packet_numbers_and_attributes(packet_run, capsys):
    assert main(["analyze", str(packet_run)]) == 0
    assert "packet size" in capsys.readouterr().out
    run = open_run(packet_run)
    t = run.spikes["L0_input"][0]
    with h5py.File(packet_run, "r") as f:
        g = f["analysis"]
        assert g.attrs["packet_n_bins"] == 200 and g.attrs["packet_window_ms"] == 4.0
        d = g["L0_input/packet_size"]
        assert d.attrs["units"] == "spikes" and "pulse_packet" in d.attrs["method"]
        # Without a baseline window before t0 - 4 sigma (t0 = 50 ms leaves 41 ms → 21 ms ≥ 20),
        # the stored value is the raw readout minus the measured background.
        raw = pulse_packet(t, 0.0, 80.0)
        assert d[()] <= raw.alpha and d[()] > 0.5 * 60
        assert abs(g["L0_input/packet_sd_ms"][()] - raw.sigma) < 1e-9
        # latency is stored relative to the packet onset t0 (50 ms)
        assert abs(g["L0_input/packet_latency_ms"][()] + 50.0 - raw.latency) < 1e-9
        assert g["L1_int/n_spikes"][()] == len(run.spikes["L1_int"][0])


def test_idempotent_byte_identical(packet_run):
    main(["analyze", str(packet_run), "-q"])
    first = _md5(packet_run)
    main(["analyze", str(packet_run), "-q"])
    assert _md5(packet_run) == first
    assert not [p for p in packet_run.parent.iterdir() if p.name.startswith(".")]


def test_continuous_input_information_and_filters(ou_run):
    assert main(["analyze", str(ou_run), "-q"]) == 0
    run = open_run(ou_run)
    a = run.analysis
    # The input layer follows a strong common OU current: clearly informative at a short lag.
    assert a["L0_input"]["mi_gcmi_bits"] > 0.1
    assert a["L0_input"]["mi_ksg_bits"] > 0.05
    assert 0 <= a["L0_input"]["best_lag_ms"] <= 20
    assert a["L0_input"]["info_rate_bits_s"] > 0
    with h5py.File(ou_run, "r") as f:
        assert f["analysis"].attrs["ksg_k"] == 3
        gain = f["analysis/L0_input/filter/gain"][()]
        assert gain.shape == f["analysis/L0_input/filter/freq_hz"].shape and np.all(gain >= 0)


def test_bad_target(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.h5")]) == 2
    assert "target" in capsys.readouterr().err


def test_run_table_is_the_analysis(packet_run):
    """The `lamina run` / `lamina info` table (layer_rows) and /analysis: one name, one number."""
    from lamina.analysis.readout import layer_rows

    main(["analyze", str(packet_run), "-q"])
    run = open_run(packet_run)
    rows = layer_rows(run.layers, run.spikes, float(run.attrs["duration_ms"]), run.stimulus)
    for row in rows:
        stored = run.analysis[row["layer"]]
        for key in ("n_neurons", "n_spikes", "rate_hz", "packet_size", "packet_sd_ms", "packet_latency_ms",
                    "packet_peak_ms", "packet_n_window", "packet_baseline", "baseline_rate_hz"):
            assert row[key] == pytest.approx(stored[key], rel=1e-12, abs=1e-12), key


@pytest.mark.parametrize("which", ["packet_run", "ou_run"])
def test_json_copy_reads_as_the_datasets(which, request):
    """open_run reads /analysis from its one JSON text: the same numbers, types and filter arrays
    as walking the ~400 scalar datasets (which took ~70 ms a file), and files without the text
    (analysed before it) still read from the datasets."""
    from lamina.store.run import NUMBERS_JSON, _read_group, read_analysis_scalars

    path = request.getfixturevalue(which)
    assert main(["analyze", str(path), "-q"]) == 0
    with h5py.File(path, "r") as f:
        walked = _read_group(f["analysis"])
    del walked[NUMBERS_JSON]
    fast = open_run(path).analysis
    assert fast.keys() == walked.keys()
    layers = [k for k, v in walked.items() if isinstance(v, dict)]
    assert len(layers) >= 3
    for k in walked:
        if k not in layers:
            assert np.array_equal(fast[k], walked[k]) if isinstance(walked[k], np.ndarray) else fast[k] == walked[k]
            continue
        assert fast[k].keys() == walked[k].keys()
        for name, v in walked[k].items():
            if name == "filter":
                assert fast[k]["filter"].keys() == v.keys()
                assert all(np.array_equal(fast[k]["filter"][x], v[x]) for x in v)
            else:
                assert type(fast[k][name]) is type(v) and np.array_equal(fast[k][name], v, equal_nan=True)
    if which == "ou_run":
        assert "filter" in fast["L0_input"]
    scalars = read_analysis_scalars(path)
    copy = path.with_name("no_json.h5")
    copy.write_bytes(path.read_bytes())
    with h5py.File(copy, "a") as f:
        del f["analysis"][NUMBERS_JSON]
    old = open_run(copy).analysis
    assert old.keys() == fast.keys() and old[layers[-1]].keys() == fast[layers[-1]].keys()
    assert all(np.array_equal(old[layers[-1]][n], fast[layers[-1]][n], equal_nan=True)
               for n in fast[layers[-1]] if n != "filter")
    assert read_analysis_scalars(copy).keys() == scalars.keys()
    assert all(np.array_equal(read_analysis_scalars(copy)[k], v, equal_nan=True) for k, v in scalars.items())


def test_open_run_reads_arrays_on_first_use(packet_run):
    """open_run leaves the spike and rate arrays in the file until one is used (figures that read
    only /analysis never pay for them); then they are the file's arrays, all layers at once."""
    import pickle

    run = open_run(packet_run)
    assert run.spikes._data is None and run.rates._data is None
    with h5py.File(packet_run, "r") as f:
        names = list(f["spikes"])
        assert list(run.spikes) == names and len(run.spikes) == len(names) and names[0] in run.spikes
        assert run.spikes._data is None  # names and membership come without reading
        t, i = run.spikes[names[-1]]
        assert np.array_equal(t, f[f"spikes/{names[-1]}/timestamps"][()])
        assert np.array_equal(i, f[f"spikes/{names[-1]}/node_ids"][()])
        assert set(run.spikes._data) == set(names)
        assert all(np.array_equal(run.rates[k], f[f"rates/{k}"][()]) for k in f["rates"])
    again = pickle.loads(pickle.dumps(open_run(packet_run)))  # e.g. returned by a worker process
    assert all(np.array_equal(again.spikes[k][0], run.spikes[k][0]) for k in names)
    with pytest.raises(TypeError):
        run.spikes[names[0]] = (t, i)  # read-only, as the file
