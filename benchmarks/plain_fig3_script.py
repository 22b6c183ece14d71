"""The deep FFN of fig3 written as a user writes it in plain Brian2 — the baseline lamina is timed
against (benchmarks/peer_script.py, docs/benchmarks-peers.md).

    python benchmarks/plain_fig3_script.py --seed 1 --alpha 400 --sigma 5 -o run.npz

Style of the authors' published scripts (FrostHan/HetFFN, Deep-FFN.py): Brian2 runtime mode
(Brian2's default code generation target: Cython where it is installed, else numpy), one Python
process per configuration, connectivity from a condition over all pairs. Unlike Deep-FFN.py,
each layer is its own NeuronGroup (the way most users write layers). Nothing from lamina is
imported: the equations and parameter values are read from the Prescott cell card
(models/prescott.toml, variants input / int / diff) so that both simulate the same model.

Network (sims/fig3.toml, the Het point): input → Int → Diff → Int → Diff → Int → Diff, 7 × 1000
neurons, p = 9/N between consecutive layers, delay 0, 180 ms, dt 0.01 ms, Heun. Pulse packet:
``alpha`` distinct input neurons each get one +70 mV kick at a time ~ N(t0, sigma²).

Writes an .npz with, per layer z, ``t{z}`` (spike times, ms) and ``i{z}`` (neuron index), the
run's description (``layers``, ``size``, ``duration_ms``, ``t0_ms``, ``sigma_ms``, ``alpha``,
``seed``, ``dt_ms``), the synapse count of each projection (``n_synapses``) and the timings
(``timings``, JSON); prints the timings as one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time

T_START = time.perf_counter()  # the whole process is timed, imports included

import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

import brian2 as b2  # noqa: E402
import numpy as np  # noqa: E402
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions  # noqa: E402

CARD = Path(__file__).resolve().parent.parent / "models" / "prescott.toml"
HET = "input,int,diff,int,diff,int,diff"
SI_BASE = ("metre", "kilogram", "second", "amp", "kelvin", "mole", "candela")


def quantity(value):
    """A card value: "2 uF/cm**2" → Brian2 quantity, 0.15 → float."""
    if isinstance(value, (int, float)):
        return float(value)
    number, _, unit = value.strip().partition(" ")
    return float(number) * eval(unit, vars(b2)) if unit else float(number)  # units only: the card is ours


def unit_string(q) -> str:
    """The unit of ``q`` in SI base units, as the equation parser accepts it."""
    dims = get_dimensions(q)
    if dims is DIMENSIONLESS:
        return "1"
    return " * ".join(f"{name}**{float(e):g}" for name, e in zip(SI_BASE, dims._dims) if e)


def layer_parameters(card: dict, variant: str, n: int, rng: np.random.Generator,
                     no_noise: bool) -> tuple[dict, dict]:
    """(constants, per-neuron arrays) of one layer: the card's values with the variant's on top;
    a ``{uniform = [lo, hi]}`` entry is drawn per neuron."""
    raw = {**card["parameters"], **{k: v for k, v in card["variants"][variant].items() if k != "description"}}
    constants, per_neuron = {}, {}
    for name, value in raw.items():
        if isinstance(value, dict):
            lo, hi = (quantity(x) for x in value["uniform"])
            per_neuron[name] = rng.uniform(float(lo), float(hi), n) * (lo / float(lo))
        else:
            constants[name] = quantity(value)
    if no_noise:
        per_neuron.pop("sigma_noise", None)
        constants["sigma_noise"] = 0 * b2.amp / b2.meter**2
    return constants, per_neuron


def equations(card: dict, per_neuron: dict) -> str:
    """The card's membrane equations, the synaptic gating (double exponential, as in lamina and
    Deep-FFN.py) and one line per parameter that differs between neurons."""
    cu = unit_string(quantity("1 " + card["current_unit"]))
    lines = [card["equations"].strip(),
             "dx_e/dt = -x_e/tau_rise : 1",
             "dy_e/dt = -y_e/tau_decay + x_e/tau_rise : 1",
             "y_i = 0 : 1",  # no inhibition in fig3
             f"I_syn = {card['synaptic_current']} : {cu}",
             f"I_ext = I_bias : {cu}"]
    lines += [f"{name} : {unit_string(values[0])} (constant)" for name, values in per_neuron.items()]
    return "\n".join(lines)


def make_layer(card: dict, variant: str, n: int, z: int, rng: np.random.Generator,
               no_noise: bool) -> b2.NeuronGroup:
    constants, per_neuron = layer_parameters(card, variant, n, rng, no_noise)
    group = b2.NeuronGroup(n, equations(card, per_neuron), threshold=card["threshold"],
                           refractory=card["refractory"], method="heun", namespace=constants,
                           name=f"L{z}_{variant}")
    for name, value in card["initial"].items():
        setattr(group, name, quantity(value) if isinstance(value, str) else value)
    for name, values in per_neuron.items():
        setattr(group, name, values)
    return group


def connect_layers(pre: b2.NeuronGroup, post: b2.NeuronGroup, k: float, z: int) -> b2.Synapses:
    """Each spike opens the post neuron's synaptic gate (x_e += 1); every pair is a candidate,
    kept with probability p = k/N (the condition + p form of Deep-FFN.py)."""
    syn = b2.Synapses(pre, post, on_pre="x_e_post += 1", name=f"S{z}")
    syn.connect(condition="True", p=k / len(pre))
    return syn


def pulse_packet(layer: b2.NeuronGroup, alpha: int, sigma_ms: float, t0_ms: float, duration_ms: float,
                 kick_mv: float, rng: np.random.Generator) -> list:
    """``alpha`` distinct neurons, one kick each at t ~ N(t0, sigma²): a SpikeGeneratorGroup and
    a synapse onto the layer that adds the kick (as Deep-FFN.py does)."""
    ids = rng.choice(len(layer), size=alpha, replace=False)
    times = rng.normal(t0_ms, sigma_ms, size=alpha)
    keep = (times >= 0) & (times < duration_ms)
    gen = b2.SpikeGeneratorGroup(len(layer), ids[keep], times[keep] * b2.ms, name="packet")
    kick = b2.Synapses(gen, layer, on_pre=f"v_post += {kick_mv:g}*mV", name="kick")
    kick.connect(j="i")
    return [gen, kick]


def simulate(args: argparse.Namespace) -> dict:
    card = tomllib.loads(Path(args.card).read_text())
    if args.target != "auto":
        b2.prefs.codegen.target = args.target
    if args.cython_cache:  # the benchmark times a first run against an empty cache
        b2.prefs.codegen.runtime.cython.cache_dir = args.cython_cache
    b2.seed(args.seed)  # Brian2's generator: noise and connectivity
    rng = np.random.default_rng(args.seed)  # per-neuron parameters and the packet
    b2.defaultclock.dt = args.dt * b2.ms
    variants = args.layers.split(",")
    t0 = time.perf_counter()
    layers = [make_layer(card, v, args.size, z, rng, args.no_noise) for z, v in enumerate(variants)]
    synapses = [connect_layers(a, b, args.k, z) for z, (a, b) in enumerate(zip(layers, layers[1:]))]
    packet = pulse_packet(layers[0], args.alpha, args.sigma, args.t0, args.duration, args.kick, rng)
    monitors = [b2.SpikeMonitor(g, name=f"spikes{z}") for z, g in enumerate(layers)]
    net = b2.Network(layers, synapses, packet, monitors)
    t_built = time.perf_counter()
    net.run(args.duration * b2.ms)
    t_ran = time.perf_counter()
    out = {f"t{z}": np.asarray(m.t / b2.ms) for z, m in enumerate(monitors)}
    out.update({f"i{z}": np.asarray(m.i[:]) for z, m in enumerate(monitors)})
    timings = {"import_s": t0 - T_START, "build_s": t_built - t0, "run_s": t_ran - t_built,
               "target": str(b2.prefs.codegen.target), "n_spikes": int(sum(m.num_spikes for m in monitors))}
    np.savez_compressed(args.output, layers=np.array(variants), size=args.size, duration_ms=args.duration,
                        t0_ms=args.t0, sigma_ms=args.sigma, alpha=args.alpha, seed=args.seed, dt_ms=args.dt,
                        n_synapses=np.array([len(s) for s in synapses]),
                        timings=json.dumps(timings), **out)
    timings["total_s"] = time.perf_counter() - T_START
    return timings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--alpha", type=int, default=400, help="input neurons kicked (default 400)")
    p.add_argument("--sigma", type=float, default=5.0, help="SD of the kick times, ms (default 5)")
    p.add_argument("-o", "--output", required=True, help="the .npz to write")
    p.add_argument("--size", type=int, default=1000, help="neurons per layer (default 1000)")
    p.add_argument("--layers", default=HET, help=f"card variants, input first (default {HET})")
    p.add_argument("--duration", type=float, default=180.0, help="ms (default 180)")
    p.add_argument("--t0", type=float, default=100.0, help="packet centre, ms (default 100)")
    p.add_argument("--dt", type=float, default=0.01, help="ms (default 0.01)")
    p.add_argument("--k", type=float, default=9.0, help="mean in-degree: p = k/N (default 9)")
    p.add_argument("--kick", type=float, default=70.0, help="mV (default 70)")
    p.add_argument("--no-noise", action="store_true", help="sigma_noise = 0 in every layer (deterministic runs)")
    p.add_argument("--target", default="auto", choices=["auto", "cython", "numpy"],
                   help="Brian2 code generation target (default: Brian2's own default, auto)")
    p.add_argument("--cython-cache", default=None, metavar="DIR",
                   help="Cython's cache of compiled code objects (default: Brian2's, ~/.cython/brian_extensions)")
    p.add_argument("--card", default=str(CARD), help="the Prescott cell card")
    return p.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(simulate(parse_args())), flush=True)
