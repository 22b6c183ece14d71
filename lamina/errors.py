"""Exceptions users see. Every message is one line naming the field and the offending value."""
from __future__ import annotations

from typing import Any


class LaminaError(Exception):
    """Base class; the CLI turns these into a one-line message and exit status 1 (2 for BadInput)."""


class BadInput(LaminaError):
    """Something the user gave is unusable; the CLI exits with status 2 and writes nothing."""


class ConfigError(BadInput):
    """A spec, a cell card or a command-line value is invalid (raised where input is judged:
    lamina.config, lamina.cells, lamina.quantities and lamina.cli)."""

    def __init__(self, field: str, value: Any, expected: str):
        self.field, self.value, self.expected = field, value, expected
        shown = f"{field}: " if value is None else f"{field} = {value!r}: "
        super().__init__(shown + expected)


class SimulationError(LaminaError):
    """The simulation itself failed (compiler error, blow-up, ...)."""


class WriteFailed(SimulationError):
    """A simulated run could not be written where asked (full disk …); ``kept`` says where its
    data went instead (a run file in the fallback directory, a ``.npz``), None if nowhere."""

    def __init__(self, message: str, kept=None):
        self.kept = kept
        super().__init__(message)


class InputError(BadInput):
    """A path or command-line value turned out unusable while using it (a directory that cannot
    be written, a file that is not a lamina file, a locked sweep, an unreachable scheduler)."""

    def __init__(self, field: str, value: Any, expected: str):
        self.field, self.value, self.expected = field, value, expected
        super().__init__(f"{field} = {str(value)!r}: {expected}")


class BackendUnavailable(BadInput):
    """The chosen backend cannot run here (brian2cuda, nvcc or a GPU missing); says how to fix it."""
