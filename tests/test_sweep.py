"""Parameter sweeps: expansion and validation, local pool and Dask scheduler, resume after SIGKILL,
failed-point isolation, bit-for-bit re-runs of one point.

Every simulating test uses ONE tiny structure (3 layers × 80 neurons, 50 ms): compiled once per
session into the shared test cache; the sweeps vary only run-time values (input alpha/sigma,
g_syn) and seeds.

Failure injection (no test hooks in lamina): a valid spec with a tiny capacitance,
``cells.int.C = "0.0001 uF/cm**2"``, passes validation but its integration diverges in the worker,
which fails the run (non-finite state), like any error inside a simulation would.
"""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import tomli_w
from conftest import chain_spec

from lamina.cli import main
from lamina.config import ConfigError, experiment_from_dict, load_experiment
from lamina.store import open_run
from lamina.sweep import derive_seed, expand_sweep, open_sweep

ROOT = Path(__file__).resolve().parent.parent
N_RUNS = 8


def tiny_spec(sweep: dict | None = None, **changes) -> dict:
    """conftest.chain_spec shrunk to 3 × 80 neurons and 50 ms, with a 2 × 2 × 2-seed sweep."""
    spec = chain_spec({
        "name": "tiny", "simulation.duration": "50 ms", "simulation.seed": 5, "network.size": 80,
        "input.alpha": 40, "input.t0": "20 ms",
        "sweep": {"input.alpha": [30, 60], "input.sigma": ["1 ms", "3 ms"], "seeds": 2} if sweep is None else sweep,
    })
    spec.update(changes)
    return spec


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(tomli_w.dumps(spec))
    return path


# ------------------------------------------------------------------------------------------
# Expansion (no simulation)


def test_grid_zip_seeds_count_and_values():
    sweep = {"input.alpha": [20, 40, 60], "cells.int.g_syn": ["300 uS/cm**2", "345 uS/cm**2"],
             "cells.diff.g_syn": ["900 uS/cm**2", "975 uS/cm**2"], "input.sigma": ["1 ms", "2 ms"],
             "zip": [["cells.int.g_syn", "cells.diff.g_syn"]], "seeds": 3}
    pts = expand_sweep(experiment_from_dict(tiny_spec(sweep)))
    assert len(pts) == 3 * 2 * 2 * 3
    # grid: first axis slowest; the zip group moves together; repeats innermost
    assert [p.values["input.alpha"] for p in pts[:12]] == [20] * 12
    pairs = {(p.values["cells.int.g_syn"], p.values["cells.diff.g_syn"]) for p in pts}
    assert pairs == {("300 uS/cm**2", "900 uS/cm**2"), ("345 uS/cm**2", "975 uS/cm**2")}
    assert [p.repeat for p in pts[:3]] == [0, 1, 2] and len({p.index for p in pts}) == 12
    # each point is a complete, validated experiment without the [sweep] table
    p = pts[5]
    assert "sweep" not in p.spec and p.experiment.sweep is None
    assert p.experiment.input.params["alpha"] == p.values["input.alpha"]
    assert p.spec["cells"]["int"]["g_syn"] == p.values["cells.int.g_syn"]
    assert p.experiment.seed == p.seed


def test_ranges_with_units():
    sweep = {"input.sigma": {"linspace": ["2 ms", "16 ms"], "n": 8}, "input.alpha": {"range": [20, 80, 20]},
             "cells.int.sigma_noise": {"geomspace": ["10 uA/cm**2", "40 uA/cm**2"], "n": 3},
             "input.t0": {"range": ["10 ms", "16 ms", "2 ms"]}}
    pts = expand_sweep(experiment_from_dict(tiny_spec(sweep)))
    vals = lambda k: sorted({p.values[k] for p in pts}, key=lambda v: float(str(v).split()[0]))
    assert vals("input.sigma") == [f"{x} ms" for x in (2, 4, 6, 8, 10, 12, 14, 16)]
    assert vals("input.alpha") == [20, 40, 60]  # stop excluded, as in Python's range; ints stay ints
    assert vals("cells.int.sigma_noise") == ["10 uA/cm**2", "20 uA/cm**2", "40 uA/cm**2"]
    assert vals("input.t0") == ["10 ms", "12 ms", "14 ms"]
    assert len(pts) == 8 * 3 * 3 * 3
    sigmas = sorted({float(p.experiment.input.params["sigma"]) for p in pts})
    assert sigmas == pytest.approx([x * 1e-3 for x in range(2, 17, 2)])


@pytest.mark.parametrize("sweep,needle", [
    ({"input.alhpa": [1, 2]}, "input.alhpa"),                                       # unknown path
    ({"cells.int.g_sin": ["1 uS/cm**2"]}, "cells.int.g_sin"),                      # unknown parameter
    ({"input.sigma": ["2 mV", "3 mV"]}, "input.sigma"),                            # wrong unit
    ({"input.sigma": [2, 3]}, "input.sigma"),                                      # missing unit
    ({"input.sigma": {"linspace": ["2 ms", "4 mV"], "n": 3}}, "input.sigma"),     # inconsistent units
    ({"input.alpha": [10, 20], "input.sigma": ["1 ms"], "zip": [["input.alpha", "input.sigma"]]}, "sweep.zip"),
    ({"input.alpha": [10], "zip": [["input.alpha", "input.t0"]]}, "sweep.zip"),    # zip of a path not swept
    ({"input.alpha": [10], "seeds": 0}, "sweep.seeds"),
    ({"input.alpha": []}, "input.alpha"),
    ({"input.alpha": {"range": [50, 10, 10]}}, "input.alpha"),                    # empty range
    ({"input.alpha": {"linspace": [10, 20]}}, "input.alpha"),                     # n missing
    ({"input": {"alpha": [10, 20]}}, "quoted"),                                    # unquoted dotted key
    ({"alpha": [10, 20]}, "sweep.alpha"),
    ({"input.alpha": [500]}, "input.alpha"),                                       # > layer size
    ({"input.alpha": [10, 10]}, "distinct"),
    ({"input.alpha": [10], "seed_mode": "shared"}, "sweep.seed_mode"),
])
def test_bad_sweeps_name_the_field(sweep, needle):
    with pytest.raises(ConfigError) as e:
        expand_sweep(experiment_from_dict(tiny_spec(sweep)))
    assert needle in str(e.value)


def test_seeds_deterministic_and_distinct():
    exp = experiment_from_dict(tiny_spec({"input.alpha": [10, 20, 30], "input.sigma": ["1 ms", "2 ms"], "seeds": 4}))
    a, b = expand_sweep(exp), expand_sweep(exp)
    assert [p.seed for p in a] == [p.seed for p in b] and [p.run_id for p in a] == [p.run_id for p in b]
    assert len({p.seed for p in a}) == len(a) == 24 and len({p.run_id for p in a}) == 24
    assert all(0 <= p.seed < 2**32 for p in a)
    assert a[0].seed == derive_seed(5, a[0].values, 0)
    other = expand_sweep(exp.with_seed(6))
    assert not {p.seed for p in a} & {p.seed for p in other}
    # seed_mode = "common": the same seeds at every point (paired comparisons)
    common = expand_sweep(experiment_from_dict(tiny_spec({"input.alpha": [10, 20], "seeds": 2,
                                                          "seed_mode": "common"})))
    assert [p.seed for p in common[:2]] == [p.seed for p in common[2:]] and common[0].seed != common[1].seed


def test_shipped_specs_and_validate(capsys):
    assert len(expand_sweep(load_experiment(ROOT / "sims" / "sweep_demo.toml"))) == 8
    n = len(expand_sweep(load_experiment(ROOT / "sims" / "figA2_small.toml")))
    assert main(["validate", str(ROOT / "sims" / "figA2_small.toml")]) == 0
    assert f"sweep: {n} runs" in capsys.readouterr().out


def test_cli_bad_input_exit_2(tmp_path, capsys):
    spec = write_spec(tmp_path / "s.toml", tiny_spec({"input.alpha": [10], "input.sigma": ["1 mV"]}))
    assert main(["sweep", str(spec), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert "input.sigma" in capsys.readouterr().err
    assert not (tmp_path / "out" / "sweep.h5").exists()
    nosweep = tiny_spec()
    del nosweep["sweep"]
    assert main(["sweep", str(write_spec(tmp_path / "n.toml", nosweep)), "-q"]) == 2


# ------------------------------------------------------------------------------------------
# Running sweeps (C++; one structure for the whole module)


def index_frame(out: Path):
    return open_sweep(out).to_dataframe(analysis=False).drop(columns=["wall_time_s"])


def run_files_ok(out: Path) -> list[Path]:
    files = sorted((out / "runs").glob("*.h5"))
    for f in files:
        open_run(f)  # every file under a final name is complete
    return files


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    return write_spec(tmp_path_factory.mktemp("spec") / "tiny.toml", tiny_spec())


@pytest.fixture(scope="module")
def local_sweep(cache_dir, spec_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    t0 = time.perf_counter()
    code = main(["sweep", str(spec_file), "--workers", "2", "-o", str(out), "-q"])
    assert code == 0
    return out, time.perf_counter() - t0


@pytest.mark.slow
def test_local_pool_sweep(local_sweep):
    out, _ = local_sweep
    sw = open_sweep(out)
    df = sw.to_dataframe()
    assert len(df) == N_RUNS and set(df["status"]) == {"ok"} and (df["error"] == "").all()
    for col in ("point_id", "point", "repeat", "input.alpha", "input.sigma", "seed", "status", "error",
                "wall_time_s", "file", "structure_key", "overrides"):
        assert col in df.columns
    assert df.attrs["units"] == {"input.sigma": "ms"}
    assert sorted(df["input.sigma"].unique()) == [1.0, 3.0] and df["input.alpha"].dtype.kind == "i"
    assert df["seed"].nunique() == N_RUNS and df["structure_key"].nunique() == 1
    assert len(run_files_ok(out)) == N_RUNS
    compiled_by_pid: dict[int, int] = {}
    for rel, seed, alpha in zip(df["file"], df["seed"], df["input.alpha"]):
        run = open_run(out / rel)
        # seed and swept values are recorded in the run file
        assert run.attrs["seed"] == seed and run.point["input.alpha"] == alpha
        pid = run.attrs["sweep_pid"]
        compiled_by_pid[pid] = compiled_by_pid.get(pid, 0) + int(bool(run.attrs["compiled"]))
    assert len(compiled_by_pid) == 2  # both worker processes ran points
    assert all(n <= 1 for n in compiled_by_pid.values())  # at most one compile per worker process
    assert (out / "sweep.h5").exists() and not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_no_recompile_with_built_cache_and_seed_in_files(local_sweep, spec_file, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["sweep", str(spec_file), "--workers", "2", "-o", str(out), "-q", "--log-json"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    runs = [l for l in lines if l["event"] == "run"]
    assert len(runs) == N_RUNS and lines[-1]["event"] == "summary" and lines[-1]["ok"] == N_RUNS
    assert not any(r["compiled"] for r in runs)  # cache pre-built: nothing compiles
    assert len({r["pid"] for r in runs}) == 2  # two local worker processes
    assert index_frame(out).equals(index_frame(local_sweep[0]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(tmp_path: Path, n_workers: int = 2, worker_args: tuple = (), worker_env=None):
    """A real `dask scheduler` and `dask worker --nthreads 1` processes on 127.0.0.1
    (``worker_args``: more `dask worker` arguments; ``worker_env(k)``: more environment of worker k)."""
    from distributed import Client

    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = []
    log = open(tmp_path / "dask.log", "w")
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                                       "--port", str(port), "--no-dashboard"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True))
        for k in range(n_workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", addr, "--nthreads", "1",
                                           "--nworkers", "1", "--no-dashboard", "--name", f"w{k}",
                                           "--local-directory", str(tmp_path / f"w{k}"), *worker_args],
                                          env={**env, **(worker_env(k) if worker_env else {})}, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        with Client(addr, timeout="60s") as c:
            c.wait_for_workers(n_workers, timeout=90)
            info = c.scheduler_info()["workers"]
            assert all(w["nthreads"] == 1 for w in info.values())
        yield addr
    finally:
        for p in procs[::-1]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs[::-1]:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_dask_scheduler_sweep(local_sweep, spec_file, tmp_path, capsys):
    out = tmp_path / "dask"
    with dask_cluster(tmp_path) as addr:
        code = main(["sweep", str(spec_file), "--scheduler", addr, "-o", str(out), "-q", "--log-json"])
    assert code == 0
    runs = [json.loads(l) for l in capsys.readouterr().out.splitlines() if '"run"' in l]
    assert len(runs) == N_RUNS and len({r["pid"] for r in runs}) == 2
    assert not any(r["compiled"] for r in runs)
    assert index_frame(out).equals(index_frame(local_sweep[0]))
    assert len(run_files_ok(out)) == N_RUNS


@pytest.mark.slow
def test_dask_gpu_workers_run_batches(local_sweep, spec_file, tmp_path, capsys):
    """The multi-GPU layout on one host, with cpp standing in for the GPU: one worker process per
    GPU (resource GPU=1, its own CUDA_VISIBLE_DEVICES), each batch asks for one GPU."""
    out = tmp_path / "gpus"
    with dask_cluster(tmp_path, worker_args=("--resources", "GPU=1"),
                      worker_env=lambda k: {"CUDA_VISIBLE_DEVICES": str(k)}) as addr:
        code = main(["sweep", str(spec_file), "--scheduler", addr, "-o", str(out), "-q", "--log-json",
                     "--gpus-per-task", "1", "--batch", "2"])
    assert code == 0
    runs = [json.loads(l) for l in capsys.readouterr().out.splitlines() if '"run"' in l]
    assert len(runs) == N_RUNS and all(r["status"] == "ok" for r in runs)
    files = run_files_ok(out)
    attrs = [open_run(f).attrs for f in files]
    assert {a["batch_size"] for a in attrs} == {2}
    assert {a["sweep_cuda_visible_devices"] for a in attrs} == {"0", "1"}  # both "GPUs" ran batches
    # same structure key as the unbatched sweep: a batched run is a run of the same model
    assert set(open_sweep(out).to_dataframe()["structure_key"]) == set(open_sweep(local_sweep[0]).to_dataframe()["structure_key"])


@pytest.mark.slow
def test_resume_after_sigkill(local_sweep, spec_file, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "lamina.cli", "sweep", str(spec_file), "--workers", "2", "-o", str(out),
           "-q", "--log-json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        done, deadline = 0, time.monotonic() + 180
        while done < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            done += '"event": "run"' in line
            if done == 1:  # readers work while the sweep is writing
                assert len(open_sweep(out).to_dataframe()) == N_RUNS
        assert done == 2, "the sweep did not report two finished runs"
        os.kill(proc.pid, signal.SIGKILL)  # the sweep process only: its workers must go by themselves
        proc.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()
    files = run_files_ok(out)  # no partial .h5 under a final name
    assert 2 <= len(files) < N_RUNS
    before = open_sweep(out).to_dataframe()
    assert (before["status"] == "pending").sum() >= N_RUNS - len(files)
    # re-run: completes only the missing runs, ends with the same index as an uninterrupted sweep
    t0 = time.perf_counter()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])
    assert summary["skipped"] >= len(files) and summary["ok"] == N_RUNS
    assert sum('"event": "run"' in l for l in again.stdout.splitlines()) == N_RUNS - summary["skipped"]
    assert index_frame(out).equals(index_frame(local_sweep[0]))
    assert len(run_files_ok(out)) == N_RUNS
    # a third run has nothing to do
    third = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert json.loads(third.stdout.splitlines()[-1])["skipped"] == N_RUNS
    assert time.perf_counter() - t0 < 240


@pytest.mark.slow
def test_failed_point_is_recorded_and_others_run(cache_dir, tmp_path, capsys):
    # a valid spec whose middle point blows up in the worker (a tiny capacitance: the integration
    # diverges at dt 0.01 ms and the run fails with "non-finite"); 2.05 / 2.1 keep the same program
    spec = write_spec(tmp_path / "fail.toml",
                      tiny_spec({"cells.int.C": ["2.05 uF/cm**2", "0.0001 uF/cm**2", "2.1 uF/cm**2"], "input.alpha": [30]}))
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--workers", "2", "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    df = open_sweep(out).to_dataframe()
    assert list(df["status"]) == ["ok", "failed", "ok"]
    failed = df[df["status"] == "failed"].iloc[0]
    assert "non-finite" in failed["error"] and failed["file"] == "" and failed["point_id"] in err
    assert "1 run(s) failed" in err
    assert len(run_files_ok(out)) == 2
    # the failed run is retried by the next invocation (and fails again); ok runs are not re-run
    assert main(["sweep", str(spec), "--workers", "1", "-o", str(out), "-q", "--log-json"]) == 1
    runs = [json.loads(l) for l in capsys.readouterr().out.splitlines() if '"run"' in l]
    assert [r["status"] for r in runs] == ["failed"]


@pytest.mark.slow
def test_rerun_one_point_bit_for_bit(local_sweep, spec_file, tmp_path):
    out, _ = local_sweep
    sw = open_sweep(out)
    row = sw.to_dataframe().iloc[5]
    argv = shlex.split(sw.rerun_command(row["point_id"]))
    assert argv[:3] == ["lamina", "run", str(spec_file.resolve())] and argv[-3:] == ["--seed", str(row["seed"]), "--no-sweep"]
    res = subprocess.run([sys.executable, "-m", "lamina.cli", *argv[1:], "-o", str(tmp_path), "--figure", "none",
                          "-q"], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    (path,) = tmp_path.glob("*.h5")
    a, b = open_run(out / row["file"]), open_run(path)
    assert a.attrs["seed"] == b.attrs["seed"] == row["seed"]
    assert sum(len(t) for t, _ in a.spikes.values()) > 50
    for layer in a.spikes:
        assert np.array_equal(a.spikes[layer][0], b.spikes[layer][0])
        assert np.array_equal(a.spikes[layer][1], b.spikes[layer][1])
    assert not b.attrs["compiled"]


@pytest.mark.slow
def test_dataframe_joins_analysis_columns(local_sweep, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(local_sweep[0], out)
    df = open_sweep(out).to_dataframe()
    first = out / df["file"][0]
    with h5py.File(first, "a") as f:  # what `lamina analyze` adds
        f.create_dataset("analysis/L1_int/packet_size", data=37.5)
        f.create_dataset("analysis/L1_int/latency_ms", data=4.25)
        f.create_dataset("analysis/L1_int/trace", data=np.zeros(3))  # not a scalar: ignored
    df = open_sweep(out).to_dataframe()
    assert df["L1_int.packet_size"][0] == 37.5 and df["L1_int.latency_ms"][0] == 4.25
    assert np.isnan(df["L1_int.packet_size"][1]) and "L1_int.trace" not in df.columns


@pytest.mark.slow
def test_stale_and_foreign_files_are_rerun_not_overwritten(local_sweep, spec_file, tmp_path, capsys):
    """A run file of an older program (other structure key) is kept and the run repeated next to
    it; a file that is not a readable run is moved aside; the index points at the new files."""
    out = tmp_path / "copy"
    shutil.copytree(local_sweep[0], out)
    df = open_sweep(out).to_dataframe()
    old, junk = out / df["file"][0], out / df["file"][1]
    with h5py.File(old, "a") as f:
        f.attrs["structure_key"] = "0123456789abcdef"  # as if made by another compiled model
    junk.write_bytes(b"not hdf5")
    assert main(["sweep", str(spec_file), "--workers", "1", "-o", str(out), "-q", "--log-json"]) == 0
    runs = [json.loads(l) for l in capsys.readouterr().out.splitlines() if '"run"' in l]
    assert sorted(r["point_id"] for r in runs) == sorted([df["point_id"][0], df["point_id"][1]])
    new = open_sweep(out).to_dataframe()
    assert set(new["status"]) == {"ok"}
    assert new["file"][0] == f"runs/{df['point_id'][0]}_{df['structure_key'][0]}.h5"
    assert old.exists() and open_run(old).attrs["structure_key"] == "0123456789abcdef"  # kept
    assert new["file"][1] == df["file"][1] and open_run(out / new["file"][1]).attrs["seed"] == df["seed"][1]
    assert len(list((out / "runs").glob(f"{df['point_id'][1]}.h5.invalid-*"))) == 1
    assert index_frame(out).drop(columns=["file"]).equals(index_frame(local_sweep[0]).drop(columns=["file"]))


def test_batch_in_sweep_table_is_an_option_not_a_path():
    plain = expand_sweep(experiment_from_dict(tiny_spec()))
    batched = expand_sweep(experiment_from_dict(tiny_spec({"input.alpha": [30, 60], "input.sigma": ["1 ms", "3 ms"],
                                                           "seeds": 2, "batch": 4})))
    assert [p.run_id for p in batched] == [p.run_id for p in plain]  # batching changes no run
    from lamina.sweep.schedule import default_batch

    assert default_batch(experiment_from_dict(tiny_spec())) == 1  # cpp: one run per program
    with pytest.raises(ConfigError, match="sweep.batch"):
        expand_sweep(experiment_from_dict(tiny_spec({"input.alpha": [30], "batch": 0})))


def test_default_batches_split_runs_evenly(monkeypatch):
    """Without --batch, a structure's runs go in equal batches near the backend's size: a 15-run
    cuda sweep of 7 x 1000 neurons (size 228) ran 213 padding replicas before."""
    import math

    import lamina.sweep.schedule as sch

    assert sch.even_batch(15, 228) == 15
    assert sch.even_batch(1200, 123) == 120  # 10 batches, no padding
    assert sch.even_batch(1080, 36) == 36
    assert sch.even_batch(90, 1) == sch.even_batch(1, 228) == 1
    for per in (2, 7, 36, 123, 1454):
        for n in range(1, 400):
            b = sch.even_batch(n, per)
            k = math.ceil(n / b)
            assert k * b - n < k  # padding: less than one replica per batch
            assert b <= math.ceil(1.5 * per)
    points = expand_sweep(experiment_from_dict(tiny_spec({"input.alpha": [20, 40, 60], "seeds": 5})))
    keys = {p.run_id: ("a" if p.index < 2 else "b") for p in points}  # two structures: 10 and 5 runs
    monkeypatch.setattr(sch, "default_batch", lambda exp: 4)
    sizes = sch.batch_sizes(points, keys)
    assert sizes == {"a": 5, "b": 5}  # 10 runs: 2 batches of 5 (not 4 + 4 + 2 padded to 4)
    assert sch.batch_sizes(points, keys, 3) == {"a": 3, "b": 3}  # --batch as given
    chunks = sch._batches(points, keys, {"a": 4, "b": 3})
    assert [(len(c), pad) for c, pad in chunks] == [(4, 0), (4, 0), (2, 2), (3, 0), (2, 1)]


def test_figures_backend_leaves_runtime_specs_alone():
    """`lamina figures --all --backend cuda` compiles no GPU program for fig1's single neurons."""
    from lamina.resources import sims_dir
    from lamina.sweep.cache import _pinned_to_runtime

    pinned = sorted(p.stem for p in Path(sims_dir()).glob("*.toml") if _pinned_to_runtime(p))
    assert pinned == ["fig1", "fig1_fi", "fig1_ramp"]
