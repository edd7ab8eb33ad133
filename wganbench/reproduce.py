"""Running the figure reproductions in ``reproductions/`` and recording their claims.

Each ``reproductions/<name>.py`` defines ``TITLE``, ``CAPTION`` and ``run(ctx)``; ``run`` trains
through the core library (:meth:`Reproduction.train`), writes its figure and table through
``ctx``, and states each claim of the paper as a number with a threshold
(:meth:`Reproduction.claim`). This module writes, into ``OUT/<name>/``: ``<name>.png``,
``<name>.pdf``, ``<name>.csv``, ``claims.csv`` and ``provenance.json``, and keeps
``OUT/README.md`` in step with what is there.
"""

from __future__ import annotations

import importlib.util
import json
import math
import operator
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence

import pandas as pd
import torch

from wganbench import provenance
from wganbench.config import TrainConfig, config_hash, resolve
from wganbench.errors import UserError
from wganbench.locking import lock_file, lock_folder
from wganbench.results import atomic_torch_save, atomic_write_text, check_writable, write_json
from wganbench.tables import markdown_escape
from wganbench.runner import Trainer, resolve_device, sample_images, train_or_reuse

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "reproductions"
#: the order of the sections in results/README.md
ORDER = ("figure1", "parallel-lines", "value-surfaces", "gradient-norms", "weight-histograms",
         "em-vs-quality", "gaussian-1d", "wgan-optimizers", "gp-one-sided", "gp-activation",
         "mnist", "critic-overfitting")

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def available() -> list[str]:
    if not SCRIPTS.is_dir():
        return []
    names = [p.stem for p in SCRIPTS.glob("*.py") if not p.stem.startswith("_")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def in_all(name: str) -> bool:
    """Whether ``reproduce all`` runs ``name``: scripts that need downloaded data (MNIST) or
    GPU-days at default scale set ``IN_ALL = False`` and run by name."""
    return getattr(load_script(name), "IN_ALL", True)


def load_script(name: str) -> ModuleType:
    names = available()
    if name not in names:
        if not SCRIPTS.is_dir():
            raise UserError(f"no reproductions folder at {str(SCRIPTS)!r}; run from a source checkout")
        raise UserError(f"unknown reproduction {name!r}; choose from: {', '.join(names)}, all")
    spec = importlib.util.spec_from_file_location(f"wganbench_reproduction_{name.replace('-', '_')}",
                                                  SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in a script look their module up there
    spec.loader.exec_module(module)
    return module


def seeds_required(n: int) -> int:
    """Seeds that must pass for a claim to hold over ``n`` seeds: all of them below 5 seeds,
    else 80% rounded up (4 of 5, 8 of 10): GAN training is chaotic, one seed may stray."""
    return n if n < 5 else math.ceil(0.8 * n)


#: what a claim's verdict can be (``claims.csv``'s ``verdict`` column)
VERDICTS = {
    "holds": "the trained arm passes in enough seeds and every control fails in enough seeds",
    "not discriminative": "the trained arm passes, but a control passes too: proves nothing",
    "passes, no control": "the trained arm passes; no control was measured, so it is not "
                          "counted as holding",
    "partly": "the trained arm passes in some seeds, fewer than required",
    "fails": "the trained arm passes in no seed",
}


@dataclass
class Claim:
    """One claim of a paper, measured per seed on the trained run and on its controls (the
    same networks untrained, the arm the paper contrasts, ...). It holds only when the trained
    value passes the threshold in :func:`seeds_required` of the seeds and every control fails
    it in as many seeds; a claim whose control passes is "not discriminative"."""

    claim: str
    threshold_op: str
    threshold: float
    measured: list[float] = field(default_factory=list)
    #: control name -> its value for each seed, measured like ``measured``
    controls: dict[str, list[float]] = field(default_factory=dict)
    paper: str = ""  # what the paper shows or reports
    scale: str = ""  # our scale against the paper's
    #: 0 for a claim measured per seed; N for one test over N seeds (e.g. a rank test between
    #: two arms), measured once and holding when that one value passes and its controls fail
    over_seeds: int = 0

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and _OPS[self.threshold_op](value, self.threshold)

    def verdict(self) -> str:
        n, held = len(self.measured), sum(self.holds(v) for v in self.measured)
        if held >= seeds_required(n):
            if not self.controls:
                return "passes, no control"
            failing = [len(v) - sum(self.holds(x) for x in v) for v in self.controls.values()]
            discriminative = all(f >= seeds_required(len(v))
                                 for f, v in zip(failing, self.controls.values()))
            return "holds" if discriminative else "not discriminative"
        return "partly" if held else "fails"

    def row(self) -> dict[str, Any]:
        from wganbench.stats import bootstrap_ci

        held = sum(self.holds(v) for v in self.measured)
        low, high = bootstrap_ci(self.measured)
        verdict = self.verdict()
        names = list(self.controls)
        return {
            "claim": self.claim,
            "measured": float(sum(self.measured) / len(self.measured)),
            "measured_ci_low": low, "measured_ci_high": high,
            "measured_per_seed": ";".join(f"{v:.6g}" for v in self.measured),
            "threshold": f"{self.threshold_op} {self.threshold:g}",
            "seeds_holding": held,
            "seeds_run": len(self.measured),
            "seeds_required": seeds_required(len(self.measured)),
            "control": ";".join(names),
            "control_measured": ";".join(f"{sum(v) / len(v):.6g}" for v in self.controls.values()),
            "control_seeds_holding": ";".join(
                f"{sum(self.holds(x) for x in v)}/{len(v)}" for v in self.controls.values()),
            "verdict": verdict,
            "holds": verdict == "holds",
            "paper": self.paper,
            "our_scale": self.scale,
            # only claims measured as one test over seeds carry this column
            **({"measured_over": f"one test over {self.over_seeds} seeds"}
               if self.over_seeds else {}),
        }


def _stage_path(cfg: TrainConfig) -> Path:
    return Path(cfg.out) / "stages" / f"step{cfg.steps}.pt"


def save_stage(trainer: Trainer) -> None:
    """Keep the networks of ``trainer`` (at step ``trainer.cfg.steps``) for :func:`load_stage`:
    weights and buffers only, no optimiser state (a stage is read, never trained on), with the
    run's counters there (critic updates, training wall-clock), which scripts read off a stage."""
    state = {"config_hash": config_hash(trainer.cfg), "seed": trainer.cfg.seed, "step": trainer.step,
             "critic_steps": trainer.critic_steps, "wall_time": trainer.wall_time,
             "generator": trainer.generator.state_dict(), "critic": trainer.critic.state_dict()}
    path = _stage_path(trainer.cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(path, state)


def _stage_state(cfg: TrainConfig) -> dict[str, Any] | None:
    path = _stage_path(cfg)
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if (state["config_hash"], state["seed"], state["step"]) != (config_hash(cfg), cfg.seed, cfg.steps):
        return None
    return state


def load_stage(cfg: TrainConfig) -> Trainer | None:
    """A :class:`Trainer` holding the networks :func:`save_stage` kept for this configuration
    and step, or None when there are none (or they belong to another configuration)."""
    state = _stage_state(cfg)
    if state is None:
        return None
    trainer = Trainer(cfg)
    trainer.generator.load_state_dict(state["generator"])
    trainer.critic.load_state_dict(state["critic"])
    trainer.step = state["step"]
    counters = state if "wall_time" in state else _logged_counters(cfg)
    trainer.critic_steps = int(counters["critic_steps"])
    trainer.wall_time = float(counters["wall_time"])
    return trainer


def _logged_counters(cfg: TrainConfig) -> dict[str, float]:
    """Critic updates and training wall-clock at step ``cfg.steps`` from the run's
    ``metrics.csv``, for stages kept before :func:`save_stage` stored them (NaN where the step
    was not logged: an unknown time must not read as zero seconds)."""
    path = Path(cfg.out) / "metrics.csv"
    rows = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["step"])
    rows = rows[rows.step == cfg.steps]
    if rows.empty or not {"critic_steps", "wall_time"} <= set(rows.columns):
        return {"critic_steps": -1, "wall_time": math.nan}
    return rows.iloc[-1][["critic_steps", "wall_time"]].to_dict()


class Reproduction:
    """What a reproduction script gets: its settings, a trainer, and writers for its outputs."""

    def __init__(self, name: str, out: Path, quick: bool, seeds: int, device: str,
                 data_root: str | None = None, paper_scale: bool = False) -> None:
        self.name = name
        #: where image datasets live (torchvision layout); None: $WGANBENCH_DATA or ./data
        self.data_root = data_root
        self.dir = out / name
        self.quick = quick
        #: the papers' (or the study's) full settings, for a GPU, where a script has them
        self.paper_scale = paper_scale
        self.seeds = list(range(seeds))
        self.device = device
        self.runs_dir = self.dir / "runs" / ("quick" if quick else
                                             "paper" if paper_scale else "full")
        self.claims: dict[str, Claim] = {}
        self.run_hashes: dict[str, str] = {}
        #: labels of the runs that diverged (their measurements are NaN: failed seeds)
        self.diverged_runs: list[str] = []

    def _note_divergence(self, label: str, trainer: Trainer) -> None:
        if trainer.diverged is not None and label not in self.diverged_runs:
            self.diverged_runs.append(label)

    # ---- training through the core runner ---------------------------------------------------
    def train(self, label: str, cfg: TrainConfig) -> Trainer:
        """Train ``cfg`` (or reuse a finished run of the same configuration) in
        ``runs/<quick|full>/<label>`` and return a :class:`Trainer` holding the final state."""
        return list(self.train_stages(label, cfg, [cfg.steps]))[-1]

    def train_stages(self, label: str, cfg: TrainConfig, stages: Sequence[int]) -> Iterator[Trainer]:
        """Train ``cfg`` up to each step in ``stages`` (increasing) and yield a :class:`Trainer`
        holding the state there. Each stage resumes the previous one, and resuming is exact, so
        the last state equals that of one uninterrupted run.

        The networks at each stage are kept in ``runs/.../<label>/stages/step<N>.pt``; asked
        again (the same configuration), a stage is read from there instead of retrained, so a
        finished staged run is reused like any other and a killed one continues."""
        out = self.runs_dir / label
        for steps in stages:
            run_cfg = resolve(cfg.replace(out=str(out), device=self.device, steps=steps))
            trainer = load_stage(run_cfg)
            if trainer is None:
                with sample_images(steps == stages[-1]):
                    trainer = train_or_reuse(run_cfg)
                if trainer.diverged is None:  # a diverged run's networks are no stage
                    save_stage(trainer)
            self._note_divergence(label, trainer)
            self.run_hashes[label] = config_hash(run_cfg.replace(steps=stages[-1]))
            yield trainer

    def train_seeds_stages(self, label: Callable[[int], str], cfg: TrainConfig,
                           stages: Sequence[int]) -> None:
        """:meth:`train_stages` for every seed, the seeds of each stage trained together (a
        vectorised ensemble, when the model allows it); the :meth:`train_stages` calls that
        follow read the stages back."""
        from wganbench.ensemble import train_or_reuse_seeds

        for steps in stages:
            configs = [resolve(cfg.replace(seed=s, out=str(self.runs_dir / label(s)),
                                           device=self.device, steps=steps)) for s in self.seeds]
            if all(_stage_state(c) is not None for c in configs):
                continue
            with sample_images(steps == stages[-1]):
                trainers = train_or_reuse_seeds(configs)
            for trainer in trainers:
                if trainer.diverged is None:
                    save_stage(trainer)

    def train_seeds(self, label: Callable[[int], str], cfg: TrainConfig) -> list[Trainer]:
        """:meth:`train` for every seed of the reproduction (``label(seed)`` names each run),
        trained as one vectorised ensemble when the model allows it (toy MLPs). Later
        :meth:`train` calls with the same label and configuration reuse these runs."""
        from wganbench.ensemble import train_or_reuse_seeds

        configs = [resolve(cfg.replace(seed=s, out=str(self.runs_dir / label(s)),
                                       device=self.device)) for s in self.seeds]
        trainers = train_or_reuse_seeds(configs)
        for s, c, t in zip(self.seeds, configs, trainers):
            self.run_hashes[label(s)] = config_hash(c)
            self._note_divergence(label(s), t)
        return trainers

    def scale(self, full: Any, quick: Any, paper: Any) -> Any:
        """The settings of this run's scale: ``quick`` under ``--quick``, ``paper`` under
        ``--paper-scale`` (scripts with ``PAPER_SCALE = True``), else ``full``."""
        return quick if self.quick else paper if self.paper_scale else full

    def untrained(self, cfg: TrainConfig) -> Trainer:
        """The control every claim gets: a :class:`Trainer` holding ``cfg``'s networks as
        initialised from its seed (the trained run's own starting point), clamped once where
        the Lipschitz method clamps (weight clipping), never trained. Nothing is written."""
        trainer = Trainer(resolve(cfg.replace(device=self.device, out=str(self.runs_dir / "_untrained"))))
        with torch.no_grad():
            lip = trainer.objective.lipschitz
            lip.before_critic_step(trainer.critic)
            lip.after_critic_step(trainer.critic)
        return trainer

    # ---- outputs ----------------------------------------------------------------------------
    def claim(self, claim: str, measured: float, op: str, threshold: float, *,
              controls: dict[str, float] | None = None, paper: str = "", scale: str = "") -> None:
        """Record one seed's measurement of ``claim`` (it passes when ``measured op
        threshold``) and, in ``controls``, the same measurement on each control of that seed
        (e.g. ``{"untrained": ...}``): see :class:`Claim` for when a claim holds."""
        if op not in _OPS:
            raise ValueError(f"unknown comparison {op!r}")
        entry = self.claims.setdefault(claim, Claim(claim, op, threshold, paper=paper,
                                                    scale=scale))
        entry.measured.append(float(measured))
        for name, value in (controls or {}).items():
            entry.controls.setdefault(name, []).append(float(value))

    def claim_over_seeds(self, claim: str, measured: float, op: str, threshold: float, *,
                         controls: dict[str, float], paper: str = "", scale: str = "") -> None:
        """Record a claim measured once over all seeds (a test comparing two arms' seeds, e.g.
        a rank test's p-value), with each control measured the same way: it holds when the
        value passes and every control fails. Call it once, after the seeds' runs."""
        if op not in _OPS:
            raise ValueError(f"unknown comparison {op!r}")
        if claim in self.claims:
            raise ValueError(f"claim {claim!r} recorded twice")
        self.claims[claim] = Claim(claim, op, threshold, [float(measured)],
                                   {k: [float(v)] for k, v in controls.items()}, paper=paper,
                                   scale=scale, over_seeds=len(self.seeds))

    def write_table(self, table: pd.DataFrame) -> None:
        atomic_write_text(self.dir / f"{self.name}.csv", table.to_csv(index=False))

    def write_extra_table(self, name: str, table: pd.DataFrame) -> None:
        """A further table beside the main one, ``<name>.csv``."""
        atomic_write_text(self.dir / f"{name}.csv", table.to_csv(index=False))

    def save_figure(self, fig) -> None:
        from wganbench.plotting import save_figure

        save_figure(fig, self.dir / self.name, formats=("png", "pdf"))

    def finish(self, seconds: float) -> pd.DataFrame:
        claims = pd.DataFrame([c.row() for c in self.claims.values()])
        # a diverged run measures NaN, which no claim passes: its seed fails, and is named
        claims["runs_diverged"] = ";".join(self.diverged_runs)
        atomic_write_text(self.dir / "claims.csv", claims.to_csv(index=False))
        record = provenance.collect(resolve_device(self.device), extra={
            "reproduction": self.name, "quick": self.quick, "seeds": self.seeds,
            **({"paper_scale": True} if self.paper_scale else {}),
            "runtime_seconds": round(seconds, 1), "run_config_hashes": self.run_hashes,
            "diverged_runs": self.diverged_runs})
        record.pop("seed")
        record.pop("config_hash")
        write_json(self.dir / "provenance.json", record)
        return claims


def reproduce(name: str, out: str | Path = "results", quick: bool = False, seeds: int | None = None,
              device: str = "cpu", data_root: str | None = None,
              paper_scale: bool = False) -> pd.DataFrame:
    """Run one reproduction; returns its claims table. ``paper_scale``: the papers' full
    settings, for scripts that have them (``PAPER_SCALE = True``); others refuse it."""
    script = load_script(name)
    if paper_scale and quick:
        raise UserError("--paper-scale and --quick: choose one")
    if paper_scale and not getattr(script, "PAPER_SCALE", False):
        raise UserError(f"--paper-scale: {name} has no separate paper-scale settings (its "
                        "docstring gives its scale against the paper's)")
    if seeds is None:
        seeds = getattr(script, "DEFAULT_SEEDS", 1)
    if not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise UserError(f"--seeds {seeds!r}: must be an integer from 1 to {MAX_SEEDS}")
    out = Path(out)
    ctx = Reproduction(name, out, quick, seeds, device, data_root, paper_scale)
    check_owned(out, name)
    check_writable(ctx.dir, shown_as=out)
    with lock_folder(ctx.dir, f"--out {str(ctx.dir)!r}"):
        atomic_write_text(ctx.dir / FOLDER_MARKER, name + "\n")
        start = time.perf_counter()
        script.run(ctx)
        claims = ctx.finish(time.perf_counter() - start)
        with lock_file(out / "README.md"):
            check_owned(out, name)  # nothing of the user's appeared meanwhile
            write_index(out)
    return claims


#: most seeds a reproduction trains
MAX_SEEDS = 1000
#: the first line of OUT/README.md as write_index writes it (how it is recognised as ours)
INDEX_MARKER = "<!-- written by wganbench reproduce: regenerated on every run, do not edit -->"
INDEX_TITLE = "# Reproduced figures"


def _index_is_ours(path: Path) -> bool:
    try:
        head = path.read_text(errors="replace")[:400]
    except OSError:
        return False
    return head.startswith(INDEX_MARKER) or (
        head.startswith(INDEX_TITLE) and "Written by `wganbench reproduce`" in head)


#: written into OUT/NAME when a reproduction starts there
FOLDER_MARKER = ".wganbench-reproduction"


def _folder_is_ours(folder: Path, name: str) -> bool:
    """OUT/NAME holds a reproduction of NAME: our marker names it, or its provenance.json."""
    try:
        if (folder / FOLDER_MARKER).read_text().strip() == name:
            return True
    except OSError:
        pass
    try:
        prov = json.loads((folder / "provenance.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(prov, dict) and prov.get("reproduction") == name


def check_owned(out: Path, name: str) -> None:
    """``reproduce`` writes only what it owns: OUT/README.md (its index) must be absent or one
    it wrote, and OUT/NAME absent, empty or a reproduction of NAME; anything else is refused
    with one line naming the path, before any work."""
    from wganbench.runfolder import exists_nonempty

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r}: cannot write there (it is a file, not a folder)")
    index = out / "README.md"
    if index.exists() and not _index_is_ours(index):
        raise UserError(f"--out {str(out)!r}: {str(index)!r} is not an index wganbench wrote; "
                        "it would be overwritten. Choose another --out or move the file")
    folder = out / name
    if folder.is_file():
        raise UserError(f"--out {str(out)!r}: {str(folder)!r} is a file, not a folder")
    if exists_nonempty(folder) and not _folder_is_ours(folder, name):
        raise UserError(f"--out {str(out)!r}: {str(folder)!r} holds files that are not a "
                        f"{name} reproduction; choose another --out or move the folder")


#: the sections of OUT/README.md, in order, and what puts a reproduction there
SECTIONS = (
    ("Reproduced", "every claim holds over seeds, and its control fails"),
    ("Partly", "some claims hold over seeds against their controls, others do not"),
    ("Not yet checked against a control", "claims pass, but no control was measured, so none "
     "is counted as holding"),
    ("Not reproduced at this scale", "no claim holds: each fails, or passes only as its control "
     "does too (not discriminative); or the committed run is a quick (smoke) run or came from "
     "uncommitted code"),
)


def claim_verdicts(claims: pd.DataFrame) -> list[str]:
    """Each claim's verdict; claims.csv files written before controls existed have none: a
    claim of theirs that passed is "passes, no control"."""
    if "verdict" in claims:
        return [str(v) for v in claims["verdict"]]
    return ["passes, no control" if bool(h) else ("partly" if int(k) else "fails")
            for h, k in zip(claims["holds"], claims["seeds_holding"])]


def section_of(verdicts: list[str], smoke: bool = False) -> str:
    """The section of a reproduction. ``smoke``: its results come from a ``--quick`` run or
    from uncommitted code, which are not results whatever their claims say."""
    if smoke:
        return "Not reproduced at this scale"
    if verdicts and all(v == "holds" for v in verdicts):
        return "Reproduced"
    if any(v == "holds" for v in verdicts):
        return "Partly"
    if any(v == "passes, no control" for v in verdicts):
        return "Not yet checked against a control"
    return "Not reproduced at this scale"


def _claim_table(claims: pd.DataFrame, verdicts: list[str]) -> list[str]:
    lines = ["| claim | measured (mean over seeds, 95% CI) | threshold | seeds passing | "
             "control: mean (seeds passing) | verdict |", "|---|---|---|---|---|---|"]
    for (_, row), verdict in zip(claims.iterrows(), verdicts):
        measured = f"{row['measured']:.4g}"
        if row.get("measured_ci_low") == row.get("measured_ci_low") and "measured_ci_low" in row:
            measured += f" [{row['measured_ci_low']:.4g}, {row['measured_ci_high']:.4g}]"
        control = "none"
        if isinstance(row.get("control"), str) and row["control"]:
            control = "; ".join(f"{n}: {float(m):.4g} ({k})" for n, m, k in zip(
                row["control"].split(";"), str(row["control_measured"]).split(";"),
                str(row["control_seeds_holding"]).split(";")))
        mark = verdict if verdict == "holds" else f"**{verdict}**"
        seeds = f"{row['seeds_holding']}/{row['seeds_run']}"
        if isinstance(row.get("measured_over"), str):  # one test over all seeds
            seeds = f"{'passes' if row['seeds_holding'] else 'fails'} ({row['measured_over']})"
        lines.append(f"| {markdown_escape(row['claim'])} | {measured} | {row['threshold']} | "
                     f"{seeds} | {markdown_escape(control)} | {mark} |")
    return lines


def _paper_and_scale(claims: pd.DataFrame) -> list[str]:
    """What the paper shows beside our scale, from the claims' ``paper`` and ``our_scale``
    columns (each distinct statement once)."""
    lines = []
    for col, title in (("paper", "The paper"), ("our_scale", "Our scale against the paper's")):
        if col in claims:
            values = list(dict.fromkeys(str(v) for v in claims[col].dropna() if str(v).strip()))
            if values:
                lines.append(f"*{title}:* {markdown_escape('; '.join(values).rstrip('.'))}.")
    return [line for pair in zip(lines, [""] * len(lines)) for line in pair]


def write_index(out: Path) -> None:
    """``OUT/README.md``: the reproductions present in ``OUT``, sorted into :data:`SECTIONS` by
    their claims' verdicts; each with image, caption, scale, and claims with their controls."""
    entries: dict[str, list[str]] = {title: [] for title, _ in SECTIONS}
    for name in available():
        d = out / name
        if not (d / "claims.csv").exists():
            continue
        script = load_script(name)
        try:
            prov = json.loads((d / "provenance.json").read_text())
            claims = pd.read_csv(d / "claims.csv")
            prov["seeds"], prov["runtime_seconds"], prov["device_name"]  # noqa: B018 - present?
            verdicts = claim_verdicts(claims)
        except (OSError, ValueError, KeyError, TypeError):
            entries["Not reproduced at this scale"] += [
                f"### {name}: {script.TITLE}", "",
                f"*`{name}/claims.csv` or `{name}/provenance.json` is missing or damaged; "
                f"run `wganbench reproduce {name}` again.*", ""]
            continue
        scale = ("quick (reduced) run" if prov.get("quick") else
                 "paper scale" if prov.get("paper_scale") else "default scale")
        lines = [f"### {name}: {script.TITLE}", "",
                 f"![{name}]({name}/{name}.png)", "",
                 " ".join(script.CAPTION.split()), "",
                 f"*{scale}, seeds {', '.join(str(s) for s in prov['seeds'])}; "
                 f"{prov['runtime_seconds']} s on {prov['device_name']} "
                 f"({prov['cpu_threads']} threads); commit {prov['git_commit'][:10]}"
                 f"{' (dirty)' if prov.get('git_dirty') else ''}.*", "",
                 *_paper_and_scale(claims), *_claim_table(claims, verdicts)]
        if prov.get("diverged_runs"):
            lines += ["", f"**Diverged runs** (failed seeds, measured as NaN): "
                          f"{', '.join(prov['diverged_runs'])}."]
        smoke = bool(prov.get("quick")) or bool(prov.get("git_dirty"))
        entries[section_of(verdicts, smoke)] += lines + [""]
    lines = [INDEX_MARKER, INDEX_TITLE, "",
             "Written by `wganbench reproduce` (`nox -s reproduce-all`); every image, table and claim "
             "below was produced by the code in this repository. Each folder holds the figure "
             "(PNG, PDF), every plotted number (`<name>.csv`), the claims (`claims.csv`) and "
             "provenance (`provenance.json`).", "",
             "A claim *holds* only when the trained arm passes its threshold in enough seeds "
             "(all below 5 seeds, else 80%) and each of its controls (the same networks "
             "untrained, the arm the paper contrasts) fails it in as many; a claim whose control "
             "passes proves nothing and is never counted. Verdicts: "
             + "; ".join(f"*{k}*: {v}" for k, v in VERDICTS.items()) + ".", ""]
    for title, meaning in SECTIONS:
        if entries[title]:
            lines += [f"## {title}", "", f"*{meaning}.*", "", *entries[title]]
    atomic_write_text(out / "README.md", "\n".join(lines))
