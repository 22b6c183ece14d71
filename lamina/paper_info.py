"""Information recipes of ``lamina figures``: how much each layer tells about the input.

* ``info_strength`` / ``sensitivity``: mutual information between the strength of a pulse packet
  (8 equiprobable input sizes) and each layer's packet readout (size; latency), bias-corrected,
  with a shuffle null and a jackknife-over-seeds confidence interval.
* ``ou_ffn`` / ``figA4``: MI (GCMI, KSG) and coherence information rate between a common OU input
  current and each layer's population rate.
* ``ou_filters``: per-layer and cumulative linear (Wiener) filters of the OU-driven deep FFNs:
  does a Diff layer undo an Int layer's filtering?
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from . import plots
from .paper import (Context, Run, deep_network_label, dump_rows, ensure_runs, finish_figure, fly_label,
                    packet_rows, rows_to_frame)

# Response bins of the strength MI: at least TRIALS_PER_CELL trials per stimulus and response bin on
# average (the regime where the quadratic-extrapolation correction is reliable; with fewer, e.g.
# 8 bins for 20 trials per strength, its estimates of shuffled data were as large as the observed
# ones in our checks), at most one bin per strength and at least 2.
TRIALS_PER_CELL = 4
N_NULL = 200


def n_response_bins(n_strengths: int, trials_per_strength: int) -> int:
    """Response bins for ``strength_mi``: trials_per_strength // TRIALS_PER_CELL, within [2, n_strengths]."""
    return int(max(2, min(n_strengths, trials_per_strength // TRIALS_PER_CELL)))


# ---------------------------------------------------------------------------------------------
# MI between a discrete stimulus and a per-trial response


def strength_mi(stimulus: np.ndarray, response: np.ndarray, groups: np.ndarray, *,
                alive: np.ndarray | None = None, n_bins: int | None = None, n_null: int = N_NULL,
                seed: int = 0) -> dict:
    """MI (bits) between a discrete stimulus and a scalar response per trial.

    The response is coded by ``n_bins`` (default ``n_response_bins``) equal-population bins (``equal_population_bins``); with
    ``alive`` given, only alive trials are binned and the others form one extra "no packet" code
    (their latency is meaningless, but *that* there was no packet is information). The estimate
    is the plug-in MI with quadratic-extrapolation bias correction (Strong et al. 1998); also
    returned: the plug-in and Panzeri–Treves values, a shuffle null (95th percentile and p) and
    the leave-one-group-out (seed) jackknife: ``loo`` values in sorted group order and the 95 %
    CI half-width t(G-1) * SE_jack.
    """
    from .analysis import equal_population_bins, mi_discrete, mi_shuffle_null

    stimulus = np.asarray(stimulus)
    response = np.asarray(response, dtype=float)
    _, s, per = np.unique(stimulus, return_inverse=True, return_counts=True)
    if n_bins is None:
        n_bins = n_response_bins(per.size, int(per.min()))
    codes = np.full(response.size, n_bins, np.int64)
    keep = np.ones(response.size, bool) if alive is None else np.asarray(alive, bool) & np.isfinite(response)
    if keep.any():
        codes[keep] = equal_population_bins(response[keep], n_bins)

    def qe(a, b):
        return mi_discrete(a, b, "qe")

    observed, null, p = mi_shuffle_null(qe, s, codes, n=n_null, seed=seed)
    labels = np.unique(groups)
    # leave-one-seed-out values (nan where too few trials are left for an estimate)
    loo = np.array([qe(s[groups != g], codes[groups != g]) if np.count_nonzero(groups != g) >= 4 else np.nan
                    for g in labels])
    return {"mi": observed, "plugin": mi_discrete(s, codes, "none"), "pt": mi_discrete(s, codes, "pt"),
            "null95": float(np.percentile(null, 95)), "p": p, "loo": loo,
            "half": jackknife_half(loo), "n_bins": n_bins}


def jackknife_half(loo: np.ndarray) -> float:
    """95 % CI half-width from leave-one-out estimates: t(G-1) * sqrt((G-1)/G * sum (x_i - mean)^2)."""
    from scipy.stats import t as student_t

    g = loo.size
    if g < 2 or not np.all(np.isfinite(loo)):
        return float("nan")
    se = np.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2))
    return float(student_t.ppf(0.975, g - 1) * se)


def strength_table(df, by: list[str], n_null: int = N_NULL) -> list[dict]:
    """``strength_mi`` of packet size and of latency per group of ``by`` columns and layer."""
    out = []
    for key, d in df.groupby(by + ["layer"], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by + ["layer"], key))
        g = d.seed.to_numpy()
        row["size"] = strength_mi(d.alpha_in.to_numpy(), d.alpha_frac.to_numpy(), g, n_null=n_null)
        row["latency"] = strength_mi(d.alpha_in.to_numpy(), d.latency.to_numpy(), g,
                                     alive=d.alive.to_numpy(), n_null=n_null)
        row["n_trials"] = len(d)
        row["n_strengths"] = int(d.alpha_in.nunique())
        out.append(row)
    return out


def _paired_difference(a: dict, b: dict) -> tuple[float, float]:
    """MI(a) - MI(b) and its jackknife CI half-width, paired by seed (common seeds)."""
    if a["loo"].size != b["loo"].size:
        return a["mi"] - b["mi"], float("nan")
    return a["mi"] - b["mi"], jackknife_half(a["loo"] - b["loo"])


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
        for what in ("size", "latency"):
            m = last[what]
            lines.append(f"      last layer, {what}: {m['mi']:.2f} ± {m['half']:.2f} bits (plug-in {m['plugin']:.2f}, "
                         f"PT {m['pt']:.2f}; shuffle null 95th pct {m['null95']:.2f}, p = {m['p']:.3f})")
    return lines


def _plot_mi(ax, table: list[dict], group: str, name: str, what: str, **kw) -> None:
    rows = _layer_rows(table, group, name)
    z = [r["layer"] for r in rows]
    ax.errorbar(z, [r[what]["mi"] for r in rows], yerr=[np.nan_to_num(r[what]["half"]) for r in rows],
                marker="o", ms=2.5, lw=0.9, capsize=1.2, **kw)


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
    table = strength_table(df, ["network"])
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
    for net in nets:
        c = plots.NETWORK_COLORS.get(net, "k")
        for ax, what in zip(axes[:2], ("size", "latency")):
            _plot_mi(ax, table, "network", net, what, color=c, label=net)
    n_s = table[0]["n_strengths"]
    n_b = table[0]["size"]["n_bins"]
    # The most each code can carry: latency has one more code ("no packet") than size.
    ceiling = {"size": np.log2(min(n_s, n_b)), "latency": np.log2(min(n_s, n_b + 1))}
    for ax, what, lab in zip(axes[:2], ("size", "latency"), ("packet size", "latency")):
        layers = sorted({r["layer"] for r in table})
        ax.plot(layers, [max(r[what]["null95"] for r in table if r["layer"] == z) for z in layers],
                ls="--", color="0.5", lw=0.8, label="shuffle null, 95th pct")
        ax.axhline(ceiling[what], color="0.7", lw=0.6, ls=":")
        ax.set_xlabel("layer (0 = input)")
        ax.set_ylabel(f"MI(strength; {lab}) (bits)")
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    last = df.layer.max()
    ax = axes[2]
    for net in nets:
        d = df[(df.network == net) & (df.layer == last)]
        xs = sorted(d.alpha_in_frac.unique())
        m = [plots.mean_ci(d[d.alpha_in_frac == x].alpha_frac) for x in xs]
        ax.errorbar(xs, [a for a, _, _ in m], yerr=[np.nan_to_num(h) for _, h, _ in m], marker="o", ms=2.5, lw=0.9,
                    capsize=1.2, color=plots.NETWORK_COLORS.get(net, "k"))
    ax.set_xlabel("input α (fraction of layer 0)")
    ax.set_ylabel(f"layer {last} packet size (fraction)")
    axes[0].legend(frameon=False, fontsize=5.5)
    n_seeds = df.seed.nunique()
    lines = [f"info_strength — {n_s} input strengths (pulse packets, σ = {df.sigma_in.iloc[0]:g} ms) × {n_seeds} seeds "
             "per network. Per layer: MI between the strength and the layer's packet size (baseline-subtracted "
             f"fraction of the layer) or latency, on {n_b} equal-population response bins ({TRIALS_PER_CELL}+ trials "
             "per strength and bin; latency: alive packets only, 'no packet' as one more bin), quadratic-extrapolation "
             f"bias correction; error bars: 95 % CI, jackknife over seeds; dashed: 95th percentile of a {N_NULL}-shuffle "
             f"null (largest over networks); dotted: the most these codes can hold, {ceiling['size']:.2f} bits for size "
             f"and {ceiling['latency']:.2f} for latency. Right: last-layer packet size "
             "vs input strength (mean ± 95 % CI over seeds)."]
    lines += _mi_lines(table, "network", nets)
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

SKIP_MS = 50.0  # initial transient left out of every OU analysis
BIN_MS = 1.0


def _ou_signals(r: Run) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """(input current at BIN_MS, {layer: population rate Hz at BIN_MS}, bin s), first SKIP_MS dropped."""
    from .analysis.rates import binned_stimulus_and_rates

    stim, rates = binned_stimulus_and_rates(
        r.data.stimulus["current"], r.data.stimulus["current_dt_ms"],
        {l["name"]: r.data.spikes[l["name"]][0] for l in r.chain}, {l["name"]: int(l["size"]) for l in r.chain},
        BIN_MS)
    k0 = int(round(SKIP_MS / BIN_MS))
    return stim[k0:], {name: rate[k0:] for name, rate in rates.items()}, BIN_MS / 1e3


def _ou_information(ctx: Context, fig_id: str, spec: str, label: Callable[[list[str]], str], title: str,
                    nperseg: int) -> list[Path]:
    from .analysis import layer_summary

    plt = plots.plt()
    runs = ensure_runs(ctx, fig_id, spec, network_label=label)
    nets = list(dict.fromkeys(r.network for r in runs))
    keys = ("mi_gcmi_bits", "mi_ksg_bits", "info_rate_bits_s", "best_lag_ms", "rate_hz")
    table: dict[str, dict[int, dict[str, list]]] = {}
    names: list[str] = []
    for r in runs:
        cur = np.asarray(r.data.stimulus["current"], dtype=float)
        dt_ms = r.data.stimulus["current_dt_ms"]
        k0 = int(round(SKIP_MS / dt_ms))
        spikes = {l["name"]: r.data.spikes[l["name"]][0] - SKIP_MS for l in r.chain}
        sizes = {l["name"]: int(l["size"]) for l in r.chain}
        per_layer, _ = layer_summary(spikes, sizes, r.duration_ms - SKIP_MS, packet_window_ms=None,
                                     stimulus=cur[k0:], stimulus_dt_ms=dt_ms, mi_bin_ms=BIN_MS,
                                     max_lag_ms=50.0, nperseg=nperseg, seed=r.seed)
        names = [l["name"] for l in r.chain]
        for z, l in enumerate(r.chain):
            d = table.setdefault(r.network, {}).setdefault(z, {k: [] for k in keys})
            for k in keys:
                d[k].append(per_layer[l["name"]].get(k, float("nan")))
    fig, axes = plt.subplots(1, 4, figsize=(7.5, 2.4))
    lines = [f"{fig_id} — {title}; per layer ({BIN_MS:g} ms bins, first {SKIP_MS:g} ms dropped): Gaussian-copula "
             "and KSG MI between the input current and the layer's population rate at the best lag (0–50 ms), "
             "coherence information rate minus its bias (the mean rate of 20 circularly shifted responses), "
             "mean rate; mean ± 95 % CI over seeds."]
    for net in nets:
        zs = sorted(table[net])
        c = plots.NETWORK_COLORS.get(net, "k")
        lines.append(f"  {net}:")
        for ax, k, lab in zip(axes, ("mi_gcmi_bits", "info_rate_bits_s", "best_lag_ms", "rate_hz"),
                              ("MI (GCMI, bits)", "info rate (bits/s)", "best lag (ms)", "rate (Hz)")):
            m = [plots.mean_ci(table[net][z][k]) for z in zs]
            ax.errorbar(zs, [a for a, _, _ in m], yerr=[np.nan_to_num(b) for _, b, _ in m],
                        color=c, marker="o", ms=3, lw=0.9, capsize=1.5, label=net)
            ax.set_ylabel(lab)
        for z in zs:
            d = table[net][z]
            lines.append(f"    layer {z}: GCMI {plots.fmt_ci(d['mi_gcmi_bits'], 3, 'bits')}, KSG "
                         f"{plots.fmt_ci(d['mi_ksg_bits'], 3, 'bits')}, info rate {plots.fmt_ci(d['info_rate_bits_s'], 1, 'bits/s')}, "
                         f"lag {plots.fmt_ci(d['best_lag_ms'], 1, 'ms')}, rate {plots.fmt_ci(d['rate_hz'], 1, 'Hz')}")
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
                           "deep FFNs with a common OU current into the input layer", nperseg=128)


def figA4(ctx: Context) -> list[Path]:
    return _ou_information(ctx, "figA4", "figA4", fly_label,
                           "fly pathway (ORN → PN → LHN) with a common OU current into the ORNs", nperseg=256)


# ---------------------------------------------------------------------------------------------
# ou_filters: per-layer and cumulative linear filters

TILT_BAND_HZ = (4.0, 60.0)


def gain_tilt(freqs: np.ndarray, gain: np.ndarray, band: tuple[float, float] = TILT_BAND_HZ) -> float:
    """Slope of log10 gain vs log10 frequency over ``band`` (least squares): < 0 low-pass
    (integrating), > 0 high-pass (differentiating), 0 flat."""
    keep = (freqs >= band[0]) & (freqs <= band[1]) & (gain > 0)
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log10(freqs[keep]), np.log10(gain[keep]), 1)[0])


FILTER_NPERSEG = 256


def layer_filters(runs: list[Run], nperseg: int = FILTER_NPERSEG):
    """Transfer functions of OU-driven runs: (freqs, cumulative, per_layer, cells).

    ``cumulative[network][z]`` lists, per seed, the complex transfer function from the input
    current to layer z's population rate; ``per_layer[network][z]`` (z >= 1) from layer z-1's rate
    to layer z's; ``cells[network]`` the cell variant of each layer.
    """
    from .analysis import linear_filter

    cum: dict[str, dict[int, list]] = {}
    step: dict[str, dict[int, list]] = {}
    cells: dict[str, list[str]] = {}
    freqs = np.empty(0)
    for r in runs:
        stim, rates, dt = _ou_signals(r)
        names = list(rates)
        cells[r.network] = [plots.variant(l["cell"]) for l in r.chain]
        for z, name in enumerate(names):
            f = linear_filter(stim, rates[name], dt, nperseg=nperseg)
            freqs = f.freqs
            cum.setdefault(r.network, {}).setdefault(z, []).append(f.transfer)
            if z > 0:
                g = linear_filter(rates[names[z - 1]], rates[name], dt, nperseg=nperseg)
                step.setdefault(r.network, {}).setdefault(z, []).append(g.transfer)
    return freqs, cum, step, cells


def ou_filters(ctx: Context) -> list[Path]:
    plt = plots.plt()
    runs = ensure_runs(ctx, "ou_filters", "ou_ffn")
    nets = list(dict.fromkeys(r.network for r in runs))
    nperseg = FILTER_NPERSEG
    freqs, cum, step, cells = layer_filters(runs, nperseg)
    band = (freqs > 0) & (freqs <= 150)
    fig, axes = plt.subplots(len(nets), 4, figsize=(7.5, 1.9 * len(nets) + 0.4), squeeze=False)
    lines = [f"ou_filters — linear (Wiener) filters of the OU-driven deep FFNs (sims/ou_ffn.toml), {BIN_MS:g} ms "
             f"bins, Welch segments of {nperseg} bins, first {SKIP_MS:g} ms dropped; transfer functions averaged "
             "(complex) over seeds. Cumulative: input current → layer z rate (Hz per uA/cm²); per layer: layer z−1 "
             "rate → layer z rate (Hz/Hz). Tilt = slope of log10 gain vs log10 f over "
             f"{TILT_BAND_HZ[0]:g}–{TILT_BAND_HZ[1]:g} Hz: negative = low-pass (integrating), positive = high-pass "
             "(differentiating). Mean ± 95 % CI of the tilt over seeds."]
    for i, net in enumerate(nets):
        zs = sorted(cum[net])
        colors = plt.cm.viridis_r(np.linspace(0.1, 0.95, len(zs)))
        lines.append(f"  {net} ({' → '.join(c.capitalize() for c in cells[net])}):")
        for z in zs:
            h = np.mean(cum[net][z], axis=0)
            axes[i, 0].loglog(freqs[band], np.abs(h[band]), color=colors[z], lw=0.8, label=f"layer {z}")
            axes[i, 1].semilogx(freqs[band], np.unwrap(np.angle(h[band])), color=colors[z], lw=0.8)
            tilts = [gain_tilt(freqs, np.abs(x)) for x in cum[net][z]]
            text = f"    layer {z} ({cells[net][z]}): cumulative tilt {plots.fmt_ci(tilts, 2)}"
            if z in step.get(net, {}):
                hs = np.mean(step[net][z], axis=0)
                axes[i, 2].loglog(freqs[band], np.abs(hs[band]), color=colors[z], lw=0.8)
                axes[i, 3].semilogx(freqs[band], np.unwrap(np.angle(hs[band])), color=colors[z], lw=0.8)
                text += f"; per-layer tilt {plots.fmt_ci([gain_tilt(freqs, np.abs(x)) for x in step[net][z]], 2)}"
            lines.append(text)
        axes[i, 0].set_ylabel(f"{net}\ncumulative gain")
        axes[i, 1].set_ylabel("cumulative phase (rad)")
        axes[i, 2].set_ylabel("per-layer gain (Hz/Hz)")
        axes[i, 3].set_ylabel("per-layer phase (rad)")
    for ax in axes[-1]:
        ax.set_xlabel("frequency (Hz)")
    axes[0, 0].legend(frameon=False, fontsize=5)
    return _finish(ctx, fig, "ou_filters", "Per-layer and cumulative filters: does Diff undo Int's filtering?",
                   lines, "ou_ffn")


FIGURES = {"info_strength": info_strength, "sensitivity": sensitivity, "ou_ffn": ou_ffn, "figA4": figA4,
           "ou_filters": ou_filters}
