"""The layer-profile search as an Optuna study that survives kills, and the winner's-curse-free
re-evaluation of its best profiles.

Study directory (``-o OUT``, default ``results/<name>``)::

    study.journal        Optuna's journal storage (append-only: a kill loses at most the running trial)
    search_spec.toml     the spec the study was started with (scale applied)
    runs/<digest>/runs/  every profile's run files (ordinary lamina runs: seeds, provenance, /analysis)
    reevaluation.json    top-k profiles and the references on fresh seeds: the numbers to report
    search.json          summary (trials, best profiles, Optuna version)

Resuming: ``run_study`` on the same directory loads the study, counts its COMPLETE trials toward
``trials`` and never evaluates them again. A trial that was running when the process died
(left RUNNING in the journal) or was interrupted (Ctrl-C: FAIL with ``interrupted``) is
re-queued with the same parameters, so its finished run files are reused. A study of another
spec, or of another noise generator (:func:`spec_digest`: a study of lamina < 0.3 used Brian2's
noise and resumes only with ``simulation.noise = "brian2"``), is refused.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ConfigError, InputError, SimulationError
from .evaluate import Evaluation, Simulator, dumps
from .spec import Profile, SearchSpec

__all__ = ["StudyReport", "run_study", "load_study", "open_storage", "reevaluate", "JOURNAL", "REEVALUATION",
           "SUMMARY", "fresh_seed_base"]

JOURNAL = "study.journal"
REEVALUATION = "reevaluation.json"
SUMMARY = "search.json"
SPEC_COPY = "search_spec.toml"

#: an evaluator: (profile or reference name, fresh seeds?) -> Evaluation or a plain objective value
Evaluator = Callable[..., "Evaluation | float"]


@dataclass
class StudyReport:
    """What :func:`run_study` did and found."""

    out: Path
    n_complete: int
    n_new: int  # trials completed by this call
    n_failed: int
    best_search_value: float | None  # biased upward (the maximum over trials): not for reporting
    reevaluated: list[dict] = field(default_factory=list)  # top-k and references on fresh seeds

    def as_dict(self) -> dict:
        return {"out": str(self.out), "n_complete": self.n_complete, "n_new": self.n_new, "n_failed": self.n_failed,
                "best_search_value": self.best_search_value, "reevaluated": self.reevaluated}


def _optuna():
    try:
        import optuna
    except ImportError:  # pragma: no cover — optuna is a dependency
        raise InputError("lamina search", "optuna", "the optuna package (pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(out: Path):
    """The study's JournalStorage in ``out/study.journal`` (append-only file, file lock)."""
    optuna = _optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = str(Path(out) / JOURNAL)
    return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))


def load_study(out: Path, name: str | None = None):
    """The Optuna study of a study directory (read it: trials, values, user attrs)."""
    optuna = _optuna()
    storage = open_storage(out)
    if name is None:
        names = optuna.get_all_study_names(storage)
        if not names:
            raise InputError("study", out, "a study directory (no study in its journal)")
        name = names[0]
    return optuna.load_study(study_name=name, storage=storage)


def _sampler(spec: SearchSpec, done: int = 0):
    """The study's sampler, seeded by the spec's seed and the number of trials already in the
    study: a resumed study seeded as a new one would draw its first random profiles again."""
    import warnings

    optuna = _optuna()
    seed = None if spec.seed is None else int(spec.seed) + done
    if spec.sampler == "cmaes":
        has_int = any(integer for _, _, integer in spec.family.ranges.values())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # CMA-ES starts from a few independent trials; with_margin keeps an integer parameter
            # (the alternating period) from collapsing to one value
            return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=min(5, max(1, spec.trials // 5)),
                                                with_margin=has_int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # multivariate: per-layer beta_w interact (alternation is a joint property of neighbours)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, spec.trials // 4)),
                                          multivariate=True)


def _noise(spec: SearchSpec) -> str:
    """The noise generator the study's runs use (``simulation.noise``, else the default)."""
    from ..config import NOISE_DEFAULT

    sim = spec.base.get("simulation")
    return str(sim.get("noise", NOISE_DEFAULT)) if isinstance(sim, dict) else NOISE_DEFAULT


def _digest(base: dict, raw: dict, noise: str | None) -> str:
    raw = {k: v for k, v in raw.items() if k not in ("trials", "top_k", "fresh_seeds", "references")}
    payload = {"base": base, "search": raw}
    if noise is not None:
        payload["noise"] = noise
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _base_without_noise(spec: SearchSpec) -> dict:
    """The base spec without ``simulation.noise`` (and without a [simulation] table it alone made)."""
    base = dict(spec.base)
    sim = base.get("simulation")
    if isinstance(sim, dict) and "noise" in sim:
        sim = {k: v for k, v in sim.items() if k != "noise"}
        if sim:
            base["simulation"] = sim
        else:
            del base["simulation"]
    return base


def spec_digest(spec: SearchSpec) -> str:
    """What a study is about (everything but the trial count and the re-evaluation's settings), so
    a directory is never resumed with a different search.

    The noise generator is part of it: a study of lamina < 0.3 (no ``simulation.noise``: Brian2's
    ``xi``) must not go on with the counter noise, the default since 0.3. ``noise = "brian2"``
    gives the digest of lamina < 0.3 (the base without the key), so such a study resumes only
    with a spec that says so; any other generator is hashed with the base."""
    noise = _noise(spec)
    return _digest(_base_without_noise(spec), spec.raw, None if noise == "brian2" else noise)


def _legacy_digests(spec: SearchSpec) -> set[str]:
    """Digests of lamina < 0.3 that a study of ``spec`` may carry and still resume: the spec as
    written when it names ``simulation.noise`` (then the old digest already fixed the generator)."""
    sim = spec.base.get("simulation")
    if isinstance(sim, dict) and "noise" in sim:
        return {_digest(spec.base, spec.raw, None)}
    return set()


def fresh_seed_base(spec: SearchSpec, search_seeds: set[int], n: int) -> int:
    """A base seed whose run seeds share none with the search's: the re-evaluation's seed set."""
    from ..grid import derive_seed

    base = int(spec.base.get("simulation", {}).get("seed", 1))
    for salt in range(1, 1000):
        cand = derive_seed(base, {"lamina.search": "fresh seeds"}, 0, salt)
        seeds = {derive_seed(cand, {}, r) for r in range(n)}
        if not seeds & search_seeds:
            return cand
    raise SimulationError("no fresh seed set found")  # pragma: no cover — 2**32 seeds


def _as_eval(x) -> Evaluation:
    return x if isinstance(x, Evaluation) else Evaluation(value=float(x))


def _lock(out: Path):
    from ..sweep.schedule import directory_lock

    return directory_lock(out, "search")


def _requeue_stale(study, log) -> int:
    """Trials left RUNNING by a killed process, or interrupted: FAIL, and their parameters queued
    again (once), so the next trial evaluates the same profile and reuses its run files."""
    from optuna.trial import TrialState

    requeued = set(study.user_attrs.get("requeued", []))
    n = 0
    for t in study.get_trials(deepcopy=False):
        stale = t.state == TrialState.RUNNING or (t.state == TrialState.FAIL and t.user_attrs.get("interrupted"))
        if not stale or t.number in requeued:
            continue
        if t.state == TrialState.RUNNING:  # its process is gone: the directory lock is ours
            study.tell(t.number, state=TrialState.FAIL)
        if t.params:
            study.enqueue_trial(t.params, user_attrs={"requeued_from": t.number})
            n += 1
        requeued.add(t.number)
    if n:
        study.set_user_attr("requeued", sorted(requeued))
        log(f"lamina: {n} unfinished trial(s) queued again with the same profile")
    return n


def run_study(spec: SearchSpec, out: str | Path, *, trials: int | None = None, evaluate: Evaluator | None = None,
              workers: int | None = None, scheduler: str | None = None, backend: str | None = None,
              batch: int | None = None, reevaluate_top: bool = True, spec_text: str | None = None,
              log: Callable[[str], None] | None = None) -> StudyReport:
    """Run (or resume) the search until ``trials`` trials are COMPLETE, then re-evaluate the best.

    Parameters
    ----------
    spec : SearchSpec
        The validated search (:func:`lamina.search.load_search`).
    out : path
        The study directory (created; resumed if it holds a study of the same spec).
    trials : int, optional
        Completed trials to reach (default ``search.trials``); already completed ones count.
    evaluate : callable, optional
        ``evaluate(target, fresh=bool) -> Evaluation | float`` with ``target`` a :class:`Profile`
        (a reference's is built from the card's variants): replaces the simulation (tests plant a
        known objective this way). Default: :class:`~lamina.search.evaluate.Simulator`.
    workers, scheduler, backend, batch
        How runs are simulated (see :class:`~lamina.search.evaluate.Simulator`).
    reevaluate_top : bool
        Re-evaluate the top-k profiles and the references on fresh seeds at the end.
    spec_text : str, optional
        The spec as TOML, kept as ``search_spec.toml``.
    log : callable, optional
        Progress lines (default: stderr).

    Returns
    -------
    StudyReport
    """
    optuna = _optuna()
    from optuna.trial import TrialState

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = int(trials if trials is not None else spec.trials)
    if target < 1:
        raise ConfigError("--trials", trials, "a positive number of trials")
    lock = _lock(out)
    sim = None
    try:
        storage = open_storage(out)
        # Pruning (search.prune_after > 0): after the first stage's seeds, a profile in the bottom
        # quarter of the earlier trials' first-stage values stops (state PRUNED; its runs are kept)
        # (Optuna's percentile is the share *kept*: 75 keeps the top three quarters)
        pruner = (optuna.pruners.PercentilePruner(75.0, n_startup_trials=5, n_warmup_steps=0) if spec.prune_after
                  else optuna.pruners.NopPruner())
        study = optuna.create_study(study_name=spec.name, storage=storage, direction="maximize",
                                    sampler=_sampler(spec), pruner=pruner, load_if_exists=True)
        if study.trials:
            study.sampler = _sampler(spec, len(study.trials))
        digest = spec_digest(spec)
        have = study.user_attrs.get("spec_digest")
        if have is None:
            study.set_user_attr("spec_digest", digest)
            study.set_user_attr("family", spec.family.family)
            study.set_user_attr("depth", spec.depth)
            study.set_user_attr("noise", _noise(spec))
        elif have != digest and have not in _legacy_digests(spec):
            if _noise(spec) != "brian2" and have == _digest(_base_without_noise(spec), spec.raw, None):
                raise InputError("-o/--output", out, "a study of this spec's noise generator (it holds one of Brian2's "
                                 "noise: lamina < 0.3 or simulation.noise = \"brian2\"; set simulation.noise = "
                                 "\"brian2\" to resume it, or use another -o)")
            raise InputError("-o/--output", out, "a study directory of this spec (it holds a study of another "
                             "[search], network or noise generator; use another -o)")
        if spec_text is not None and not (out / SPEC_COPY).exists():
            (out / SPEC_COPY).write_text(spec_text)
        _requeue_stale(study, log)
        if evaluate is None:
            sim = Simulator(spec, out, workers=workers, scheduler=scheduler, backend=backend, batch=batch, log=log)
        seed_base = int(spec.base.get("simulation", {}).get("seed", 1))

        def call(profile: Profile | str, fresh_base: int | None, n_seeds: int | None = None) -> Evaluation:
            if evaluate is not None:
                if isinstance(profile, str):
                    from .layers import reference_profile

                    profile = reference_profile(spec, profile)
                if n_seeds is not None:  # a pruning stage: the evaluator is told how many seeds
                    return _as_eval(evaluate(profile, fresh=False, n_seeds=n_seeds))
                return _as_eval(evaluate(profile, fresh=fresh_base is not None))
            if fresh_base is None:
                return sim(profile, seed_base=seed_base, n_seeds=n_seeds or spec.seeds, n_null=spec.n_null)
            from ..analysis.strength import N_NULL

            return sim(profile, seed_base=fresh_base, n_seeds=spec.fresh_seeds, n_null=N_NULL)

        def objective(trial) -> float:
            params = {}
            for name, (lo, hi, integer) in spec.family.ranges.items():
                params[name] = trial.suggest_int(name, int(lo), int(hi)) if integer else trial.suggest_float(name, lo, hi)
            profile = spec.family.profile(params)
            trial.set_user_attr("beta_w", list(profile.beta_w))
            if profile.sigma_noise is not None:
                trial.set_user_attr("sigma_noise", list(profile.sigma_noise))
            try:
                if spec.prune_after:
                    first = call(profile, None, n_seeds=spec.prune_after)
                    trial.report(first.value, step=spec.prune_after)
                    if trial.should_prune():
                        trial.set_user_attr("pruned_value", first.value)
                        raise optuna.TrialPruned(f"{first.value:.3f} bits after {spec.prune_after} seeds")
                ev = call(profile, None)
            except KeyboardInterrupt:
                trial.set_user_attr("interrupted", True)  # resumed with the same profile
                raise
            trial.set_user_attr("half", ev.half if np.isfinite(ev.half) else None)
            if ev.per_layer:
                trial.set_user_attr("mi_per_layer", [r["mi"] for r in ev.per_layer])
                trial.set_user_attr("run_dir", ev.run_dir)
                trial.set_user_attr("g_syn", [l["params"]["g_syn"] for l in ev.layers
                                              if isinstance(l, dict) and "params" in l])
            return ev.value

        def progress(study_, trial) -> None:
            if trial.state == TrialState.COMPLETE:
                n = sum(t.state == TrialState.COMPLETE for t in study_.get_trials(deepcopy=False))
                beta = " ".join(f"{b:.1f}" for b in trial.user_attrs.get("beta_w", []))
                log(f"lamina: trial {trial.number} ({n}/{target}): objective {trial.value:.3f} bits; beta_w [{beta}] mV")
            elif trial.state == TrialState.FAIL:
                log(f"lamina: trial {trial.number} failed")
            elif trial.state == TrialState.PRUNED:
                log(f"lamina: trial {trial.number} pruned after {spec.prune_after} seeds")

        def n_state(state) -> int:
            return sum(t.state == state for t in study.get_trials(deepcopy=False))

        done_before = n_state(TrialState.COMPLETE)
        if done_before >= target:
            log(f"lamina: {spec.name}: {done_before} trials complete (asked for {target}): nothing to search")
        else:
            log(f"lamina: {spec.name}: {done_before} of {target} trials complete; searching")
            todo = target - done_before
            # The trial cap keeps a study whose trials all fail from running forever; the callback
            # stops at `target` completed trials.
            study.optimize(objective, n_trials=3 * todo + 5, catch=(SimulationError,),
                           callbacks=[progress, optuna.study.MaxTrialsCallback(target, states=(TrialState.COMPLETE,))],
                           gc_after_trial=False)
        n_complete = n_state(TrialState.COMPLETE)
        report = StudyReport(out, n_complete, n_complete - done_before, n_state(TrialState.FAIL),
                             study.best_value if n_complete else None)
        if reevaluate_top and n_complete >= target and (spec.top_k or spec.references):
            report.reevaluated = reevaluate(spec, study, out, call, seed_base, log)
        _write_summary(spec, study, out, report)
        return report
    finally:
        if sim is not None:
            sim.close()
        lock.release()


def top_profiles(spec: SearchSpec, study, k: int) -> list[tuple[Profile, list]]:
    """The best ``k`` distinct profiles (by search objective) and the trials that found each."""
    from optuna.trial import TrialState

    done = sorted((t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE),
                  key=lambda t: -t.value)
    out: dict[tuple, tuple[Profile, list]] = {}
    for t in done:
        p = spec.family.profile(t.params)
        key = (p.beta_w, p.sigma_noise)
        if key not in out:
            if len(out) >= k:
                continue
            out[key] = (p, [])
        out[key][1].append(t)
    return list(out.values())


def reevaluate(spec: SearchSpec, study, out: Path, call, seed_base: int, log) -> list[dict]:
    """Top-k profiles and the references on seeds the search never used; written to
    ``reevaluation.json`` (the numbers to report: the search's own maximum is biased upward)."""
    from ..grid import derive_seed

    search_seeds = {derive_seed(seed_base, {}, r) for r in range(spec.seeds)}
    fresh = fresh_seed_base(spec, search_seeds, spec.fresh_seeds)
    rows = []
    for rank, (profile, ts) in enumerate(top_profiles(spec, study, spec.top_k), start=1):
        log(f"lamina: re-evaluating profile #{rank} (trial {ts[0].number}) on {spec.fresh_seeds} fresh seeds")
        ev = call(profile, fresh)
        rows.append({"label": f"best{rank}", "kind": "searched", "rank": rank, "trials": [t.number for t in ts],
                     "search_value": float(ts[0].value), **profile.as_dict(), **_ev_row(ev)})
    for name in spec.references:
        log(f"lamina: evaluating reference {name} on the same fresh seeds")
        ev = call(name, fresh)
        from .layers import reference_profile

        rows.append({"label": name, "kind": "reference", **reference_profile(spec, name).as_dict(), **_ev_row(ev)})
    overlap = sorted(set().union(*[set(r["seeds"]) for r in rows]) & search_seeds) if rows else []
    assert not overlap, f"fresh seeds overlap the search's: {overlap}"  # fresh_seed_base guarantees it
    payload = {"fresh_seed_base": fresh, "n_fresh_seeds": spec.fresh_seeds, "search_seed_base": seed_base,
               "search_seeds": sorted(search_seeds), "response": spec.response, "rows": rows}
    tmp = out / f".{REEVALUATION}.tmp"
    tmp.write_text(dumps(payload))
    tmp.replace(out / REEVALUATION)
    return rows


def _ev_row(ev: Evaluation) -> dict:
    return {"mi": ev.value, "half": ev.half if np.isfinite(ev.half) else None, "per_layer": ev.per_layer,
            "seeds": ev.seeds, "run_dir": ev.run_dir, "layers": ev.layers}


def _write_summary(spec: SearchSpec, study, out: Path, report: StudyReport) -> None:
    optuna = _optuna()

    trials = [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
               "beta_w": t.user_attrs.get("beta_w"), "half": t.user_attrs.get("half")}
              for t in study.get_trials(deepcopy=False)]
    best = [r for r in report.reevaluated if r["kind"] == "searched"]
    payload = {"name": spec.name, "optuna_version": optuna.__version__, "sampler": spec.sampler,
               "family": spec.family.family, "depth": spec.depth, "g_syn": spec.g_syn,
               "n_complete": report.n_complete, "n_failed": report.n_failed,
               "objective": f"bias-corrected MI(strength; last-layer packet {spec.response}), bits",
               "strengths": list(spec.strengths), "seeds": spec.seeds,
               "best_fresh": best, "trials": trials,
               "note": "report reevaluated (fresh-seed) numbers; trial values are the search's own (biased upward "
                       "for the best)"}
    tmp = out / f".{SUMMARY}.tmp"
    tmp.write_text(dumps(payload))
    tmp.replace(out / SUMMARY)
