"""Classic feedforward results as lamina specs (issue 15): the synfire chain of Diesmann, Gewaltig
& Aertsen (1999) (``synfire``) and rate propagation after van Rossum, Turrigiano & Nelson (2002)
(``rate_propagation``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style as plots
from .context import Context, Run, ensure_runs, finish_figure
from .packets import rows_to_frame
from .state_space import spec_path
from ..analysis.packets import PacketMoments, packet_moments
from ..analysis.propagation import separatrix
from ..analysis.readout import free_search_start_ms
from ..analysis.stats import format_mean_ci, wilson_interval

#: A trial's packet survives when the last group's packet holds at least this fraction of the
#: group. Group sizes after 10 stages are bimodal (≈ 0 or ≈ the whole group), so the exact value
#: hardly matters; the caption counts the trials between 1/4 and 3/4 of the group.
SURVIVAL_FRAC = 0.5
#: Packets of fewer spikes have no meaningful SD: a trajectory ends (×) where its median falls below.
TRACK_MIN_SPIKES = 10.0
#: Starting half-width of the moments window, ms. lamina analyze's window-free readout starts at
#: ±5 ms: at the synfire attractor (SD ≈ 0.3 ms) the background's share of the second moment in
#: that window (rate × 2·5³/3 ms²) is larger than the packet's own, so its SD comes out nan for
#: a third of the groups. From ±1 ms the window grows to ±3 SD (as packet_moments describes) and
#: wide packets are still read in full.
CHAIN_MIN_HALF_MS = 1.0
#: The published values (Diesmann et al. 1999, fig 3), for the caption's comparison.
PUBLISHED = "separatrix at a ≈ 40–50 spikes for small sigma; attractor at a ≈ 100, sigma ≈ 0.5 ms"


def chain_label(cells: list[str]) -> str:
    """The network name of every run of a chain spec (one network per spec)."""
    return "synfire chain"


def spontaneous_rates(runs: list[Run]) -> dict[str, float]:
    """Per layer, the spontaneous rate (Hz per neuron) before the packet, pooled over all runs:
    the mean of the runs' ``/analysis`` ``baseline_rate_hz`` (one run's 40–50 ms window holds only
    ~10 background spikes of a 100-neuron group; the runs share the network, so their mean is the
    better estimate). 0 for a layer without any."""
    out = {}
    for layer in runs[0].chain:
        name = layer["name"]
        vals = [float(r.data.analysis[name].get("baseline_rate_hz", np.nan)) for r in runs]
        vals = [v for v in vals if np.isfinite(v)]
        out[name] = float(np.mean(vals)) if vals else 0.0
    return out


def group_packet(spike_times: np.ndarray, t_start_ms: float, t_stop_ms: float, rate_hz: float,
                 size: int) -> PacketMoments:
    """One group's packet: :func:`lamina.analysis.packet_moments` of its spike times (ms) in
    [t_start_ms, t_stop_ms] from a ±``CHAIN_MIN_HALF_MS`` window, a spontaneous rate of
    ``rate_hz`` per neuron subtracted."""
    return packet_moments(spike_times, t_start_ms, t_stop_ms, rate_hz, size, min_half=CHAIN_MIN_HALF_MS)


def survives(a: float | np.ndarray, size: int | np.ndarray) -> bool | np.ndarray:
    """Whether a last-group packet of ``a`` spikes counts as propagated (``SURVIVAL_FRAC``)."""
    return np.asarray(a) >= SURVIVAL_FRAC * np.asarray(size)


def chain_rows(runs: list[Run], rates: dict[str, float] | None = None) -> list[dict]:
    """The packet (a, sigma) of every layer of every run, one row each.

    Layer 0 (the input packet) is the nominal input (a = input alpha, sigma = input sigma), the
    start of every state-space trajectory. Groups 1 … are read with
    :func:`lamina.analysis.packet_moments` (baseline-subtracted moments of the spike times; no
    fixed window, so wide packets are read in full) from ``CHAIN_MIN_HALF_MS``, the spontaneous
    rate of :func:`spontaneous_rates` subtracted.

    Returns
    -------
    list of dict
        ``seed``, ``input_alpha``, ``input_sigma_ms``, ``layer`` (0 = input), ``name``,
        ``n_neurons``, ``a`` (spikes above the background), ``sigma_ms``, ``latency_ms`` (centroid
        after t0; nan for layer 0 and empty packets).
    """
    rates = spontaneous_rates(runs) if rates is None else rates
    rows = []
    for r in runs:
        alpha, sigma, stim = r.input_param("alpha"), r.input_param("sigma"), r.data.stimulus
        t0, start = float(stim["t0_ms"]), free_search_start_ms(stim)
        for z, layer in enumerate(r.chain):
            name, size = layer["name"], int(layer["size"])
            row = {"seed": r.seed, "input_alpha": alpha, "input_sigma_ms": sigma, "layer": z, "name": name,
                   "n_neurons": size}
            if z == 0:
                row.update(a=float(alpha), sigma_ms=sigma, latency_ms=float("nan"))
            else:
                m = group_packet(r.data.spikes[name][0], start, r.duration_ms, rates[name], size)
                row.update(a=m.size, sigma_ms=m.sd, latency_ms=m.centroid - t0)
            rows.append(row)
    return rows


def survival_rows(df, layer: int) -> list[dict]:
    """Per input (sigma, a): trials in which the packet of ``layer`` holds ≥ ``SURVIVAL_FRAC`` of
    the group, with a 95 % Wilson interval: ``input_sigma_ms``, ``input_alpha``, ``k``, ``n``,
    ``p``, ``lo``, ``hi``."""
    d = df[df.layer == layer]
    out = []
    for (sg, a), g in d.groupby(["input_sigma_ms", "input_alpha"]):
        alive = survives(g.a, g.n_neurons)
        k, n = int(alive.sum()), len(g)
        lo, hi = wilson_interval(k, n)
        out.append({"input_sigma_ms": float(sg), "input_alpha": float(a), "k": k, "n": n, "p": k / n, "lo": lo, "hi": hi})
    return out


def _median_trajectory(d, n_layers: int) -> tuple[list[float], list[float], bool]:
    """(sigma, a) per layer of one input point: medians over trials (a bimodal outcome is not
    averaged into a packet no trial had); ends at the first layer whose median a is below
    ``TRACK_MIN_SPIKES`` (returned ``True``: extinct)."""
    xs, ys = [], []
    for z in range(n_layers):
        dz = d[d.layer == z]
        a = float(np.median(dz.a))
        if a < TRACK_MIN_SPIKES:
            return xs, ys, True
        s = dz.sigma_ms[dz.a >= TRACK_MIN_SPIKES].to_numpy(dtype=float)
        xs.append(float(np.nanmedian(s)) if np.isfinite(s).any() else float("nan"))
        ys.append(a)
    return xs, ys, False


def synfire(ctx: Context) -> list[Path]:
    """Synfire chain (Diesmann et al. 1999): (a, sigma) state space, survival, separatrix."""
    plt = plots.plt()
    runs = ensure_runs(ctx, "synfire", "synfire", network_label=chain_label)
    rates = spontaneous_rates(runs)
    df = rows_to_frame(chain_rows(runs, rates))
    last = int(df.layer.max())
    size = int(runs[0].chain[-1]["size"])
    surv = rows_to_frame(survival_rows(df, last))
    sigmas = sorted(surv.input_sigma_ms.unique())
    alphas = sorted(surv.input_alpha.unique())
    n_trials = int(surv.n.min())
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.5), gridspec_kw={"width_ratios": [1.25, 1, 1]})

    # (a) state space: median trajectories from every input, coloured by survival probability
    ax = axes[0]
    cmap = plt.cm.coolwarm
    for (sg, a), d in df.groupby(["input_sigma_ms", "input_alpha"]):
        p = float(surv[(surv.input_sigma_ms == sg) & (surv.input_alpha == a)].p.iloc[0])
        xs, ys, extinct = _median_trajectory(d, last + 1)
        ax.plot(xs, ys, "-", color=cmap(p), lw=0.7, alpha=0.85)
        ax.plot(xs[:1], ys[:1], ".", color=cmap(p), ms=3)
        if xs:
            ax.plot(xs[-1], ys[-1], "x" if extinct else "o", color=cmap(p), ms=3 if extinct else 2.5)
    seps = {sg: separatrix(g.input_alpha, g.k, g.n) for sg, g in surv.groupby("input_sigma_ms")}
    inside = [(sg, s) for sg, s in seps.items() if s.position == "inside"]
    if inside:
        xs = [sg for sg, _ in inside]
        ys = np.array([s.a50 for _, s in inside])
        lo = np.array([s.lo for _, s in inside])
        hi = np.array([s.hi for _, s in inside])
        ax.errorbar(xs, ys, yerr=[np.nan_to_num(ys - lo), np.nan_to_num(hi - ys)], fmt="k--", lw=1.0, capsize=2,
                    label="separatrix (P = ½)")
    alive_last = df[(df.layer == last) & survives(df.a, df.n_neurons)]
    if len(alive_last):
        ax.plot(np.nanmedian(alive_last.sigma_ms), np.median(alive_last.a), "*", color="gold", mec="k", ms=11,
                zorder=5, label=f"attractor (G{last}, median)")
    ax.set_xlabel("σ (ms)")
    ax.set_ylabel("a (spikes)")
    ax.set_ylim(0, 1.08 * size)
    ax.set_xlim(left=-0.1)
    ax.legend(frameon=False, fontsize=6, loc="upper right")
    ax.set_title("state space: input → G1 → … → G10 (medians over trials)")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    fig.colorbar(sm, ax=ax, label=f"P(survive to G{last})", fraction=0.05)

    # (b) survival probability vs a, one line per sigma, Wilson 95 % intervals
    ax = axes[1]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(sigmas)))
    for c, sg in zip(colors, sigmas):
        g = surv[surv.input_sigma_ms == sg].sort_values("input_alpha")
        ax.errorbar(g.input_alpha, g.p, yerr=[g.p - g.lo, g.hi - g.p], fmt="-o", color=c, ms=2.5, lw=0.9,
                    capsize=1.5, label=f"σ {sg:g} ms")
    ax.axhline(0.5, color="0.6", ls=":", lw=0.8)
    ax.set_xlabel("input a (spikes)")
    ax.set_ylabel(f"P(survive to G{last})")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(frameon=False, fontsize=6)
    ax.set_title(f"survival, {n_trials} trials per point (95 % Wilson)")

    # (c) survival map with the separatrix
    ax = axes[2]
    grid = np.full((len(alphas), len(sigmas)), np.nan)
    for row in surv.itertuples():
        grid[alphas.index(row.input_alpha), sigmas.index(row.input_sigma_ms)] = row.p
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5, color="k")
    if inside:
        ax.plot([sigmas.index(sg) for sg, _ in inside], np.interp([s.a50 for _, s in inside], alphas,
                                                                  range(len(alphas))), "k--", lw=1.0)
    ax.set_xticks(range(len(sigmas)))
    ax.set_xticklabels([f"{s:g}" for s in sigmas])
    ax.set_yticks(range(len(alphas)))
    ax.set_yticklabels([f"{a:g}" for a in alphas])
    ax.set_xlabel("input σ (ms)")
    ax.set_ylabel("input a (spikes)")
    ax.set_title("P(survive); dashed: separatrix")
    fig.colorbar(im, ax=ax, fraction=0.05)

    lines = _synfire_caption(df, surv, seps, rates, last, size, len(runs))
    return finish_figure(ctx, fig, "synfire", "Synfire chain (Diesmann, Gewaltig & Aertsen 1999): "
                         "10 groups × 100 LIF neurons, all-to-all", lines,
                         f"Spec: {spec_path('synfire')} ({ctx.scale} scale, {len(runs)} runs, "
                         f"{n_trials} trials per point).",
                         notes=(f"Published: {PUBLISHED}.",))


def _synfire_caption(df, surv, seps: dict, rates: dict[str, float], last: int, size: int, n_runs: int) -> list[str]:
    """The caption's numbers: survival per point, separatrix per sigma, attractor, extinction."""
    lines = [f"synfire — {n_runs} runs. Packet (a, σ) per group: baseline-subtracted moments of the spike times "
             f"(window grown from ±{CHAIN_MIN_HALF_MS:g} ms to ±3 SD), the pooled spontaneous rate subtracted; "
             "layer 0 = the input packet as specified.",
             "  Spontaneous rate per group before the packet (Hz, pooled over runs): "
             + ", ".join(f"{k} {v:.2f}" for k, v in list(rates.items())[1:]),
             f"  Survival = a ≥ {SURVIVAL_FRAC:g} × {size} spikes in G{last}; per input σ: a k/n P [95 % Wilson]:"]
    for sg, g in surv.groupby("input_sigma_ms"):
        lines.append(f"    σ {sg:g} ms: " + "; ".join(f"{r.input_alpha:g} {r.k}/{r.n} {r.p:.2f} [{r.lo:.2f}, {r.hi:.2f}]"
                                                 for r in g.sort_values("input_alpha").itertuples()))
    lines.append("  Separatrix (input a where P crosses ½, linear interpolation; band: where the Wilson interval "
                 "contains ½):")
    for sg, s in seps.items():
        where = {"below": "every a of the grid survives at least half the time",
                 "above": "no a of the grid survives half the time"}.get(s.position)
        lines.append(f"    σ {sg:g} ms: " + (where or f"a50 = {s.a50:.1f} spikes, band [{s.lo:.1f}, {s.hi:.1f}]"))
    dl = df[df.layer == last]
    alive = dl[survives(dl.a, dl.n_neurons)]
    dead = dl[~survives(dl.a, dl.n_neurons)]
    middle = int(((dl.a >= 0.25 * dl.n_neurons) & (dl.a < 0.75 * dl.n_neurons)).sum())
    if len(alive):
        lines.append(f"  Attractor (G{last}, {len(alive)} surviving trials): a {format_mean_ci(alive.a, 1)} "
                     f"(SD over trials {alive.a.std():.1f}), σ {format_mean_ci(alive.sigma_ms, 3, 'ms')} "
                     f"(SD {alive.sigma_ms.std():.3f} ms, median {np.nanmedian(alive.sigma_ms):.3f} ms); latency after t0 "
                     f"{format_mean_ci(alive.latency_ms, 2, 'ms')}.")
        by_layer = []
        keys = set(zip(alive.seed, alive.input_alpha, alive.input_sigma_ms))
        for z in range(1, last + 1):
            dz = df[df.layer == z]
            dz = dz[[k in keys for k in zip(dz.seed, dz.input_alpha, dz.input_sigma_ms)]]
            by_layer.append(f"G{z} {dz.a.mean():.1f}/{np.nanmean(dz.sigma_ms):.2f}")
        lines.append("    surviving trials, mean a / σ (ms) per group: " + ", ".join(by_layer))
    lines.append(f"  Extinction (G{last}, {len(dead)} trials): a {format_mean_ci(dead.a, 1)}; trials with "
                 f"{size // 4} ≤ a < {3 * size // 4} in G{last}: {middle} of {len(dl)} (the outcome is bimodal).")
    return lines


# ---------------------------------------------------------------------------------------------
# Rate propagation (van Rossum, Turrigiano & Nelson 2002)

#: Population rates are smoothed with a Gaussian of this SD (ms) before they are correlated with
#: the input (1 ms bins of a 200–500-neuron layer are mostly counting noise; the input's own time
#: constant is 50 ms).
RATE_SMOOTH_MS = 5.0
#: Longest input → layer lag searched, ms (nine layers of a few ms each).
RATE_MAX_LAG_MS = 100
#: Synchrony (mean pairwise correlation of 1 ms counts, after removing what a 10 ms Gaussian
#: smoothing of the rate explains) above which a layer counts as firing in volleys.
SYNCHRONY_SMOOTH_MS = 10.0
SYNC_MAX = 0.05
#: Correlation with the input below which a layer no longer follows it.
FOLLOW_MIN = 0.5


def rate_rows(runs: list[Run]) -> list[dict]:
    """Per run and layer: how the population rate follows the input current.

    Returns
    -------
    list of dict
        ``seed``, ``sigma_noise_pA`` and ``membrane_sd_mV`` (the deep layers' background noise and
        the free-membrane SD it gives, :func:`lamina.analysis.propagation.ou_membrane_sd`),
        ``layer``, ``name``, ``rate_hz``, ``r`` (correlation of the smoothed rate with the input
        at the best lag), ``lag_ms`` (that lag), ``synchrony``
        (:func:`lamina.analysis.propagation.synchrony`).
    """
    from ..analysis.propagation import best_lag_correlation, ou_membrane_sd, synchrony
    from ..analysis.rates import gaussian_smooth
    from ..analysis.readout import continuous_signals

    rows = []
    for r in runs:
        stim, rates, bin_s = continuous_signals(r.data.stimulus, r.data.spikes, r.chain)
        bin_ms = bin_s * 1e3
        lags = np.arange(0, int(round(RATE_MAX_LAG_MS / bin_ms)) + 1)
        deep = r.exp.layers[-1].cell.params
        noise = float(deep["sigma_noise"])
        sd = ou_membrane_sd(noise, float(deep["tau_noise"]), float(deep["tau_m"]), float(deep["C_m"]))
        for z, layer in enumerate(r.chain):
            rate = rates[layer["name"]]
            lag, corr = best_lag_correlation(stim, gaussian_smooth(rate, RATE_SMOOTH_MS / bin_ms), lags)
            counts = rate * int(layer["size"]) * bin_s
            rows.append({"seed": r.seed, "sigma_noise_pA": noise * 1e12, "membrane_sd_mV": sd * 1e3, "layer": z,
                         "name": layer["name"], "rate_hz": float(rate.mean()), "r": corr, "lag_ms": lag * bin_ms,
                         "synchrony": synchrony(counts, int(layer["size"]), SYNCHRONY_SMOOTH_MS / bin_ms)})
    return rows


def regime(r: float, sync: float) -> str:
    """'rate' (follows the input, asynchronous), 'synchrony' (volleys) or 'lost' (neither)."""
    if np.isfinite(sync) and sync >= SYNC_MAX:
        return "synchrony"
    return "rate" if np.isfinite(r) and r >= FOLLOW_MIN else "lost"


def rate_propagation(ctx: Context) -> list[Path]:
    """Rate propagation through 10 noisy LIF layers (van Rossum et al. 2002): correlation, lag, synchrony."""
    plt = plots.plt()
    runs = ensure_runs(ctx, "rate_propagation", "rate_propagation", network_label=lambda cells: "LIF layers")
    df = rows_to_frame(rate_rows(runs))
    levels = sorted(df.membrane_sd_mV.unique())
    last = int(df.layer.max())
    fig, axes = plt.subplots(2, 2, figsize=(7.5, 5.4))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(levels)))
    panels = (("r", "correlation with the input (best lag)"), ("lag_ms", "lag of the best correlation (ms)"),
              ("synchrony", "synchrony (fast count correlation)"))
    for ax, (key, label) in zip(axes.flat, panels):
        for c, sd in zip(colors, levels):
            g = df[df.membrane_sd_mV == sd].groupby("layer")[key]
            ax.plot(g.mean().index, g.mean().to_numpy(), "-o", color=c, ms=2.5, lw=1.0, label=f"{sd:.1f} mV")
        ax.set_xlabel("layer (0 = input)")
        ax.set_ylabel(label)
    axes[0, 0].set_ylim(-0.1, 1.0)
    axes[0, 0].axhline(FOLLOW_MIN, color="0.6", ls=":", lw=0.8)
    axes[1, 0].axhline(SYNC_MAX, color="0.6", ls=":", lw=0.8)
    axes[1, 0].set_yscale("symlog", linthresh=0.01)
    axes[1, 0].set_ylim(bottom=0)
    axes[0, 0].legend(frameon=False, fontsize=6, title="membrane SD", title_fontsize=6)
    _example_rates(axes[1, 1], runs, levels)
    lines = [f"rate_propagation — {len(runs)} runs ({len(levels)} noise levels × {df.seed.nunique()} seeds), "
             f"{len(runs[0].chain)} layers of {runs[0].chain[1]['size']} LIF neurons. Per layer: correlation of the "
             f"population rate (1 ms bins, Gaussian {RATE_SMOOTH_MS:g} ms) with the input current at the best lag "
             f"0–{RATE_MAX_LAG_MS} ms, that lag, and the synchrony (mean pairwise correlation of the neurons' 1 ms "
             f"counts after removing a {SYNCHRONY_SMOOTH_MS:g} ms smoothing; 0 = independent, 1 = whole-layer "
             "volleys); means over seeds [95 % t CI over seeds, none with fewer than 4].",
             f"  Regime of the last layer: 'rate' = r ≥ {FOLLOW_MIN} and synchrony < {SYNC_MAX}; 'synchrony' = "
             f"synchrony ≥ {SYNC_MAX}; 'lost' = neither."]
    for sd in levels:
        d = df[df.membrane_sd_mV == sd]
        dl = d[d.layer == last]
        noise = d.sigma_noise_pA.iloc[0]
        per = d.groupby("layer")
        lines.append(f"  membrane SD {sd:.1f} mV (sigma_noise {noise:.0f} pA): rate per layer (Hz) "
                     + " ".join(f"{v:.1f}" for v in per.rate_hz.mean()) + "; r " + " ".join(f"{v:.2f}" for v in per.r.mean())
                     + "; lag (ms) " + " ".join(f"{v:.0f}" for v in per.lag_ms.mean())
                     + "; synchrony " + " ".join(f"{v:.3f}" for v in per.synchrony.mean()))
        lines.append(f"    last layer: r {format_mean_ci(dl.r, 2)}, lag {format_mean_ci(dl.lag_ms, 1, 'ms')}, synchrony "
                     f"{format_mean_ci(dl.synchrony, 3)} → {regime(dl.r.mean(), dl.synchrony.mean())}")
    lines.append("  " + _transition(df, levels, last))
    return finish_figure(ctx, fig, "rate_propagation", "Rate propagation through noisy LIF layers "
                         "(van Rossum, Turrigiano & Nelson 2002)", lines,
                         f"Spec: {spec_path('rate_propagation')} ({ctx.scale} scale).")


def rate_depth(d) -> int:
    """The deepest layer up to which every layer (mean over seeds) is in the 'rate' regime."""
    depth = -1
    for z, g in d.groupby("layer"):
        if regime(g.r.mean(), g.synchrony.mean()) != "rate":
            break
        depth = int(z)
    return depth


def _transition(df, levels: list[float], last: int) -> str:
    """The noise level below which the last layer fires in volleys instead of following the input
    (the regimes of :func:`regime` over the noise levels), and per level how deep the
    asynchronous rate code reaches."""
    regimes = []
    for sd in levels:
        dl = df[(df.membrane_sd_mV == sd) & (df.layer == last)]
        regimes.append(regime(dl.r.mean(), dl.synchrony.mean()))
    text = ("Asynchronous rate code (every layer up to it 'rate') reaches layer: "
            + ", ".join(f"{sd:.1f} mV L{rate_depth(df[df.membrane_sd_mV == sd])}" for sd in levels) + ".\n  ")
    text += "Last-layer regime by membrane SD: " + ", ".join(f"{sd:.1f} mV {g}" for sd, g in zip(levels, regimes))
    rate_levels = [sd for sd, g in zip(levels, regimes) if g == "rate"]
    if not rate_levels:
        return text + ". No noise level gives an asynchronous rate code in the last layer."
    below = [sd for sd, g in zip(levels, regimes) if sd < min(rate_levels) and g == "synchrony"]
    if below:
        return (text + f". Rate coding gives way to synchrony between {max(below):.1f} and {min(rate_levels):.1f} mV "
                "of background membrane SD.")
    return text + "."


def _example_rates(ax, runs: list[Run], levels: list[float]) -> None:
    """The input current and the last layer's rate at the lowest and the highest noise, first seed."""
    from ..analysis.rates import gaussian_smooth
    from ..analysis.readout import continuous_signals

    seed = min(r.seed for r in runs)
    mine = [r for r in runs if r.seed == seed]
    sds = {}
    for r in mine:
        deep = r.exp.layers[-1].cell.params
        sds[float(deep["sigma_noise"])] = r
    picks = [sds[min(sds)], sds[max(sds)]]
    stim, _, bin_s = continuous_signals(picks[0].data.stimulus, picks[0].data.spikes, picks[0].chain)
    t = np.arange(stim.size) * bin_s * 1e3
    ax.plot(t, (stim - stim.mean()) / stim.std(), color="0.5", lw=0.8, label="input (z-score)")
    for r, c, lab in zip(picks, ("tab:red", "tab:blue"), (f"{levels[0]:.1f} mV", f"{levels[-1]:.1f} mV")):
        _, rates, _ = continuous_signals(r.data.stimulus, r.data.spikes, r.chain)
        x = gaussian_smooth(rates[r.chain[-1]["name"]], RATE_SMOOTH_MS / (bin_s * 1e3))
        ax.plot(t, (x - x.mean()) / (x.std() or 1.0), color=c, lw=0.7, label=f"last layer, {lab}")
    ax.set_xlim(0, min(t[-1], 1000.0))
    ax.set_xlabel("time after the first 50 ms (ms)")
    ax.set_ylabel("z-score")
    ax.legend(frameon=False, fontsize=6)
