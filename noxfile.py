"""Sessions for wganbench. All of them share one virtual environment, ``.nox/shared``, so the
multi-GB PyTorch install happens once; it is refreshed when ``pyproject.toml`` changes.

    nox -s reproduce-figure1  the main job: WGAN Fig 2 into results/figure1/
    nox -s reproduce-NAME     any reproduction in reproductions/ (-- --quick, --seeds N, --out DIR)
    nox -s reproduce-all      all of them, and results/README.md
    nox -s tests              the test suite (what CI runs)
    nox -s train-toy          a toy training run: WGAN-GP on 8gaussians
    nox -s bench              training throughput into results/throughput.csv
    nox -s bench-table        the whole committed throughput table (-- --out SCRATCH)
    nox -s benchmarks         the pytest-benchmark suite (pytest benchmarks/)
    nox -s bench-quality      quality of every objective on the toy sets over training and seeds
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
ENV = ROOT / ".nox" / "shared"
STAMP = ENV / ".wganbench-installed"

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "none"


def _python() -> Path:
    return ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def shared_env(session: nox.Session) -> str:
    """Create ``.nox/shared`` if needed and install ``wganbench[dev]`` into it (editable) when
    ``pyproject.toml`` changed since the last install. Returns the environment's python."""
    py = _python()
    if not py.exists():
        session.run(sys.executable, "-m", "venv", str(ENV), external=True)
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != key:
        session.run(str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip", external=True)
        session.run(str(py), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]", external=True)
        STAMP.write_text(key)
    session.env["PATH"] = f"{py.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return str(py)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest tests/); extra arguments go to pytest."""
    py = shared_env(session)
    session.run(py, "-m", "pytest", "tests", *session.posargs, external=True)


@nox.session(name="train-toy")
def train_toy(session: nox.Session) -> None:
    """Train WGAN-GP on 8gaussians (2000 generator iterations) into runs/wgan-gp_8gaussians."""
    py = shared_env(session)
    args = session.posargs or ["--objective", "wgan-gp", "--dataset", "8gaussians",
                               "--steps", "2000", "--out", "runs/wgan-gp_8gaussians"]
    session.run(py, "-m", "wganbench", "train", *args, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput of every objective x model on this device into results/throughput.csv."""
    py = shared_env(session)
    session.run(py, "-m", "wganbench", "bench", *session.posargs, external=True)


#: what results/throughput.csv holds: every objective x model x phase in float32, and the
#: WGAN-GP iteration of the toy, MNIST and CIFAR DCGAN models in bf16 and compiled
BENCH_TABLE = (
    [],
    ["--dtypes", "bfloat16", "--objectives", "wgan-gp", "--phases", "iteration",
     "--models", "toy-mlp", "mnist", "cifar-dcgan"],
    ["--compile", "--objectives", "wgan-gp", "--phases", "iteration",
     "--models", "toy-mlp", "mnist", "cifar-dcgan"],
)


@nox.session(name="bench-table")
def bench_table(session: nox.Session) -> None:
    """Regenerate the whole throughput table into --out (default: results; give a scratch
    folder and move it into results/ when it is done): the three bench runs, back to back."""
    py = shared_env(session)
    out = session.posargs[session.posargs.index("--out") + 1] if "--out" in session.posargs else "results"
    for args in BENCH_TABLE:
        session.run(py, "-m", "wganbench", "bench", "--out", out, *args, external=True)


@nox.session(name="benchmarks")
def benchmarks(session: nox.Session) -> None:
    """pytest-benchmark suite (pytest benchmarks/); args go to pytest, e.g. --benchmark-json F."""
    py = shared_env(session)
    session.run(py, "-m", "pytest", "benchmarks", *session.posargs, external=True)


@nox.session(name="bench-quality")
def bench_quality(session: nox.Session) -> None:
    """Sample quality over seeds into results/quality.csv (args: --seeds N --steps N --quick ...)."""
    py = shared_env(session)
    session.run(py, "-m", "wganbench", "bench-quality", *session.posargs, external=True)


def _reproduce_session(name: str):
    def session_fn(session: nox.Session) -> None:
        py = shared_env(session)
        session.run(py, "-m", "wganbench", "reproduce", name, *session.posargs, external=True)

    where = "every reproduction, and results/README.md" if name == "all" else f"{name} into results/{name}/"
    session_fn.__doc__ = f"Reproduce {where} (args: --quick, --seeds N, --out DIR)."
    return nox.session(name=f"reproduce-{name}")(session_fn)


for _script in sorted((ROOT / "reproductions").glob("*.py")):
    if not _script.stem.startswith("_"):
        globals()[f"reproduce_{_script.stem.replace('-', '_')}"] = _reproduce_session(_script.stem)
_reproduce_session("all")
