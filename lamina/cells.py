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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import resources
from .errors import ConfigError
from .quantities import ParamValue, Quantity, parse_param, parse_quantity, parse_unit

# The shipped cards (lamina/data/models); kept as a module constant for compatibility.
MODELS_DIR: Path = resources.models_dir()
_CARD_KEYS = {"name", "title", "current_unit", "equations", "synaptic_current", "threshold",
              "reset", "refractory", "initial", "parameters", "variants"}


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
    for d in model_dirs():
        path = d / f"{name}.toml"
        if path.is_file():
            return _parse_card(path)
    raise ConfigError("cell", name, f"a cell card in {', '.join(map(str, model_dirs()))} "
                      f"(available: {', '.join(available_cards())})")


def _parse_card(path: Path) -> CellCard:
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(where, "", f"a readable TOML cell card ({e})") from None
    unknown = set(raw) - _CARD_KEYS
    if unknown:
        raise ConfigError(f"{where}: {sorted(unknown)[0]}", raw[sorted(unknown)[0]], f"one of {sorted(_CARD_KEYS)}")
    params = {k: parse_quantity(v, f"{where}: parameters.{k}") for k, v in raw.get("parameters", {}).items()}
    variants: dict[str, dict[str, ParamValue]] = {}
    descriptions: dict[str, str] = {}
    for vname, vals in raw.get("variants", {}).items():
        vals = dict(vals)
        descriptions[vname] = vals.pop("description", "")
        variants[vname] = {k: _param(k, v, params, f"{where}: variants.{vname}.{k}") for k, v in vals.items()}
    return CellCard(
        name=raw.get("name", path.stem), title=raw.get("title", ""), path=where,
        current_unit=parse_unit(raw.get("current_unit", "amp"), f"{where}: current_unit"),
        equations=raw["equations"], synaptic_current=raw["synaptic_current"],
        threshold=raw["threshold"], reset=raw.get("reset"), refractory=raw.get("refractory"),
        initial={k: parse_quantity(v, f"{where}: initial.{k}") for k, v in raw.get("initial", {}).items()},
        parameters=params, variants=variants, descriptions=descriptions,
    )


def _param(name: str, value: Any, defaults: dict[str, Quantity], where: str) -> ParamValue:
    if name not in defaults:
        raise ConfigError(where, value, f"a parameter of the card ({', '.join(sorted(defaults))})")
    return parse_param(value, where, defaults[name])


def resolve_cell(ref: str, field_name: str = "cell") -> CellType:
    """'prescott.int' (or 'int' when only one card has that variant) → CellType."""
    if not isinstance(ref, str) or not ref:
        raise ConfigError(field_name, ref, "a cell reference such as 'prescott.int'")
    if "." in ref:
        card_name, variant = ref.split(".", 1)
        card = load_card(card_name)
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
