"""Exceptions users see. Every message is one line naming the field and the offending value."""
from __future__ import annotations

from typing import Any


class LaminaError(Exception):
    """Base class; the CLI turns these into a one-line message and exit status 2."""


class ConfigError(LaminaError):
    """A spec, a cell card or a command-line override is invalid."""

    def __init__(self, field: str, value: Any, expected: str):
        self.field, self.value, self.expected = field, value, expected
        shown = f"{field}: " if value is None else f"{field} = {value!r}: "
        super().__init__(shown + expected)


class SimulationError(LaminaError):
    """The simulation itself failed (compiler error, blow-up, ...)."""
