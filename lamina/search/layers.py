"""Comparable layers: what a hidden layer of a given beta_w gets besides its beta_w.

Every generated hidden layer (a searched profile's or a reference's) keeps its template layer's
``size`` and ``connection`` (the projection into it): the network's structure is the template's,
the same for every profile, and only beta_w and what follows from it differ.

The synaptic conductance must not be a free knob that trivially buys information (a stronger
synapse makes any layer fire more reliably), so it follows from beta_w:

* ``g_syn = "card"`` (the default): g_syn is the cell card's own value, interpolated linearly in
  beta_w between the *anchor* variants (``int`` 5 mV → 345, ``mid7`` −7 → 375, ``mid10`` −10 →
  415, ``mid12`` −12 → 435, ``diff`` −19 mV → 975 uS/cm², the authors' hand-tuned values) and held
  at the end values outside them (beta_w below −19 mV gets the Diff value). At an anchor the layer
  is exactly that variant (g_syn and noise), so a searched profile of ±5/−19 mV reproduces Het.
* ``g_syn = "epsp"``: g_syn such that the layer's *unitary EPSP* (the peak depolarisation of a
  resting, noise-free cell after one presynaptic spike) equals ``search.epsp_target``. It is
  measured by a single-cell lamina simulation per beta_w on a grid (one presynaptic neuron, one
  postsynaptic cell per candidate g_syn, all beta_w of the grid in one batch), interpolated, and
  cached in ``epsp_gsyn.json`` in the study directory (keyed by card, grid, target and the
  simulation step), so it is measured once per study.

The noise amplitude sigma_noise, unless searched, is interpolated the same way (a uniform range
[lo, hi) interpolated end by end: Int's 38–53 uA/cm² at 5 mV, 38 at the mid controls, 15 at Diff).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .spec import Profile, SearchSpec

__all__ = ["Anchor", "anchors", "interpolate_card", "hidden_layers", "epsp_table", "reference_layers",
           "G_UNIT", "NOISE_UNIT"]

G_UNIT = "uS/cm**2"
NOISE_UNIT = "uA/cm**2"
#: beta_w grid of the EPSP calibration (mV): step and margin around the searched range
EPSP_GRID_STEP_MV = 2.0


@dataclass(frozen=True)
class Anchor:
    """A card variant the interpolation passes through."""

    variant: str
    beta_w: float  # mV
    g_syn: float  # uS/cm**2
    noise: tuple[float, float]  # uA/cm**2, [lo, hi) (lo == hi: one value)


def _si(unit: str) -> float:
    from ..quantities import parse_quantity

    return float(parse_quantity(f"1 {unit}", unit))


def _template_card(spec: SearchSpec):
    """The cell card of the template's hidden layers (all must share it)."""
    from ..cells import resolve_cell

    cards = {}  # by name: a card (frozen dataclass of dicts) is not hashable
    for z, item in enumerate(spec.template[1:], start=1):
        ref = item if isinstance(item, str) else item.get("cell") if isinstance(item, dict) else None
        card = resolve_cell(ref, f"network.layers[{z}].cell").card
        cards[card.name] = card
    if len(cards) != 1:
        raise ConfigError("network.layers", sorted(cards), "hidden layers of one cell card (the search sets their beta_w)")
    card = next(iter(cards.values()))
    if "beta_w" not in card.parameters:
        raise ConfigError("network.layers", card.name, "a cell card with a beta_w parameter (prescott)")
    return card


def anchors(spec: SearchSpec) -> list[Anchor]:
    """The anchor variants of the hidden layers' card, sorted by beta_w.

    Raises
    ------
    ConfigError
        ``search.anchors`` naming a variant the card lacks, or one without beta_w or g_syn.
    """
    from ..quantities import Distribution

    card = _template_card(spec)
    gu, nu, mv = _si(G_UNIT), _si(NOISE_UNIT), 1e-3
    out = []
    for name in spec.anchors:
        v = card.variants.get(name)
        if v is None or "beta_w" not in v or "g_syn" not in v:
            raise ConfigError("search.anchors", name, f"a variant of card '{card.name}' that sets beta_w and g_syn "
                              f"({', '.join(k for k, p in card.variants.items() if 'beta_w' in p and 'g_syn' in p)})")
        n = v.get("sigma_noise", card.parameters["sigma_noise"])
        if isinstance(n, Distribution):
            if n.kind != "uniform":
                raise ConfigError("search.anchors", name, "variants whose sigma_noise is a value or a uniform range")
            lo, hi = (float(np.asarray(a)) / nu for a in n.args)
        else:
            lo = hi = float(np.asarray(n)) / nu
        out.append(Anchor(name, float(np.asarray(v["beta_w"])) / mv, float(np.asarray(v["g_syn"])) / gu, (lo, hi)))
    out.sort(key=lambda a: a.beta_w)
    if len({a.beta_w for a in out}) != len(out):
        raise ConfigError("search.anchors", list(spec.anchors), "variants of distinct beta_w")
    return out


def interpolate_card(beta_w: float, table: list[Anchor]) -> tuple[float, tuple[float, float]]:
    """(g_syn uS/cm**2, (noise lo, hi) uA/cm**2) at ``beta_w`` (mV): linear between anchors, the
    end values outside (no extrapolation: a line through Diff and mid12 would give negative g below)."""
    x = np.array([a.beta_w for a in table])
    g = float(np.interp(beta_w, x, [a.g_syn for a in table]))
    lo = float(np.interp(beta_w, x, [a.noise[0] for a in table]))
    hi = float(np.interp(beta_w, x, [a.noise[1] for a in table]))
    return g, (lo, hi)


def _fmt(x: float, unit: str) -> str:
    return f"{x:.6g} {unit}"


#: keys of a template's hidden layer that every generated layer (searched or reference) keeps:
#: the network's structure, the same for every profile, so profiles stay comparable
TEMPLATE_KEYS = ("size", "connection")


def _template_keys(item) -> dict:
    """``size`` and ``connection`` of a template layer (a cell reference string: none)."""
    import copy

    return {k: copy.deepcopy(item[k]) for k in TEMPLATE_KEYS if k in item} if isinstance(item, dict) else {}


def hidden_layers(spec: SearchSpec, profile: Profile, g_table: dict[float, float] | None = None) -> list[dict]:
    """The ``network.layers`` entries of the hidden layers for ``profile`` (template cell refs,
    layer names ``L1`` …, params beta_w, g_syn, sigma_noise; the template layer's ``size`` and
    ``connection`` kept).

    Parameters
    ----------
    spec : SearchSpec
    profile : Profile
    g_table : dict, optional
        beta_w (mV) -> g_syn (uS/cm**2) of the EPSP calibration (``g_syn = "epsp"``); None: the
        card interpolation.

    Returns
    -------
    list of dict
        One layer table per hidden layer.
    """
    table = anchors(spec)
    out = []
    for z, (item, b) in enumerate(zip(spec.template[1:], profile.beta_w), start=1):
        ref = item if isinstance(item, str) else item["cell"]
        g, (lo, hi) = interpolate_card(b, table)
        if g_table is not None:
            xs = np.array(sorted(g_table))
            g = float(np.interp(b, xs, [g_table[x] for x in xs]))
        if profile.sigma_noise is not None:
            noise: object = _fmt(profile.sigma_noise[z - 1], NOISE_UNIT)
        else:
            noise = _fmt(lo, NOISE_UNIT) if abs(hi - lo) < 1e-9 else {"uniform": [_fmt(lo, NOISE_UNIT), _fmt(hi, NOISE_UNIT)]}
        entry = {"cell": ref, "name": f"L{z}",
                 "params": {"beta_w": _fmt(b, "mV"), "g_syn": _fmt(g, G_UNIT), "sigma_noise": noise},
                 **_template_keys(item)}
        out.append(entry)
    return out


def _reference_variants(spec: SearchSpec, name: str) -> list[str]:
    """The card variants of a reference profile's hidden layers (checked against the card)."""
    from .spec import REFERENCES

    card = _template_card(spec)
    variants = REFERENCES[name](spec.depth)
    for v in set(variants):
        if v not in card.variants:
            raise ConfigError("search.references", name, f"profiles of variants of card '{card.name}' ('{v}' is missing)")
    return variants


def reference_layers(spec: SearchSpec, name: str) -> list[str | dict]:
    """The hidden layers of a reference profile as card variants (the cards' own values): a plain
    ``card.variant`` string, or a layer table where the template layer has a ``size`` or a
    ``connection`` (kept, as in :func:`hidden_layers`)."""
    card = _template_card(spec)
    out: list[str | dict] = []
    for item, v in zip(spec.template[1:], _reference_variants(spec, name)):
        keep = _template_keys(item)
        out.append({"cell": f"{card.name}.{v}", **keep} if keep else f"{card.name}.{v}")
    return out


def reference_profile(spec: SearchSpec, name: str) -> Profile:
    """beta_w per hidden layer of a reference (for plotting it next to searched profiles)."""
    card = _template_card(spec)
    return Profile(tuple(float(np.asarray(card.variants[v]["beta_w"])) * 1e3 for v in _reference_variants(spec, name)))


# ---------------------------------------------------------------------------------------------
# EPSP calibration (g_syn = "epsp")


def _beta_grid(spec: SearchSpec) -> list[float]:
    """beta_w values (mV) to calibrate: the searched range (and the anchors) on a 2 mV grid."""
    r = [v for k, v in spec.family.ranges.items() if not k.startswith("sigma_noise") and k != "period"]
    lo = min([a for a, _, _ in r] + [a.beta_w for a in anchors(spec)])
    hi = max([b for _, b, _ in r] + [a.beta_w for a in anchors(spec)])
    n = int(np.ceil((hi - lo) / EPSP_GRID_STEP_MV)) + 1
    return [round(float(x), 3) for x in np.linspace(lo, lo + (n - 1) * EPSP_GRID_STEP_MV, n)]


def epsp_table(spec: SearchSpec, out: Path, backend: str | None = None, log=print) -> dict[float, float]:
    """beta_w (mV) -> g_syn (uS/cm**2) giving the unitary EPSP ``spec.epsp_target_mv``, measured
    once and cached in ``out/epsp_gsyn.json``.

    Method: one lamina run per beta_w of the grid, all in one batch: a presynaptic layer of 48
    noise-free input neurons, all kicked at 30 ms (one spike each), a postsynaptic layer of 48
    noise-free cells of that beta_w, each receiving one of them (in-degree 1), with its own g_syn
    (geometric grid 5 … 5000 uS/cm²); the EPSP of a cell is its peak v in the 60 ms after the kick minus v just before.
    The g_syn giving the target is interpolated (log g against EPSP) between the grid's cells;
    cells that fired (EPSP above 40 mV) are left out.
    """
    import copy

    from ..config import experiment_from_dict
    from ..simulation import simulate_batch

    grid = _beta_grid(spec)
    card = _template_card(spec)
    base = spec.base
    dt = base.get("simulation", {}).get("dt", "0.01 ms")
    key = {"card": card.name, "card_path_digest": _digest(Path(card.path).read_bytes()), "grid": grid,
           "target_mV": spec.epsp_target_mv, "dt": dt, "method": base.get("simulation", {}).get("method", "heun")}
    path = out / "epsp_gsyn.json"
    if path.is_file():
        try:
            cached = json.loads(path.read_text())
            if cached.get("key") == key:
                return {float(k): float(v) for k, v in cached["g_syn"].items()}
        except (OSError, ValueError):
            pass
    n_g = 48
    g_values = np.geomspace(5.0, 5000.0, n_g)
    ref = spec.template[1] if isinstance(spec.template[1], str) else spec.template[1]["cell"]
    exps = []
    for b in grid:
        d = {"name": "epsp_calibration",
             "simulation": {"duration": "90 ms", "dt": dt, "method": key["method"],
                            "backend": backend or base.get("simulation", {}).get("backend", "cpp"), "seed": 1},
             "network": {"layers": [
                 {"cell": f"{card.name}.input", "size": n_g, "params": {"sigma_noise": "0 uA/cm**2"}},
                 {"cell": ref, "name": "post", "size": n_g,
                  "params": {"beta_w": _fmt(b, "mV"), "sigma_noise": "0 uA/cm**2",
                             "g_syn": {"values": [_fmt(g, G_UNIT) for g in g_values]}}}],
                 "connection": {"rule": "feedforward", "in_degree": 1}},
             # every presynaptic cell kicked once: each postsynaptic cell (in-degree 1) gets one spike
             "input": {"kind": "pulse_packet", "alpha": n_g, "sigma": "0.01 ms", "t0": "30 ms"},
             "record": {"spikes": "all", "rate_bin": "0.5 ms", "traces": {"vars": ["v"], "neurons": n_g}}}
        exps.append(experiment_from_dict(copy.deepcopy(d)))
    log(f"lamina: measuring unitary EPSPs for {len(grid)} beta_w values (g_syn = 'epsp', once per study)")
    results = simulate_batch(exps)
    table = {}
    for b, res in zip(grid, results):
        epsp = _epsps(res, "post", t_kick_ms=30.0)
        ok = np.isfinite(epsp) & (epsp < 40.0)
        e, g = epsp[ok], g_values[ok]
        if e.size < 2 or not (e.min() <= spec.epsp_target_mv <= e.max()):
            raise ConfigError("search.epsp_target", f"{spec.epsp_target_mv} mV",
                              f"a unitary EPSP reachable at beta_w = {b} mV without firing "
                              f"(measured {np.nanmin(epsp):.3g} … {np.nanmax(e) if e.size else float('nan'):.3g} mV)")
        order = np.argsort(e)
        table[b] = float(np.exp(np.interp(spec.epsp_target_mv, e[order], np.log(g[order]))))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"key": key, "g_syn": {str(k): v for k, v in table.items()}}, indent=1))
    tmp.replace(path)
    return table


def _epsps(result, layer: str, t_kick_ms: float) -> np.ndarray:
    """Peak v minus v just before the kick (mV) of every recorded cell of ``layer`` (traces are
    SI volts, (neuron, time step), one sample per ``trace_dt_ms``)."""
    v_mv = np.asarray(result.traces[layer]["v"], dtype=float) * 1e3
    t_ms = np.arange(v_mv.shape[1]) * float(result.trace_dt_ms)
    before = v_mv[:, (t_ms > t_kick_ms - 1.0) & (t_ms <= t_kick_ms)].mean(axis=1)
    after = v_mv[:, (t_ms > t_kick_ms) & (t_ms <= t_kick_ms + 60.0)].max(axis=1)
    return after - before


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:12]
