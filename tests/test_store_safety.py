"""Temporary files of the run, analysis and sweep-index writers: unpredictable, never following a
planted symlink, never publishing one; stale leftovers of killed writers are removed."""
from __future__ import annotations

import os
import stat
import tempfile
import time

import h5py
import pytest

from conftest import chain_spec
import lamina.store.run as store_run
from lamina.cli import main
from lamina.config import experiment_from_dict
from lamina.simulation import simulate
from lamina.store.run import (default_filename, open_run, read_analysis_scalars, remove_stale_tmp, write_analysis,
                              write_run)
from lamina.store.sweep_index import open_sweep, write_index

VICTIM_TEXT = "precious data\n"


@pytest.fixture(scope="module")
def result():
    spec = chain_spec({"simulation.backend": "runtime", "simulation.duration": "40 ms",
                       "network.size": 50, "input.alpha": 30, "input.t0": "20 ms", "input.sigma": "1 ms"})
    return simulate(experiment_from_dict(spec), point={"input.alpha": 30})


@pytest.fixture
def victim(tmp_path):
    v = tmp_path / "elsewhere" / "victim.txt"
    v.parent.mkdir()
    v.write_text(VICTIM_TEXT)
    return v


def _is_regular(p):
    return stat.S_ISREG(os.lstat(p).st_mode)


def _umask():
    m = os.umask(0o022)
    os.umask(m)
    return m


@pytest.fixture
def forced_names(monkeypatch):
    """Make mkstemp try the names "AAAA", "BBBB", ... in turn (to plant a symlink at the next one)."""
    if not hasattr(tempfile, "_get_candidate_names"):
        pytest.skip("tempfile internals changed")
    names = iter(["AAAA", "BBBB", "CCCC", "DDDD"])
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)


def test_write_run_ignores_symlink_at_old_predictable_tmp(result, tmp_path, victim):
    out = tmp_path / "out"
    out.mkdir()
    name = default_filename(result)
    for planted in (f".{name}.{os.getpid()}.tmp", f".{name}.tmp"):
        (out / planted).symlink_to(victim)
    path = write_run(result, out)
    assert path == out / name and _is_regular(path)
    assert victim.read_text() == VICTIM_TEXT
    assert open_run(path).layer_names == ["L0_input", "L1_int", "L2_diff"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()  # not mkstemp's 0600
    # The planted links are left alone (fresh, and not ours to judge), and nothing else remains.
    assert sorted(p.name for p in out.iterdir()) == sorted([name, f".{name}.{os.getpid()}.tmp", f".{name}.tmp"])


def test_write_run_skips_symlink_at_the_random_name(result, tmp_path, victim, forced_names):
    out = tmp_path / "out"
    out.mkdir()
    name = default_filename(result)
    tag = store_run._writer_tag()  # <host>-<pid>: the names are .<name>.<tag>.<random>.tmp
    (out / f".{name}.{tag}.AAAA.tmp").symlink_to(victim)  # mkstemp's first choice is taken by a link
    path = write_run(result, out)
    assert _is_regular(path) and victim.read_text() == VICTIM_TEXT
    assert (out / f".{name}.{tag}.AAAA.tmp").is_symlink()
    assert not (out / f".{name}.{tag}.BBBB.tmp").exists()  # the one it used, removed after publishing


def test_write_run_never_overwrites_a_symlink_at_the_final_name(result, tmp_path, victim):
    out = tmp_path / "out"
    out.mkdir()
    name = default_filename(result)
    (out / name).symlink_to(victim)
    path = write_run(result, out)
    stem, suffix = os.path.splitext(name)
    assert path == out / f"{stem}_1{suffix}" and _is_regular(path)
    assert (out / name).is_symlink() and victim.read_text() == VICTIM_TEXT
    dangling = out / f"{stem}_2{suffix}"
    dangling.symlink_to(tmp_path / "does-not-exist.h5")  # a dangling link is a taken name too
    assert write_run(result, out) == out / f"{stem}_3{suffix}"
    assert not (tmp_path / "does-not-exist.h5").exists()


def test_tmp_swapped_during_write_is_not_published(result, tmp_path, victim, monkeypatch):
    out = tmp_path / "out"
    real_write = store_run._write

    def swap(f, r):
        real_write(f, r)
        tmp = f.filename
        os.unlink(tmp)
        os.symlink(victim, tmp)  # someone replaces our temporary file by a link
    monkeypatch.setattr(store_run, "_write", swap)
    with pytest.raises(OSError, match="replaced"):
        write_run(result, out)
    assert list(out.iterdir()) == [] and victim.read_text() == VICTIM_TEXT


def test_stale_tmp_of_killed_writers_is_removed(result, tmp_path, victim):
    out = tmp_path / "out"
    out.mkdir()
    name = default_filename(result)
    old = time.time() - 600
    stale = [out / f".{name}.4242.tmp", out / f".{name}.x8k2q_z1.tmp", out / f".{name}.4242.analyze.tmp",
             out / ".sweep.h5.4242.tmp"]
    for p in stale:
        p.write_bytes(b"partial")
    stale_link = out / f".other.h5.4343.tmp"
    stale_link.symlink_to(victim)
    fresh = out / f".{name}.abcd1234.tmp"  # a concurrent writer's file: young, kept
    fresh.write_bytes(b"being written")
    foreign = [out / ".notes.tmp", out / f"{name}.tmp", out / ".figure.tmp.png"]  # not a lamina h5 temp: kept
    for p in foreign:
        p.write_bytes(b"x")
    for p in stale + foreign:
        os.utime(p, (old, old))
    os.utime(stale_link, (old, old), follow_symlinks=False)
    write_run(result, out)
    assert not any(p.exists() or p.is_symlink() for p in stale + [stale_link])
    assert fresh.exists() and all(p.exists() for p in foreign)
    assert victim.read_text() == VICTIM_TEXT
    assert remove_stale_tmp(out) == []


def test_write_analysis_tmp_is_safe(result, tmp_path, victim, forced_names):
    path = write_run(result, tmp_path / "out")
    os.chmod(path, 0o640)
    tag = store_run._writer_tag()
    for planted in (f".{path.name}.{os.getpid()}.analyze.tmp", f".{path.name}.{tag}.AAAA.analyze.tmp"):
        (path.parent / planted).symlink_to(victim)
    write_analysis(path, {"L1_int": {"rate_hz": 12.5}}, {"window_ms": 4.0})
    assert _is_regular(path) and victim.read_text() == VICTIM_TEXT
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # permissions kept across the rewrite
    assert read_analysis_scalars(path)["L1_int.rate_hz"] == 12.5
    assert not (path.parent / f".{path.name}.{tag}.BBBB.analyze.tmp").exists()


def _rows(n_ok=2, n_failed=1, n_pending=1):
    rows = []
    statuses = ["ok"] * n_ok + ["failed"] * n_failed + ["pending"] * n_pending
    for k, st in enumerate(statuses):
        alpha = [30, 60, 90, 120][k % 4]
        rows.append({"point_id": f"p{k:04d}", "point": k, "repeat": 0, "values": {"input.alpha": alpha,
                     "input.sigma": f"{k + 1} ms"}, "seed": 100 + k, "status": st,
                     "error": "blew up:\nnon-finite v" if st == "failed" else "",
                     "wall_time_s": 1.5 if st == "ok" else None, "file": f"runs/p{k:04d}.h5" if st == "ok" else "",
                     "structure_key": "abc", "overrides": "{}"})
    return rows


META = {"name": "tiny_sweep", "spec_toml": "", "spec_path": "/somewhere/tiny.toml", "overrides": {},
        "scale": "", "base_seed": 100, "seeds": 1, "seed_mode": "independent", "lamina_version": "test"}


def test_write_index_tmp_is_safe(tmp_path, victim, forced_names):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / f".sweep.h5.{os.getpid()}.tmp").symlink_to(victim)
    tag = store_run._writer_tag()
    (out / f".sweep.h5.{tag}.AAAA.tmp").symlink_to(victim)
    (out / "sweep.h5").symlink_to(victim)  # even the index name itself: the link is replaced, not followed
    final = write_index(out, META, _rows(), ["input.alpha", "input.sigma"])
    assert final == out / "sweep.h5" and _is_regular(final) and victim.read_text() == VICTIM_TEXT
    assert stat.S_IMODE(os.stat(final).st_mode) == 0o666 & ~_umask()
    assert len(open_sweep(out)) == 4
    assert not (out / f".sweep.h5.{tag}.BBBB.tmp").exists()


def test_ensure_writable_dir_leaves_nothing(tmp_path, victim):
    d = tmp_path / "out"
    d.mkdir()
    (d / f".lamina-write-test-{os.getpid()}").symlink_to(victim)
    store_run.ensure_writable_dir(d)
    assert victim.read_text() == VICTIM_TEXT
    assert [p.name for p in d.iterdir()] == [f".lamina-write-test-{os.getpid()}"]


# --- lamina info on both kinds of file -------------------------------------------------------


def test_info_sweep_index(tmp_path, capsys):
    out = tmp_path / "tiny_sweep"
    out.mkdir()
    write_index(out, META, _rows(), ["input.alpha", "input.sigma"])
    for target in (out / "sweep.h5", out):
        assert main(["info", str(target)]) == 0
        text = capsys.readouterr().out
        assert "sweep tiny_sweep" in text and "4 runs (incomplete)" in text
        assert "ok 2" in text and "failed 1" in text and "pending 1" in text
        assert "swept input.alpha: 30, 60, 90, 120" in text
        assert "swept input.sigma: 1, 2, 3, 4 ms" in text
        assert f"runs in {out / 'runs'}" in text and "2 result files" in text
        assert "failed p0002: blew up: non-finite v" in text
        assert "KeyError" not in text


def test_info_empty_sweep_index(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    write_index(out, META, _rows(0, 0, 2), ["input.alpha", "input.sigma"])
    assert main(["info", str(out / "sweep.h5")]) == 0
    text = capsys.readouterr().out
    assert "2 runs (incomplete)" in text and "no result files yet" in text


def test_info_run_file_still_works(result, tmp_path, capsys):
    path = write_run(result, tmp_path)
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "name small" in text and "L1_int" in text


def test_info_rejects_other_files_in_one_line(tmp_path, capsys):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["x"] = 1
    text_file = tmp_path / "notes.h5"
    text_file.write_text("not hdf5")
    for p in (other, text_file, tmp_path / "missing.h5", tmp_path):
        assert main(["info", str(p)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and "result" in err
