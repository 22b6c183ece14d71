"""The numba cache of lamina.analysis is invalidated as a whole when any of its sources changes."""
from __future__ import annotations

import shutil
from pathlib import Path

import lamina.analysis
from lamina.analysis import _cache, _kdtree

PACKAGE = Path(lamina.analysis.__file__).parent


def test_stale_cache_is_purged_and_stamped(tmp_path):
    (tmp_path / "ksg._kth_distances-50.py312.nbi").write_text("index")
    (tmp_path / "ksg._kth_distances-50.py312.1.nbc").write_text("data")
    (tmp_path / "keep.txt").write_text("not numba's")
    assert _cache.purge_if_stale(tmp_path, "new") is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", _cache.STAMP]
    assert (tmp_path / _cache.STAMP).read_text() == "new"
    # a cache filled under the current stamp is kept
    (tmp_path / "f.nbi").write_text("index")
    assert _cache.purge_if_stale(tmp_path, "new") is False
    assert (tmp_path / "f.nbi").exists()
    # a change of any source file changes the stamp
    assert _cache.purge_if_stale(tmp_path, "newer") is True
    assert not (tmp_path / "f.nbi").exists()


def test_digest_covers_every_source_file(tmp_path):
    copy = tmp_path / "analysis"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = _cache.sources_digest(copy)
    assert before == _cache.sources_digest(PACKAGE)
    helper = copy / "_kdtree.py"  # a module whose helpers other modules' kernels inline
    helper.write_text(helper.read_text() + "\n# edited\n")
    assert _cache.sources_digest(copy) != before


def test_package_cache_directory_is_stamped_on_import():
    cache_dir = Path(_kdtree.build_forest._cache._cache_path)
    assert (cache_dir / _cache.STAMP).read_text() == _cache.sources_digest(PACKAGE)


def test_cold_cache_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "cache_dir", tmp_path)
    assert _cache.is_cold()
    (tmp_path / "ksg._psi_table-72.py312.nbi").write_text("index")
    assert not _cache.is_cold()


def test_digest_ignores_editor_lock_files(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = _cache.sources_digest(tmp_path)
    (tmp_path / ".#a.py").symlink_to(tmp_path / "missing")  # what Emacs leaves while editing
    assert _cache.sources_digest(tmp_path) == before
