"""Experiment specs (TOML) → validated, immutable :class:`Experiment` objects.

This is where user files and ``--set`` overrides are read. Every problem raises
:class:`ConfigError` naming the field path and the offending value; downstream code trusts
the Experiment.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from . import _brian  # noqa: F401  (first: Brian2 without pylab)
from brian2.units import mV, second

from .cells import CellType, override, resolve_cell
from .errors import ConfigError
from .quantities import Distribution, Quantity, parse_quantity

__all__ = ["Experiment", "LayerSpec", "Projection", "InputSpec", "RecordSpec", "ConfigError",
           "load_experiment", "experiment_from_dict", "apply_overrides", "dumps_toml"]

METHODS = ("heun", "euler", "milstein")
BACKENDS = ("cpp", "runtime", "cuda", "auto")
PRECISIONS = ("double", "single")
# simulation.spike_detection: "lamina" = the card's own rule (Prescott: refractory while v > v_th and
# for t_ref after the crossing); "authors" = Han et al.'s code, refractory for t_ref only.
SPIKE_DETECTION = ("lamina", "authors")
# simulation.noise: "brian2" = Brian2's xi (a stateful generator seeded per run); "counter" =
# lamina.rng.lamina_randn (counter-based: a pure function of seed, neuron and step, so the loop
# vectorises and a replica's noise does not depend on its batch). The default since lamina 0.3:
# same statistics (tests/test_counter_noise.py), 2x the CPU loop; run files of lamina < 0.3 that do
# not name it used "brian2".
NOISE = ("brian2", "counter")
NOISE_DEFAULT = "counter"
# simulation.constants: "compiled" = card parameters that keep the card's own value in every neuron
# of a group are literals in the generated code; "run-time" = every parameter is a variable set at
# run time (the program of a spec then does not depend on the card's values).
CONSTANTS = ("compiled", "run-time")
INPUT_KINDS = {  # kind -> {param: (dimension kind, required default or None)}
    "none": {},
    "pulse_packet": {"alpha": ("count", None), "sigma": ("time", None), "t0": ("time", None),
                     "kick": ("voltage", "70 mV")},
    "ou": {"tau": ("time", None), "mean": ("current", None), "sigma": ("current", None),
           "start": ("time", "0 ms")},
    "step": {"onset": ("time", None), "amplitude": ("current", None), "offset": ("time", "")},
    # current_pulse: exactly one of `amplitude` (peak of the current) or `jump` (step of the rising
    # variable, the authors' convention; peak = jump * stimulus.jump_peak_factor(tau_rise, tau_decay))
    "current_pulse": {"onset": ("time", None), "amplitude": ("current", ""), "jump": ("current", ""),
                      "tau_rise": ("time", None), "tau_decay": ("time", None)},
}
_TOP = {"name", "description", "simulation", "network", "cells", "input", "record", "sweep", "scales", "scale",
        "search"}  # [search]: lamina.search.spec judges it (a study, not a run)
_SIM = {"duration", "dt", "method", "backend", "seed", "precision", "spike_detection", "noise", "constants"}
_NET = {"layers", "size", "connection", "inhibition"}
_LAYER = {"cell", "name", "size", "params", "connection"}
_CONN = {"rule", "p", "in_degree", "delay"}
_LAYER_CONN = {"p", "in_degree"}  # network.layers[z].connection: the projection z-1 -> z only
_INH = {"cell", "size", "p", "in_degree", "delay", "params"}
_RECORD = {"spikes", "rate_bin", "traces"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_EXP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_NAME = 100  # characters of an experiment name (it names files and folders)
MAX_LAYER_NAME = 64
MAX_LAYER_SIZE = 100_000_000
MAX_STEPS = 1_000_000_000  # cost guard: time steps of one run
MIN_DT_MS = 1e-5  # cost guard: the smallest simulation.dt, in ms
MAX_DEPTH = 32  # nesting of tables and lists in a spec
MAX_SPEC_BYTES = 16 * 2**20
_SHOW = 80  # characters of a value echoed in an error message
# p grammar: a number, or K/size with K a number (size: the source layer's size)
_P_EXPR = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(/\s*size\s*)?$")
_P_HELP = "a number or K/size with K a number, e.g. '9/size' (size: the source layer's size)"


# ---------------------------------------------------------------------------------------------
# One short line per error


def _clip(text: str, n: int) -> str:
    text = text.encode("unicode_escape", "backslashreplace").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= n else text[:n - 1] + "…"


def _shorten(e: ConfigError) -> ConfigError:
    """Rewrite the message of ``e`` in place: one line, the field and the value clipped (a
    100 000-character value is not echoed whole). ``e.field/value/expected`` are unchanged."""
    field = _clip(str(e.field), 120)
    if e.value is None:
        shown = f"{field}: "
    else:
        try:
            r = repr(e.value)
        except Exception:  # noqa: BLE001 — a value whose repr fails is still reported
            r = f"<{type(e.value).__name__}>"
        shown = f"{field} = {_clip(r, _SHOW)}: "
    e.args = (shown + _clip(str(e.expected), 400),)
    return e


def _one_line(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigError as e:
            raise _shorten(e) from None
        except RecursionError:
            raise ConfigError("spec", None, f"nested too deeply (at most {MAX_DEPTH} levels of tables and lists)") from None
    return wrapper


def _check_depth(obj: Any, where: str = "spec") -> None:
    """Tables and lists nested at most MAX_DEPTH deep (iterative: no recursion on hostile input)."""
    stack = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(where, None, f"nested too deeply (at most {MAX_DEPTH} levels of tables and lists)")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1) for v in node)


@dataclass(frozen=True)
class LayerSpec:
    name: str
    cell: CellType
    size: int
    role: str = "exc"  # "exc" (the chain) or "inh" (feedforward-inhibition group)


@dataclass(frozen=True)
class Projection:
    pre: str
    post: str
    kind: str  # "exc" | "inh": which synaptic gate of the target it drives
    rule: str  # "p" | "in_degree"
    value: float
    delay: Quantity


@dataclass(frozen=True)
class InputSpec:
    kind: str
    layers: tuple[str, ...]
    params: dict[str, Any]  # Quantities; alpha is an int


@dataclass(frozen=True)
class RecordSpec:
    spikes: bool
    rate_bin: Quantity
    trace_vars: tuple[str, ...] = ()
    trace_neurons: int = 0


@dataclass(frozen=True)
class Experiment:
    name: str
    duration: Quantity
    dt: Quantity
    method: str
    backend: str
    seed: int
    layers: tuple[LayerSpec, ...]
    projections: tuple[Projection, ...]
    input: InputSpec
    record: RecordSpec
    spec: dict  # the resolved spec (defaults filled in), written to every result as TOML
    sweep: dict | None = None
    precision: str = "double"  # floating point of the state variables: "double" or "single"

    def layer(self, name: str) -> LayerSpec:
        return next(l for l in self.layers if l.name == name)

    @property
    def n_steps(self) -> int:
        return int(round(float(self.duration / self.dt)))

    def with_seed(self, seed: int) -> "Experiment":
        spec = copy.deepcopy(self.spec)
        spec["simulation"]["seed"] = int(seed)
        return experiment_from_dict(spec)


@_one_line
def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None,
                    scale: str | None = None) -> Experiment:
    """Read a spec file, apply a named scale (``[scales.<name>]``, e.g. "small"), then dotted-path
    overrides ({"input.alpha": 600}), and validate."""
    return experiment_from_dict(apply_overrides(apply_scale(read_toml(path), scale), overrides or {}))


@_one_line
def apply_scale(spec: dict, scale: str | None) -> dict:
    """``[scales.small]`` holds dotted-path overrides ("network.size" = 200) that shrink an
    experiment without changing its physics; the resolved spec records the scale's name. "paper"
    is the spec as written and is not recorded, so ``lamina sweep --scale paper`` and ``lamina
    figures --scale paper`` give the same runs one identity (the figure reuses the sweep's files)."""
    if not isinstance(spec, dict):
        raise ConfigError("spec", spec, "a table")
    scales = spec.get("scales", {})
    if not isinstance(scales, dict) or not all(isinstance(v, dict) for v in scales.values()):
        raise ConfigError("scales", scales, "a table of tables of dotted-path overrides")
    if scale is None:
        return spec
    if not isinstance(scale, str) or (scale not in scales and scale != "paper"):
        raise ConfigError("--scale", scale, f"one of {', '.join(sorted(set(scales) | {'paper'}))}")
    if scale == "paper" and "paper" not in scales:
        return spec
    out = apply_overrides(spec, scales.get(scale, {}))
    out["scale"] = scale
    return out


@_one_line
def read_toml(path: str | Path) -> dict:
    """A spec file → dict. Not readable, larger than 16 MiB, not UTF-8, not TOML or nested too
    deeply: a ConfigError naming the file."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            data = f.read(MAX_SPEC_BYTES + 1)
    except OSError as e:
        raise ConfigError(str(path), None, f"cannot read spec file ({e.strerror or e})") from None
    if len(data) > MAX_SPEC_BYTES:
        raise ConfigError(str(path), None, f"a spec file of at most {MAX_SPEC_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), None, f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                          "save the spec as UTF-8") from None
    text = text.removeprefix("\ufeff")  # a UTF-8 byte order mark
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), None, f"not valid TOML ({_clip(str(e), 200)})") from None
    except RecursionError:
        raise ConfigError(str(path), None, "not a usable spec (nested too deeply)") from None
    _check_depth(spec, str(path))
    return spec


@_one_line
def parse_set(item: str) -> tuple[str, Any]:
    """'input.alpha=600' → ("input.alpha", 600); values are TOML values or bare strings."""
    if not isinstance(item, str) or "=" not in item:
        raise ConfigError("--set", item, "key=value, e.g. input.alpha=600 or input.sigma='5 ms'")
    key, text = item.split("=", 1)
    try:
        doc = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        doc = {"v": text.strip().strip("'\"")}
    except RecursionError:
        raise ConfigError("--set", item, f"a value nested less deeply (at most {MAX_DEPTH} levels)") from None
    if set(doc) != {"v"}:
        raise ConfigError("--set", item, "one value after '=' (quote a string that holds newlines)")
    _check_depth(doc["v"], f"--set {key.strip()}")
    _split_path(key.strip())
    return key.strip(), doc["v"]


def _split_path(path: str) -> list[str]:
    """'input.alpha' → ["input", "alpha"]; a component may be quoted ('cells."int".g_syn').
    Empty components ('input..alpha', '.alpha', 'input.') are errors."""
    bad = "a dotted key such as input.alpha (no empty parts)"
    if not isinstance(path, str) or not path or len(path) > 200:
        raise ConfigError("--set", path, bad)
    parts, i, n = [], 0, len(path)
    while True:
        if path[i] == '"':
            j = path.find('"', i + 1)
            if j < 0:
                raise ConfigError("--set", path, bad + " (unbalanced quote)")
            part, i = path[i + 1:j], j + 1
        else:
            j = path.find(".", i)
            j = n if j < 0 else j
            part, i = path[i:j].strip(), j
            if '"' in part:
                raise ConfigError("--set", path, bad + " (a quoted part is a whole part)")
        if not part:
            raise ConfigError("--set", path, bad)
        parts.append(part)
        if i == n:
            return parts
        if path[i] != ".":
            raise ConfigError("--set", path, bad)
        i += 1
        if i == n:
            raise ConfigError("--set", path, bad)


@_one_line
def apply_overrides(spec: dict, overrides: Mapping[str, Any]) -> dict:
    if not isinstance(overrides, Mapping):
        raise ConfigError("overrides", overrides, "a table of dotted-path overrides")
    spec = copy.deepcopy(spec)
    for path, value in overrides.items():
        node = spec
        parts = _split_path(path)
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(path, value, f"'{part}' is not a table")
            node = nxt
        node[parts[-1]] = value
    return spec


def _check_keys(table: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(where, table, "a table")
    for k in table:
        if k not in allowed:
            raise ConfigError(f"{where}.{k}" if where else k, table[k], f"unknown key (allowed: {', '.join(sorted(allowed))})")
    return table


def _positive_int(value: Any, field: str, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(field, value, "a positive integer")
    if maximum is not None and value > maximum:
        raise ConfigError(field, value, f"a positive integer of at most {maximum:,}")
    return value


def _time(value: Any, field: str, minimum: float = 0.0, strict: bool = False) -> Quantity:
    q = parse_quantity(value, field, second)
    if float(q) < minimum or (strict and float(q) <= minimum):
        raise ConfigError(field, value, "a positive duration" if strict else "a non-negative duration")
    return q


def _multiple_of_dt(q: Quantity, dt: Quantity, field: str, raw: Any) -> None:
    ratio = float(q / dt)
    if abs(ratio - round(ratio)) > 1e-6 * max(1.0, ratio):
        raise ConfigError(field, raw, f"a multiple of simulation.dt ({dt})")


def _eval_p(expr: Any, size: int, field: str) -> float:
    """Connection probability: a number, or ``K/size`` with K a number and ``size`` the source
    layer's size (nothing else is evaluated)."""
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        try:
            p = float(expr)
        except OverflowError:
            raise ConfigError(field, expr, "a probability in [0, 1]") from None
    elif isinstance(expr, str):
        m = _P_EXPR.match(expr) if len(expr) <= 100 else None
        if not m:
            raise ConfigError(field, expr, _P_HELP)
        p = float(m.group(1)) / (size if m.group(2) else 1)
    else:
        raise ConfigError(field, expr, _P_HELP)
    if not math.isfinite(p) or not 0.0 <= p <= 1.0:
        raise ConfigError(field, expr, f"a probability in [0, 1] (evaluates to {p:g})")
    return p


def _connection(table: Any, where: str, source_size: int, target_size: int) -> tuple[str, float]:
    if "p" in table and "in_degree" in table:
        raise ConfigError(where, table, "either p or in_degree, not both")
    if "in_degree" in table:
        k = table["in_degree"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 0 or k > source_size:
            raise ConfigError(f"{where}.in_degree", k, f"an integer in [0, {source_size}]")
        return "in_degree", float(k)
    return "p", _eval_p(table.get("p", "9/size"), source_size, f"{where}.p")


def _layer_connections(net: dict, rule: str) -> dict[int, dict]:
    """{z: table} of the layers that carry their own ``connection`` (``{ p = "40/size" }`` or
    ``{ in_degree = N }``): it replaces ``network.connection``'s p / in_degree for the feedforward
    projection from layer z-1 into layer z only (the delay stays network.connection's). Not on the
    first layer (nothing projects into it), only with rule "feedforward", and not with
    ``network.inhibition`` (its E(z-1) -> I(z) -> E(z) path would keep the inhibition's p)."""
    out: dict[int, dict] = {}
    for z, item in enumerate(net["layers"]):
        if not isinstance(item, dict) or "connection" not in item:
            continue
        where = f"network.layers[{z}].connection"
        table = item["connection"]
        if z == 0:
            raise ConfigError(where, table, "no connection on the first layer (no projection goes into it; "
                              "a layer's connection is the projection from the layer before it)")
        if not isinstance(table, dict):
            raise ConfigError(where, table, "a table with p or in_degree, e.g. { p = \"40/size\" }")
        _check_keys(table, _LAYER_CONN, where)
        if not table:
            raise ConfigError(where, table, "p or in_degree, e.g. { p = \"40/size\" } (size: the source layer's size)")
        if rule != "feedforward":
            raise ConfigError(where, table, f"no per-layer connection with network.connection.rule = '{rule}' "
                              "(it overrides the feedforward projection into the layer)")
        if "inhibition" in net:
            raise ConfigError(where, table, "no per-layer connection with network.inhibition (the inhibitory path "
                              f"from layer {z - 1} through I{z} into layer {z} would keep network.inhibition's p)")
        out[z] = table
    return out


def _layer_list(net: dict, cells: dict) -> list[LayerSpec]:
    layers_raw = net.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise ConfigError("network.layers", layers_raw, "a non-empty list of cell references or layer tables")
    if len(layers_raw) > 10_000:
        raise ConfigError("network.layers", f"{len(layers_raw)} layers", "at most 10,000 layers")
    default_size = net.get("size")
    if default_size is not None:
        _positive_int(default_size, "network.size", MAX_LAYER_SIZE)
    out: list[LayerSpec] = []
    for z, item in enumerate(layers_raw):
        where = f"network.layers[{z}]"
        entry = {"cell": item} if isinstance(item, str) else _check_keys(item, _LAYER, where)
        cell = resolve_cell(entry.get("cell"), f"{where}.cell")
        size = entry.get("size", default_size)
        if size is None:
            raise ConfigError(f"{where}.size", size, "a positive integer (or set network.size)")
        size = _positive_int(size, f"{where}.size", MAX_LAYER_SIZE)
        name = entry.get("name", f"L{z}_{cell.variant}")
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_LAYER_NAME:
            raise ConfigError(f"{where}.name", name, f"a name of letters, digits and _ starting with a letter "
                              f"(at most {MAX_LAYER_NAME} characters)")
        params = entry.get("params", {})
        cell = _apply_cell_overrides(cell, cells, params, where)
        _check_value_counts(cell, cells, params, where, size)
        out.append(LayerSpec(name, cell, size))
    return out


def _check_value_counts(cell: CellType, cells: dict, params: Any, where: str, size: int) -> None:
    """A per-neuron ``{values = [...]}`` table needs exactly one value per neuron of the layer;
    the error names where the table was written (layer params, [cells.*] or the card)."""
    for k, v in cell.params.items():
        if not (isinstance(v, Distribution) and v.kind == "values") or len(v.args) == size:
            continue
        if isinstance(params, dict) and k in params:
            field = f"{where}.params.{k}.values"
        else:
            src = next((key for key in (cell.ref, cell.variant, "all") if isinstance(cells.get(key), dict)
                        and k in cells[key]), None)
            field = f"cells.{src}.{k}.values" if src else f"{cell.card.path}: variants.{cell.variant}.{k}.values"
        raise ConfigError(field, f"{len(v.args)} values", f"one value per neuron of {where} ({size} neurons)")


def _apply_cell_overrides(cell: CellType, cells: dict, params: Any, where: str) -> CellType:
    # Order: [cells.all], then [cells.<variant or card.variant>], then the layer's own params.
    for key in ("all", cell.variant, cell.ref):
        if key in cells:
            cell = override(cell, _check_keys(cells[key], set(cell.card.parameters), f"cells.{key}"), f"cells.{key}")
    if params:
        cell = override(cell, _check_keys(params, set(cell.card.parameters), f"{where}.params"), f"{where}.params")
    return cell


@_one_line
def experiment_from_dict(raw: dict) -> Experiment:
    """Validate a spec dict (as read from TOML) and resolve defaults.

    A spec with a ``[sweep]`` table whose base values are not a valid run on their own (say
    ``alpha = 400`` with ``size = 150`` while the sweep sets alpha to 30–90) is valid when every
    point of the sweep is: each point is validated, and the first failing one is reported with
    its values. Its ``spec`` is then the unresolved base (with the sweep table), and the other
    fields are those of the first point."""
    _check_depth(raw)
    try:
        return _experiment(raw)
    except ConfigError:
        sweep = raw.get("sweep") if isinstance(raw, dict) else None
        if not isinstance(sweep, dict) or not sweep:
            raise
        return _sweep_experiment(raw)


def _sweep_experiment(raw: dict) -> Experiment:
    from .grid import RESERVED, expand_spec  # below config: the point validator is passed in

    spec = copy.deepcopy(raw)
    _check_keys(spec, _TOP, "")
    spec.pop("scales", None)
    spec["name"] = _experiment_name(spec)
    sweep = spec["sweep"]
    base = {k: v for k, v in spec.items() if k != "sweep"}
    sim = base.get("simulation", {})
    seed = sim.get("seed", 1) if isinstance(sim, dict) else 1
    swept = {k.replace('"', "") for k in sweep if k not in RESERVED and isinstance(k, str)}
    if not _valid_seed(seed):
        if "simulation.seed" not in swept:
            raise ConfigError("simulation.seed", seed, "an integer in [0, 2**32)")
        seed = 0
    # raises for the first failing point, with its values
    points = expand_spec(base, sweep, seed, validate=experiment_from_dict, apply=apply_overrides)
    return dataclasses.replace(points[0].experiment, spec=spec, sweep=sweep, seed=seed)


def _valid_seed(seed: Any) -> bool:
    return not isinstance(seed, bool) and isinstance(seed, int) and 0 <= seed < 2**32


def _experiment_name(spec: dict) -> str:
    name = spec.get("name", "experiment")
    if not isinstance(name, str) or not _EXP_NAME.match(name) or len(name) > MAX_NAME:
        raise ConfigError("name", name, f"a name of letters, digits, '_', '-', '.' (at most {MAX_NAME} characters)")
    return name


def _experiment(raw: dict) -> Experiment:
    spec = copy.deepcopy(raw)
    _check_keys(spec, _TOP, "")
    spec.pop("scales", None)  # applied by load_experiment; the resolved spec needs no menu
    name = spec["name"] = _experiment_name(spec)
    if "description" in spec and not isinstance(spec["description"], str):
        raise ConfigError("description", spec["description"], "a string")
    if "scale" in spec and not isinstance(spec["scale"], str):
        raise ConfigError("scale", spec["scale"], "the name of a scale (a string)")

    sim = _check_keys(spec.setdefault("simulation", {}), _SIM, "simulation")
    if "duration" not in sim:
        raise ConfigError("simulation.duration", None, "missing (e.g. duration = \"180 ms\")")
    sim.setdefault("dt", "0.01 ms")
    dt = _time(sim["dt"], "simulation.dt", strict=True)
    if float(dt) * 1e3 < MIN_DT_MS:
        raise ConfigError("simulation.dt", sim["dt"], f"at least {MIN_DT_MS:g} ms (a smaller step makes any run "
                          "far too long; 0.01 ms is the usual step)")
    duration = _time(sim["duration"], "simulation.duration", strict=True)
    steps = float(duration / dt)
    if steps > MAX_STEPS:
        raise ConfigError("simulation.duration", sim["duration"], f"at most {MAX_STEPS:.0e} time steps of "
                          f"simulation.dt = {sim['dt']!r} (this is {steps:.3g} steps: a run would take days)")
    _multiple_of_dt(duration, dt, "simulation.duration", sim["duration"])
    method = sim.setdefault("method", "heun")
    if method not in METHODS:
        raise ConfigError("simulation.method", method, f"one of {', '.join(METHODS)}")
    backend = sim.setdefault("backend", "cpp")
    if backend not in BACKENDS:
        raise ConfigError("simulation.backend", backend, f"one of {', '.join(BACKENDS)}")
    precision = sim.get("precision", "double")
    if precision not in PRECISIONS:
        raise ConfigError("simulation.precision", precision, f"one of {', '.join(PRECISIONS)}")
    # Read by network.spike_rule from the resolved spec; not written into it when absent, so specs
    # (and cached runs) without it stay as they were.
    spike_detection = sim.get("spike_detection", "lamina")
    if not isinstance(spike_detection, str) or spike_detection not in SPIKE_DETECTION:
        raise ConfigError("simulation.spike_detection", spike_detection, f"one of {', '.join(SPIKE_DETECTION)}")
    # Written into the resolved spec, so every run file says which generator drew its noise.
    noise = sim.setdefault("noise", NOISE_DEFAULT)
    if not isinstance(noise, str) or noise not in NOISE:
        raise ConfigError("simulation.noise", noise, f"one of {', '.join(NOISE)}")
    constants = sim.get("constants", "compiled")
    if not isinstance(constants, str) or constants not in CONSTANTS:
        raise ConfigError("simulation.constants", constants, f"one of {', '.join(CONSTANTS)}")
    seed = sim.setdefault("seed", 1)
    if not _valid_seed(seed):
        raise ConfigError("simulation.seed", seed, "an integer in [0, 2**32)")

    cells = spec.get("cells", {})
    if not isinstance(cells, dict):
        raise ConfigError("cells", cells, "a table of parameter overrides per cell variant")
    net = _check_keys(spec.get("network"), _NET, "network") if "network" in spec else None
    if net is None:
        raise ConfigError("network", None, "missing [network] table")
    chain = _layer_list(net, cells)
    known_refs = {"all"} | {l.cell.variant for l in chain} | {l.cell.ref for l in chain}

    conn = _check_keys(net.get("connection", {"rule": "feedforward"}), _CONN, "network.connection")
    rule = conn.get("rule", "feedforward")
    if rule not in ("feedforward", "none"):
        raise ConfigError("network.connection.rule", rule, "'feedforward' or 'none'")
    delay = _time(conn.get("delay", "0 ms"), "network.connection.delay")
    _multiple_of_dt(delay, dt, "network.connection.delay", conn.get("delay"))
    own = _layer_connections(net, rule)
    layers, projections = list(chain), []
    if rule == "feedforward":
        for z, (a, b) in enumerate(zip(chain, chain[1:]), start=1):
            # a layer's own connection replaces network.connection's p / in_degree for z-1 -> z
            table, where = (own[z], f"network.layers[{z}].connection") if z in own else (conn, "network.connection")
            r, v = _connection(table, where, a.size, b.size)
            projections.append(Projection(a.name, b.name, "exc", r, v, delay))
    if "inhibition" in net:
        inh = _check_keys(net["inhibition"], _INH, "network.inhibition")
        cell = resolve_cell(inh.get("cell", "prescott.inh"), "network.inhibition.cell")
        known_refs |= {cell.variant, cell.ref}
        cell = _apply_cell_overrides(cell, cells, inh.get("params", {}), "network.inhibition")
        isize = _positive_int(inh.get("size", chain[0].size), "network.inhibition.size", MAX_LAYER_SIZE)
        _check_value_counts(cell, cells, inh.get("params", {}), "network.inhibition", isize)
        idelay = _time(inh.get("delay", "0 ms"), "network.inhibition.delay")
        _multiple_of_dt(idelay, dt, "network.inhibition.delay", inh.get("delay"))
        for z, (a, b) in enumerate(zip(chain, chain[1:]), start=1):
            g = LayerSpec(f"I{z}", cell, isize, role="inh")
            layers.append(g)
            # p expressions count `size` as the excitatory source layer's size (figA3: all 9/4000).
            r, v = _connection(inh, "network.inhibition", a.size, isize)
            projections.append(Projection(a.name, g.name, "exc", r, v, idelay))
            projections.append(Projection(g.name, b.name, "inh", r, v, idelay))
    for key in cells:
        # A variant no layer uses is allowed (a sweep over network.layers may drop it);
        # a name that is no variant of any card is a typo.
        if key in known_refs:
            continue
        try:
            cell = resolve_cell(key)
        except ConfigError:
            raise ConfigError(f"cells.{key}", cells[key], f"a cell variant ({', '.join(sorted(known_refs))}, ...)") from None
        # unused here, but its overrides must still make sense
        override(cell, _check_keys(cells[key], set(cell.card.parameters), f"cells.{key}"), f"cells.{key}")
    names = [l.name for l in layers]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError("network.layers", sorted(dup)[0], "unique layer names")

    inp = _input(spec, layers, duration, dt)
    rec = _record(spec, dt, duration, layers, projections)
    sweep = spec.get("sweep")
    if sweep is not None and not isinstance(sweep, dict):
        raise ConfigError("sweep", sweep, "a table")
    try:
        dumps_toml(spec)  # the resolved spec is written to every result as TOML
    except (TypeError, ValueError) as e:
        raise ConfigError("spec", None, f"TOML values only (strings, numbers, booleans, lists, tables): {e}") from None
    if spike_detection == "authors":
        for l in layers:
            if "t_ref" not in l.cell.card.parameters:
                raise ConfigError("simulation.spike_detection", spike_detection, f"'lamina' for cell card "
                                  f"'{l.cell.card.name}' (the authors' rule needs a t_ref parameter)")
    return Experiment(name, duration, dt, method, backend, seed, tuple(layers), tuple(projections),
                      inp, rec, spec, sweep, precision)


def _input(spec: dict, layers: list[LayerSpec], duration: Quantity, dt: Quantity) -> InputSpec:
    table = spec.setdefault("input", {"kind": "none"})
    if not isinstance(table, dict):
        raise ConfigError("input", table, "a table")
    if "kind" not in table and set(table) - {"layers"}:
        raise ConfigError("input.kind", None, f"missing (one of {', '.join(INPUT_KINDS)})")
    kind = table.get("kind", "none")
    if not isinstance(kind, str) or kind not in INPUT_KINDS:
        raise ConfigError("input.kind", kind, f"one of {', '.join(INPUT_KINDS)}")
    schema = INPUT_KINDS[kind]
    _check_keys(table, {"kind", "layers"} | set(schema), "input")
    targets = table.get("layers", [layers[0].name])
    if isinstance(targets, str):
        targets = [targets]
    by_name = {l.name: l for l in layers}
    if not isinstance(targets, list) or not targets:
        raise ConfigError("input.layers", targets, f"a layer name or a non-empty list of layer names ({', '.join(by_name)})")
    for t in targets:
        if not isinstance(t, str) or t not in by_name:
            raise ConfigError("input.layers", t, f"a layer name ({', '.join(by_name)})")
    if len(set(targets)) != len(targets):
        raise ConfigError("input.layers", targets, "distinct layer names")
    current = by_name[targets[0]].cell.card.current_unit
    like = {"time": second, "voltage": mV, "current": current}
    params: dict[str, Any] = {}
    for key, (dim, default) in schema.items():
        field = f"input.{key}"
        if key not in table:
            if default is None:
                raise ConfigError(field, None, f"missing (required for input.kind = '{kind}')")
            if default == "":
                continue
            table[key] = default
        value = table[key]
        if dim == "count":
            size = min(by_name[t].size for t in targets)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= size:
                raise ConfigError(field, value, f"an integer number of input neurons in [0, {size}]")
            params[key] = value
            continue
        q = parse_quantity(value, field, like[dim])
        if dim == "time":
            if float(q) < 0:
                raise ConfigError(field, value, "a non-negative duration")
            if key in ("tau", "tau_rise", "tau_decay") and float(q) <= 0:
                raise ConfigError(field, value, "a positive time constant")
            if key in ("t0", "onset", "offset", "start") and float(q) > float(duration):
                raise ConfigError(field, value, f"a time within the simulation (duration {duration})")
        if key == "sigma" and float(q) < 0:
            raise ConfigError(field, value, "non-negative")
        params[key] = q
    if kind == "current_pulse":
        given = [k for k in ("amplitude", "jump") if k in params]
        if len(given) != 1:
            raise ConfigError("input.amplitude" if not given else "input.jump", None if not given else table["jump"],
                              "exactly one of input.amplitude (peak of the current) or input.jump (step of "
                              "the rising variable, the authors' convention) for input.kind = 'current_pulse'")
        if "jump" in params:  # the equivalent peak, for readers of `amplitude`; the spec keeps only `jump`
            from .stimulus import jump_peak_factor

            params["amplitude"] = params["jump"] * jump_peak_factor(float(params["tau_rise"]),
                                                                     float(params["tau_decay"]))
    return InputSpec(kind, tuple(targets), params)


def _record(spec: dict, dt: Quantity, duration: Quantity, layers: list[LayerSpec],
            projections: list[Projection]) -> RecordSpec:
    rec = _check_keys(spec.setdefault("record", {}), _RECORD, "record")
    spikes = rec.setdefault("spikes", "all")
    if spikes not in ("all", "none"):
        raise ConfigError("record.spikes", spikes, "'all' or 'none'")
    rec.setdefault("rate_bin", "0.5 ms")
    rate_bin = _time(rec["rate_bin"], "record.rate_bin", strict=True)
    _multiple_of_dt(rate_bin, dt, "record.rate_bin", rec["rate_bin"])
    if float(rate_bin) > float(duration) * (1 + 1e-9):
        raise ConfigError("record.rate_bin", rec["rate_bin"], f"at most the simulation's duration ({duration})")
    vars_, n = (), 0
    if "traces" in rec:
        tr = _check_keys(rec["traces"], {"vars", "neurons"}, "record.traces")
        vars_ = tr.get("vars", ["v"])
        if not isinstance(vars_, list) or not all(isinstance(v, str) and _NAME.match(v) for v in vars_):
            raise ConfigError("record.traces.vars", vars_, "a list of state-variable names")
        if len(set(vars_)) != len(vars_):
            raise ConfigError("record.traces.vars", vars_, "distinct variable names")
        inhibited = {p.post for p in projections if p.kind == "inh"}
        for card in {l.cell.card.name: l.cell.card for l in layers}.values():
            known = set(card.variables)
            if any(l.name in inhibited for l in layers if l.cell.card is card):
                known.add("x_i")
            for v in vars_:
                if v not in known:
                    raise ConfigError("record.traces.vars", v, f"a variable of every layer's cell card "
                                      f"('{card.name}': {', '.join(sorted(known))})")
        n = tr.get("neurons", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= min(l.size for l in layers):
            raise ConfigError("record.traces.neurons", n, "a positive number of neurons per layer")
    return RecordSpec(spikes == "all", rate_bin, tuple(vars_), n)


def dumps_toml(spec: dict) -> str:
    import tomli_w

    return tomli_w.dumps(spec)
