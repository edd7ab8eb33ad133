"""wganbench bench: the throughput table's rows, protocol columns and device separation. Speed
targets are not asserted here (they live in the benchmarks); only that the numbers are
measured and consistent."""

import math

import pandas as pd
import pytest
import torch

from wganbench.bench import StepHarness, count_flops, peak_memory_bytes
from wganbench.cli import main


def test_bench_writes_one_row_per_configuration(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["bench", "--quick", "--objectives", "wgan-gp", "gan", "--out", str(out)]) == 0
    t = pd.read_csv(out / "throughput.csv")
    ours = t[t.implementation == "wganbench"]
    assert len(ours) == 2 * 3 and set(ours.phase) == {"critic_step", "generator_step", "iteration"}
    assert (t.median_s > 0).all() and (t.iqr_s >= 0).all() and (t.repeats == 3).all()
    assert ((t.calls_per_s - 1 / t.median_s).abs() < 1e-9 * t.calls_per_s).all()
    gp_iter = t[(t.objective == "wgan-gp") & (t.phase == "iteration")]
    assert set(gp_iter.implementation) == {"wganbench", "textbook"}
    med = gp_iter.set_index("implementation").median_s
    assert gp_iter.ratio_vs_textbook.iloc[0] == pytest.approx(med["textbook"] / med["wganbench"])
    # 5 critic steps + 1 generator step: samples = 5 m + m
    row = gp_iter[gp_iter.implementation == "wganbench"].iloc[0]
    assert row.samples_per_s == pytest.approx(6 * 256 / row.median_s)
    assert math.isnan(row.images_per_s)  # toy points are not images
    assert {"git_commit", "torch_version", "device_name", "cpu_threads", "matmul_gflops",
            "flops_per_call", "frac_of_matmul_rate", "peak_mem_mb"} <= set(t)

    # rows of another device are kept, rows of this device replaced
    t.loc[:, "device_name"] = "Some GPU"
    t.loc[:, "device"] = "cuda"
    t.to_csv(out / "throughput.csv", index=False)
    assert main(["bench", "--quick", "--objectives", "gan", "--phases", "critic_step",
                 "--out", str(out)]) == 0
    t2 = pd.read_csv(out / "throughput.csv")
    assert (t2.device_name == "Some GPU").sum() == len(t) and (t2.device == "cpu").sum() == 1
    # this device's rows of other configurations are kept; the same configuration is replaced
    for objective in ("wgan-clip", "gan"):
        assert main(["bench", "--quick", "--objectives", objective, "--phases", "critic_step",
                     "--out", str(out)]) == 0
    t3 = pd.read_csv(out / "throughput.csv")
    assert sorted(t3[t3.device == "cpu"].objective) == ["gan", "wgan-clip"]


def test_flops_of_the_wgan_gp_toy_iteration():
    """A generator iteration of the toy MLPs at batch 256: the reference step counts the
    textbook loop's FLOPs (the same computation); the fast step leaves out the penalty's zero
    second-derivative work: 2 of the 28 hidden-layer products of a critic step (5 x 22 + 10 =
    120 instead of 5 x 26 + 10 = 140 per generator iteration, in units of one 512 x 512 layer
    on 256 samples)."""
    reference = StepHarness("wgan-gp", "toy-mlp", step_impl="reference")
    ref, textbook = count_flops(reference.iteration), count_flops(reference.textbook_iteration)
    assert ref == textbook and 1.5e10 < ref < 2.5e10
    fast = count_flops(StepHarness("wgan-gp", "toy-mlp").iteration)
    assert abs(fast / ref - 120 / 140) < 0.01


def test_peak_memory_sees_allocations():
    def fn():
        a = torch.randn(1024, 1024)
        b = a @ a
        del a, b

    assert 7.9 < peak_memory_bytes(fn, torch.device("cpu")) / 2**20 < 8.5


def test_bench_bad_input(tmp_path, capsys):
    assert main(["bench", "--models", "imagenet", "--out", str(tmp_path)]) == 2
    assert "--models 'imagenet'" in capsys.readouterr().err


def test_bench_bfloat16_rows_sit_beside_float32_rows(tmp_path):
    out = str(tmp_path)
    common = ["bench", "--quick", "--objectives", "wgan-gp", "--phases", "iteration", "--out", out]
    assert main(common) == 0
    assert main(common + ["--dtypes", "bfloat16"]) == 0
    t = pd.read_csv(tmp_path / "throughput.csv")
    ours = t[t.implementation == "wganbench"].set_index("dtype")
    assert sorted(ours.index) == ["bfloat16", "float32"]
    # each wganbench row has its own interleaved textbook (float32) row
    textbook = t[t.implementation == "textbook"]
    assert sorted(textbook.paired_dtype) == ["bfloat16", "float32"]
    assert set(textbook.dtype) == {"float32"}
    assert main(common + ["--dtypes", "float16"]) == 2
