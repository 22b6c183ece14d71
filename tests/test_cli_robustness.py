"""Faults and interoperability of the command line (issue 12): Ctrl-C, a full disk, stale
temporary files of killed writers, --json, `lamina list`, `lamina export` / to_neo, the blow-up
message, the compile notice, quiet Dask shutdown.

Most tests simulate nothing: they reuse one tiny runtime run (module fixture) and stand it in for
`simulate`; the two marked slow compile the tiny C++ structure the sweep tests use.
"""
from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from conftest import chain_spec
import lamina.simulation
import lamina.store.run as store_run
import lamina.sweep
from lamina.cli import main
from lamina.config import experiment_from_dict
from lamina.errors import SimulationError, WriteFailed
from lamina.simulation import simulate
from lamina.store.run import default_filename, load_raw, open_run, write_run, write_run_or_keep

SMALL = {"simulation.backend": "runtime", "simulation.duration": "40 ms", "network.size": 50,
         "input.alpha": 30, "input.t0": "20 ms", "input.sigma": "1 ms"}
SPEC = chain_spec(SMALL)


@pytest.fixture(scope="module")
def result():
    return simulate(experiment_from_dict(SPEC))


@pytest.fixture(scope="module")
def run_file(result, tmp_path_factory):
    return write_run(result, tmp_path_factory.mktemp("run"))


@pytest.fixture
def spec_file(tmp_path):
    p = tmp_path / "small.toml"
    p.write_text(tomli_w.dumps(SPEC))
    return p


@pytest.fixture
def fake_simulate(monkeypatch, result):
    """`lamina run` without simulating: the module's run stands in (the CLI wiring is under test)."""
    calls = []

    def fake(exp, backend=None, point=None, progress=False):
        calls.append(exp.name)
        return result
    monkeypatch.setattr(lamina.simulation, "simulate", fake)
    return calls


def _lines(text: str) -> list[str]:
    return [l for l in text.splitlines() if l.strip()]


def _dead_pid() -> int:
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(p.stdout)


# --- stale temporary files of killed writers (item 3) -------------------------------------


def test_run_removes_young_tmp_of_dead_writer_and_prints_json(spec_file, tmp_path, capsys, fake_simulate, result):
    out = tmp_path / "out"
    out.mkdir()
    name = default_filename(result)
    host = store_run._host_tag()
    dead = [out / f".{name}.{host}-{_dead_pid()}.k2j3h4.tmp", out / f".{name}.{host}-{_dead_pid()}.z9.analyze.tmp"]
    alive = out / f".{name}.{host}-{os.getppid()}.a1b2c3.tmp"  # a live writer's: kept
    other_host = out / f".{name}.otherhost-{_dead_pid()}.q1w2e3.tmp"  # may be alive there: left to age
    for p in dead + [alive, other_host]:
        p.write_bytes(b"partial")  # just written: only the dead writer's pid can condemn them
    assert main(["run", str(spec_file), "-o", str(out), "--json", "--figure", "none", "-q"]) == 0
    cap = capsys.readouterr()
    assert not any(p.exists() for p in dead) and alive.exists() and other_host.exists()
    summary = json.loads(cap.out)  # stdout is exactly one JSON object
    assert summary["ok"] is True and Path(summary["path"]) == out / name
    assert summary["seed"] == SPEC["simulation"]["seed"] and summary["structure_key"] == result.attrs["structure_key"]
    run = open_run(summary["path"])
    rows = {r["layer"]: r for r in summary["layers"]}
    assert list(rows) == run.layer_names
    for layer, (t, _) in run.spikes.items():
        assert rows[layer]["n_spikes"] == len(t) and rows[layer]["n_neurons"] == 50
    assert fake_simulate == ["small"] and cap.err == ""


def test_validate_json_ok_and_bad(spec_file, capsys):
    assert main(["validate", str(spec_file), "--json"]) == 0
    ok = json.loads(capsys.readouterr().out)
    assert ok["ok"] is True and ok["neurons"] == 150 and ok["input"] == "pulse_packet" and ok["sweep_runs"] is None
    for cmd in ("validate", "run"):
        assert main([cmd, str(spec_file), "--json", "--set", "input.alpha=-3"]) == 2
        cap = capsys.readouterr()
        bad = json.loads(cap.out)
        assert bad["ok"] is False and bad["field"] == "input.alpha" and bad["value"] == -3
        assert len(_lines(cap.err)) == 1 and "input.alpha" in cap.err


# --- a full disk (item 2) ---------------------------------------------------------------


def test_disk_too_small_is_refused_before_simulating(spec_file, tmp_path, capsys, monkeypatch, fake_simulate):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 5000, 5000))
    out = tmp_path / "out"
    assert main(["run", str(spec_file), "-o", str(out), "--figure", "none"]) == 2
    cap = capsys.readouterr()
    assert len(_lines(cap.err)) == 1 and "-o/--output" in cap.err and "needed" in cap.err and "5.0 kB free" in cap.err
    assert not out.exists() and fake_simulate == []  # nothing written, nothing simulated
    sweep = dict(SPEC, sweep={"input.alpha": [10, 20]})
    (tmp_path / "sw.toml").write_text(tomli_w.dumps(sweep))
    assert main(["sweep", str(tmp_path / "sw.toml"), "-o", str(out), "-q"]) == 2
    assert "needed" in capsys.readouterr().err and not out.exists()


def test_estimate_grows_with_neurons_duration_and_traces():
    base = experiment_from_dict(SPEC)
    big = experiment_from_dict(chain_spec({**SMALL, "network.size": 500}))
    traced = experiment_from_dict(chain_spec({**SMALL, "record.traces": {"vars": ["v"], "neurons": 2}}))
    e0 = store_run.estimate_run_bytes(base)
    # 150 neurons × 40 ms × 200 Hz × 16 bytes, plus rates and the 1 MiB allowance
    assert e0 >= 150 * 0.04 * 200 * 16 + 2**20
    assert store_run.estimate_run_bytes(big) > e0 and store_run.estimate_run_bytes(traced) > e0 + 3 * 2 * 4000 * 8 - 1


def _enospc_in(directory: Path, monkeypatch):
    """Make the HDF5 write fail with ENOSPC for files in ``directory`` (a full disk there)."""
    real = store_run._write

    def write(f, r):
        if Path(f.filename).parent == directory:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(f, r)
    monkeypatch.setattr(store_run, "_write", write)


def _same_run(a, b) -> None:
    assert a.layer_names == b.layer_names
    for layer in a.spikes:
        assert np.array_equal(a.spikes[layer][0], b.spikes[layer][0])
        assert np.array_equal(a.spikes[layer][1], b.spikes[layer][1])
        assert np.array_equal(a.rates[layer], b.rates[layer])


@pytest.mark.parametrize("via_env", [False, True])
def test_enospc_writes_to_fallback_dir(result, run_file, tmp_path, monkeypatch, via_env):
    out, fb = tmp_path / "full", tmp_path / "fallback"
    out.mkdir()
    _enospc_in(out, monkeypatch)
    if via_env:
        monkeypatch.setenv("LAMINA_FALLBACK_DIR", str(fb))
    with pytest.raises(WriteFailed) as e:
        write_run_or_keep(result, out, fallback_dir=None if via_env else fb)
    assert e.value.kept == fb / default_filename(result) and "No space left on device" in str(e.value)
    assert "\n" not in str(e.value) and list(out.iterdir()) == []  # no temporary file left either
    _same_run(open_run(e.value.kept), open_run(run_file))


def test_enospc_without_fallback_keeps_raw_arrays(result, run_file, tmp_path, monkeypatch):
    out, rescue = tmp_path / "full", tmp_path / "rescue"
    out.mkdir()
    rescue.mkdir()
    monkeypatch.delenv("LAMINA_FALLBACK_DIR", raising=False)
    _enospc_in(out, monkeypatch)
    monkeypatch.setattr(store_run, "rescue_dirs", lambda: [tmp_path / "not-there", rescue])
    with pytest.raises(WriteFailed) as e:
        write_run_or_keep(result, out)
    kept = e.value.kept
    assert kept.parent == rescue and kept.suffix == ".npz" and str(kept) in str(e.value)
    # the kept arrays become the same run file once there is room
    again = write_run(load_raw(kept), tmp_path / "later")
    _same_run(open_run(again), open_run(run_file))
    assert open_run(again).stimulus["alpha"] == 30 and open_run(again).config == open_run(run_file).config


@pytest.fixture
def tiny_fs(tmp_path):
    """A full 64 kB tmpfs (root only; skipped where mounting is not allowed)."""
    d = tmp_path / "tiny"
    d.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        with open(d / "filler", "wb") as f:  # leave a few kB: HDF5 starts, then runs out
            f.write(b"\0" * (64 * 1024 - 12 * 1024))
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_real_enospc_keeps_data_without_a_segfault(result, tiny_fs, tmp_path):
    """HDF5 meeting a real full disk half-way used to print dealloc tracebacks and segfault at exit."""
    raw = store_run.save_raw(result, tmp_path)
    code = ("import sys\n"
            "from lamina.errors import WriteFailed\n"
            "from lamina.store.run import load_raw, write_run_or_keep\n"
            "try:\n"
            f"    write_run_or_keep(load_raw({str(raw)!r}), {str(tiny_fs)!r}, fallback_dir={str(tmp_path / 'fb')!r})\n"
            "except WriteFailed as e:\n"
            "    print(e.kept); print(e, file=sys.stderr); sys.exit(1)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "LAMINA_FALLBACK_DIR": ""})
    assert p.returncode == 1, (p.returncode, p.stderr)  # not 139
    assert "Traceback" not in p.stderr and len(_lines(p.stderr)) == 1 and "No space left" in p.stderr
    kept = Path(p.stdout.strip())
    assert kept.parent == tmp_path / "fb"
    _same_run(open_run(kept), open_run(write_run(result, tmp_path / "ref")))
    assert sorted(x.name for x in tiny_fs.iterdir()) == ["filler"]  # no temporary file left behind


def test_cli_enospc_one_line_exit_1(spec_file, tmp_path, capsys, monkeypatch, fake_simulate):
    out, rescue = tmp_path / "full", tmp_path / "rescue"
    out.mkdir()
    rescue.mkdir()
    monkeypatch.delenv("LAMINA_FALLBACK_DIR", raising=False)
    _enospc_in(out, monkeypatch)
    monkeypatch.setattr(store_run, "rescue_dirs", lambda: [rescue])
    assert main(["run", str(spec_file), "-o", str(out), "--figure", "none", "-q", "--json"]) == 1
    cap = capsys.readouterr()
    err = _lines(cap.err)
    assert len(err) == 1 and "No space left on device" in err[0] and "--fallback-dir" in err[0]
    obj = json.loads(cap.out)
    assert obj["ok"] is False and obj["status"] == "failed" and Path(obj["kept"]).parent == rescue
    assert list(out.iterdir()) == [] and len(list(rescue.glob("*.npz"))) == 1


def test_sweep_stops_scheduling_after_a_full_disk(tmp_path, monkeypatch):
    """A worker whose write fails with ENOSPC stops the sweep: the other runs are not simulated."""
    from distributed import Client, LocalCluster

    import lamina.store.results as results

    calls = []

    def full(exps, runs_dir, filenames, **kw):
        calls.append(len(exps))
        time.sleep(0.2)  # as if simulating
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(results, "simulate_and_write_batch", full)
    exp = experiment_from_dict(dict(SPEC, sweep={"input.alpha": [5, 10, 15, 20, 25, 30, 35, 40]}))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        summary = lamina.sweep.run_sweep(exp, tmp_path / "sw", client=client, progress=False)
    assert "No space left on device" in summary.stopped and "\n" not in summary.stopped
    assert 1 <= len(calls) <= 3  # the failed one and at most what the worker had already started
    assert summary.n_pending >= 8 - len(calls) and summary.n_ok == 0
    df = lamina.sweep.open_sweep(tmp_path / "sw").to_dataframe()
    assert (df["status"] == "pending").sum() == summary.n_pending
    assert not list((tmp_path / "sw" / "runs").iterdir())


def test_cli_sweep_stopped_and_interrupted_one_line(tmp_path, capsys, monkeypatch):
    from lamina.sweep.schedule import SweepSummary

    (tmp_path / "sw.toml").write_text(tomli_w.dumps(dict(SPEC, sweep={"input.alpha": [10, 20]})))
    stopped = SweepSummary(out=tmp_path / "o", n_runs=2, n_skipped=0, n_ok=0, n_failed=1, n_pending=1,
                           stopped="p1: OSError: writing the run file failed (No space left on device)")
    monkeypatch.setattr(lamina.sweep, "run_sweep", lambda *a, **k: stopped)
    assert main(["sweep", str(tmp_path / "sw.toml"), "-o", str(tmp_path / "o"), "-q"]) == 1
    err = _lines(capsys.readouterr().err)
    assert len(err) == 1 and "No space left" in err[0] and "1 not run" in err[0]

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(lamina.sweep, "run_sweep", interrupted)
    assert main(["sweep", str(tmp_path / "sw.toml"), "-o", str(tmp_path / "o"), "-q"]) == 130
    err = _lines(capsys.readouterr().err)
    assert len(err) == 1 and "interrupted" in err[0]

    blew = SweepSummary(out=tmp_path / "o", n_runs=2, n_skipped=0, n_ok=1, n_failed=1, failures=[
        {"point_id": "p1", "point": 1, "repeat": 0, "values": {"input.alpha": 20}, "seed": 3,
         "error": "SimulationError: layer L1_int: v became non-finite in 3 neurons (numerical blow-up); ..."}])
    monkeypatch.setattr(lamina.sweep, "run_sweep", lambda *a, **k: blew)
    assert main(["sweep", str(tmp_path / "sw.toml"), "-o", str(tmp_path / "o"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "retry" in err and "again to retry" not in err  # a blow-up fails the same way every time


# --- the blow-up message (item 8) -------------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the planted blow-up overflows on purpose
def test_blow_up_names_the_unusual_values():
    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "5 ms", "simulation.dt": "0.5 ms",
                       "network.size": 20, "input.alpha": 1, "input.t0": "1 ms",
                       "cells.all.C": "0.01 uF/cm**2"})  # tiny capacitance: explicit Euler explodes
    with pytest.raises(SimulationError) as e:
        simulate(experiment_from_dict(spec))
    msg = str(e.value)
    assert "non-finite" in msg and "\n" not in msg
    assert "C = 0.01 uF/(cm^2)" in msg and "200× below" in msg and "simulation.dt = 0.5 ms" in msg
    assert "again" not in msg and "try a smaller simulation.dt" not in msg  # the cause, not a generic hint


# --- the compile notice (item 9) --------------------------------------------------------


class _FakeCompiled:
    name = "cpp"

    def __init__(self, project: Path):
        self.project = project

    def project_dir(self, exp, batch, shared):
        return self.project


def test_compile_notice_names_the_program_and_elapsed_time(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(lamina.simulation, "COMPILE_TICK_S", 1.0)
    exps = [experiment_from_dict(SPEC)]
    project = tmp_path / "proj"
    with lamina.simulation._compile_notice(_FakeCompiled(project), exps, active=True):
        time.sleep(2.6)  # "compiling"
        project.mkdir()
        (project / "main").write_text("")
        time.sleep(1.5)
    err = capsys.readouterr().err
    assert f"compiling the cpp program for small (150 neurons) into {project}" in err
    assert "still compiling (" in err and "compiled in " in err
    with lamina.simulation._compile_notice(_FakeCompiled(project), exps, active=True):
        pass  # cached: nothing to say
    with lamina.simulation._compile_notice(_FakeCompiled(tmp_path / "cold"), exps, active=False):
        pass  # -q
    assert capsys.readouterr().err == ""


# --- lamina list (item 7) ---------------------------------------------------------------


def test_list_cells_specs_figures(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "prescott.int " in out and "beta_w=5 mV" in out and "g_syn=975 uS/cm**2" in out
    assert "sigma_noise=uniform[38 uA/cm**2, 53 uA/cm**2]" in out and "lif.synfire" in out
    assert "quickstart" in out and "Deep heterogeneous FFN" in out
    assert "info_strength" in out and "ou_filters" in out
    assert main(["list", "specs"]) == 0
    specs = capsys.readouterr().out
    assert "quickstart" in specs and "prescott.int" not in specs
    assert main(["list", "nonsense"]) == 2
    assert len(_lines(capsys.readouterr().err)) == 1


# --- export (item 5) --------------------------------------------------------------------


def test_to_neo_per_neuron_and_per_layer(run_file):
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    run = open_run(run_file)
    block = run.to_neo()
    (seg,) = block.segments
    assert len(seg.spiketrains) == sum(l["size"] for l in run.layers)
    assert [g.name for g in block.groups] == run.layer_names
    for group in block.groups:
        t, ids = run.spikes[group.name]
        assert len(group.spiketrains) == 50 and sum(len(st) for st in group.spiketrains) == len(t)
        for st in group.spiketrains:
            assert st.units == pq.ms and float(st.t_start) == 0 and float(st.t_stop) == run.attrs["duration_ms"]
            assert st.annotations["layer"] == group.name and st.annotations["seed"] == run.attrs["seed"]
            assert st.annotations["lamina_version"] == run.attrs["lamina_version"]
            mine = t[ids == st.annotations["neuron"]]
            assert np.array_equal(st.magnitude, mine)
    by_layer = run.to_neo(by="layer").segments[0].spiketrains
    assert [st.name for st in by_layer] == run.layer_names
    for st in by_layer:
        t, ids = run.spikes[st.name]
        assert np.array_equal(st.magnitude, t) and np.array_equal(st.array_annotations["neuron"], ids)
    assert isinstance(block, neo.Block)


def test_export_csv_and_neo_round_trip(run_file, tmp_path, capsys):
    run = open_run(run_file)
    out = tmp_path / "spikes.csv"
    assert main(["export", str(run_file), "--to", "csv", "-o", str(out), "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(t) for t, _ in run.spikes.values())
    for layer, (t, ids) in run.spikes.items():
        mine = [r for r in rows if r["layer"] == layer]
        assert np.array_equal([float(r["t_ms"]) for r in mine], t)  # exact: repr round-trips
        assert np.array_equal([int(r["neuron"]) for r in mine], ids)
    pytest.importorskip("neo")
    from neo.io import PickleIO

    pkl = tmp_path / "run.neo.pkl"
    assert main(["export", str(run_file), "--to", "neo", "-o", str(pkl), "-q"]) == 0
    block = PickleIO(str(pkl)).read_block()
    assert sum(len(st) for st in block.segments[0].spiketrains) == len(rows)


def test_export_bad_inputs_one_line_exit_2(run_file, tmp_path, capsys):
    (tmp_path / "notes.h5").write_text("not hdf5")
    existing = tmp_path / "taken.csv"
    existing.write_text("keep")
    cases = [[str(tmp_path / "notes.h5"), "--to", "csv"], [str(tmp_path / "missing.h5"), "--to", "csv"],
             [str(run_file), "--to", "xlsx", "-o", str(tmp_path / "x.xlsx")],
             [str(run_file), "--to", "nwb", "-o", str(tmp_path / "x.nwb")],
             [str(run_file), "--to", "csv", "-o", str(existing)],
             [str(run_file), "--to", "neo", "--by", "synapse", "-o", str(tmp_path / "y.pkl")]]
    for args in cases:
        before = sorted(tmp_path.iterdir())
        assert main(["export", *args]) == 2, args
        err = _lines(capsys.readouterr().err)
        assert len(err) == 1 and err[0].startswith("lamina: error: "), (args, err)
        assert sorted(tmp_path.iterdir()) == before  # nothing written
    assert existing.read_text() == "keep"


# --- Ctrl-C (item 1) and quiet Dask (item 4): compiled C++ ----------------------------------


def _binary_child(pid: int) -> int | None:
    """The pid of the compiled program ("main") among the children of ``pid``, if it runs."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    for k in kids:
        try:
            if Path(f"/proc/{k}/exe").resolve().name == "main":
                return int(k)
        except OSError:
            continue
    return None


def _running(pid: int, wait_s: float = 5.0) -> bool:
    """Whether ``pid`` still runs after up to ``wait_s`` (gone, or a zombie awaiting its reaper: not)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc")
def test_ctrl_c_during_run_kills_the_program_and_leaves_nothing(cache_dir, tmp_path):
    spec = chain_spec({"name": "sigint", "simulation.duration": "20000 ms", "network.size": 60,
                       "input.t0": "100 ms", "input.alpha": 30})
    (tmp_path / "s.toml").write_text(tomli_w.dumps(spec))
    out = tmp_path / "out"
    env = {**os.environ, "LAMINA_CACHE": str(cache_dir), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lamina.cli", "run", str(tmp_path / "s.toml"), "-o", str(out),
                             "-q", "--figure", "none"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        child, deadline = None, time.monotonic() + 400  # a cold cache compiles first
        while child is None and time.monotonic() < deadline and proc.poll() is None:
            child = _binary_child(proc.pid)
            time.sleep(0.2)
        assert child is not None, "the compiled program never started"
        time.sleep(1.0)  # simulating
        os.kill(proc.pid, signal.SIGINT)  # once, to lamina only (not the whole group, as a terminal would)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert _lines(stderr) == ["lamina: interrupted; nothing was written"] and stdout == ""
    assert not _running(child)  # the program was killed, not left to finish
    assert list(out.iterdir()) == []  # no result, no hidden temporary file
    work = list(cache_dir.glob(f"cpp/*.work/*-{proc.pid}"))
    assert work == []  # the private program copy and its results dir are gone


@pytest.mark.slow
def test_resumed_local_sweep_prints_no_traceback(cache_dir, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from test_sweep import tiny_spec, write_spec

    # the sweep tests' tiny structure (compiled once per session), 4 runs
    spec = write_spec(tmp_path / "tiny.toml", tiny_spec({"input.alpha": [30, 60], "seeds": 2}))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "lamina.cli", "sweep", str(spec), "--workers", "2", "-o", str(out), "-q"]
    env = {**os.environ, "LAMINA_CACHE": str(cache_dir)}
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=400, env=env)
    assert first.returncode == 0, first.stderr
    for f in sorted((out / "runs").glob("*.h5"))[:2]:
        f.unlink()  # as if interrupted: the next invocation resumes
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    for r in (first, again):
        assert "Traceback" not in r.stderr and "ERROR" not in r.stderr, r.stderr
    assert len(list((out / "runs").glob("*.h5"))) == 4
