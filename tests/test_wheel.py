"""Packaging: the cell cards and shipped specs travel in the wheel, and an installed wheel runs.

The wheel is built from a clean copy of the source tree (so that a stale ``build/`` in the
checkout can neither leak files into it nor be left behind), installed with
``pip install --target`` into a temporary folder and imported from there (``PYTHONPATH``) by this
venv's interpreter: the dependencies come from the venv, ``lamina`` from the wheel.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomli_w

from conftest import chain_spec
from lamina import cells, resources

ROOT = Path(__file__).resolve().parent.parent
# Top-level entries of the checkout that a wheel build does not need (and that may be large).
_SKIP_TOP = {".git", ".venv", "build", "dist", "results", "figures", "docs", ".lamina-cache",
             ".pytest_cache", ".whl", "device_out", "benchmarks", "analysis", "tests"}
_SKIP_ANY = {"__pycache__", ".ipynb_checkpoints"}
_SKIP_SUFFIX = (".pyc", ".nbi", ".nbc", ".egg-info")


# --- fast checks of lamina.resources (no build) ------------------------------------------------

def test_repo_root_folders_are_the_package_data():
    for name in ("models", "sims"):
        assert (ROOT / name).resolve() == (ROOT / "lamina" / "data" / name).resolve()
    assert resources.models_dir().resolve() == (ROOT / "models").resolve()
    assert resources.sims_dir().resolve() == (ROOT / "sims").resolve()
    assert cells.MODELS_DIR == resources.models_dir()
    assert {"prescott", "lif"} <= set(cells.available_cards())


def test_spec_path_by_name():
    p = resources.spec_path("quickstart")
    assert p == resources.spec_path("quickstart.toml") == resources.sims_dir() / "quickstart.toml"
    assert p.is_file()
    assert "quickstart" in resources.available_specs()
    for bad in ("nosuchspec", "sims/quickstart.toml", "", ".."):
        with pytest.raises(FileNotFoundError):
            resources.spec_path(bad)


# --- the wheel ---------------------------------------------------------------------------------

def _ignore(root: str, names: list[str]) -> set[str]:
    top = Path(root).resolve() == ROOT
    return {n for n in names
            if n in _SKIP_ANY or n.endswith(_SKIP_SUFFIX) or (top and n in _SKIP_TOP)}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=_ignore)
    out = work / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)]
    if importlib.util.find_spec("setuptools") is not None:
        cmd.insert(-2, "--no-build-isolation")       # offline-friendly: the venv's setuptools
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = out.glob("lamina-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--no-compile",
                           "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return site


def _run(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LAMINA_MODEL_PATH", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), LAMINA_CACHE=str(cwd / "cache"), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_wheel_holds_cards_and_specs(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"lamina/data/models/prescott.toml", "lamina/data/models/lif.toml"} <= names
        shipped = sorted((ROOT / "sims").glob("*.toml")) + sorted((ROOT / "models").glob("*.toml"))
        assert len(shipped) > 2
        for f in shipped:
            member = f"lamina/data/{f.parent.name}/{f.name}"
            assert member in names, member
            assert z.read(member) == f.read_bytes(), member
        assert "lamina/resources.py" in names


@pytest.mark.slow
def test_installed_wheel_validates_and_runs(installed, tmp_path):
    probe = _run(["-c", "import lamina, lamina.cells as c, lamina.resources as r; "
                        "print(lamina.__file__); print(c.MODELS_DIR); print(r.spec_path('quickstart')); "
                        "print(','.join(c.available_cards()))"], installed, tmp_path)
    assert probe.returncode == 0, probe.stderr
    file, models, quickstart, cards = probe.stdout.split()
    site = installed.resolve()
    for p in (file, models, quickstart):          # lamina, its cards and specs come from the wheel
        assert Path(p).resolve().is_relative_to(site), (p, site)
    assert {"prescott", "lif"} <= set(cards.split(","))

    v = _run(["-m", "lamina.cli", "validate", quickstart], installed, tmp_path)
    assert v.returncode == 0, v.stderr
    assert "7 layers, 7000 neurons" in v.stdout

    spec = chain_spec({"name": "wheel_tiny", "network.layers": ["prescott.input", "prescott.int"],
                       "network.size": 20, "simulation.duration": "30 ms", "simulation.backend": "runtime",
                       "input.alpha": 10, "input.t0": "10 ms"})
    spec_file = tmp_path / "tiny.toml"
    spec_file.write_text(tomli_w.dumps(spec))
    out = tmp_path / "out"
    r = _run(["-m", "lamina.cli", "run", str(spec_file), "--backend", "runtime", "--figure", "none",
              "-q", "-o", str(out)], installed, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(out.rglob("*.h5")), sorted(p.name for p in out.rglob("*"))
