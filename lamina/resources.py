"""Where the data shipped with lamina lives: cell cards and experiment specs.

The files are package data under ``lamina/data/`` (``models/*.toml``: cell cards,
``sims/*.toml``: experiment specs), so they travel in a wheel and a non-editable install.
In a source checkout ``models/`` and ``sims/`` at the repository root are symlinks to these
folders, so ``lamina run sims/quickstart.toml`` works from the root and an edit there is seen by
an editable install.

    from lamina import resources
    resources.spec_path("quickstart")      # .../lamina/data/sims/quickstart.toml
    resources.models_dir()                 # .../lamina/data/models
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["data_dir", "models_dir", "sims_dir", "spec_path", "available_specs"]


def data_dir() -> Path:
    """The ``lamina/data`` folder of the imported package, as a real filesystem path.

    lamina is installed as plain files (editable install or an unpacked wheel), never imported
    from a zip, so the traversable of ``importlib.resources`` is a directory on disk.
    """
    return Path(str(files("lamina") / "data"))


def models_dir() -> Path:
    """The shipped cell cards (``<card>.toml``)."""
    return data_dir() / "models"


def sims_dir() -> Path:
    """The shipped experiment specs (``<spec>.toml``)."""
    return data_dir() / "sims"


def available_specs() -> list[str]:
    """Names (without ``.toml``) of the shipped experiment specs."""
    d = sims_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def spec_path(name: str) -> Path:
    """The path of a shipped spec by name: ``"quickstart"`` or ``"quickstart.toml"``.

    Raises ``FileNotFoundError`` (listing the shipped specs) when there is no such spec.
    Only bare names are accepted: a name with a directory part is not a shipped spec.
    """
    if not isinstance(name, str) or not name or Path(name).name != name or name in {".", ".."}:
        raise FileNotFoundError(f"{name!r} is not the name of a shipped spec "
                                f"(shipped: {', '.join(available_specs())})")
    stem = name[:-len(".toml")] if name.endswith(".toml") else name
    path = sims_dir() / f"{stem}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no shipped spec {name!r} in {sims_dir()} "
                                f"(shipped: {', '.join(available_specs())})")
    return path
