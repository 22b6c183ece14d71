"""Experiment → Brian2 objects, laid out for devices: one NeuronGroup per cell card.

Knows no device. All layers that share a cell card — and all ``batch`` replicas of the network —
live in one NeuronGroup; a layer of a replica is an index range of its group (layer-major: the
replicas of one layer are contiguous), and every per-layer value is a per-neuron variable. One
Synapses object per pathway kind (pre group, post group, excitatory/inhibitory, rule, delay),
connected by generator syntax restricted to each pre neuron's target range, so creating the
synapses costs O(synapses), never O(pre × post), and no synapse joins two replicas. One spike
monitor per group; per-layer rates are counted from its spikes.

Everything a sweep may vary is a model variable set at run time (:func:`run_values`); everything
else is *structure* and goes into :func:`structure_key`, which decides when a compiled program
can be reused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from . import _brian  # noqa: F401  (first: Brian2 without pylab)
import brian2 as b2
import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions, get_unit

from .config import NOISE_DEFAULT, Experiment
from .quantities import param_values
from .stimulus import NO_KICK, Stimulus

LAYOUT = 3  # bump when the generated network changes shape (part of the structure key)

SYNAPSE_EQS = """
dx_e/dt = -x_e/tau_rise : 1
dy_e/dt = -y_e/tau_decay + x_e/tau_rise : 1
"""
SYNAPSE_INH_EQS = """
dx_i/dt = -x_i/tau_rise : 1
dy_i/dt = -y_i/tau_decay + x_i/tau_rise : 1
"""
CURRENT_INPUTS = ("ou", "step", "current_pulse")


_BASE_UNITS = ("metre", "kilogram", "second", "amp", "kelvin", "mole", "candela")


def _unit_str(q: Any) -> str:
    """The unit of ``q`` as Brian2 equations accept it, written in SI base units: the repr of a
    looked-up unit depends on which units happen to be registered (e.g. "farad / (meter ** 2)",
    which the equation parser rejects)."""
    dim = get_dimensions(q)
    if dim is DIMENSIONLESS:
        return "1"
    parts = [f"{name}**{int(e) if float(e).is_integer() else float(e)}" for name, e in zip(_BASE_UNITS, dim._dims) if e]
    return " * ".join(parts)


@dataclass(frozen=True)
class Slot:
    """Where one layer of one replica lives: group ``group``, neurons [start, start + size)."""

    group: int
    start: int
    size: int


@dataclass
class Layout:
    """The index arithmetic of a batch of ``batch`` replicas of one experiment's structure.

    Groups are numbered by first appearance of their cell card in the layer list; inside a group,
    layers follow in network order and each layer holds its ``batch`` replicas one after another.
    """

    batch: int
    cards: list[str]  # group -> card name
    layer_group: list[int]  # layer position -> group
    layer_base: list[int]  # layer position -> first neuron of replica 0 in its group
    sizes: list[int]  # layer position -> neurons per replica
    group_size: list[int]

    @classmethod
    def of(cls, exp: Experiment, batch: int = 1) -> "Layout":
        cards: list[str] = []
        layer_group, layer_base, sizes = [], [], []
        fill: list[int] = []
        for layer in exp.layers:
            name = layer.cell.card.name
            if name not in cards:
                cards.append(name)
                fill.append(0)
            g = cards.index(name)
            layer_group.append(g)
            layer_base.append(fill[g])
            sizes.append(layer.size)
            fill[g] += batch * layer.size
        return cls(batch, cards, layer_group, layer_base, sizes, fill)

    def slot(self, layer: int, replica: int = 0) -> Slot:
        size = self.sizes[layer]
        return Slot(self.layer_group[layer], self.layer_base[layer] + replica * size, size)

    def layers_of(self, group: int) -> list[int]:
        return [z for z, g in enumerate(self.layer_group) if g == group]

    def owner(self, group: int) -> np.ndarray:
        """Per neuron of ``group``: its (layer position × batch + replica), for splitting spikes."""
        out = np.empty(self.group_size[group], np.int64)
        for z in self.layers_of(group):
            for r in range(self.batch):
                s = self.slot(z, r)
                out[s.start:s.start + s.size] = z * self.batch + r
        return out


@dataclass
class Built:
    """The Brian2 objects of a batch, and the layout that maps layers and replicas into them."""

    network: b2.Network
    layout: Layout
    groups: dict[int, b2.NeuronGroup]  # by group index
    # (object, projection indices, first post neuron of its target): one object per pathway kind
    synapses: list[tuple[b2.Synapses, list[int], int]] = field(default_factory=list)
    spikes: dict[int, b2.SpikeMonitor] = field(default_factory=dict)  # by group
    rates: dict[tuple[int, int], b2.PopulationRateMonitor] = field(default_factory=dict)  # (layer, replica)
    traces: dict[int, b2.StateMonitor] = field(default_factory=dict)  # by group
    trace_index: dict[int, np.ndarray] = field(default_factory=dict)  # group -> recorded neuron ids
    stim_array: b2.TimedArray | None = None
    shared: dict[int, frozenset[str]] = field(default_factory=dict)  # group -> parameters stored once
    compiled: dict[int, frozenset[str]] = field(default_factory=dict)  # group -> literals (no variable)


def _receives_inhibition(exp: Experiment, layer: str) -> bool:
    return any(p.post == layer and p.kind == "inh" for p in exp.projections)


def _group_features(exp: Experiment, layout: Layout, group: int) -> tuple[bool, bool, bool]:
    """(receives inhibition, gets the stimulus current, gets the packet kick) — a group has the
    equations of a feature if any of its layers needs it; the others set its values to zero."""
    names = [exp.layers[z].name for z in layout.layers_of(group)]
    inh = any(_receives_inhibition(exp, n) for n in names)
    targets = any(n in exp.input.layers for n in names)
    return inh, targets and exp.input.kind in CURRENT_INPUTS, targets and exp.input.kind == "pulse_packet"


def _pathways(exp: Experiment, layout: Layout) -> list[tuple[tuple, list[int]]]:
    """Projections grouped into Synapses objects: rule p by (pre group, post group, kind, delay),
    each pre layer at most once per object (a pre neuron has one target range per object).
    Fixed in-degree projections get one object each: Brian2's generator over pre neurons cannot
    take bounds that depend on the post neuron, so the source range is an offset of constants."""
    objects: list[tuple[tuple, list[int]]] = []
    for k, p in enumerate(exp.projections):
        zi, zj = _pos(exp, p.pre), _pos(exp, p.post)
        kind = (layout.layer_group[zi], layout.layer_group[zj], p.kind, p.rule, float(p.delay))
        if p.rule != "p":
            objects.append((kind, [k]))
            continue
        for key, members in objects:
            if key == kind and zi not in {_pos(exp, exp.projections[m].pre) for m in members}:
                members.append(k)
                break
        else:
            objects.append((kind, [k]))
    return objects


def _pos(exp: Experiment, name: str) -> int:
    return next(z for z, l in enumerate(exp.layers) if l.name == name)


Shared = dict[int, frozenset[str]]  # group -> card parameters stored once for the group


def shared_parameters(exps: Sequence[Experiment]) -> Shared:
    """Per group, the card parameters with one fixed value in every layer of the group in every
    replica: stored as one scalar for the group instead of one value per neuron (fewer memory
    reads per step and fewer arrays to load and write; the numbers are the same)."""
    from .quantities import Distribution

    layout = Layout.of(exps[0], len(exps))
    out: Shared = {}
    for g in range(len(layout.cards)):
        zs = layout.layers_of(g)
        keep = []
        for k in exps[0].layers[zs[0]].cell.card.parameters:
            vals = set()
            for e in exps:
                for z in zs:
                    v = e.layers[z].cell.params[k]
                    vals.add(None if isinstance(v, Distribution) else float(np.asarray(v)))
            if len(vals) == 1 and None not in vals:
                keep.append(k)
        out[g] = frozenset(keep)
    return out


def compiled_constants(exp: Experiment, shared: Shared) -> dict[int, dict[str, float]]:
    """Per group, the ``shared`` card parameters that keep the *card's own* value (SI number):
    under ``simulation.constants = "compiled"`` (the default) they are literals in the generated
    code, not variables every neuron loads at every step (on the GPU that load is most of the
    double-precision state update's memory traffic). A value a spec or sweep changes stays a
    run-time variable, so sweeping a card parameter never recompiles per value; the literals'
    values are part of :func:`program_signature`."""
    if exp.spec.get("simulation", {}).get("constants", "compiled") != "compiled":
        return {}
    layout = Layout.of(exp)
    out: dict[int, dict[str, float]] = {}
    for g, names in shared.items():
        card = exp.layers[layout.layers_of(g)[0]].cell.card
        out[g] = {k: float(np.asarray(card.parameters[k])) for k in sorted(names)
                  if float(np.asarray(exp.layers[layout.layers_of(g)[0]].cell.params[k]))
                  == float(np.asarray(card.parameters[k]))}
    return {g: c for g, c in out.items() if c}


def program_signature(exp: Experiment, shared: Shared) -> list:
    """What the storage choices add to the program key: the parameters stored once per group,
    and the values compiled in as literals."""
    compiled = compiled_constants(exp, shared)
    sig: list = [(g, sorted(s)) for g, s in sorted(shared.items())]
    if compiled:  # only then, so program keys under constants = "run-time" stay as they were
        sig.append(("compiled", sorted((g, sorted(c.items())) for g, c in compiled.items())))
    return sig


def group_equations(exp: Experiment, layout: Layout, group: int, n_pathways: int,
                    shared: frozenset[str] = frozenset(), compiled: frozenset[str] = frozenset()) -> str:
    """The equations of one group: the card's, the synaptic gates, the input terms its layers
    need, one variable per card parameter (per neuron, or ``shared`` for the group; none for the
    ``compiled`` ones, which are namespace constants) and the connectivity ranges."""
    z0 = layout.layers_of(group)[0]
    card = exp.layers[z0].cell.card
    cu = _unit_str(card.current_unit)
    inh, current, kick = _group_features(exp, layout, group)
    eqs = card.equations.strip()
    if counter_noise(exp):  # xi -> lamina_randn(noise_seed, stream, noise_index, t_in_timesteps)/sqrt(dt)
        from .rng import replace_xi

        eqs = replace_xi(eqs, seed="noise_seed", neuron="noise_index")
    lines = [eqs, SYNAPSE_EQS.strip(), SYNAPSE_INH_EQS.strip() if inh else "y_i = 0 : 1",
             f"I_syn = {card.synaptic_current} : {cu}"]
    if current:
        # I_stim is looked up once per step by a run_regularly over the input layers only: called
        # inside the state update, the TimedArray's branchy lookup kept the compiler from
        # vectorising the whole group's loop (7.5x slower per neuron-step with an OU input)
        lines += [f"I_ext = I_bias + I_cur : {cu}", f"I_cur : {cu}", "stim_gain : 1 (constant)",
                  "stim_col : integer (constant)"]
    else:
        lines.append(f"I_ext = I_bias : {cu}")
    if kick:
        lines += ["kick_step : integer (constant)", "kick_v : volt (constant)"]
    if counter_noise(exp):  # per neuron: a batch's replicas have their own seeds
        lines += ["noise_seed : integer (constant)", "noise_index : integer (constant)"]
    lines += [f"{k} : {_unit_str(v)} ({'constant, shared' if k in shared else 'constant'})"
              for k, v in card.parameters.items() if k not in compiled]
    # connectivity: per pathway object, this neuron's target (or source) range and p / in-degree
    for s in range(n_pathways):
        lines += [f"lo{s} : integer (constant)", f"hi{s} : integer (constant)", f"k{s} : 1 (constant)"]
    return "\n".join(lines)


def counter_noise(exp: Experiment) -> bool:
    """True if ``simulation.noise = "counter"``: the cards' ``xi`` becomes :func:`lamina.rng.lamina_randn`
    keyed by the replica's noise seed, the neuron's index within its replica and the time step."""
    return exp.spec.get("simulation", {}).get("noise", NOISE_DEFAULT) == "counter"


def noise_seed(seed: int) -> int:
    """The counter generator's seed of a run (int32 bits of a uint32), derived from the run's seed
    alone, so a replica's noise is the same in any batch and batch position."""
    from .rng import seed_to_int32

    return seed_to_int32(int(np.random.SeedSequence([int(seed), 0x6E6F6973]).generate_state(1, np.uint32)[0]))


def spike_rule(exp: Experiment, card: Any) -> tuple[str, str | None]:
    """(threshold, refractory) of a cell card under ``simulation.spike_detection``: "lamina" — the
    card's own (Prescott: refractory while v > v_th and for t_ref after the crossing, so one
    action potential is one spike); "authors" — Han et al.'s code (``threshold = v > -10 mV,
    refractory = 3.3 ms``): the card's threshold, refractory for t_ref after each spike only, so a
    neuron held above v_th longer than t_ref fires again."""
    if exp.spec.get("simulation", {}).get("spike_detection", "lamina") == "authors":
        return card.threshold, "t_ref"
    return card.threshold, card.refractory


def structure_key(exp: Experiment, backend: str, batch: int = 1, extra: Sequence[Any] = ()) -> str:
    """Hash of everything that is compiled into the program (not the run-time values).

    ``extra``: what the backend adds (device, GPU compute capability, precision ...)."""
    from ._version import __version__

    index = {l.name: z for z, l in enumerate(exp.layers)}
    parts = {
        "lamina": __version__, "brian2": b2.__version__, "backend": backend, "layout": LAYOUT, "batch": int(batch),
        "extra": list(extra), "dt": float(exp.dt), "n_steps": exp.n_steps, "method": exp.method,
        # Layers by position and card, not by name or variant: Het, Diff-only and Int-only chains of
        # the same sizes share one program.
        "layers": [(l.size, l.name in exp.input.layers, _receives_inhibition(exp, l.name), l.cell.card.name,
                    l.cell.card.equations, l.cell.card.synaptic_current, spike_rule(exp, l.cell.card)[0],
                    l.cell.card.reset, spike_rule(exp, l.cell.card)[1], sorted(l.cell.card.parameters),
                    sorted((k, float(v)) for k, v in l.cell.card.initial.items())) for l in exp.layers],
        "projections": [(index[p.pre], index[p.post], p.kind, p.rule, p.value, float(p.delay)) for p in exp.projections],
        "input": exp.input.kind,
        "record": (exp.record.spikes, exp.record.trace_vars, exp.record.trace_neurons),
    }
    if counter_noise(exp):  # only then, so programs with Brian2's generator keep their keys
        parts["noise"] = "counter"
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _connectivity(exp: Experiment, layout: Layout, members: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, p) per pre neuron of one rule-p pathway object: the range of post neurons it may
    connect to (its target layer in its own replica; empty for layers without a target) and p."""
    n = layout.group_size[layout.layer_group[_pos(exp, exp.projections[members[0]].pre)]]
    lo, hi, k = np.zeros(n, np.int32), np.zeros(n, np.int32), np.zeros(n)
    for m in members:
        proj = exp.projections[m]
        zi, zj = _pos(exp, proj.pre), _pos(exp, proj.post)
        for r in range(layout.batch):
            a, b = layout.slot(zi, r), layout.slot(zj, r)
            lo[a.start:a.start + a.size] = b.start
            hi[a.start:a.start + a.size] = b.start + b.size
            k[a.start:a.start + a.size] = proj.value
    return lo, hi, k


def build(exp: Experiment, batch: int = 1, shared: Shared | None = None) -> Built:
    """Create the Brian2 objects for ``batch`` replicas of ``exp``'s structure (in the currently
    active device). Values of ``exp`` that are set at run time are not used here; ``shared``
    (default: :func:`shared_parameters` of ``batch`` copies of ``exp``) says which parameters are
    one value per group."""
    layout = Layout.of(exp, batch)
    if shared is None:
        shared = shared_parameters([exp] * batch)
    # One clock, the default one: brian2cuda's synapse code only knows `defaultclock`.
    b2.defaultclock.dt = exp.dt
    stim_array = None
    if exp.input.kind in CURRENT_INPUTS:
        cu = exp.layer(exp.input.layers[0]).cell.card.current_unit
        # one column per replica; a neuron reads column stim_col
        stim_array = b2.TimedArray(np.zeros((exp.n_steps, batch)) * get_unit(get_dimensions(cu)), dt=exp.dt,
                                   name="I_stim")
    pathways = _pathways(exp, layout)
    n_path = {g: 0 for g in range(len(layout.cards))}
    path_slot: list[int] = []  # pathway object -> its slot number in the iterated group
    for (pre_g, _, _, rule, _), _m in pathways:
        path_slot.append(n_path[pre_g] if rule == "p" else -1)
        n_path[pre_g] += rule == "p"
    groups: dict[int, b2.NeuronGroup] = {}
    kicks = []
    compiled = compiled_constants(exp, shared)
    for g in range(len(layout.cards)):
        card = exp.layers[layout.layers_of(g)[0]].cell.card
        # float32 literals in single precision: a double one would promote every expression it is in
        ftype = np.float32 if exp.precision == "single" else np.float64
        consts = {k: b2.Quantity(ftype(v), dim=get_dimensions(card.parameters[k])) for k, v in compiled.get(g, {}).items()}
        grp = b2.NeuronGroup(
            layout.group_size[g], group_equations(exp, layout, g, n_path[g], shared.get(g, frozenset()),
                                                  frozenset(consts)),
            threshold=spike_rule(exp, card)[0],
            reset=card.reset, refractory=spike_rule(exp, card)[1] or False, method=exp.method,
            name=f"cells{g}",
            namespace={**consts, **({"I_stim": stim_array} if stim_array else {}), **_noise_namespace(exp)},
        )
        for var, value in card.initial.items():
            setattr(grp, var, value)
        # the stimulus acts only over the contiguous range of the target layers (all replicas)
        zs = [z for z in layout.layers_of(g) if exp.layers[z].name in exp.input.layers]
        lo = min((layout.slot(z, 0).start for z in zs), default=0)
        hi = max((layout.slot(z, batch - 1).start + layout.sizes[z] for z in zs), default=0)
        if _group_features(exp, layout, g)[1]:
            grp.stim_col = _replica_of(layout, g)
            # the same value the state update computed at t before (it evaluates I_ext once per step)
            kicks.append(_sub(grp, lo, hi, "stimulated").run_regularly("I_cur = stim_gain*I_stim(t, stim_col)",
                                                                       when="start", name=f"{grp.name}_stim"))
        if _group_features(exp, layout, g)[2]:
            # The "voltage kick" of the pulse packet: one step, per-neuron time set at run time.
            kicks.append(_sub(grp, lo, hi, "kicked").run_regularly("v = v + kick_v*int(t_in_timesteps == kick_step)", when="start",
                                                  name=f"{grp.name}_kick"))
        groups[g] = grp
    built = Built(b2.Network(), layout, groups, stim_array=stim_array, shared=shared,
                  compiled={g: frozenset(c) for g, c in compiled.items()})
    for s, ((pre_g, post_g, kind, rule, delay), members) in enumerate(pathways):
        slot = path_slot[s]
        syn_kw = dict(on_pre=f"x_{kind[0]}_post += 1", delay=delay * b2.second if delay > 0 else None,
                      name=f"syn{s}")
        if rule == "p":
            lo, hi, k = _connectivity(exp, layout, members)
            setattr(groups[pre_g], f"lo{slot}", lo)
            setattr(groups[pre_g], f"hi{slot}", hi)
            setattr(groups[pre_g], f"k{slot}", k)
            syn = b2.Synapses(groups[pre_g], groups[post_g], **syn_kw)
            syn.connect(j=f"q for q in sample(lo{slot}_pre, hi{slot}_pre, p=k{slot}_pre)")
            offset = 0
        else:  # the post layer (all replicas) as target; replica of post j = j // n_post
            proj = exp.projections[members[0]]
            zi, zj = _pos(exp, proj.pre), _pos(exp, proj.post)
            n_pre, n_post, pre0 = layout.sizes[zi], layout.sizes[zj], layout.slot(zi, 0).start
            offset = layout.slot(zj, 0).start
            syn = b2.Synapses(groups[pre_g], _sub(groups[post_g], offset, offset + batch * n_post, f"target{s}"),
                              **syn_kw)
            syn.connect(i=f"q + {pre0} + (j // {n_post})*{n_pre} for q in sample({n_pre}, size={int(proj.value)})")
        built.synapses.append((syn, members, offset))
    for g, grp in groups.items():
        if exp.record.spikes:
            built.spikes[g] = b2.SpikeMonitor(grp, record=True, name=f"spikes{g}")
        else:
            for z in layout.layers_of(g):
                for r in range(batch):
                    sl = layout.slot(z, r)
                    built.rates[(z, r)] = b2.PopulationRateMonitor(_sub(grp, sl.start, sl.start + sl.size, f"L{z}r{r}"),
                                                                   name=f"rate{z}_{r}")
        if exp.record.trace_vars:
            idx = np.concatenate([np.arange(layout.slot(z, r).start, layout.slot(z, r).start + exp.record.trace_neurons)
                                  for z in layout.layers_of(g) for r in range(batch)])
            built.trace_index[g] = idx
            built.traces[g] = b2.StateMonitor(grp, list(exp.record.trace_vars), record=idx, name=f"trace{g}")
    built.network.add(list(groups.values()), kicks, [s for s, _, _ in built.synapses], *built.spikes.values(),
                      *built.rates.values(), *built.traces.values())
    return built


def _sub(group: b2.NeuronGroup, start: int, stop: int, what: str) -> b2.Subgroup:
    """A subgroup with an explicit name: auto-named ones get a suffix while older ones are alive,
    which would change the generated code (and recompile) from one process to the next."""
    return b2.Subgroup(group, start, stop, name=f"{group.name}_{what}")


def _replica_of(layout: Layout, group: int) -> np.ndarray:
    return layout.owner(group) % layout.batch


def run_values(exps: Sequence[Experiment], built: Built, stims: Sequence[Stimulus],
               rngs: Sequence[np.random.Generator]) -> tuple[dict[tuple[int, str], np.ndarray], np.ndarray | None]:
    """Per-neuron values of all run-time variables of a batch, and the stimulus TimedArray values.

    Replica ``r`` takes its values from ``exps[r]``, ``stims[r]`` and ``rngs[r]``, drawn in a fixed
    order (layer by layer, card parameter by parameter), so a replica's values do not depend on
    the batch it runs in. Returned as {(group, variable): array over the group} (SI numbers) and
    the (n_steps, batch) stimulus current, or None.
    """
    layout = built.layout
    values: dict[tuple[int, str], np.ndarray] = {}
    for g, grp in built.groups.items():
        for var in _run_time_vars(exps[0], layout, g):
            if var in built.shared.get(g, ()) or var in built.compiled.get(g, ()):
                continue
            values[(g, var)] = np.zeros(layout.group_size[g], np.int32 if var in _INT_VARS else np.float64)
            if var == "kick_step":
                values[(g, var)][:] = NO_KICK
    for r, (exp, stim, rng) in enumerate(zip(exps, stims, rngs)):
        offset = 0  # the neuron's index within its replica's network (layer order), for the noise
        for z, layer in enumerate(exp.layers):
            s = layout.slot(z, r)
            g, cut = s.group, slice(s.start, s.start + s.size)
            if counter_noise(exp):
                values[(g, "noise_seed")][cut] = noise_seed(exp.seed)
                values[(g, "noise_index")][cut] = np.arange(offset, offset + layer.size, dtype=np.int32)
            offset += layer.size
            for k in layer.cell.card.parameters:
                if k in built.compiled.get(g, ()):  # a literal in the program: nothing to set
                    continue
                if k in built.shared.get(g, ()):  # one fixed value everywhere (draws nothing from rng)
                    values[(g, k)] = np.asarray(float(np.asarray(layer.cell.params[k])))
                else:
                    values[(g, k)][cut] = param_values(layer.cell.params[k], layer.size, rng, f"{layer.name}.{k}")
            if layer.name in exp.input.layers:
                if exp.input.kind == "pulse_packet":
                    values[(g, "kick_step")][cut] = stim.kick_step[layer.name]
                    values[(g, "kick_v")][cut] = float(exp.input.params["kick"])
                elif exp.input.kind in CURRENT_INPUTS:
                    values[(g, "stim_gain")][cut] = 1.0
    current = None
    if exps[0].input.kind in CURRENT_INPUTS:
        current = np.stack([stim.current for stim in stims], axis=1)
    return values, current


def _noise_namespace(exp: Experiment) -> dict:
    if not counter_noise(exp):
        return {}
    from .rng import lamina_randn

    return {"lamina_randn": lamina_randn}


#: run-time variables stored as int32
_INT_VARS = ("kick_step", "noise_seed", "noise_index")


def _run_time_vars(exp: Experiment, layout: Layout, group: int) -> list[str]:
    card = exp.layers[layout.layers_of(group)[0]].cell.card
    _, current, kick = _group_features(exp, layout, group)
    return (list(card.parameters) + (["stim_gain"] if current else []) + (["kick_step", "kick_v"] if kick else [])
            + (["noise_seed", "noise_index"] if counter_noise(exp) else []))


def projection_pairs(built: Built, exp: Experiment, projection: int, replica: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) neuron ids *within their layers* of the synapses of one projection of one
    replica (for tests and analyses of the connectivity)."""
    p = exp.projections[projection]
    zi, zj = _pos(exp, p.pre), _pos(exp, p.post)
    a, b = built.layout.slot(zi, replica), built.layout.slot(zj, replica)
    for syn, members, offset in built.synapses:
        if projection in members:
            i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:]) + offset
            keep = (i >= a.start) & (i < a.start + a.size) & (j >= b.start) & (j < b.start + b.size)
            return i[keep] - a.start, j[keep] - b.start
    raise KeyError(projection)
