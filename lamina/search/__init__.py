"""Layer-profile search (``lamina search``, issue 14): which sequence of intrinsic properties
(beta_w per hidden layer) carries the most information about a pulse packet's strength through a
deep feedforward network?

An Optuna study (TPE or CMA-ES, journal storage in the study directory: resumable after a kill)
proposes profiles; each is evaluated by ordinary lamina runs (N strengths × M seeds, batched where
the backend gains) and scored by the bias-corrected MI of :mod:`lamina.analysis.strength`; the best
profiles are re-evaluated on fresh seeds, with Het, Diff-only, Int-only … as references.

::

    from lamina.search import load_search, run_study
    spec = load_search("sims/profile_search.toml", scale="small")
    report = run_study(spec, "results/profile_search_small", trials=20)

See docs/search.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .evaluate import Evaluation, Simulator
from .spec import Profile, ProfileFamily, SearchSpec, parse_search
from .study import StudyReport, load_study, run_study

__all__ = ["Evaluation", "Profile", "ProfileFamily", "SearchSpec", "Simulator", "StudyReport", "load_search",
           "load_study", "parse_search", "run_study", "default_output"]


def load_search(path: str | Path, overrides: Mapping[str, Any] | None = None, scale: str | None = None) -> SearchSpec:
    """Read a search spec: apply a scale (``[scales.<name>]``, dotted paths, ``search.*`` included)
    and overrides, validate the ``[search]`` table and the experiment a trial runs (the template
    network with its own cells, one strength: every problem a one-line ConfigError).

    Parameters
    ----------
    path : path
        The spec file.
    overrides : mapping, optional
        Dotted-path overrides (``{"search.trials": 5}``).
    scale : str, optional
        A scale of the spec (``small``); ``paper`` or None: as written.

    Returns
    -------
    SearchSpec
    """
    from ..config import apply_overrides, apply_scale, experiment_from_dict, read_toml
    from .layers import anchors, hidden_layers

    raw = read_toml(path)
    raw = apply_scale(raw, scale if scale not in (None, "paper") else None)
    raw = apply_overrides(raw, dict(overrides or {}))
    spec = parse_search(raw)
    # The experiment itself must be valid: check the template (its own cells) and one trial's network.
    probe = {**{k: v for k, v in spec.base.items()}, "input": {**spec.base["input"], "alpha": spec.strengths[-1]}}
    experiment_from_dict(probe)
    anchors(spec)
    mid = spec.family.profile({k: (lo + hi) / 2 if not integer else int(lo) for k, (lo, hi, integer)
                               in spec.family.ranges.items()})
    probe["network"] = {**probe["network"], "layers": [probe["network"]["layers"][0]] + hidden_layers(spec, mid)}
    experiment_from_dict(probe)
    return spec


def default_output(spec: SearchSpec, scale: str | None = None) -> Path:
    """``results/<name>`` (``results/<name>_<scale>`` at a named scale other than paper)."""
    return Path("results") / (spec.name if scale in (None, "paper") else f"{spec.name}_{scale}")
