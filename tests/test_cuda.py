"""The cuda backend (brian2cuda 1.0b1).

Without a GPU: the run_args file-name trap is fixed (arrays of upper-case variables are written
under the lower-case name the program opens), a program that reports an unread run-time value
fails the run, ``--backend cuda`` without a GPU/nvcc/brian2cuda is one clear line with exit 2,
and — wherever nvcc exists — a tiny network compiles (``--build-only``) and is not recompiled.
With a GPU (``-m gpu``): cuda agrees with cpp in distribution and a batch is reproducible.
"""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from conftest import chain_spec

from lamina.cli import main
from lamina.config import experiment_from_dict
from lamina.errors import SimulationError

brian2cuda = pytest.importorskip("brian2cuda", reason="brian2cuda not installed (pip install -e '.[cuda]')")


def _tiny(**changes):
    return chain_spec({"simulation.backend": "cuda", "network.size": 20, "simulation.duration": "20 ms",
                       "input.alpha": 10, "input.t0": "10 ms", **changes})


def test_run_arg_files_of_upper_case_variables_are_lower_case():
    import brian2 as b2
    from brian2.devices.device import all_devices
    from brian2cuda.device import CUDAStandaloneDevice

    from lamina.backends.cuda import _patch_run_arg_names
    from lamina.network import build

    _patch_run_arg_names(CUDAStandaloneDevice)
    dev = all_devices["cuda_standalone"]
    b2.set_device("cuda_standalone", build_on_run=False)
    try:
        dev.reinit()
        b2.set_device("cuda_standalone", build_on_run=False)
        exp = experiment_from_dict(_tiny(**{"cells.int.C": "2.1 uF/cm**2"}))  # C differs by layer: per neuron
        built = build(exp)
        g = built.groups[0]
        values = np.linspace(1.9, 2.1, len(g)) * b2.uF / b2.cm**2
        name, string_value, file_name, _ = dev._prepare_variableview_run_arg(g.C, values)
        assert name == "cells0.C"  # the variable keeps its name ...
        assert file_name == file_name.lower() and file_name.startswith("init_cells0_c_")  # ... its file is lower-case
        assert string_value == string_value.lower()
        _, _, ta_file, _ = dev._prepare_timed_array_run_arg(
            b2.TimedArray(np.zeros((4, 1)) * b2.uA / b2.cm**2, dt=b2.ms, name="I_stim"),
            np.ones((4, 1)) * b2.uA / b2.cm**2)
        assert ta_file == ta_file.lower() and ta_file.startswith("init_i_stim_values_")
    finally:
        dev.reinit()
        b2.set_device("runtime")


def test_unread_run_time_value_fails_the_run():
    from lamina.backends.cuda import check_program_output

    check_program_output("Running\nlast_run_info written\n")  # a clean program output passes
    with pytest.raises(SimulationError, match="did not apply its run-time values"):
        check_program_output("Error reading 'static_arrays/init_cells0_C_0a1b.dat': file size -1 does not "
                             "match expected size 160\n")


def test_cuda_without_gpu_is_one_clear_line(tmp_path, capsys):
    from lamina.backends.cuda import gpu_present

    if gpu_present():
        pytest.skip("a GPU is present: --backend cuda runs")
    spec = tmp_path / "tiny.toml"
    import tomli_w

    spec.write_text(tomli_w.dumps(_tiny()))
    out = tmp_path / "out"
    assert main(["run", str(spec), "-o", str(out), "--figure", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--backend cuda" in err[0] and ("no GPU" in err[0] or "nvcc" in err[0])
    assert not out.exists() or not any(out.iterdir())  # nothing written


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (CUDA toolkit) not on PATH")
def test_tiny_network_compiles_for_cuda_without_gpu(cache_dir, tmp_path, capsys):
    import tomli_w

    spec = tmp_path / "tiny.toml"
    spec.write_text(tomli_w.dumps(_tiny()))
    assert main(["run", str(spec), "--build-only"]) == 0
    assert "compiled" in capsys.readouterr().err
    from lamina.backends.cuda import CudaBackend

    exp = experiment_from_dict(_tiny())
    project = CudaBackend(build_only=True).project_dir(exp)
    assert (project / "main").exists()
    # a second build (another process would do the same) regenerates the code and compiles nothing
    assert main(["run", str(spec), "--build-only"]) == 0
    assert "already compiled" in capsys.readouterr().err


def _stats(r):
    from lamina.analysis import pulse_packet

    out = []
    for l in r.layers:
        t = r.spikes[l["name"]][0]
        out += [np.count_nonzero((t >= 20) & (t < 90)) / l["size"] / 0.07, pulse_packet(t, 0.0, r.duration_ms).alpha / l["size"]]
    return out


@pytest.mark.gpu
@pytest.mark.slow
def test_cuda_matches_cpp_and_batches_reproduce(cache_dir):
    from scipy.stats import ks_2samp

    from lamina.backends.cuda import gpu_present
    from lamina.simulation import simulate_batch

    if not gpu_present():
        pytest.skip("no GPU (nvidia-smi lists none)")
    specs = [chain_spec({"simulation.seed": s, "simulation.duration": "150 ms", "input.t0": "100 ms"}) for s in range(40, 60)]
    cuda = simulate_batch([experiment_from_dict({**s, "simulation": {**s["simulation"], "backend": "cuda"}}) for s in specs])
    again = simulate_batch([experiment_from_dict({**s, "simulation": {**s["simulation"], "backend": "cuda"}}) for s in specs])
    cpp = simulate_batch([experiment_from_dict(s) for s in specs])
    for a, b in zip(cuda, again):
        for k in a.spikes:
            assert np.array_equal(a.spikes[k][0], b.spikes[k][0]) and np.array_equal(a.spikes[k][1], b.spikes[k][1])
    x, y = np.array([_stats(r) for r in cuda]), np.array([_stats(r) for r in cpp])
    for c in range(x.shape[1]):
        assert ks_2samp(x[:, c], y[:, c]).pvalue > 0.01


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (CUDA toolkit) not on PATH")
def test_generated_sources_are_patched_for_set_up_and_read_out(tmp_path):
    """The three set-up/read-out patches apply to the code brian2cuda 1.0b1 generates for lamina's
    network, and the program still writes every array lamina reads back."""
    import brian2 as b2
    from brian2.devices.device import all_devices

    from lamina.backends.cuda import CudaBackend, patch_sources, read_back_arrays
    from lamina.network import build

    exp = experiment_from_dict(_tiny())
    dev = all_devices["cuda_standalone"]
    b2.set_device("cuda_standalone", build_on_run=False)
    try:
        dev.reinit()
        b2.set_device("cuda_standalone", build_on_run=False)
        CudaBackend(build_only=True).configure(exp, 2)
        built = build(exp, 2)
        built.network.run(exp.duration, namespace={})
        dev.build(directory=str(tmp_path), compile=False, run=False, with_output=False)
        keep = read_back_arrays(dev)
        done = patch_sources(tmp_path, keep)
    finally:
        dev.reinit()
        b2.set_device("runtime")
    assert done["pair_check"] == len(built.synapses) and done["queue_copy"] == len(built.synapses)
    creators = list((tmp_path / "code_objects").glob("*synapses_create*codeobject*.cu"))  # names may get _1 …
    assert creators and not any("std::map<std::pair" in f.read_text() for f in creators)
    writes = (tmp_path / "objects.cu").read_text().split("void _write_arrays()")[1].split("\nvoid ")[0]
    assert "using namespace brian;" in writes  # what precedes the first dropped write stays
    written = set(re.findall(r"ofstream outfile_(\w+);", writes))
    mon = next(iter(built.spikes.values())).name
    grp = built.groups[0].name
    # the monitors, and every differential-equation variable (Brian2's end-of-run check reads them)
    for need in (f"_dynamic_array_{mon}_i", f"_dynamic_array_{mon}_t", "last_run_info",
                 *(f"_array_{grp}_{v}" for v in built.groups[0].equations.diff_eq_names)):
        assert need in keep and need in written
    assert done["writes_dropped"] > 0 and not any("_synaptic_pre" in w for w in written)
    assert done["timing"] == 1 and (tmp_path / "main.cu").read_text().count("lamina-timing") == 3


def test_program_timing_is_read_from_the_program_output():
    from lamina.backends.cuda import program_timing

    text = ("INFO: _init_arrays() took 0.2s\nINFO: syn0 creation took 1.5s and used 3MB of memory.\n"
            "INFO: syn1 creation took 0.5s\nINFO: syn0_pre initialisation took 0.25s\n"
            "lamina-timing setup 2.75\n0.18 s (100%) simulated in 3s\nlamina-timing run 6.0\nlamina-timing end 6.5\n")
    t = program_timing(text)
    assert t == {"program_setup_s": 2.75, "program_end_s": 0.5, "synapse_creation_s": 2.0, "spike_queue_s": 0.25}
    assert program_timing("no timing here\n") == {}
