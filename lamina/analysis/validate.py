"""Validation of the readout and statistics estimators on synthetic data with known answers.

``python -m lamina.analysis.validate`` prints the numbers quoted in docs/statistics.md (fixed
seeds; a few minutes on one core). Each function returns plain rows (dicts) as well.
"""
from __future__ import annotations

import sys
import time

import numpy as np


def window_free_recovery(n_rep: int = 100, seed: int = 0, n_neurons: int = 200, rate_hz: float = 5.0,
                         sizes=(60, 120, 240), widths=(1.0, 3.0, 10.0)) -> list[dict]:
    """Gaussian packets (``size`` spikes, SD ``width``) at 150 ms on a Poisson background of
    ``rate_hz`` per neuron over 300 ms: the window readout's SD, the window-free moments' and the
    Gaussian fit's, per (size, width), medians and quartiles over ``n_rep`` layers."""
    from .packets import pulse_packet
    from .readout import packet_readout_free

    rows = []
    for a in sizes:
        for w in widths:
            rng = np.random.default_rng(seed + int(a) * 100 + int(w * 10))
            win, free, fit, size = [], [], [], []
            for _ in range(n_rep):
                t = np.concatenate([rng.uniform(0, 300.0, rng.poisson(rate_hz * n_neurons * 0.3)),
                                    rng.normal(150.0, w, a)])
                win.append(pulse_packet(t, 0.0, 300.0, 200, 4.0, rate_hz, n_neurons).sigma)
                r = packet_readout_free(t, n_neurons, 60.0, 300.0, onset_ms=150.0, baseline_rate_hz=rate_hz)
                free.append(r["packet_sd_free_ms"])
                fit.append(r["packet_sd_fit_ms"])
                size.append(r["packet_size_free"] * n_neurons)
            free, fit = np.array(free), np.array(fit)
            rows.append({"size": a, "width_ms": w, "window_sd_median": float(np.nanmedian(win)),
                         "free_sd_median": float(np.nanmedian(free)),
                         "free_sd_q25": float(np.nanpercentile(free, 25)), "free_sd_q75": float(np.nanpercentile(free, 75)),
                         "free_nan_frac": float(np.isnan(free).mean()), "fit_sd_median": float(np.nanmedian(fit)),
                         "fit_sd_q25": float(np.nanpercentile(fit, 25)), "fit_sd_q75": float(np.nanpercentile(fit, 75)),
                         "free_size_median": float(np.nanmedian(size))})
    return rows


def _channel(n_s: int, n_r: int, noise: float) -> np.ndarray:
    centres = np.linspace(0, n_r - 1, n_s)
    p = np.exp(-0.5 * ((np.arange(n_r)[None] - centres[:, None]) / noise) ** 2)
    return p / p.sum(1, keepdims=True)


def _true_mi(p: np.ndarray) -> float:
    ps = np.full(p.shape[0], 1 / p.shape[0])
    pr = ps @ p
    return float(np.sum(ps[:, None] * p * np.log2(p / pr[None])))


def jackknife_coverage(n_exp: int = 500, seed: int = 12345,
                       regimes=((8, 5, 1.0, 20), (8, 5, 0.6, 20), (8, 5, 2.0, 20), (8, 5, 1.0, 40),
                                (8, 5, 1.0, 10), (8, 8, 1.0, 20))) -> list[dict]:
    """Coverage of the 95 % jackknife CI of :func:`lamina.analysis.strength.mi_codes` on a discrete
    channel with known MI: n_s strengths × G seeds (one trial each), n_r response codes with P(r|s)
    a discretised Gaussian of SD ``noise`` codes around the scaled strength."""
    from .strength import mi_codes

    rows = []
    for n_s, n_r, noise, g in regimes:
        p = _channel(n_s, n_r, noise)
        truth = _true_mi(p)
        cum = np.cumsum(p, axis=1)
        rng = np.random.default_rng(seed)
        s = np.tile(np.arange(n_s), g)
        groups = np.repeat(np.arange(g), n_s)
        est, half, cover = [], [], []
        for e in range(n_exp):
            codes = (rng.random(s.size)[:, None] > cum[s]).sum(axis=1)
            m = mi_codes(s, codes, groups, n_null=0, seed=e)
            est.append(m["mi"])
            half.append(m["half"])
            cover.append(abs(m["mi"] - truth) <= m["half"])
        rows.append({"n_strengths": n_s, "n_codes": n_r, "noise": noise, "seeds": g,
                     "trials_per_cell": g / n_r, "true_mi": truth, "mean_est": float(np.mean(est)),
                     "sd_est": float(np.std(est)), "mean_half": float(np.mean(half)),
                     "coverage": float(np.mean(cover)), "n_exp": n_exp})
    return rows


def te_chain(n: int = 10_000, n_rep: int = 10, seed: int = 0) -> list[dict]:
    """Transfer entropy of a linear Gaussian chain x0 → x1 → x2 (VAR(1)): the KSG estimate
    (lag 1, and the lag-maximised, shift-null-corrected scan over lags 1–5) vs the closed form."""
    from .transfer import gaussian_var_te, transfer_entropy_scan

    a = np.array([[0.6, 0, 0], [0.5, 0.4, 0], [0, 0.6, 0.3]])
    rows = []
    for src, tgt in ((0, 1), (1, 2), (2, 1), (0, 2)):
        lag1, scan = [], []
        for r in range(n_rep):
            rng = np.random.default_rng(seed + r)
            s = np.zeros((n + 200, 3))
            e = rng.standard_normal((n + 200, 3))
            for t in range(1, n + 200):
                s[t] = a @ s[t - 1] + e[t]
            s = s[200:]
            out = transfer_entropy_scan(s[:, src], s[:, tgt], [1, 2, 3, 4, 5], n_shifts=5, seed=r)
            lag1.append(out["te_lags"][0])
            scan.append(out["te"])
        rows.append({"source": src, "target": tgt, "true_lag1": gaussian_var_te(a, np.eye(3), src, tgt),
                     "ksg_lag1_mean": float(np.mean(lag1)), "ksg_lag1_sd": float(np.std(lag1)),
                     "scan_mean": float(np.mean(scan)), "scan_sd": float(np.std(scan)), "n": n, "n_rep": n_rep})
    return rows


def main(argv: list[str] | None = None) -> int:
    t0 = time.time()
    print("## window-free packet readout (200 neurons, 5 Hz background, 100 layers per cell)\n")
    print("| size | true SD (ms) | window SD | moments SD median [IQR] | moments nan | fit SD median [IQR] | size (moments) |")
    print("|---|---|---|---|---|---|---|")
    for r in window_free_recovery():
        print(f"| {r['size']} | {r['width_ms']:g} | {r['window_sd_median']:.2f} | {r['free_sd_median']:.2f} "
              f"[{r['free_sd_q25']:.2f}, {r['free_sd_q75']:.2f}] | {r['free_nan_frac']:.2f} | {r['fit_sd_median']:.2f} "
              f"[{r['fit_sd_q25']:.2f}, {r['fit_sd_q75']:.2f}] | {r['free_size_median']:.1f} |")
    print("\n## jackknife CI coverage (95 %), discrete channel with known MI\n")
    print("| strengths | codes | noise | seeds | trials/cell | true MI | mean QE estimate (SD) | mean half-width | coverage |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in jackknife_coverage():
        print(f"| {r['n_strengths']} | {r['n_codes']} | {r['noise']:g} | {r['seeds']} | {r['trials_per_cell']:.1f} | "
              f"{r['true_mi']:.3f} | {r['mean_est']:.3f} ({r['sd_est']:.3f}) | {r['mean_half']:.3f} | "
              f"{r['coverage']:.3f} (n = {r['n_exp']}) |")
    print("\n## transfer entropy, linear Gaussian VAR(1) chain x0 → x1 → x2 (n = 10 000, 10 repeats)\n")
    print("| source → target | closed form (lag 1) | KSG lag 1 mean (SD) | lag scan 1–5, null-corrected mean (SD) |")
    print("|---|---|---|---|")
    for r in te_chain():
        print(f"| x{r['source']} → x{r['target']} | {r['true_lag1']:.4f} | {r['ksg_lag1_mean']:.4f} ({r['ksg_lag1_sd']:.4f}) "
              f"| {r['scan_mean']:.4f} ({r['scan_sd']:.4f}) |")
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
