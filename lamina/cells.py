"""Cell-type cards: neuron models as data (``models/*.toml``), with named parameter variants.

The shipped cards are package data in ``lamina/data/models/`` (``models/`` at the repository root
is a symlink to it); ``$LAMINA_MODEL_PATH`` adds folders searched first.

A card holds Brian2 equations, a synaptic-current expression, spike detection, initial values,
parameters with units and named variants. Adding a cell type means adding a file.
A cell reference is ``card.variant`` ("prescott.int"), or just the variant when unambiguous.
"""
from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import resources
from .errors import ConfigError
from .quantities import Distribution, ParamValue, Quantity, parse_param, parse_quantity, parse_unit

# The shipped cards (lamina/data/models); kept as a module constant for compatibility.
MODELS_DIR: Path = resources.models_dir()
_CARD_KEYS = {"name", "title", "current_unit", "equations", "synaptic_current", "threshold",
              "reset", "refractory", "initial", "parameters", "variants"}
_CARD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")  # a file stem in a model folder, no path
# Variables lamina.network adds to every group (SYNAPSE_EQS, I_syn, I_ext); x_i only where a
# group receives inhibition.
NETWORK_VARS = ("x_e", "y_e", "y_i", "I_syn", "I_ext")
_EQ_NAME = re.compile(r"^\s*(?:d([A-Za-z_]\w*)\s*/\s*dt|([A-Za-z_]\w*))\s*(?:=|:)")


@dataclass(frozen=True)
class CellCard:
    name: str
    title: str
    path: str
    current_unit: Quantity
    equations: str
    synaptic_current: str
    threshold: str
    reset: str | None
    refractory: str | None
    initial: dict[str, Quantity]
    parameters: dict[str, Quantity]
    variants: dict[str, dict[str, ParamValue]]
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def variables(self) -> frozenset[str]:
        """Names a StateMonitor can record in a group of this card: the card's state variables
        and subexpressions, its parameters (per-neuron variables) and lamina's own variables."""
        names = {m.group(1) or m.group(2) for m in map(_EQ_NAME.match, self.equations.splitlines()) if m}
        if self.refractory:
            names |= {"lastspike", "not_refractory"}
        return frozenset(names | set(self.parameters) | set(NETWORK_VARS))


@dataclass(frozen=True)
class CellType:
    """A card with one variant applied: the complete default parameter set of a layer."""

    card: CellCard
    variant: str
    params: dict[str, ParamValue]

    @property
    def ref(self) -> str:
        return f"{self.card.name}.{self.variant}"


def model_dirs() -> list[Path]:
    """Where cards are looked up: $LAMINA_MODEL_PATH (os.pathsep-separated), then the shipped cards."""
    extra = [Path(p) for p in os.environ.get("LAMINA_MODEL_PATH", "").split(os.pathsep) if p]
    return extra + [MODELS_DIR]


def available_cards() -> list[str]:
    return sorted({p.stem for d in model_dirs() if d.is_dir() for p in d.glob("*.toml")})


@functools.lru_cache(maxsize=None)
def load_card(name: str) -> CellCard:
    """The card ``<name>.toml`` from the model path; ``name`` is a bare file stem (never a path:
    cards load only from $LAMINA_MODEL_PATH and the shipped models folder)."""
    if not isinstance(name, str) or not _CARD_NAME.match(name):
        raise ConfigError("cell", name, "a card name (letters, digits, '_', '-') from the model path "
                          f"({', '.join(available_cards())}); paths are not accepted, add folders to "
                          "LAMINA_MODEL_PATH instead")
    for d in model_dirs():
        path = d / f"{name}.toml"
        if path.is_file():
            return _parse_card(path)
    raise ConfigError("cell", name, f"a cell card in {', '.join(map(str, model_dirs()))} "
                      f"(available: {', '.join(available_cards())})")


def _parse_card(path: Path) -> CellCard:
    where = str(path)
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise ConfigError(where, None, f"a readable UTF-8 TOML cell card ({str(e)[:120]})") from None
    unknown = set(raw) - _CARD_KEYS
    if unknown:
        raise ConfigError(f"{where}: {sorted(unknown)[0]}", raw[sorted(unknown)[0]], f"one of {sorted(_CARD_KEYS)}")
    for key in ("equations", "synaptic_current", "threshold"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}: {key}", raw.get(key), "a non-empty string (required)")
    for key in ("name", "title", "reset", "refractory", "current_unit"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: {key}", raw[key], "a string")
    for key in ("parameters", "initial", "variants"):
        if not isinstance(raw.get(key, {}), dict):
            raise ConfigError(f"{where}: {key}", raw[key], "a table")
    params = {k: parse_quantity(v, f"{where}: parameters.{k}") for k, v in raw.get("parameters", {}).items()}
    for k, q in params.items():
        _check_sign(k, q, f"{where}: parameters.{k}", raw["parameters"][k])
    variants: dict[str, dict[str, ParamValue]] = {}
    descriptions: dict[str, str] = {}
    for vname, vals in raw.get("variants", {}).items():
        if not isinstance(vals, dict):
            raise ConfigError(f"{where}: variants.{vname}", vals, "a table of parameter values")
        vals = dict(vals)
        descriptions[vname] = vals.pop("description", "")
        if not isinstance(descriptions[vname], str):
            raise ConfigError(f"{where}: variants.{vname}.description", descriptions[vname], "a string")
        variants[vname] = {k: _param(k, v, params, f"{where}: variants.{vname}.{k}") for k, v in vals.items()}
    name = raw.get("name", path.stem)
    if not _CARD_NAME.match(name):
        raise ConfigError(f"{where}: name", name, "a card name of letters, digits, '_', '-'")
    return CellCard(
        name=name, title=raw.get("title", ""), path=where,
        current_unit=parse_unit(raw.get("current_unit", "amp"), f"{where}: current_unit"),
        equations=raw["equations"], synaptic_current=raw["synaptic_current"],
        threshold=raw["threshold"], reset=raw.get("reset"), refractory=raw.get("refractory"),
        initial={k: parse_quantity(v, f"{where}: initial.{k}") for k, v in raw.get("initial", {}).items()},
        parameters=params, variants=variants, descriptions=descriptions,
    )


@functools.lru_cache(maxsize=1)
def _kinds() -> dict:
    from brian2.units import farad, meter, second, siemens
    from brian2.units.fundamentalunits import get_dimensions

    out = {}
    for kind, u in (("time", second), ("conductance", siemens), ("capacitance", farad)):
        out[get_dimensions(u)] = out[get_dimensions(u / meter**2)] = kind
    return out


def _kind(q: Quantity) -> str:
    """'time', 'conductance', 'capacitance' (also per unit area) or ''."""
    from brian2.units.fundamentalunits import get_dimensions

    return _kinds().get(get_dimensions(q), "")


def _check_sign(name: str, q: Quantity, where: str, raw: Any) -> None:
    """Conductances and times must not be negative; capacitances and time constants (tau*)
    must be positive (a zero one divides by zero in the equations)."""
    x = float(q)
    kind = _kind(q)
    if kind == "capacitance" or (kind == "time" and name.startswith("tau")):
        if x <= 0:
            raise ConfigError(where, raw, f"a positive {'capacitance' if kind == 'capacitance' else 'time constant'}")
    elif kind in ("time", "conductance") and x < 0:
        raise ConfigError(where, raw, f"a non-negative {kind}")


def _param(name: str, value: Any, defaults: dict[str, Quantity], where: str) -> ParamValue:
    if name not in defaults:
        raise ConfigError(where, value, f"a parameter of the card ({', '.join(sorted(defaults))})")
    p = parse_param(value, where, defaults[name])
    for q in (p.args if isinstance(p, Distribution) else (p,)):
        _check_sign(name, q, where, value)
    return p


def resolve_cell(ref: str, field_name: str = "cell") -> CellType:
    """'prescott.int' (or 'int' when only one card has that variant) → CellType."""
    if not isinstance(ref, str) or not ref:
        raise ConfigError(field_name, ref, "a cell reference such as 'prescott.int'")
    if "." in ref:
        card_name, variant = ref.split(".", 1)
        try:
            card = load_card(card_name)  # a bare card name only: "/any/dir/x.int" is rejected
        except ConfigError as e:
            if e.field != "cell":  # a broken card file: its own path names the field
                raise
            raise ConfigError(field_name, ref, e.expected) from None
    else:
        hits = [c for c in map(load_card, available_cards()) if ref in c.variants]
        if len(hits) != 1:
            raise ConfigError(field_name, ref, "a unique variant name; write it as 'card.variant'"
                              + (f" (found in {[c.name for c in hits]})" if hits else f" (known: {known_variants()})"))
        card, variant = hits[0], ref
    if variant not in card.variants:
        raise ConfigError(field_name, ref, f"a variant of card '{card.name}' ({', '.join(sorted(card.variants))})")
    return CellType(card, variant, {**card.parameters, **card.variants[variant]})


def override(cell: CellType, overrides: dict[str, Any], where: str) -> CellType:
    """Apply spec overrides (``beta_w = "-10 mV"``) with dimension checks against the card."""
    params = dict(cell.params)
    for k, v in overrides.items():
        params[k] = _param(k, v, cell.card.parameters, f"{where}.{k}")
    return CellType(cell.card, cell.variant, params)


def known_variants() -> str:
    return ", ".join(f"{c}.{v}" for c in available_cards() for v in load_card(c).variants)
