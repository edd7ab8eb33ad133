"""``wganbench bench``: training throughput per objective x model x device x dtype.

For each configuration it times one critic step, one generator step and one full generator
iteration (n_critic critic steps + one generator step, WGAN Alg. 1 / WGAN-GP Alg. 1) of the
runner's own step functions (:class:`~wganbench.objectives.algorithm.Objective`), on real
batches already on the device (data loading is not timed). Protocol: ``warmup`` untimed calls,
then ``repeats`` timed calls, CUDA synchronised after each; the table reports the median and
the interquartile range of the per-call times.

For WGAN-GP the full iteration is also timed for the plain tutorial-style loop in
``benchmarks/textbook.py`` on the same models and batches, alternating call by call with
wganbench's (ABAB...), so that both see the same machine state; ``ratio_vs_textbook`` is the
textbook's median time over wganbench's (> 1: wganbench is faster).

Each row also holds FLOPs per call (``torch.utils.flop_counter``), the achieved GFLOP/s and its
fraction of this device's measured float32 matmul rate, peak memory of one call (CUDA: the
allocator's peak; CPU: the peak of the profiler's allocation timeline), and provenance (commit,
versions, device model, CPU threads, TF32 setting).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from wganbench import provenance
from wganbench.config import TrainConfig, resolve
from wganbench.data import get_dataset
from wganbench.errors import UserError
from wganbench.latent import parse_latent
from wganbench.objectives import OBJECTIVES
from wganbench.results import check_writable
from wganbench.runner import build_parts, derive_seed, resolve_device

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BenchModel:
    """A model at the settings of the paper / code it comes from."""

    dataset: str
    batch_size: int
    overrides: dict = field(default_factory=dict)
    source: str = ""


BENCH_MODELS: dict[str, BenchModel] = {
    "toy-mlp": BenchModel("8gaussians", 256, {}, "gan_toy.py: MLP 512 x 3, batch 256"),
    "mnist": BenchModel("mnist", 50, {}, "gan_mnist.py: DIM 64, batch 50"),
    "cifar-dcgan": BenchModel("cifar10", 64, {}, "gan_cifar.py: DIM 128, batch 64"),
    "cifar-resnet": BenchModel("cifar10", 64, dict(generator="cifar-resnet", critic="cifar-resnet",
                                                   gen_batch_multiple=2),
                               "gan_cifar_resnet.py: DIM 128, batch 64, generator batch 128"),
}
PHASES = ("critic_step", "generator_step", "iteration")
#: dtype column -> --precision ("bfloat16": bf16 autocast, not exact; compared with the float32
#: textbook loop, so its ratio mixes precision and implementation)
DTYPES = {"float32": "float32", "bfloat16": "bf16"}


def bench_config(objective: str, model: str, device: str, step_impl: str = "fast",
                 precision: str = "float32", compile: bool = False) -> TrainConfig:
    spec = BENCH_MODELS[model]
    return resolve(TrainConfig(objective=objective, dataset=spec.dataset,
                               batch_size=spec.batch_size, device=device, progress=False,
                               out="unused", step_impl=step_impl, precision=precision,
                               compile=compile, **spec.overrides))


class StepHarness:
    """Models, optimisers and real batches of one configuration; callables for each phase."""

    def __init__(self, objective: str, model: str, device: str = "cpu", seed: int = 0,
                 step_impl: str = "fast", precision: str = "float32",
                 compile: bool = False) -> None:
        self.cfg = cfg = bench_config(objective, model, device, step_impl, precision, compile)
        self.device = resolve_device(device)
        self.parts = build_parts(cfg, self.device)
        self.latent = parse_latent(cfg.latent, cfg.latent_dim)
        data = get_dataset(cfg.dataset)
        g = torch.Generator(self.device).manual_seed(derive_seed(seed, 1))
        lo, hi = data.value_range or (-1.0, 1.0)
        self.real = [lo + (hi - lo) * torch.rand(cfg.batch_size, *data.shape, generator=g,
                                                 device=self.device)
                     for _ in range(max(cfg.n_critic, 1))]
        self.noise_rng = torch.Generator(self.device).manual_seed(derive_seed(seed, 2))
        self.penalty_rng = torch.Generator(self.device).manual_seed(derive_seed(seed, 3))
        self.is_image = data.value_range is not None
        self._textbook_parts = None

    # ---- the phases ----------------------------------------------------------------------
    def critic_step(self, i: int = 0) -> None:
        p, real = self.parts, self.real[i % len(self.real)]
        fake = p.objective.fake(p.generator, self.latent.sample(len(real), self.noise_rng))
        p.objective.critic_step(p.critic, p.opt_c, real, fake, self.penalty_rng)

    def generator_step(self) -> None:
        p = self.parts
        z = self.latent.sample(self.cfg.batch_size * self.cfg.gen_batch_multiple, self.noise_rng)
        p.objective.generator_step(p.generator, p.critic, p.opt_g, z)

    def iteration(self) -> None:
        for i in range(self.cfg.n_critic):
            self.critic_step(i)
        self.generator_step()

    def phase(self, name: str) -> Callable[[], None]:
        return {"critic_step": self.critic_step, "generator_step": self.generator_step,
                "iteration": self.iteration}[name]

    def textbook_iteration(self) -> None:
        """The tutorial loop of ``benchmarks/textbook.py`` on copies of the same models."""
        if self.cfg.lipschitz != "gp":
            raise ValueError("the textbook baseline is a WGAN-GP loop")
        if self._textbook_parts is None:
            p = self.parts
            g, c = copy.deepcopy(p.generator), copy.deepcopy(p.critic)
            opt = type(p.opt_g)  # with its default kernels, as tutorials build it
            plain = {k: v for k, v in p.opt_g.defaults.items() if k not in ("fused", "foreach")}
            self._textbook_parts = (g, c, opt(g.parameters(), **plain), opt(c.parameters(), **plain))
        g, c, opt_g, opt_c = self._textbook_parts
        load_textbook()(g, c, opt_g, opt_c, self.real, self.cfg.latent_dim,
                        gp_lambda=self.cfg.gp_lambda, n_critic=self.cfg.n_critic,
                        gen_batch=self.cfg.batch_size * self.cfg.gen_batch_multiple)

    # ---- what a call processes ------------------------------------------------------------
    def samples_per_call(self, phase: str) -> int:
        m = self.cfg.batch_size
        return {"critic_step": m, "generator_step": m * self.cfg.gen_batch_multiple,
                "iteration": m * self.cfg.n_critic + m * self.cfg.gen_batch_multiple}[phase]

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def load_textbook() -> Callable:
    path = ROOT / "benchmarks" / "textbook.py"
    if not path.exists():
        raise UserError(f"no textbook baseline at {str(path)!r}; run from a source checkout")
    spec = importlib.util.spec_from_file_location("wganbench_textbook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.textbook_wgan_gp_iteration


# ---- measurement helpers -------------------------------------------------------------------

def time_calls(fns: list[Callable[[], None]], sync: Callable[[], None], warmup: int,
               repeats: int) -> list[list[float]]:
    """Per-call seconds of each function, calls interleaved (f0, f1, f0, f1, ...)."""
    for _ in range(warmup):
        for fn in fns:
            fn()
            sync()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            times[k].append(time.perf_counter() - t0)
    return times


def median_iqr(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], 0.0
    q = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), q[2] - q[0]


def count_flops(fn: Callable[[], None]) -> float:
    """FLOPs of one call, by ``torch.utils.flop_counter`` (matmuls and convolutions, backward
    and double backward included). The counter's per-module tracking is left out: its hooks
    do not support ``autograd.grad`` inside the counted region (the gradient penalty). NaN if
    this torch's counter cannot be used that way."""
    from torch.utils import flop_counter

    try:
        counter = flop_counter.FlopCounterMode(display=False)
        with flop_counter._FlopCounterMode(counter):
            fn()
        return float(counter.get_total_flops())
    except (AttributeError, TypeError, RuntimeError):
        return float("nan")


def peak_memory_bytes(fn: Callable[[], None], device: torch.device) -> int:
    """Peak memory allocated during one call, above what was allocated before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # allocations are charged to the op that made them (self usage, children excluded); frees
    # appear as "[memory]" events with negative sizes; the peak of the running sum is the call's
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    level = peak = 0
    for e in events:
        level += e.self_cpu_memory_usage
        peak = max(peak, level)
    return int(peak)


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the profiler library's own lines on file descriptor 2 while it runs."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """This device's float32 matmul rate (median of ``repeats`` n x n x n products)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    (times,) = time_calls([lambda: a @ b], sync, warmup=2, repeats=repeats)
    return 2 * n**3 / statistics.median(times) / 1e9


# ---- the command -----------------------------------------------------------------------

@dataclass
class BenchOptions:
    out: str = "results"
    objectives: tuple[str, ...] = tuple(OBJECTIVES.names())
    models: tuple[str, ...] = tuple(BENCH_MODELS)
    phases: tuple[str, ...] = PHASES
    dtypes: tuple[str, ...] = ("float32",)
    compile: bool = False  # torch.compile the networks' first-order calls (--compile)
    device: str = "cpu"
    warmup: int = 2
    repeats: int = 7
    quick: bool = False  # toy model only, 1 warm-up, 3 repeats (tests)

    def check(self) -> None:
        for o in self.objectives:
            OBJECTIVES.get(o)
        for m in self.models:
            if m not in BENCH_MODELS:
                raise UserError(f"--models {m!r}: choose from {', '.join(BENCH_MODELS)}")
        for p in self.phases:
            if p not in PHASES:
                raise UserError(f"--phases {p!r}: choose from {', '.join(PHASES)}")
        for d in self.dtypes:
            if d not in DTYPES:
                raise UserError(f"--dtypes {d!r}: choose from {', '.join(DTYPES)}")
        if not 2 <= self.repeats <= 10_000:
            raise UserError(f"--repeats {self.repeats}: must be from 2 (median and IQR) to 10,000")
        if not 0 <= self.warmup <= 10_000:
            raise UserError(f"--warmup {self.warmup}: must be from 0 to 10,000")


def bench(opts: BenchOptions, log: Callable[[str], None] = print) -> pd.DataFrame:
    """Measure every configuration and write ``OUT/throughput.csv`` (rows already there are kept
    unless this run measured the same device x model x objective x phase again)."""
    from wganbench.results import atomic_write_text

    if opts.quick:
        opts.models, opts.warmup, opts.repeats = ("toy-mlp",), 1, 3
    opts.check()
    path = Path(opts.out) / "throughput.csv"
    check_writable(path.parent, shown_as=opts.out)
    read_previous(path)  # a file that is not ours fails now, not after minutes of measuring
    device = resolve_device(opts.device)
    prov = provenance.collect(device)
    peak_gflops = matmul_gflops(device)
    log(f"{prov['device_name']}: float32 matmul {peak_gflops:.0f} GFLOP/s")
    rows = []
    for model, objective, dtype in ((m, o, d) for m in opts.models for o in opts.objectives
                                    for d in opts.dtypes):
        h = StepHarness(objective, model, opts.device, precision=DTYPES[dtype],
                        compile=opts.compile)
        for phase in opts.phases:
            fns = [h.phase(phase)]
            textbook = phase == "iteration" and h.cfg.lipschitz == "gp"
            if textbook:
                fns.append(h.textbook_iteration)
            times = time_calls(fns, h.sync, opts.warmup, opts.repeats)
            flops = count_flops(fns[0])
            mem = peak_memory_bytes(fns[0], h.device)
            impls = ["wganbench", "textbook"][:len(fns)]
            med = {}
            for impl, t, fn in zip(impls, times, fns):
                median, iqr = median_iqr(t)
                med[impl] = median
                n = h.samples_per_call(phase)
                f = flops if impl == "wganbench" else count_flops(fn)
                rows.append({
                    "model": model, "objective": objective, "phase": phase,
                    "implementation": impl,
                    "dtype": dtype if impl == "wganbench" else "float32",
                    "paired_dtype": dtype,  # the wganbench dtype this row was timed beside
                    "compiled": opts.compile if impl == "wganbench" else False,
                    "paired_compiled": opts.compile,
                    "batch_size": h.cfg.batch_size, "n_critic": h.cfg.n_critic,
                    "median_s": median, "iqr_s": iqr, "repeats": len(t),
                    "calls_per_s": 1 / median, "samples_per_s": n / median,
                    "images_per_s": n / median if h.is_image else float("nan"),
                    "flops_per_call": f, "gflops_per_s": f / median / 1e9,
                    "frac_of_matmul_rate": f / median / 1e9 / peak_gflops,
                    "peak_mem_mb": (mem if impl == "wganbench"
                                    else peak_memory_bytes(fn, h.device)) / 2**20,
                })
            if textbook:
                ratio = med["textbook"] / med["wganbench"]
                for r in rows[-2:]:
                    r["ratio_vs_textbook"] = ratio
            label = f"{dtype}{'+compile' if opts.compile else ''}"
            log(f"{model:<13} {objective:<9} {label:<16} {phase:<15} "
                f"{med['wganbench'] * 1e3:9.1f} ms"
                + (f"  (textbook {med['textbook'] * 1e3:.1f} ms, ratio {ratio:.2f})"
                   if textbook else ""))
    table = pd.DataFrame(rows)
    for key in ("device", "device_name", "cpu_threads", "torch_version", "cuda_version",
                "tf32_matmul", "git_commit", "git_dirty", "start_time"):
        table[key] = prov.get(key)
    table["matmul_gflops"] = peak_gflops
    from wganbench.locking import lock_file

    with lock_file(path):  # read-merge-write: one writer at a time
        old = read_previous(path)
        if old is not None:  # keep every row this run did not measure again
            measured = table[MERGE_KEY].drop_duplicates().assign(_again=True)
            old = old.merge(measured, on=MERGE_KEY, how="left")
            table = pd.concat([old[old._again.isna()].drop(columns="_again"), table],
                              ignore_index=True)
        atomic_write_text(path, table.to_csv(index=False))
    return table


#: what identifies a row of throughput.csv (a new measurement of it replaces the old one)
MERGE_KEY = ["device", "device_name", "model", "objective", "phase", "implementation",
             "paired_dtype", "paired_compiled"]


def read_previous(path: Path) -> pd.DataFrame | None:
    """The rows of an existing ``throughput.csv`` (None when there is none), or a one-line
    UserError when the file is not one that ``wganbench bench`` wrote."""
    if not path.exists():
        return None
    try:
        old = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise UserError(f"{str(path)!r} exists and is not a readable CSV ({type(e).__name__}); "
                        "move it away or choose another --out") from None
    if "paired_dtype" not in old and "dtype" in old:  # files written before the dtype option
        old["paired_dtype"] = old["dtype"]
    if "paired_compiled" not in old:  # ... or before the compile option
        old["compiled"] = old["paired_compiled"] = False
    missing = [c for c in MERGE_KEY if c not in old]
    if missing:
        raise UserError(f"{str(path)!r} exists and is not a wganbench throughput table (no "
                        f"{', '.join(missing[:3])} column); move it away or choose another --out")
    return old
