"""``lamina figures profile_search``: the layer-profile search (issue 14, :mod:`lamina.search`).

Panels: the objective over trials (the search's own values, and the fresh-seed re-evaluation of
the best profiles), the best profiles drawn as beta_w per layer, MI vs layer of the best profiles
against the references (Het, reversed, Diff-only, Int-only …: whatever the study re-evaluated on
the same fresh seeds), and the parameter importances (Optuna's PED-ANOVA).

The study directory is ``<results>/profile_search[_<scale>]``; a study that is missing or has
fewer trials than its spec asks for is run (or resumed) first, with ``--workers`` / ``--backend``
(at ``--scale small`` that is 30 trials of 90 runs of 13 × 200 neurons: hours on 2 cores; run
``lamina search sims/profile_search.toml --scale small`` first to watch it).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import style as plots
from .context import Context, finish_figure

__all__ = ["profile_search", "study_dir"]

SPEC = "profile_search"
#: reference names of lamina.search -> the labels and colours of the other figures
REFERENCE_LABELS = {"het": "Het", "reversed": "Reversed Het", "diff": "Diff-only", "int": "Int-only",
                    "mid7": "β_w −7 mV", "mid10": "β_w −10 mV", "mid12": "β_w −12 mV"}


def study_dir(ctx: Context, name: str = SPEC) -> Path:
    """Where the study of ``sims/<name>.toml`` at ``ctx.scale`` lives (the results layout)."""
    return ctx.results / (name if ctx.scale == "paper" else f"{name}_{ctx.scale}")


def _ensure_study(ctx: Context, name: str = SPEC) -> Path:
    from ..search import load_search
    from ..search.study import REEVALUATION, run_study

    out = study_dir(ctx, name)
    spec_path = ctx.spec(name)
    spec = load_search(spec_path, scale=None if ctx.scale == "paper" else ctx.scale)
    done = 0
    if (out / "study.journal").is_file():
        from optuna.trial import TrialState

        from ..search.study import load_study

        done = sum(t.state == TrialState.COMPLETE for t in load_study(out, spec.name).get_trials(deepcopy=False))
    if done < spec.trials or not (out / REEVALUATION).is_file():
        ctx.log(f"lamina: profile_search: {done} of {spec.trials} trials in {out}; running the study")
        run_study(spec, out, workers=ctx.workers, backend=ctx.backend, spec_text=spec_path.read_text(),
                  log=ctx.log)
    return out


def _paired(a: dict, b: dict) -> tuple[float, float]:
    """Last-layer MI(a) − MI(b) and its 95 % CI half-width (jackknife over the common seeds)."""
    from ..analysis.strength import MIN_GROUPS, jackknife_half

    la, lb = a["per_layer"][-1], b["per_layer"][-1]
    d = a["mi"] - b["mi"]
    if a["seeds"] != b["seeds"] or None in la.get("loo", [None]) or None in lb.get("loo", [None]):
        return d, float("nan")
    return d, jackknife_half(np.asarray(la["loo"]) - np.asarray(lb["loo"]), min_groups=MIN_GROUPS)


def profile_search(ctx: Context) -> list[Path]:
    """The layer-profile search figure (see the module docstring); returns the files written."""
    from optuna.trial import TrialState

    from ..search.study import REEVALUATION, load_study

    plt = plots.plt()
    out = _ensure_study(ctx)
    study = load_study(out)
    trials = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    re = json.loads((out / REEVALUATION).read_text())
    rows = re["rows"]
    best = [r for r in rows if r["kind"] == "searched"]
    refs = [r for r in rows if r["kind"] == "reference"]
    fig, axes = plt.subplots(2, 2, figsize=(7.5, 5.2))
    ax = axes[0, 0]
    num = np.array([t.number for t in trials])
    val = np.array([t.value for t in trials])
    ax.plot(num, val, "o", ms=2, color="0.6", label="trial (search seeds)")
    order = np.argsort(num)
    ax.plot(num[order], np.maximum.accumulate(val[order]), color="k", lw=0.9, label="best so far (biased up)")
    for r in best:
        ax.errorbar([r["trials"][0]], [r["mi"]], yerr=[[r["half"] or 0], [r["half"] or 0]], marker="D", ms=4,
                    color="tab:orange", capsize=2, lw=0.9)
    for r in refs:
        c = plots.NETWORK_COLORS.get(REFERENCE_LABELS.get(r["label"], ""), "k")
        ax.axhline(r["mi"], color=c, lw=0.7, ls="--")
    ax.set_xlabel("trial")
    ax.set_ylabel("MI(strength; last layer) (bits)")
    ax.legend(frameon=False, fontsize=5.5)
    ax = axes[0, 1]
    depth = len(best[0]["beta_w"]) if best else (len(refs[0]["beta_w"]) if refs else 0)
    z = np.arange(1, depth + 1)
    colors = plt.cm.autumn(np.linspace(0, 0.7, max(len(best), 1)))
    for r, c in zip(best, colors):
        ax.plot(z, r["beta_w"], marker="o", ms=3, lw=1.0, color=c, label=f"{r['label']} (trial {r['trials'][0]})")
    het = next((r for r in refs if r["label"] == "het"), None)
    if het is not None:
        ax.plot(z, het["beta_w"], color=plots.NETWORK_COLORS["Het"], lw=0.8, ls=":", label="Het")
    ax.set_xlabel("hidden layer z")
    ax.set_ylabel("β_w (mV)")
    ax.legend(frameon=False, fontsize=5.5)
    ax = axes[1, 0]
    for r, c in zip(best, colors):
        _mi_vs_layer(ax, r, c, r["label"])
    for r in refs:
        lab = REFERENCE_LABELS.get(r["label"], r["label"])
        _mi_vs_layer(ax, r, plots.NETWORK_COLORS.get(lab, "k"), lab)
    ax.set_xlabel("layer (0 = input)")
    ax.set_ylabel("MI(strength; packet) (bits), fresh seeds")
    ax.set_ylim(bottom=0.0)
    ax.legend(frameon=False, fontsize=5.5)
    ax = axes[1, 1]
    imp = _importances(study)
    if imp:
        names = list(imp)[:12]
        ax.barh(range(len(names))[::-1], [imp[n] for n in names], color="0.4")
        ax.set_yticks(range(len(names))[::-1], names, fontsize=6)
        ax.set_xlabel("importance (PED-ANOVA)")
    else:
        ax.text(0.5, 0.5, "importances: too few trials", ha="center", va="center", transform=ax.transAxes, fontsize=7)
        ax.set_axis_off()
    n_fresh = re["n_fresh_seeds"]
    lines = [f"profile_search — {len(trials)} completed trials ({study.user_attrs.get('family', '?')} family, "
             f"{depth} hidden layers). Objective: bias-corrected MI (quadratic extrapolation) between the input strength "
             f"and the last layer's packet {re['response']}; top left: each trial's value on the search seeds and the "
             "running best (a maximum over trials, biased upward: not reported); diamonds: the best profiles "
             f"re-evaluated on {n_fresh} fresh seeds the search never used (95 % CI, jackknife over seeds); dashed: the "
             "references on the same fresh seeds. Bottom left: MI vs layer on the fresh seeds. Bottom right: "
             "Optuna's PED-ANOVA parameter importances over the search's trials.",
             f"  Fresh seeds ({n_fresh}), last layer MI, bits:"]
    for r in rows:
        half = f"± {r['half']:.2f}" if r.get("half") is not None else "(no CI)"
        lab = r["label"] if r["kind"] == "searched" else REFERENCE_LABELS.get(r["label"], r["label"])
        beta = " ".join(f"{b:.1f}" for b in r["beta_w"])
        extra = f"; search value {r['search_value']:.2f} (trial {r['trials'][0]})" if r["kind"] == "searched" else ""
        lines.append(f"    {lab}: {r['mi']:.2f} {half}{extra}; β_w [{beta}] mV")
    if het is not None:
        for r in best:
            d, h = _paired(r, het)
            ci = f"± {h:.2f}" if np.isfinite(h) else "(no CI)"
            lines.append(f"    {r['label']} − Het: {d:+.2f} {ci} bits (paired by seed)")
    return finish_figure(ctx, fig, "profile_search", "Layer-profile search: β_w per layer for information "
                         "about the packet strength", lines, f"Spec: sims/{SPEC}.toml ({ctx.scale} scale); study: {out}.")


def _mi_vs_layer(ax, row: dict, color, label: str) -> None:
    """MI per layer with its CI; negative bias-corrected values are drawn at 0 (open markers)."""
    pl = row["per_layer"]
    z = np.array([r["layer"] for r in pl])
    mi = np.array([r["mi"] for r in pl], dtype=float)
    half = np.array([r["half"] if r["half"] is not None else 0.0 for r in pl], dtype=float)
    shown = np.maximum(mi, 0.0)
    ax.errorbar(z, shown, yerr=[np.minimum(half, shown), np.maximum(mi + half - shown, 0.0)], marker="o", ms=2.5,
                lw=0.9, capsize=1.2, color=color, label=label)
    neg = mi < 0
    if neg.any():
        ax.plot(z[neg], np.zeros(neg.sum()), "o", ms=3, mfc="w", mec=color, zorder=3)


def _importances(study) -> dict[str, float]:
    """PED-ANOVA importances (empty with fewer than 4 completed trials or on any failure: the panel
    says so instead)."""
    from optuna.trial import TrialState

    if sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)) < 4:
        return {}
    try:
        import optuna

        return dict(optuna.importance.get_param_importances(study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()))
    except Exception:  # noqa: BLE001 — a figure panel, not a result
        return {}
