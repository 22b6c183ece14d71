"""The ``[search]`` table of a layer-profile search spec: parsed and validated into a
:class:`SearchSpec`; every problem is one :class:`~lamina.errors.ConfigError` naming the field
and the value.

A search spec is an ordinary experiment spec (``[simulation]``, ``[network]``, ``[input]``,
``[record]``; its ``network.layers`` is the *template*: the first layer is the input layer, the
others fix the depth and the cell card of every hidden layer) plus::

    [search]
    trials = 60                      # completed trials the study should reach
    sampler = "tpe"                  # tpe | cmaes
    seed = 11                        # the sampler's seed
    strengths = [20, 40, 60, 80]     # input.alpha values: the N equiprobable stimuli
    seeds = 10                       # M network/noise seeds per strength (common to all strengths)
    baseline = true                  # + one no-stimulus run per seed (the packet readout's background)
    response = "size"                # last layer's readout in the MI: size | latency | joint
    top_k = 3                        # best distinct profiles re-evaluated on fresh seeds
    fresh_seeds = 10                 # seeds of that re-evaluation (never used by the search)
    references = ["het", "reversed", "diff", "int"]   # fixed profiles evaluated on the fresh seeds too
    g_syn = "card"                   # card | epsp  (comparable layers, see lamina.search.layers)
    epsp_target = "1 mV"             # with g_syn = "epsp": the unitary EPSP every layer gets
    anchors = ["int", "mid7", "mid10", "mid12", "diff"]   # card variants g_syn/noise are read from
    prune_after = 0                  # > 0: evaluate that many seeds first; a profile in the bottom
                                     # quarter of the trials so far (at that stage) is pruned

    [search.profile]                 # the free parameters: one family
    family = "per_layer"             # per_layer: beta_w of every hidden layer free in `beta_w`
    beta_w = ["-25 mV", "5 mV"]
    # family = "alternating": a = [lo, hi], b = [lo, hi], period = [1, 4]  (blocks of `period`
    #   layers of beta_w a, then b, then a ...; period an integer range)
    # family = "ramp": start = [lo, hi], end = [lo, hi]  (beta_w linear from layer 1 to layer L)

    [search.noise]                   # optional: sigma_noise free too
    sigma_noise = ["10 uA/cm**2", "55 uA/cm**2"]
    per_layer = false                # one value for all hidden layers, or one per layer
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["FAMILIES", "RESPONSES", "SAMPLERS", "GSYN_MODES", "REFERENCES", "Profile", "ProfileFamily",
           "SearchSpec", "parse_search"]

SAMPLERS = ("tpe", "cmaes")
FAMILIES = ("per_layer", "alternating", "ramp")
RESPONSES = ("size", "latency", "joint")
GSYN_MODES = ("card", "epsp")
#: fixed comparison profiles: a name -> the hidden layers' variants (z = 1, 2, ...), as a function
#: of the depth. "het": the paper's alternation starting with Int.
REFERENCES = {
    "het": lambda depth: ["int" if z % 2 else "diff" for z in range(1, depth + 1)],
    "reversed": lambda depth: ["diff" if z % 2 else "int" for z in range(1, depth + 1)],
    "diff": lambda depth: ["diff"] * depth,
    "int": lambda depth: ["int"] * depth,
    "mid7": lambda depth: ["mid7"] * depth,
    "mid10": lambda depth: ["mid10"] * depth,
    "mid12": lambda depth: ["mid12"] * depth,
}
_KEYS = {"trials", "sampler", "seed", "strengths", "seeds", "baseline", "response", "top_k", "fresh_seeds",
         "references", "g_syn", "epsp_target", "anchors", "profile", "noise", "n_null", "prune_after"}
_FAMILY_KEYS = {"per_layer": {"family", "beta_w"}, "alternating": {"family", "a", "b", "period"},
                "ramp": {"family", "start", "end"}}
MAX_TRIALS = 100_000
MAX_SEEDS = 10_000


@dataclass(frozen=True)
class Profile:
    """One layer profile: beta_w (mV) and, where searched, sigma_noise (uA/cm**2) per hidden layer."""

    beta_w: tuple[float, ...]
    sigma_noise: tuple[float, ...] | None = None

    def as_dict(self) -> dict:
        return {"beta_w": list(self.beta_w), "sigma_noise": None if self.sigma_noise is None else list(self.sigma_noise)}


@dataclass(frozen=True)
class ProfileFamily:
    """The free parameters: their names and ranges (``name -> (lo, hi, integer)``) and how a point
    of that space becomes a :class:`Profile`."""

    family: str
    depth: int  # hidden layers
    ranges: dict[str, tuple[float, float, bool]]
    noise_per_layer: bool | None = None  # None: noise not searched

    def profile(self, params: dict[str, float]) -> Profile:
        """The profile of one point of the search space (``params``: every name of ``ranges``)."""
        L = self.depth
        if self.family == "per_layer":
            beta = [float(params[f"beta_w_{z}"]) for z in range(1, L + 1)]
        elif self.family == "alternating":
            p = int(params["period"])
            beta = [float(params["a"] if ((z - 1) // p) % 2 == 0 else params["b"]) for z in range(1, L + 1)]
        else:  # ramp
            s, e = float(params["start"]), float(params["end"])
            beta = [s + (e - s) * (z - 1) / max(L - 1, 1) for z in range(1, L + 1)]
        noise = None
        if self.noise_per_layer is not None:
            noise = ([float(params[f"sigma_noise_{z}"]) for z in range(1, L + 1)] if self.noise_per_layer
                     else [float(params["sigma_noise"])] * L)
        return Profile(tuple(round(b, 3) for b in beta), None if noise is None else tuple(round(x, 3) for x in noise))


@dataclass(frozen=True)
class SearchSpec:
    """A validated ``[search]`` table plus the experiment spec it searches over (without it)."""

    base: dict  # the experiment spec (scale applied), no [search] table
    family: ProfileFamily
    trials: int = 60
    sampler: str = "tpe"
    seed: int = 0
    strengths: tuple[int, ...] = ()
    seeds: int = 10
    baseline: bool = True
    response: str = "size"
    top_k: int = 3
    fresh_seeds: int = 10
    references: tuple[str, ...] = ("het", "diff", "int")
    g_syn: str = "card"
    epsp_target_mv: float | None = None
    anchors: tuple[str, ...] = ("int", "mid7", "mid10", "mid12", "diff")
    n_null: int = 0  # shuffles of the MI's null during the search (the re-evaluation always does 200)
    prune_after: int = 0  # seeds of a first stage after which clearly bad profiles stop (0: no pruning)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return str(self.base.get("name", "profile_search"))

    @property
    def depth(self) -> int:
        return self.family.depth

    @property
    def template(self) -> list:
        return list(self.base["network"]["layers"])


def _int(v: Any, field_: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError(field_, v, f"an integer in [{lo}, {hi}]")
    return int(v)


def _number(v: Any, field_: str, unit: str) -> float:
    """A number in ``unit``: a bare number or a quantity string in a unit of that dimension."""
    from ..quantities import parse_quantity

    if isinstance(v, bool):
        raise ConfigError(field_, v, f"a quantity in {unit}, e.g. '-10 {unit}'")
    if isinstance(v, (int, float)):
        x = float(v)
    else:
        q = parse_quantity(v, field_, like=parse_quantity(f"1 {unit}", field_))
        x = float(q / parse_quantity(f"1 {unit}", field_))
    if not math.isfinite(x):
        raise ConfigError(field_, v, f"a finite quantity in {unit}")
    return x


def _range(v: Any, field_: str, unit: str, integer: bool = False) -> tuple[float, float, bool]:
    if not isinstance(v, list) or len(v) != 2:
        raise ConfigError(field_, v, f"[lo, hi] ({'integers' if integer else f'quantities in {unit}'})")
    if integer:
        lo, hi = _int(v[0], f"{field_}[0]", 1, 10_000), _int(v[1], f"{field_}[1]", 1, 10_000)
    else:
        lo, hi = _number(v[0], f"{field_}[0]", unit), _number(v[1], f"{field_}[1]", unit)
    if not lo < hi:
        raise ConfigError(field_, v, "[lo, hi] with lo < hi")
    return float(lo), float(hi), integer


def _family(table: Any, depth: int) -> tuple[str, dict[str, tuple[float, float, bool]]]:
    if not isinstance(table, dict):
        raise ConfigError("search.profile", table, "a table with family = " + " | ".join(FAMILIES))
    fam = table.get("family", "per_layer")
    if fam not in FAMILIES:
        raise ConfigError("search.profile.family", fam, f"one of {', '.join(FAMILIES)}")
    unknown = sorted(set(table) - _FAMILY_KEYS[fam])
    if unknown:
        raise ConfigError(f"search.profile.{unknown[0]}", table[unknown[0]],
                          f"a key of family '{fam}' ({', '.join(sorted(_FAMILY_KEYS[fam]))})")
    for key in sorted(_FAMILY_KEYS[fam] - {"family"}):
        if key not in table:
            raise ConfigError(f"search.profile.{key}", None, f"missing (family '{fam}' needs it)")
    if fam == "per_layer":
        r = _range(table["beta_w"], "search.profile.beta_w", "mV")
        return fam, {f"beta_w_{z}": r for z in range(1, depth + 1)}
    if fam == "alternating":
        per = _range(table["period"], "search.profile.period", "", integer=True)
        if per[1] > depth:
            raise ConfigError("search.profile.period", table["period"], f"periods within [1, {depth}] (the hidden layers)")
        return fam, {"a": _range(table["a"], "search.profile.a", "mV"), "b": _range(table["b"], "search.profile.b", "mV"),
                     "period": per}
    return fam, {"start": _range(table["start"], "search.profile.start", "mV"),
                 "end": _range(table["end"], "search.profile.end", "mV")}


def parse_search(spec: dict) -> SearchSpec:
    """Validate the ``[search]`` table of ``spec`` (a spec dict, scale already applied).

    Parameters
    ----------
    spec : dict
        The whole spec as read from TOML.

    Returns
    -------
    SearchSpec
        The validated search; ``base`` is ``spec`` without ``[search]`` (and without ``[sweep]``,
        which the search writes itself).

    Raises
    ------
    ConfigError
        For the first invalid field, named with its value.
    """
    if not isinstance(spec, dict):
        raise ConfigError("spec", spec, "a table")
    raw = spec.get("search")
    if not isinstance(raw, dict):
        raise ConfigError("search", raw, "a [search] table (the free parameters and the objective)")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"search.{unknown[0]}", raw[unknown[0]], f"a key of [search] ({', '.join(sorted(_KEYS))})")
    if "sweep" in spec:
        raise ConfigError("sweep", spec["sweep"], "no [sweep] table in a search spec (the search writes the runs' sweep)")
    base = copy.deepcopy({k: v for k, v in spec.items() if k not in ("search", "scales")})
    net = base.get("network")
    layers = net.get("layers") if isinstance(net, dict) else None
    if not isinstance(layers, list) or len(layers) < 2:
        raise ConfigError("network.layers", layers, "an input layer and at least one hidden layer (the template)")
    depth = len(layers) - 1
    inp = base.get("input")
    if not isinstance(inp, dict) or inp.get("kind") != "pulse_packet":
        raise ConfigError("input.kind", inp.get("kind") if isinstance(inp, dict) else inp,
                          "'pulse_packet' (the objective is the MI about the packet's strength)")
    strengths = raw.get("strengths")
    if not isinstance(strengths, list) or len(strengths) < 2:
        raise ConfigError("search.strengths", strengths, "a list of at least 2 input.alpha values (input neurons)")
    for i, a in enumerate(strengths):
        _int(a, f"search.strengths[{i}]", 1, 100_000_000)
    if len(set(strengths)) != len(strengths):
        raise ConfigError("search.strengths", strengths, "distinct values")
    seeds = _int(raw.get("seeds", 10), "search.seeds", 2, MAX_SEEDS)
    sampler = raw.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        raise ConfigError("search.sampler", sampler, f"one of {', '.join(SAMPLERS)}")
    response = raw.get("response", "size")
    if response not in RESPONSES:
        raise ConfigError("search.response", response, f"one of {', '.join(RESPONSES)}")
    baseline = raw.get("baseline", True)
    if not isinstance(baseline, bool):
        raise ConfigError("search.baseline", baseline, "true or false")
    g_mode = raw.get("g_syn", "card")
    if g_mode not in GSYN_MODES:
        raise ConfigError("search.g_syn", g_mode, f"one of {', '.join(GSYN_MODES)}")
    target = None
    if g_mode == "epsp":
        if "epsp_target" not in raw:
            raise ConfigError("search.epsp_target", None, "missing (g_syn = 'epsp' needs the unitary EPSP, e.g. '1 mV')")
        target = _number(raw["epsp_target"], "search.epsp_target", "mV")
        if not 0 < target < 50:
            raise ConfigError("search.epsp_target", raw["epsp_target"], "a unitary EPSP in (0, 50) mV")
    elif "epsp_target" in raw:
        raise ConfigError("search.epsp_target", raw["epsp_target"], "only with g_syn = 'epsp'")
    refs = raw.get("references", ["het", "diff", "int"])
    if not isinstance(refs, list) or not all(isinstance(r, str) and r in REFERENCES for r in refs):
        raise ConfigError("search.references", refs, f"a list of {', '.join(REFERENCES)}")
    anchors = raw.get("anchors", ["int", "mid7", "mid10", "mid12", "diff"])
    if not isinstance(anchors, list) or len(anchors) < 1 or not all(isinstance(a, str) for a in anchors):
        raise ConfigError("search.anchors", anchors, "a list of cell variants of the hidden layers' card")
    fam_name, ranges = _family(raw.get("profile", {"family": "per_layer", "beta_w": ["-25 mV", "5 mV"]}), depth)
    noise_per_layer = None
    if "noise" in raw:
        nt = raw["noise"]
        if not isinstance(nt, dict) or "sigma_noise" not in nt:
            raise ConfigError("search.noise", nt, "a table with sigma_noise = [lo, hi]")
        bad = sorted(set(nt) - {"sigma_noise", "per_layer"})
        if bad:
            raise ConfigError(f"search.noise.{bad[0]}", nt[bad[0]], "sigma_noise or per_layer")
        r = _range(nt["sigma_noise"], "search.noise.sigma_noise", "uA/cm**2")
        if r[0] < 0:
            raise ConfigError("search.noise.sigma_noise", nt["sigma_noise"], "a range of non-negative noise amplitudes")
        noise_per_layer = nt.get("per_layer", False)
        if not isinstance(noise_per_layer, bool):
            raise ConfigError("search.noise.per_layer", noise_per_layer, "true or false")
        if noise_per_layer:
            ranges.update({f"sigma_noise_{z}": r for z in range(1, depth + 1)})
        else:
            ranges["sigma_noise"] = r
    trials = _int(raw.get("trials", 60), "search.trials", 1, MAX_TRIALS)
    prune_after = raw.get("prune_after", 0)
    if prune_after != 0:
        if isinstance(prune_after, bool) or not isinstance(prune_after, int) or not 2 <= prune_after < seeds:
            raise ConfigError("search.prune_after", prune_after, f"0 (no pruning) or the seeds of a first stage, "
                              f"an integer in [2, search.seeds - 1 = {seeds - 1}]")
    return SearchSpec(
        base=base, family=ProfileFamily(fam_name, depth, ranges, noise_per_layer), trials=trials, sampler=sampler,
        seed=_int(raw.get("seed", 0), "search.seed", 0, 2**32 - 1), strengths=tuple(int(a) for a in strengths),
        seeds=seeds, baseline=baseline, response=response,
        top_k=_int(raw.get("top_k", 3), "search.top_k", 0, 1000),
        fresh_seeds=_int(raw.get("fresh_seeds", seeds), "search.fresh_seeds", 2, MAX_SEEDS),
        references=tuple(refs), g_syn=g_mode, epsp_target_mv=target, anchors=tuple(anchors),
        n_null=_int(raw.get("n_null", 0), "search.n_null", 0, 10_000), prune_after=int(prune_after),
        raw=copy.deepcopy(raw))
