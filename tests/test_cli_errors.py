"""Bad input: one line naming the field and value, exit status 2, no result files."""
from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from conftest import chain_spec
from lamina.cli import main


def _spec_file(tmp_path: Path, spec: dict | str) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(spec if isinstance(spec, str) else tomli_w.dumps(spec))
    return p


CASES = [
    # (changes to the small spec, text that must appear in the message)
    ({"input.alhpa": 5}, "input.alhpa"),
    ({"simulation.durration": "5 ms"}, "simulation.durration"),
    ({"network.layers": ["prescott.input", "prescott.intt"]}, "prescott.intt"),
    ({"network.layers": ["prescott.input", "nosuchcard.int"]}, "nosuchcard"),
    ({"network.size": 0}, "network.size"),
    ({"network.size": -5}, "network.size"),
    ({"network.connection": {"p": 1.5}}, "network.connection.p"),
    ({"network.connection": {"p": "-9/size"}}, "network.connection.p"),
    ({"simulation.duration": "180.005 ms"}, "simulation.duration"),
    ({"simulation.duration": "180"}, "simulation.duration"),        # missing unit
    ({"input.sigma": "5 mV"}, "input.sigma"),                       # wrong unit
    ({"cells.int.beta_w": "5 ms"}, "cells.int.beta_w"),             # wrong unit in an override
    ({"cells.int.beta_ww": "5 mV"}, "cells.int.beta_ww"),           # unknown parameter
    ({"input.alpha": 5000}, "input.alpha"),
    ({"simulation.backend": "gpu"}, "simulation.backend"),
    ({"record.rate_bin": "0.015 ms"}, "record.rate_bin"),
]


@pytest.mark.parametrize("changes,needle", CASES)
def test_bad_spec(tmp_path, capsys, changes, needle):
    out = tmp_path / "out"
    code = main(["run", str(_spec_file(tmp_path, chain_spec(changes))), "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("lamina: error: ")
    assert needle in err
    assert not out.exists() or not any(out.iterdir())


def test_garbled_toml(tmp_path, capsys):
    code = main(["validate", str(_spec_file(tmp_path, "[simulation\nduration = 5 ms"))])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not valid TOML" in err and len(err.splitlines()) == 1


def test_unreadable_spec(tmp_path, capsys):
    code = main(["validate", str(tmp_path / "missing.toml")])
    assert code == 2 and "missing.toml" in capsys.readouterr().err


def test_bad_set_override(tmp_path, capsys):
    code = main(["validate", str(_spec_file(tmp_path, chain_spec())), "--set", "input.sigma=5"])
    err = capsys.readouterr().err
    assert code == 2 and "input.sigma" in err


def test_output_dir_not_writable(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code = main(["run", str(_spec_file(tmp_path, chain_spec())), "-o", str(blocker / "sub")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "-o/--output" in err and len(err.splitlines()) == 1
    assert blocker.read_text() == "x"


def test_validate_ok(tmp_path, capsys):
    assert main(["validate", "sims/quickstart.toml"]) == 0
    assert "7 layers, 7000 neurons" in capsys.readouterr().out
