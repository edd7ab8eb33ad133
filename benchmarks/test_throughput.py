"""Throughput benchmarks: ``pytest benchmarks/ --benchmark-json out.json``.

One benchmark per objective x model x device x dtype x phase (critic step, generator step, full
generator iteration), plus the textbook WGAN-GP iteration of ``textbook.py`` on every model.
Select with ``-k`` (e.g. ``-k "toy-mlp and iteration"``). Each entry's ``extra_info`` holds
samples/s, images/s, peak memory, device name and batch size. The same measurements, with
interleaved ratios to the textbook loop, come from ``wganbench bench`` as a CSV.
"""

from __future__ import annotations

import statistics

import pytest
import torch

from conftest import devices
from wganbench.bench import BENCH_MODELS, DTYPES, PHASES, StepHarness, peak_memory_bytes
from wganbench.objectives import OBJECTIVES
from wganbench.provenance import device_name

CASES = [(o, m, d, t) for m in BENCH_MODELS for o in OBJECTIVES.names() for d in devices()
         for t in DTYPES]
_HARNESSES: dict[tuple, StepHarness] = {}


def harness(objective: str, model: str, device: str, dtype: str = "float32") -> StepHarness:
    key = (objective, model, device, dtype)
    if key not in _HARNESSES:
        _HARNESSES.clear()  # one configuration's models in memory at a time
        _HARNESSES[key] = StepHarness(objective, model, device, precision=DTYPES[dtype])
    return _HARNESSES[key]


def _run(benchmark, request, h: StepHarness, fn, phase: str, device: str, dtype: str) -> None:
    def call():
        fn()
        h.sync()

    peak = peak_memory_bytes(fn, h.device)  # the untimed warm-up call
    rounds = request.config.getoption("--bench-rounds")
    benchmark.pedantic(call, rounds=rounds, warmup_rounds=0, iterations=1)
    median = statistics.median(benchmark.stats.stats.data)
    n = h.samples_per_call(phase)
    benchmark.extra_info.update({
        "samples_per_s": n / median, "images_per_s": n / median if h.is_image else None,
        "peak_mem_mb": peak / 2**20,
        "device": device, "device_name": device_name(torch.device(device)), "dtype": dtype,
        "batch_size": h.cfg.batch_size, "n_critic": h.cfg.n_critic,
        "cpu_threads": torch.get_num_threads()})


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("objective,model,device,dtype", CASES,
                         ids=[f"{o}-{m}-{d}-{t}" for o, m, d, t in CASES])
def test_step(benchmark, request, objective, model, device, dtype, phase):
    h = harness(objective, model, device, dtype)
    assert h.cfg.precision == DTYPES[dtype]
    _run(benchmark, request, h, h.phase(phase), phase, device, dtype)


@pytest.mark.parametrize("model,device", [(m, d) for m in BENCH_MODELS for d in devices()],
                         ids=[f"{m}-{d}" for m in BENCH_MODELS for d in devices()])
def test_textbook_wgan_gp_iteration(benchmark, request, model, device):
    h = harness("wgan-gp", model, device)
    _run(benchmark, request, h, h.textbook_iteration, "iteration", device, "float32")
