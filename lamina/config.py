"""Experiment specs (TOML) → validated, immutable :class:`Experiment` objects.

This is where user files and ``--set`` overrides are read. Every problem raises
:class:`ConfigError` naming the field path and the offending value; downstream code trusts
the Experiment.
"""
from __future__ import annotations

import ast
import copy
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from brian2.units import mV, second

from .cells import CellType, override, resolve_cell
from .errors import ConfigError
from .quantities import Quantity, parse_quantity

__all__ = ["Experiment", "LayerSpec", "Projection", "InputSpec", "RecordSpec", "ConfigError",
           "load_experiment", "experiment_from_dict", "apply_overrides", "dumps_toml"]

METHODS = ("heun", "euler", "milstein")
BACKENDS = ("cpp", "runtime", "cuda", "auto")
PRECISIONS = ("double", "single")
INPUT_KINDS = {  # kind -> {param: (dimension kind, required default or None)}
    "none": {},
    "pulse_packet": {"alpha": ("count", None), "sigma": ("time", None), "t0": ("time", None),
                     "kick": ("voltage", "70 mV")},
    "ou": {"tau": ("time", None), "mean": ("current", None), "sigma": ("current", None),
           "start": ("time", "0 ms")},
    "step": {"onset": ("time", None), "amplitude": ("current", None), "offset": ("time", "")},
    "current_pulse": {"onset": ("time", None), "amplitude": ("current", None),
                      "tau_rise": ("time", None), "tau_decay": ("time", None)},
}
_TOP = {"name", "description", "simulation", "network", "cells", "input", "record", "sweep", "scales", "scale"}
_SIM = {"duration", "dt", "method", "backend", "seed", "precision"}
_NET = {"layers", "size", "connection", "inhibition"}
_LAYER = {"cell", "name", "size", "params"}
_CONN = {"rule", "p", "in_degree", "delay"}
_INH = {"cell", "size", "p", "in_degree", "delay", "params"}
_RECORD = {"spikes", "rate_bin", "traces"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


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


def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None,
                    scale: str | None = None) -> Experiment:
    """Read a spec file, apply a named scale (``[scales.<name>]``, e.g. "small"), then dotted-path
    overrides ({"input.alpha": 600}), and validate."""
    return experiment_from_dict(apply_overrides(apply_scale(read_toml(path), scale), overrides or {}))


def apply_scale(spec: dict, scale: str | None) -> dict:
    """``[scales.small]`` holds dotted-path overrides ("network.size" = 200) that shrink an
    experiment without changing its physics; the resolved spec records the scale's name."""
    scales = spec.get("scales", {})
    if not isinstance(scales, dict) or not all(isinstance(v, dict) for v in scales.values()):
        raise ConfigError("scales", scales, "a table of tables of dotted-path overrides")
    if scale is None:
        return spec
    if scale not in scales and scale != "paper":
        raise ConfigError("--scale", scale, f"one of {', '.join(sorted(set(scales) | {'paper'}))}")
    out = apply_overrides(spec, scales.get(scale, {}))
    out["scale"] = scale
    return out


def read_toml(path: str | Path) -> dict:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(str(path), None, f"cannot read spec file ({e.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), None, f"not valid TOML ({e})") from None


def parse_set(item: str) -> tuple[str, Any]:
    """'input.alpha=600' → ("input.alpha", 600); values are TOML values or bare strings."""
    if "=" not in item:
        raise ConfigError("--set", item, "key=value, e.g. input.alpha=600 or input.sigma='5 ms'")
    key, text = item.split("=", 1)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip().strip("'\"")
    return key.strip(), value


def _split_path(path: str) -> list[str]:
    parts = [a or b for a, b in re.findall(r'"([^"]+)"|([^.]+)', path)]
    if not parts or not all(parts):
        raise ConfigError("--set", path, "a dotted key such as input.alpha")
    return parts


def apply_overrides(spec: dict, overrides: Mapping[str, Any]) -> dict:
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


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(field, value, "a positive integer")
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
    """Connection probability: a number or an expression in `size` (source layer size)."""
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        p = float(expr)
    elif isinstance(expr, str):
        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError:
            raise ConfigError(field, expr, "a number or an expression in 'size', e.g. '9/size'") from None
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.operator, ast.unaryop, ast.expr_context)
        if not all(isinstance(n, allowed) for n in ast.walk(tree)) or any(
                isinstance(n, ast.Name) and n.id != "size" for n in ast.walk(tree)):
            raise ConfigError(field, expr, "a number or an expression in 'size', e.g. '9/size'")
        try:
            p = float(eval(compile(tree, field, "eval"), {"__builtins__": {}}, {"size": size}))  # noqa: S307
        except ZeroDivisionError:
            raise ConfigError(field, expr, "a finite probability") from None
    else:
        raise ConfigError(field, expr, "a number or an expression in 'size', e.g. '9/size'")
    if not 0.0 <= p <= 1.0:
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


def _layer_list(net: dict, cells: dict) -> list[LayerSpec]:
    layers_raw = net.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise ConfigError("network.layers", layers_raw, "a non-empty list of cell references or layer tables")
    default_size = net.get("size")
    if default_size is not None:
        _positive_int(default_size, "network.size")
    out: list[LayerSpec] = []
    for z, item in enumerate(layers_raw):
        where = f"network.layers[{z}]"
        entry = {"cell": item} if isinstance(item, str) else _check_keys(item, _LAYER, where)
        cell = resolve_cell(entry.get("cell"), f"{where}.cell")
        size = entry.get("size", default_size)
        if size is None:
            raise ConfigError(f"{where}.size", size, "a positive integer (or set network.size)")
        size = _positive_int(size, f"{where}.size")
        name = entry.get("name", f"L{z}_{cell.variant}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}.name", name, "a name of letters, digits and _ starting with a letter")
        cell = _apply_cell_overrides(cell, cells, entry.get("params", {}), where)
        out.append(LayerSpec(name, cell, size))
    return out


def _apply_cell_overrides(cell: CellType, cells: dict, params: Any, where: str) -> CellType:
    # Order: [cells.all], then [cells.<variant or card.variant>], then the layer's own params.
    for key in ("all", cell.variant, cell.ref):
        if key in cells:
            cell = override(cell, _check_keys(cells[key], set(cell.card.parameters), f"cells.{key}"), f"cells.{key}")
    if params:
        cell = override(cell, _check_keys(params, set(cell.card.parameters), f"{where}.params"), f"{where}.params")
    return cell


def experiment_from_dict(raw: dict) -> Experiment:
    """Validate a spec dict (as read from TOML) and resolve defaults."""
    spec = copy.deepcopy(raw)
    _check_keys(spec, _TOP, "")
    spec.pop("scales", None)  # applied by load_experiment; the resolved spec needs no menu
    name = spec.get("name", "experiment")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
        raise ConfigError("name", name, "a name of letters, digits, '_', '-', '.'")
    spec["name"] = name

    sim = _check_keys(spec.setdefault("simulation", {}), _SIM, "simulation")
    if "duration" not in sim:
        raise ConfigError("simulation.duration", None, "missing (e.g. duration = \"180 ms\")")
    sim.setdefault("dt", "0.01 ms")
    dt = _time(sim["dt"], "simulation.dt", strict=True)
    duration = _time(sim["duration"], "simulation.duration", strict=True)
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
    seed = sim.setdefault("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
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
    layers, projections = list(chain), []
    if rule == "feedforward":
        for a, b in zip(chain, chain[1:]):
            r, v = _connection(conn, "network.connection", a.size, b.size)
            projections.append(Projection(a.name, b.name, "exc", r, v, delay))
    if "inhibition" in net:
        inh = _check_keys(net["inhibition"], _INH, "network.inhibition")
        cell = resolve_cell(inh.get("cell", "prescott.inh"), "network.inhibition.cell")
        known_refs |= {cell.variant, cell.ref}
        cell = _apply_cell_overrides(cell, cells, inh.get("params", {}), "network.inhibition")
        isize = _positive_int(inh.get("size", chain[0].size), "network.inhibition.size")
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
    rec = _record(spec, dt, layers)
    sweep = spec.get("sweep")
    if sweep is not None and not isinstance(sweep, dict):
        raise ConfigError("sweep", sweep, "a table")
    return Experiment(name, duration, dt, method, backend, seed, tuple(layers), tuple(projections),
                      inp, rec, spec, sweep, precision)


def _input(spec: dict, layers: list[LayerSpec], duration: Quantity, dt: Quantity) -> InputSpec:
    table = spec.setdefault("input", {"kind": "none"})
    if not isinstance(table, dict):
        raise ConfigError("input", table, "a table")
    kind = table.get("kind", "none")
    if kind not in INPUT_KINDS:
        raise ConfigError("input.kind", kind, f"one of {', '.join(INPUT_KINDS)}")
    schema = INPUT_KINDS[kind]
    _check_keys(table, {"kind", "layers"} | set(schema), "input")
    targets = table.get("layers", [layers[0].name])
    if isinstance(targets, str):
        targets = [targets]
    by_name = {l.name: l for l in layers}
    for t in targets:
        if t not in by_name:
            raise ConfigError("input.layers", t, f"a layer name ({', '.join(by_name)})")
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
    return InputSpec(kind, tuple(targets), params)


def _record(spec: dict, dt: Quantity, layers: list[LayerSpec]) -> RecordSpec:
    rec = _check_keys(spec.setdefault("record", {}), _RECORD, "record")
    spikes = rec.setdefault("spikes", "all")
    if spikes not in ("all", "none"):
        raise ConfigError("record.spikes", spikes, "'all' or 'none'")
    rec.setdefault("rate_bin", "0.5 ms")
    rate_bin = _time(rec["rate_bin"], "record.rate_bin", strict=True)
    _multiple_of_dt(rate_bin, dt, "record.rate_bin", rec["rate_bin"])
    vars_, n = (), 0
    if "traces" in rec:
        tr = _check_keys(rec["traces"], {"vars", "neurons"}, "record.traces")
        vars_ = tr.get("vars", ["v"])
        if not isinstance(vars_, list) or not all(isinstance(v, str) and _NAME.match(v) for v in vars_):
            raise ConfigError("record.traces.vars", vars_, "a list of state-variable names")
        n = tr.get("neurons", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= min(l.size for l in layers):
            raise ConfigError("record.traces.neurons", n, "a positive number of neurons per layer")
    return RecordSpec(spikes == "all", rate_bin, tuple(vars_), n)


def dumps_toml(spec: dict) -> str:
    import tomli_w

    return tomli_w.dumps(spec)
