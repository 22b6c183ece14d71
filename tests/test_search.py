"""lamina search (issue 14): the [search] table, the Optuna wiring on planted objectives, resuming
after a kill, and a tiny real study on the runtime backend."""
from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lamina.errors import ConfigError
from lamina.search import load_search, parse_search, run_study
from lamina.search.study import JOURNAL, REEVALUATION, load_study

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

TINY = """
name = "tiny_search"
[simulation]
duration = "30 ms"
dt = "0.025 ms"
backend = "runtime"
seed = 5
[network]
layers = ["prescott.input", "prescott.int", "prescott.diff"]
size = 50
connection = { rule = "feedforward", p = "9/size" }
[input]
kind = "pulse_packet"
alpha = 20
sigma = "1 ms"
t0 = "15 ms"
[record]
spikes = "all"
rate_bin = "0.5 ms"
[search]
trials = 2
seed = 3
strengths = [15, 35]
seeds = 2
fresh_seeds = 2
top_k = 1
references = ["het"]
[search.profile]
family = "per_layer"
beta_w = ["-20 mV", "5 mV"]
"""


def _spec_dict(depth: int = 4, **search) -> dict:
    """A search spec dict with ``depth`` hidden layers (parse_search only: nothing is simulated)."""
    import tomllib

    d = tomllib.loads(TINY)
    d["network"]["layers"] = ["prescott.input"] + ["prescott.int"] * depth
    d["search"].update(search)
    return d


def _write(tmp_path: Path, text: str = TINY) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


def _complete(study) -> list:
    return [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]


# ---------------------------------------------------------------------------------------------
# The optimiser wiring, apart from the physics: planted objectives with a known best profile


PLANTED = np.array([4.0, -18.0, 4.0])  # an alternating profile (mV)


def _planted(profile, fresh=False) -> float:
    """A smooth objective whose unique maximum (0) is PLANTED."""
    return -float(np.sum((np.array(profile.beta_w) - PLANTED) ** 2)) / 100.0


def test_planted_per_layer_tpe_finds_the_optimum(tmp_path):
    spec = parse_search(_spec_dict(3, trials=50, top_k=2, references=["het", "int"],
                                   profile={"family": "per_layer", "beta_w": ["-25 mV", "5 mV"]}))
    report = run_study(spec, tmp_path / "study", evaluate=_planted, log=lambda m: None)
    assert report.n_complete == 50
    best = report.reevaluated[0]
    assert best["kind"] == "searched" and best["rank"] == 1
    # TPE in 3 dimensions, 50 trials: every layer within 2 mV of the planted profile (1.24 mV at
    # worst over 4 sampler seeds; a random search of 50 points in [-25, 5]^3 comes this close with
    # probability 0.065)
    assert np.max(np.abs(np.array(best["beta_w"]) - PLANTED)) < 2.0, best["beta_w"]
    # the references are evaluated too, by the same (planted) objective on their card beta_w
    refs = {r["label"]: r for r in report.reevaluated if r["kind"] == "reference"}
    assert refs["het"]["beta_w"] == [5.0, -19.0, 5.0]
    assert refs["het"]["mi"] == pytest.approx(_planted(type("P", (), {"beta_w": (5.0, -19.0, 5.0)})))
    assert best["mi"] > refs["int"]["mi"]
    saved = json.loads((tmp_path / "study" / REEVALUATION).read_text())
    assert [r["label"] for r in saved["rows"]] == ["best1", "best2", "het", "int"]


def test_planted_cmaes_ramp_finds_the_optimum(tmp_path):
    spec = parse_search(_spec_dict(4, trials=55, sampler="cmaes", top_k=1, references=[],
                                   profile={"family": "ramp", "start": ["-25 mV", "5 mV"], "end": ["-25 mV", "5 mV"]}))

    def ramp(profile, fresh=False):
        b = np.array(profile.beta_w)
        return -float((b[0] + 20.0) ** 2 + (b[-1] - 0.0) ** 2)

    report = run_study(spec, tmp_path / "s", evaluate=ramp, log=lambda m: None)
    b = report.reevaluated[0]["beta_w"]
    assert abs(b[0] + 20.0) < 1.5 and abs(b[-1]) < 1.5, b  # 4 sampler seeds: within 1 mV
    assert np.allclose(np.diff(b), (b[-1] - b[0]) / 3, atol=0.01)  # linear ramp over the 4 layers


def test_pruning_stops_bad_profiles_after_the_first_stage(tmp_path):
    spec = parse_search(_spec_dict(3, trials=30, seeds=10, prune_after=3, top_k=1, references=[]))
    stages: list[int | None] = []

    def staged(profile, fresh=False, n_seeds=None):
        stages.append(n_seeds)
        return _planted(profile)

    report = run_study(spec, tmp_path / "s", evaluate=staged, log=lambda m: None)
    assert report.n_complete == 30
    trials = load_study(tmp_path / "s").get_trials(deepcopy=False)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    done = _complete(trials_study := load_study(tmp_path / "s"))
    assert pruned, "no profile was pruned"
    # a pruned trial was evaluated on the first stage only, a complete one on both stages
    assert stages.count(3) == len(pruned) + len(done) and stages.count(None) == len(done) + 1  # + top-1 re-evaluation
    # pruned profiles are bad ones: below the median of the completed trials
    assert max(t.user_attrs["pruned_value"] for t in pruned) < np.median([t.value for t in done])
    assert trials_study.trials_dataframe().shape[0] == len(trials)


def test_alternating_family_profiles():
    spec = parse_search(_spec_dict(6, profile={"family": "alternating", "a": ["-5 mV", "5 mV"],
                                               "b": ["-20 mV", "-10 mV"], "period": [1, 3]}))
    fam = spec.family
    assert set(fam.ranges) == {"a", "b", "period"} and fam.ranges["period"] == (1.0, 3.0, True)
    assert fam.profile({"a": 5, "b": -19, "period": 1}).beta_w == (5, -19, 5, -19, 5, -19)
    assert fam.profile({"a": 5, "b": -19, "period": 2}).beta_w == (5, 5, -19, -19, 5, 5)


def test_noise_is_searched_per_layer():
    spec = parse_search(_spec_dict(3, noise={"sigma_noise": ["10 uA/cm**2", "50 uA/cm**2"], "per_layer": True}))
    assert {"sigma_noise_1", "sigma_noise_2", "sigma_noise_3"} <= set(spec.family.ranges)
    p = spec.family.profile({"beta_w_1": 0, "beta_w_2": -1, "beta_w_3": -2,
                             "sigma_noise_1": 11, "sigma_noise_2": 22, "sigma_noise_3": 33})
    assert p.sigma_noise == (11, 22, 33)


# ---------------------------------------------------------------------------------------------
# Resuming: finished trials are never evaluated again


def test_interrupted_study_resumes_without_repeating_trials(tmp_path):
    spec = parse_search(_spec_dict(2, trials=10, top_k=1, references=[]))
    out = tmp_path / "study"
    seen: list[tuple] = []

    def interrupt_at_6(profile, fresh=False):
        if not fresh and len(seen) == 5:
            seen.append(profile.beta_w)
            raise KeyboardInterrupt  # Ctrl-C in the 6th trial
        seen.append(profile.beta_w)
        return -abs(profile.beta_w[0])

    with pytest.raises(KeyboardInterrupt):
        run_study(spec, out, evaluate=interrupt_at_6, log=lambda m: None)
    study = load_study(out)
    first = {t.number: (t.params, t.value) for t in _complete(study)}
    assert len(first) == 5
    interrupted = seen[5]

    seen2: list[tuple] = []

    def count(profile, fresh=False):
        if not fresh:
            seen2.append(profile.beta_w)
        return -abs(profile.beta_w[0])

    report = run_study(spec, out, evaluate=count, log=lambda m: None)
    assert report.n_complete == 10 and report.n_new == 5
    assert len(seen2) == 5  # only the missing trials
    assert seen2[0] == interrupted  # the interrupted profile first, re-queued with its parameters
    study = load_study(out)
    done = _complete(study)
    assert len(done) == 10
    for t in done:  # session 1's trials kept as they were
        if t.number in first:
            assert (t.params, t.value) == first[t.number]
    assert len({tuple(sorted(t.params.items())) for t in done}) == 10  # no finished profile repeated
    # a third call has nothing left to search
    assert run_study(spec, out, evaluate=count, log=lambda m: None).n_new == 0 and len(seen2) == 5


def test_study_resumed_in_its_random_start_draws_new_profiles(tmp_path):
    """`lamina search --trials 1`, then `--trials 3`: the resumed sampler must not repeat the first
    call's random profile (it did, seeded like a new study: measured on the GPU study)."""
    out = tmp_path / "study"
    for n in (1, 3):
        run_study(parse_search(_spec_dict(2, trials=n, top_k=1, references=[])), out,
                  evaluate=lambda profile, fresh=False: -abs(profile.beta_w[0]), log=lambda m: None)
    done = _complete(load_study(out))
    assert len(done) == 3 and len({tuple(sorted(t.params.items())) for t in done}) == 3


def test_killed_study_resumes(tmp_path):
    """SIGKILL of the searching process in the middle of a trial: the journal keeps the finished
    trials; the RUNNING one is failed and its profile evaluated again; nothing else is repeated."""
    spec_path = tmp_path / "spec.toml"
    d = _spec_dict(2, trials=8, top_k=1, references=[])
    import tomli_w

    spec_path.write_text(tomli_w.dumps(d))
    out = tmp_path / "study"
    log = tmp_path / "calls.txt"
    child = textwrap.dedent(f"""
        import time, sys
        from lamina.search import parse_search, run_study
        from lamina.config import read_toml
        spec = parse_search(read_toml({str(spec_path)!r}))
        def slow(profile, fresh=False):
            with open({str(log)!r}, "a") as f:
                f.write(repr(profile.beta_w) + "\\n")
            n = sum(1 for _ in open({str(log)!r}))
            time.sleep(30 if n == 4 else 0)  # the 4th trial hangs: it is killed there
            return -abs(profile.beta_w[0])
        run_study(spec, {str(out)!r}, evaluate=slow, log=lambda m: None)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], start_new_session=True)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if log.exists() and len(log.read_text().splitlines()) >= 4:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the child never reached its 4th trial")
        time.sleep(0.3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    study = load_study(out)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states.count(TrialState.COMPLETE) == 3 and states.count(TrialState.RUNNING) == 1
    killed = log.read_text().splitlines()[3]
    calls: list[str] = []
    report = run_study(parse_search(d), out, evaluate=lambda p, fresh=False: calls.append(repr(p.beta_w)) or 0.0,
                       reevaluate_top=False, log=lambda m: None)
    assert report.n_complete == 8 and len(calls) == 5 and calls[0] == killed
    assert not [t for t in load_study(out).get_trials(deepcopy=False) if t.state == TrialState.RUNNING]


def test_other_spec_in_the_same_directory_is_refused(tmp_path):
    from lamina.errors import InputError

    run_study(parse_search(_spec_dict(2, trials=2, top_k=0, references=[])), tmp_path, evaluate=lambda p, fresh=False: 0.0,
              log=lambda m: None)
    with pytest.raises(InputError, match="another"):
        run_study(parse_search(_spec_dict(2, trials=2, top_k=0, references=[], seeds=3)), tmp_path,
                  evaluate=lambda p, fresh=False: 0.0, log=lambda m: None)


def _old_digest(spec) -> str:
    """spec_digest as lamina 0.2 computed it (no noise generator in it)."""
    import hashlib

    raw = {k: v for k, v in spec.raw.items() if k not in ("trials", "top_k", "fresh_seeds", "references")}
    text = json.dumps({"base": spec.base, "search": raw}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _with_noise(d: dict, noise: str) -> dict:
    d = copy.deepcopy(d)
    d["simulation"]["noise"] = noise
    return d


def test_noise_generator_is_part_of_the_study_digest():
    from lamina.search.study import spec_digest

    d = _spec_dict(2, trials=2, top_k=0, references=[])
    assert "noise" not in d["simulation"]  # a spec of lamina 0.2: Brian2's xi then, the counter noise now
    plain, counter, brian2 = (parse_search(x) for x in (d, _with_noise(d, "counter"), _with_noise(d, "brian2")))
    assert spec_digest(plain) == spec_digest(counter)  # the same generator (the default), written or not
    assert spec_digest(counter) != spec_digest(brian2)
    # noise = "brian2" keeps the digest lamina 0.2 gave the spec without the key (its studies resume)
    assert spec_digest(brian2) == _old_digest(plain)
    assert spec_digest(plain) != _old_digest(plain)  # ... and the counter-noise spec does not


def test_a_lamina_0_2_study_resumes_only_with_brian2_noise(tmp_path):
    from lamina.errors import InputError

    d = _spec_dict(2, trials=2, top_k=0, references=[])
    quiet = dict(evaluate=lambda p, fresh=False: 0.0, log=lambda m: None)
    # a study as lamina 0.2 left it: the old digest of the spec without simulation.noise
    run_study(parse_search(_with_noise(d, "brian2")), tmp_path, **quiet)
    load_study(tmp_path).set_user_attr("spec_digest", _old_digest(parse_search(d)))
    for spec in (d, _with_noise(d, "counter")):  # counter noise (the default now): refused, saying how to resume
        with pytest.raises(InputError, match='simulation.noise = "brian2"'):
            run_study(parse_search(spec), tmp_path, **quiet)
    assert len(_complete(load_study(tmp_path))) == 2
    report = run_study(parse_search(_with_noise(d, "brian2")), tmp_path, trials=3, **quiet)
    assert (report.n_complete, report.n_new) == (3, 1)
    # a spec of lamina 0.2 that named the generator had it in its old digest: it resumes as written
    counter = parse_search(_with_noise(d, "counter"))
    load_study(tmp_path).set_user_attr("spec_digest", _old_digest(counter))
    assert run_study(counter, tmp_path, trials=4, **quiet).n_new == 1
    with pytest.raises(InputError, match="another"):
        run_study(parse_search(_with_noise(d, "brian2")), tmp_path, trials=5, **quiet)


# ---------------------------------------------------------------------------------------------
# Bad [search] values: one ConfigError naming the field


@pytest.mark.parametrize("change, field", [
    ({"sampler": "random"}, "search.sampler"),
    ({"trials": 0}, "search.trials"),
    ({"trials": 2.5}, "search.trials"),
    ({"seeds": 1}, "search.seeds"),
    ({"strengths": [10]}, "search.strengths"),
    ({"strengths": [10, 10]}, "search.strengths"),
    ({"strengths": [10, -3]}, "search.strengths[1]"),
    ({"response": "rate"}, "search.response"),
    ({"g_syn": "free"}, "search.g_syn"),
    ({"g_syn": "epsp"}, "search.epsp_target"),
    ({"epsp_target": "1 mV"}, "search.epsp_target"),
    ({"g_syn": "epsp", "epsp_target": "1 ms"}, "search.epsp_target"),
    ({"references": ["het", "spiral"]}, "search.references"),
    ({"bogus": 1}, "search.bogus"),
    ({"profile": {"family": "spiral"}}, "search.profile.family"),
    ({"profile": {"family": "per_layer", "beta_w": ["5 mV", "-5 mV"]}}, "search.profile.beta_w"),
    ({"profile": {"family": "per_layer", "beta_w": ["5 ms", "10 mV"]}}, "search.profile.beta_w[0]"),
    ({"profile": {"family": "per_layer"}}, "search.profile.beta_w"),
    ({"profile": {"family": "ramp", "start": ["-5 mV", "0 mV"]}}, "search.profile.end"),
    ({"profile": {"family": "alternating", "a": ["-5 mV", "0 mV"], "b": ["-20 mV", "-10 mV"],
                  "period": [1, 9]}}, "search.profile.period"),
    ({"profile": {"family": "ramp", "start": ["-5 mV", "0 mV"], "end": ["-5 mV", "0 mV"], "beta_w": 1}},
     "search.profile.beta_w"),
    ({"noise": {"sigma_noise": ["-5 uA/cm**2", "10 uA/cm**2"]}}, "search.noise.sigma_noise"),
    ({"prune_after": 2}, "search.prune_after"),  # TINY has seeds = 2: no seeds left for a second stage
    ({"noise": {"sigma_noise": ["5 uA/cm**2", "10 uA/cm**2"], "per_layer": "yes"}}, "search.noise.per_layer"),
])
def test_bad_search_values_name_the_field(change, field):
    d = _spec_dict(3)
    d["search"].update(copy.deepcopy(change))
    with pytest.raises(ConfigError) as e:
        parse_search(d)
    assert e.value.field == field
    assert "\n" not in str(e.value) and str(e.value).startswith(field)


def test_missing_search_table_and_bad_anchor(tmp_path):
    d = _spec_dict(2)
    del d["search"]
    with pytest.raises(ConfigError) as e:
        parse_search(d)
    assert e.value.field == "search"
    import tomli_w

    d = _spec_dict(2, anchors=["int", "class1"])
    with pytest.raises(ConfigError) as e:
        load_search(_write(tmp_path, tomli_w.dumps(d)))
    assert e.value.field == "search.anchors" and e.value.value == "class1"


def test_cli_entry_points(tmp_path):
    from lamina.search.cli import add_parser, cmd_search

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["search", str(_write(tmp_path)), "--trials", "0", "-o", str(tmp_path / "o")])
    assert args.func is cmd_search
    with pytest.raises(ConfigError) as e:
        cmd_search(args)
    assert e.value.field == "--trials"
    args = parser.parse_args(["search", str(_write(tmp_path)), "--set", "search.sampler=grid"])
    with pytest.raises(ConfigError) as e:
        cmd_search(args)
    assert e.value.field == "search.sampler"


# ---------------------------------------------------------------------------------------------
# Comparable layers: the card's g_syn and noise interpolated by beta_w


def test_card_interpolation_reproduces_the_anchor_variants(tmp_path):
    from lamina.search.layers import anchors, hidden_layers, interpolate_card
    from lamina.search.spec import Profile

    spec = load_search(_write(tmp_path))
    table = anchors(spec)
    assert [a.variant for a in table] == ["diff", "mid12", "mid10", "mid7", "int"]
    g, noise = interpolate_card(5.0, table)
    assert g == pytest.approx(345.0) and noise == pytest.approx((38.0, 53.0))
    g, noise = interpolate_card(-19.0, table)
    assert g == pytest.approx(975.0) and noise == pytest.approx((15.0, 15.0))
    assert interpolate_card(-25.0, table)[0] == pytest.approx(975.0)  # held, not extrapolated
    assert interpolate_card(-8.5, table)[0] == pytest.approx(395.0)  # halfway mid7 … mid10
    layers = hidden_layers(spec, Profile((5.0, -19.0)))
    assert layers[0]["params"] == {"beta_w": "5 mV", "g_syn": "345 uS/cm**2",
                                   "sigma_noise": {"uniform": ["38 uA/cm**2", "53 uA/cm**2"]}}
    assert layers[1]["params"]["g_syn"] == "975 uS/cm**2" and layers[1]["params"]["sigma_noise"] == "15 uA/cm**2"


def test_template_size_and_connection_are_kept_in_every_profile(tmp_path):
    """A hidden template layer's size and connection (the projection into it) are structure: every
    searched profile and every reference gets them, so profiles stay comparable."""
    import tomli_w

    from lamina.config import experiment_from_dict
    from lamina.search.evaluate import Simulator
    from lamina.search.layers import hidden_layers, reference_layers, reference_profile
    from lamina.search.spec import Profile

    d = _spec_dict(2, references=["het"])
    d["network"]["layers"] = ["prescott.input", {"cell": "prescott.int", "connection": {"p": "20/size"}},
                              {"cell": "prescott.diff", "size": 60, "connection": {"in_degree": 4}}]
    spec = load_search(_write(tmp_path, tomli_w.dumps(d)))
    searched = hidden_layers(spec, Profile((5.0, -19.0)))
    assert searched[0]["connection"] == {"p": "20/size"} and "size" not in searched[0]
    assert searched[1]["connection"] == {"in_degree": 4} and searched[1]["size"] == 60
    ref = reference_layers(spec, "het")
    assert ref == [{"cell": "prescott.int", "connection": {"p": "20/size"}},
                   {"cell": "prescott.diff", "size": 60, "connection": {"in_degree": 4}}]
    assert reference_profile(spec, "het").beta_w == pytest.approx((5.0, -19.0))
    sim = Simulator(spec, tmp_path, log=lambda m: None)
    exps = [experiment_from_dict(sim.sweep_spec(h, 1, 2)) for h in (searched, ref)]
    for exp in exps:
        assert [l.size for l in exp.layers] == [50, 50, 60]
        assert [(p.rule, p.value) for p in exp.projections] == [("p", pytest.approx(20 / 50)), ("in_degree", 4.0)]
    # a template without them gives plain variants for the references, as before
    plain = parse_search(_spec_dict(2, references=["het"]))
    assert reference_layers(plain, "het") == ["prescott.int", "prescott.diff"]
    assert all("connection" not in l and "size" not in l for l in hidden_layers(plain, Profile((5.0, -19.0))))


# ---------------------------------------------------------------------------------------------
# A tiny real study: 3 layers × 50 neurons, runtime backend, 2 trials


def test_tiny_real_study_writes_run_files_and_resumes(tmp_path):
    from lamina.store.run import read_header

    spec = load_search(_write(tmp_path))
    out = tmp_path / "study"
    report = run_study(spec, out, log=lambda m: None)
    assert report.n_complete == 2
    files = sorted(out.glob("runs/*/runs/*.h5"))
    # 2 trials + best profile + het on fresh seeds; each (2 strengths + no-stimulus) × 2 seeds
    assert len(files) == 4 * 6
    heads = [read_header(f) for f in files]
    assert all(h is not None and h.get("structure_key") and h.get("lamina_version") for h in heads)
    study = load_study(out)
    done = _complete(study)
    assert len(done) == 2 and all(np.isfinite(t.value) for t in done)
    assert all(len(t.user_attrs["mi_per_layer"]) == 3 for t in done)
    saved = json.loads((out / REEVALUATION).read_text())
    search_seeds = set(saved["search_seeds"])
    assert len(search_seeds) == 2
    for row in saved["rows"]:
        assert len(row["seeds"]) == 2 and not set(row["seeds"]) & search_seeds
    assert {h["seed"] for h in heads} == search_seeds | set(saved["rows"][0]["seeds"])
    assert [r["label"] for r in saved["rows"]] == ["best1", "het"]
    # searched layers are ordinary layer tables of the card with beta_w, g_syn, noise set
    first = saved["rows"][0]["layers"][0]
    assert first["cell"] == "prescott.int" and set(first["params"]) == {"beta_w", "g_syn", "sigma_noise"}
    # pruning stages share runs: 3 seeds of a profile evaluated on 2 simulate only the third seed
    from lamina.search.evaluate import Simulator
    from lamina.search.spec import Profile

    sim = Simulator(spec, out, log=lambda m: None)
    stage = sim(Profile(tuple(done[0].user_attrs["beta_w"])), seed_base=5, n_seeds=3)
    assert stage.n_simulated == 3 and stage.n_runs == 9 and stage.run_dir == done[0].user_attrs["run_dir"]
    files = sorted(out.glob("runs/*/runs/*.h5"))
    assert len(files) == 4 * 6 + 3
    # resume: nothing left, no run simulated again
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    again = run_study(spec, out, log=lambda m: None)
    assert again.n_new == 0 and again.n_complete == 2
    assert {f: f.stat().st_mtime_ns for f in sorted(out.glob("runs/*/runs/*.h5"))} == mtimes
    assert (out / JOURNAL).is_file()


# ---------------------------------------------------------------------------------------------
# The figure, drawn from a study of the shipped spec (tiny scale) with a planted objective


def test_profile_search_figure_from_a_planted_study(tmp_path, monkeypatch):
    import lamina.figures.profile_search as module
    from lamina.figures.context import Context
    from lamina.figures.profile_search import profile_search, study_dir
    from lamina.resources import sims_dir
    from lamina.search.evaluate import Evaluation

    spec = load_search(sims_dir() / "profile_search.toml", scale="tiny")
    seeds = list(range(spec.fresh_seeds))

    def planted(profile, fresh=False):
        v = -float(np.sum((np.array(profile.beta_w) + 8.0) ** 2)) / 100.0 + 1.0
        per_layer = [{"layer": z, "mi": v * (1 - 0.05 * z), "half": 0.1, "loo": [v + 0.01 * k for k in seeds]}
                     for z in range(spec.depth + 1)]
        return Evaluation(value=per_layer[-1]["mi"], half=0.1, per_layer=per_layer, seeds=seeds)

    # optuna.importance imports scikit-learn (10+ s on a loaded machine): the panel's own logic is
    # what is checked here, with fixed importances
    monkeypatch.setattr(module, "_importances", lambda study: {"beta_w_1": 0.7, "beta_w_2": 0.3})
    ctx = Context(scale="tiny", results=tmp_path / "results", out=tmp_path / "figures", quiet=True)
    run_study(spec, study_dir(ctx), evaluate=planted, log=lambda m: None)
    paths = profile_search(ctx)
    assert {p.suffix for p in paths} >= {".png", ".txt"}
    caption = (tmp_path / "figures" / "profile_search.txt").read_text()
    assert "Int-only" in caption and "fresh seeds" in caption
    diff = next(l for l in caption.splitlines() if "best1 − Het" in l)
    assert "±" in diff  # paired by seed: the leave-one-seed-out values of both rows
