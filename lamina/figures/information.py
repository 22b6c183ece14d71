"""Information recipes of ``lamina figures``: how much each layer tells about the input.

* ``info_strength`` / ``sensitivity``: mutual information between the strength of a pulse packet
  (8 equiprobable input sizes) and each layer's packet readout (size; latency), bias-corrected,
  with a shuffle null and a jackknife-over-seeds confidence interval.
* ``ou_ffn`` / ``figA4``: MI (GCMI, KSG) and coherence information rate between a common OU input
  current and each layer's population rate.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from ..analysis import readout as _readout
from ..analysis.stats import MIN_N_T, format_mean_ci, mean_ci
from ..analysis.strength import (MIN_GROUPS, N_NULL, TRIALS_PER_CELL, jackknife_half, strength_decoder_mi,
                                 strength_mi, strength_mi_joint)
from ..analysis.transfer import layer_transfer_mi
from . import style as plots
from .context import Context, Run, dump_rows, ensure_runs, finish_figure
from .labels import deep_network_label, fly_label
from .packets import packet_rows, rows_to_frame

def strength_table(df, by: list[str], n_null: int = N_NULL, extra: bool = False) -> list[dict]:
    """``strength_mi`` of packet size and of latency per group of ``by`` columns and layer.

    With ``extra``, also ``joint`` (:func:`~lamina.analysis.strength.strength_mi_joint` of
    (size, latency)) and ``decoder`` (:func:`~lamina.analysis.strength.strength_decoder_mi` on
    (size, latency), dead trials' latency a code of its own)."""
    out = []
    for key, d in df.groupby(by + ["layer"], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by + ["layer"], key))
        g = d.seed.to_numpy()
        s = d.input_alpha.to_numpy()
        alive = d.alive.to_numpy()
        row["size"] = strength_mi(s, d.packet_size_frac.to_numpy(), g, n_null=n_null)
        row["latency"] = strength_mi(s, d.packet_latency_ms.to_numpy(), g, alive=alive, n_null=n_null)
        if extra:
            lat = np.where(alive, d.packet_latency_ms.to_numpy(), np.nan)
            row["joint"] = strength_mi_joint(s, d.packet_size_frac.to_numpy(), lat, g, alive=alive, n_null=n_null)
            row["decoder"] = strength_decoder_mi(s, np.column_stack([d.packet_size_frac.to_numpy(), lat]), g)
        row["n_trials"] = len(d)
        row["n_strengths"] = int(d.input_alpha.nunique())
        out.append(row)
    return out


def transfer_table(df, by: list[str]) -> dict:
    """MI (bits, KSG) between consecutive layers' packet sizes across trials (seeds × strengths).

    Returns
    -------
    dict
        group key (tuple of ``by`` values) -> array over layers z = 1 … L of MI(layer z-1; z).
    """
    out = {}
    for key, d in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        wide = d.pivot_table(index=["seed", "input_alpha"], columns="layer", values="packet_size_frac")
        out[key] = layer_transfer_mi(wide.to_numpy(), estimator="ksg")
    return out


def _paired_difference(a: dict, b: dict) -> tuple[float, float]:
    """MI(a) - MI(b) and its jackknife CI half-width, paired by seed (common seeds; nan with fewer
    than MIN_GROUPS seeds)."""
    if a["loo"].size != b["loo"].size:
        return a["mi"] - b["mi"], float("nan")
    return a["mi"] - b["mi"], jackknife_half(a["loo"] - b["loo"], min_groups=MIN_GROUPS)


def _layer_rows(table: list[dict], group: str, name: str) -> list[dict]:
    """The strength_table rows of one group, in layer order."""
    return sorted((r for r in table if r[group] == name), key=lambda r: r["layer"])


def _mi_lines(table: list[dict], group: str, names: list[str]) -> list[str]:
    lines = []
    for name in names:
        rows = _layer_rows(table, group, name)
        last = rows[-1]
        lines.append(f"  {name}: MI(strength; size) per layer, bits: " + " ".join(f"{r['size']['mi']:.2f}" for r in rows))
        lines.append("      MI(strength; latency) per layer, bits: " + " ".join(f"{r['latency']['mi']:.2f}" for r in rows))
        if "joint" in last:
            lines.append("      MI(strength; size, latency) per layer, bits: "
                         + " ".join(f"{r['joint']['mi']:.2f}" for r in rows))
            lines.append("      decoder (naive Bayes on size, latency; leave-one-seed-out) per layer: MI of the "
                         "confusion " + " ".join(f"{r['decoder']['mi']:.2f}" for r in rows) + " bits, accuracy "
                         + " ".join(f"{r['decoder']['accuracy']:.2f}" for r in rows)
                         + f" (chance {last['decoder']['chance']:.2f})")
        for what in ("size", "latency") + (("joint",) if "joint" in last else ()):
            m = last[what]
            half = f"± {m['half']:.2f}" if np.isfinite(m["half"]) else f"(no CI: fewer than {MIN_GROUPS} seeds)"
            regime = "" if m["qe_ok"] else f", below {TRIALS_PER_CELL} trials per cell: QE unchecked there"
            lines.append(f"      last layer, {what}: {m['mi']:.2f} {half} bits (plug-in {m['plugin']:.2f}, "
                         f"PT {m['pt']:.2f}; shuffle null 95th pct {m['null95']:.2f}, p = {m['p']:.3f}; "
                         f"{m['trials_per_cell']:.1f} trials per cell{regime})")
    return lines


def _plot_mi(ax, table: list[dict], group: str, name: str, what: str, key: str = "mi", **kw) -> None:
    """MI per layer with its CI; a negative bias-corrected estimate is not information: it is
    drawn at 0 as an open marker (its CI's lower end clipped at 0 too)."""
    rows = _layer_rows(table, group, name)
    z = np.array([r["layer"] for r in rows])
    mi = np.array([r[what][key] for r in rows], dtype=float)
    half = np.array([np.nan_to_num(r[what].get("half", np.nan)) for r in rows])
    shown = np.maximum(mi, 0.0)
    lower = np.minimum(half, shown)
    upper = np.maximum(mi + half - shown, 0.0)
    color = kw.pop("color", "k")
    ax.errorbar(z, shown, yerr=[lower, upper], marker="o", ms=2.5, lw=0.9, capsize=1.2, color=color, **kw)
    neg = mi < 0
    if neg.any():
        ax.plot(z[neg], np.zeros(neg.sum()), "o", ms=3, mfc="w", mec=color, zorder=3)


def _finish(ctx: Context, fig, fig_id: str, title: str, lines: list[str], spec: str) -> list[Path]:
    return finish_figure(ctx, fig, fig_id, title, lines, f"Spec: sims/{spec}.toml ({ctx.scale} scale).")


# ---------------------------------------------------------------------------------------------
# info_strength


def info_strength(ctx: Context) -> list[Path]:
    """MI(strength; size / latency) vs layer for every network; the per-run packet readout is
    written next to the figure as info_strength_packets.jsonl (one JSON object per run and layer)."""
    plt = plots.plt()
    runs = ensure_runs(ctx, "info_strength", "info_strength")
    rows = packet_rows(runs)
    dump_rows(rows, ctx.out / "info_strength_packets.jsonl")
    df = rows_to_frame(rows)
    nets = list(dict.fromkeys(r.network for r in runs))
    table = strength_table(df, ["network"], extra=True)
    transfer = transfer_table(df, ["network"])
    fig, axes2 = plt.subplots(2, 3, figsize=(7.5, 4.6))
    axes = axes2.ravel()
    for net in nets:
        c = plots.NETWORK_COLORS.get(net, "k")
        for ax, what in zip(axes[:3], ("size", "latency", "joint")):
            _plot_mi(ax, table, "network", net, what, color=c, label=net)
        _plot_mi(axes[3], table, "network", net, "decoder", color=c, label=net)
        t = transfer[(net,)]
        axes[4].plot(np.arange(1, t.size + 1), np.maximum(t, 0.0), marker="o", ms=2.5, lw=0.9, color=c, label=net)
    n_s = table[0]["n_strengths"]
    n_b = table[0]["size"]["n_bins"]
    # The most each code can carry: latency has one more code ("no packet") than size.
    ceiling = {"size": np.log2(min(n_s, n_b)), "latency": np.log2(min(n_s, n_b + 1)),
               "joint": np.log2(min(n_s, (table[0]["joint"]["n_bins"][0]) * (table[0]["joint"]["n_bins"][1] + 1))),
               "decoder": np.log2(n_s)}
    layers = sorted({r["layer"] for r in table})
    for ax, what, lab in zip(axes[:4], ("size", "latency", "joint", "decoder"),
                             ("packet size", "latency", "size, latency", "decoded")):
        if what != "decoder":
            ax.plot(layers, [max(r[what]["null95"] for r in table if r["layer"] == z) for z in layers],
                    ls="--", color="0.5", lw=0.8, label="shuffle null, 95th pct")
        ax.axhline(ceiling[what], color="0.7", lw=0.6, ls=":")
        ax.set_xlabel("layer (0 = input)")
        ax.set_ylabel(f"MI(strength; {lab}) (bits)")
        ax.set_ylim(bottom=0.0)
    axes[4].set_xlabel("layer z")
    axes[4].set_ylabel("MI(size z−1; size z) (bits)")
    axes[4].set_ylim(bottom=0.0)
    last = df.layer.max()
    ax = axes[5]
    for net in nets:
        d = df[(df.network == net) & (df.layer == last)]
        xs = sorted(d.input_alpha_frac.unique())
        m = [mean_ci(d[d.input_alpha_frac == x].packet_size_frac, method="bootstrap") for x in xs]
        ax.errorbar(xs, [a for a, _, _, _ in m], yerr=[[np.nan_to_num(a - lo) for a, lo, _, _ in m],
                                                        [np.nan_to_num(hi - a) for a, _, hi, _ in m]],
                    marker="o", ms=2.5, lw=0.9, capsize=1.2, color=plots.NETWORK_COLORS.get(net, "k"))
    ax.set_xlabel("input α (fraction of layer 0)")
    ax.set_ylabel(f"layer {last} packet size (fraction)")
    axes[0].legend(frameon=False, fontsize=5.5)
    n_seeds = df.seed.nunique()
    tpc = min(r[w]["trials_per_cell"] for r in table for w in ("size", "latency", "joint"))
    lines = [f"info_strength — {n_s} input strengths (pulse packets, σ = {df.input_sigma_ms.iloc[0]:g} ms) × {n_seeds} seeds "
             "per network. Per layer: MI between the strength and the layer's packet size (baseline-subtracted "
             f"fraction of the layer) or latency, on {n_b} equal-population response bins ({TRIALS_PER_CELL}+ trials "
             "per strength and bin; latency: alive packets only, 'no packet' as one more bin), quadratic-extrapolation "
             f"bias correction; error bars: 95 % CI, jackknife over seeds (none with fewer than {MIN_GROUPS} seeds); "
             f"dashed: 95th percentile of a {N_NULL}-shuffle "
             f"null (largest over networks); dotted: the most these codes can hold, {ceiling['size']:.2f} bits for size "
             f"and {ceiling['latency']:.2f} for latency. Top right: the joint (size, latency) code "
             f"({table[0]['joint']['n_bins'][0]} size × {table[0]['joint']['n_bins'][1]} latency bins + 'no packet'). "
             "Bottom left: a decoder estimate with no bin ceiling (Gaussian naive Bayes on size and latency, "
             "leave-one-seed-out; MI of the confusion matrix, QE-corrected, a lower bound up to its own sampling "
             f"error; dotted: log2 {n_s}). Bottom middle: MI between consecutive layers' packet sizes across trials "
             "(seeds × strengths; KSG, k = 3) — where information is lost, layer by layer. Negative bias-corrected "
             "estimates are not information: drawn at 0 as open markers. Smallest trials per (strength, response) "
             f"cell: {tpc:.1f} (the QE correction was checked at ≥ {TRIALS_PER_CELL}). Bottom right: last-layer packet "
             "size vs input strength (mean, 95 % bootstrap CI over seeds; none with fewer than 5)."]
    lines += _mi_lines(table, "network", nets)
    for net in nets:
        lines.append(f"  {net}: MI(size z−1; size z) for z = 1 … {last}, bits: "
                     + " ".join(f"{v:.2f}" for v in transfer[(net,)]))
    ref = next((n for n in nets if n == "Het"), None)
    if ref is not None:
        lines.append(f"  Het minus each network at layer {last} (paired jackknife over seeds, 95 % CI), bits:")
        het = next(r for r in table if r["network"] == ref and r["layer"] == last)
        for net in nets:
            if net == ref:
                continue
            other = next(r for r in table if r["network"] == net and r["layer"] == last)
            ds, hs = _paired_difference(het["size"], other["size"])
            dl, hl = _paired_difference(het["latency"], other["latency"])
            lines.append(f"    vs {net}: size {ds:+.2f} ± {hs:.2f}, latency {dl:+.2f} ± {hl:.2f}")
    return _finish(ctx, fig, "info_strength", "Information about the input strength, per layer", lines,
                   "info_strength")


# ---------------------------------------------------------------------------------------------
# sensitivity


def _leading_number(v) -> float:
    """'345 uS/cm**2' → 345.0; {uniform = ['38 uA/cm**2', …]} → 38.0; 0.5 → 0.5."""
    if isinstance(v, dict):
        v = next(iter(v.values()))[0]
    return float(str(v).split()[0])


def condition_label(values: dict, nominal: dict) -> str:
    """'nominal', or 'g_syn × 0.8' / 'sigma_noise × 1.2': the factor of each parameter that
    differs from the nominal (first) condition, named by the parameter (not the cell)."""
    parts = {}
    for k, v in values.items():
        if v != nominal.get(k):
            ratio = _leading_number(v) / _leading_number(nominal[k])
            parts[k.rsplit(".", 1)[-1]] = f"{k.rsplit('.', 1)[-1]} × {ratio:.2g}"
    return ", ".join(parts.values()) or "nominal"


def sensitivity(ctx: Context) -> list[Path]:
    plt = plots.plt()
    runs = ensure_runs(ctx, "sensitivity", "sensitivity")
    rows = packet_rows(runs)
    contexts = list(dict.fromkeys(r.pair_key[2] for r in runs))
    nominal = json.loads(contexts[0])
    label = {c: condition_label(json.loads(c), nominal) for c in contexts}
    for row in rows:
        row["condition"] = label[row["context"]]
    dump_rows(rows, ctx.out / "sensitivity_packets.jsonl")
    df = rows_to_frame(rows)
    nets = list(dict.fromkeys(r.network for r in runs))
    conds = [label[c] for c in contexts]
    table = strength_table(df, ["condition", "network"], n_null=100)
    fig, axes = plt.subplots(1, len(conds), figsize=(7.5, 2.3), sharey=True, squeeze=False)
    last = df.layer.max()
    lines = [f"sensitivity — MI(strength; packet size) per layer (as info_strength: {table[0]['n_strengths']} strengths "
             f"× {df.seed.nunique()} seeds, {table[0]['size']['n_bins']} bins, QE bias correction, 95 % CI by jackknife over seeds) "
             "under one-at-a-time ±20 % changes of every Int and Diff layer's synaptic conductance g_syn or "
             "noise SD sigma_noise."]
    for ax, cond in zip(axes[0], conds):
        sub = [r for r in table if r["condition"] == cond]
        for net in nets:
            _plot_mi(ax, sub, "network", net, "size", color=plots.NETWORK_COLORS.get(net, "k"), label=net)
        ax.set_title(cond, fontsize=7)
        ax.set_xlabel("layer")
        lines.append(f"  {cond}:")
        at_last = {r["network"]: r["size"] for r in sub if r["layer"] == last}
        lines.append("    layer " + str(last) + ": " + ", ".join(
            f"{n} {at_last[n]['mi']:.2f} ± {at_last[n]['half']:.2f}" for n in nets if n in at_last) + " bits")
        if "Het" in at_last:
            lines.append("    Het minus " + ", ".join(
                "{} {:+.2f} ± {:.2f}".format(n, *_paired_difference(at_last["Het"], at_last[n]))
                for n in nets if n != "Het" and n in at_last) + " bits (paired jackknife)")
    axes[0, 0].set_ylabel("MI(strength; size) (bits)")
    axes[0, 0].legend(frameon=False, fontsize=5.5)
    return _finish(ctx, fig, "sensitivity", "Sensitivity of the information about input strength to ±20 % "
                   "g_syn and noise", lines, "sensitivity")


# ---------------------------------------------------------------------------------------------
# ou_ffn, figA4: information about a time-varying input current

# The settings of every OU measure are lamina analyze's (lamina.analysis.readout), so that a
# caption prints the numbers stored in each run's /analysis group.
SKIP_MS = _readout.SKIP_MS  # initial transient left out of every OU analysis
BIN_MS = _readout.MI_BIN_MS


def _ou_signals(r: Run) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """(input current at BIN_MS, {layer: population rate Hz at BIN_MS}, bin s), first SKIP_MS
    dropped: :func:`lamina.analysis.readout.continuous_signals` of the run's chain."""
    return _readout.continuous_signals(r.data.stimulus, r.data.spikes, r.chain)


OU_KEYS = ("mi_gcmi_bits", "mi_ksg_bits", "info_rate_bits_s", "best_lag_ms", "rate_hz", "transfer_te_bits",
           "transfer_te_lag_ms")


def ou_table(runs: list[Run]) -> dict[str, dict[int, dict[str, list[float]]]]:
    """The per-layer numbers the OU figures print, read from each run's ``/analysis``.

    Parameters
    ----------
    runs : list of Run
        Analysed OU-driven runs.

    Returns
    -------
    dict
        network -> layer index -> name (:data:`OU_KEYS`) -> one value per run (seed), in run order.
    """
    table: dict[str, dict[int, dict[str, list[float]]]] = {}
    for r in runs:
        for z, l in enumerate(r.chain):
            d = table.setdefault(r.network, {}).setdefault(z, {k: [] for k in OU_KEYS})
            for k in OU_KEYS:
                d[k].append(float(r.data.analysis[l["name"]].get(k, float("nan"))))
    return table


def _ou_information(ctx: Context, fig_id: str, spec: str, label: Callable[[list[str]], str], title: str) -> list[Path]:
    plt = plots.plt()
    runs = ensure_runs(ctx, fig_id, spec, network_label=label)
    nets = list(dict.fromkeys(r.network for r in runs))
    table = ou_table(runs)
    names = [l["name"] for l in runs[-1].chain]
    a0 = runs[0].data.analysis
    fig, axes2 = plt.subplots(2, 3, figsize=(7.5, 4.4))
    axes = axes2.ravel()
    has_te = any(np.isfinite(v) for net in table.values() for d in net.values() for v in d["transfer_te_bits"])
    lines = [f"{fig_id} — {title}; per layer ({BIN_MS:g} ms bins, first {SKIP_MS:g} ms dropped): Gaussian-copula "
             f"and KSG MI between the input current and the layer's population rate at the best lag "
             f"(0–{float(a0['max_lag_ms']):g} ms), coherence information rate (Welch segments of "
             f"{int(a0['coherence_nperseg'])} bins) minus its bias (the mean rate of 20 circularly shifted responses), "
             "mean rate; mean ± 95 % CI over seeds (t; no CI with fewer than "
             f"{MIN_N_T} seeds, the range instead). Numbers as stored by `lamina analyze` in each run's /analysis."]
    if has_te:
        lines.append(f"  Transfer (top right): transfer entropy from layer z−1's rate into layer z's (layer 0: from the input "
                     f"current), KSG (k = {int(a0.get('transfer_k', 4))}), target history 1 bin, maximised over source lags "
                     f"1–{float(a0.get('transfer_max_lag_ms', 10)):g} ms, minus the mean of "
                     f"{int(a0.get('transfer_n_shifts', 5))} circularly shifted surrogates maximised the same way; next "
                     "to the input → layer MI it shows where information is lost, layer by layer. Negative values "
                     "(no transfer above the null) are drawn at 0 as open markers.")
    panels = (("mi_gcmi_bits", "MI input; layer (GCMI, bits)"), ("mi_ksg_bits", "MI input; layer (KSG, bits)"),
              ("transfer_te_bits", "TE layer z−1 → z (bits)"), ("info_rate_bits_s", "info rate (bits/s)"),
              ("best_lag_ms", "best lag (ms)"), ("rate_hz", "rate (Hz)"))
    for net in nets:
        zs = sorted(table[net])
        c = plots.NETWORK_COLORS.get(net, "k")
        lines.append(f"  {net}:")
        for ax, (k, lab) in zip(axes, panels):
            m = [mean_ci(table[net][z][k]) for z in zs]
            mean = np.array([a for a, _, _, _ in m])
            half = np.array([np.nan_to_num((hi - lo) / 2) for _, lo, hi, _ in m])
            if k in ("mi_gcmi_bits", "mi_ksg_bits", "transfer_te_bits"):
                shown = np.maximum(mean, 0.0)
                ax.errorbar(zs, shown, yerr=[np.minimum(half, shown), np.maximum(mean + half - shown, 0)],
                            color=c, marker="o", ms=3, lw=0.9, capsize=1.5, label=net)
                neg = mean < 0
                if neg.any():
                    ax.plot(np.asarray(zs)[neg], np.zeros(neg.sum()), "o", ms=3.5, mfc="w", mec=c, zorder=3)
                ax.set_ylim(bottom=0.0)
            else:
                ax.errorbar(zs, mean, yerr=half, color=c, marker="o", ms=3, lw=0.9, capsize=1.5, label=net)
            ax.set_ylabel(lab)
        for z in zs:
            d = table[net][z]
            te = (f", TE(z−1 → z) {format_mean_ci(d['transfer_te_bits'], 3, 'bits')} at lag "
                  f"{format_mean_ci(d['transfer_te_lag_ms'], 1, 'ms')}" if has_te else "")
            lines.append(f"    layer {z}: GCMI {format_mean_ci(d['mi_gcmi_bits'], 3, 'bits')}, KSG "
                         f"{format_mean_ci(d['mi_ksg_bits'], 3, 'bits')}, info rate {format_mean_ci(d['info_rate_bits_s'], 1, 'bits/s')}, "
                         f"lag {format_mean_ci(d['best_lag_ms'], 1, 'ms')}, rate {format_mean_ci(d['rate_hz'], 1, 'Hz')}{te}")
    for ax in axes:
        if len(names) <= 4:  # named layers (fly pathway)
            ax.set_xticks(range(len(names)))
            ax.set_xticklabels(names)
        else:
            ax.set_xlabel("layer (0 = input)")
    axes[0].legend(frameon=False, fontsize=6)
    return _finish(ctx, fig, fig_id, f"{title}: information about the input current per layer", lines, spec)


def ou_ffn(ctx: Context) -> list[Path]:
    return _ou_information(ctx, "ou_ffn", "ou_ffn", deep_network_label,
                           "deep FFNs with a common OU current into the input layer")


def figA4(ctx: Context) -> list[Path]:
    return _ou_information(ctx, "figA4", "figA4", fly_label,
                           "fly pathway (ORN → PN → LHN) with a common OU current into the ORNs")
