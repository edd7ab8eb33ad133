"""Every reproduction runs at --quick scale and its claims hold (read from claims.csv)."""

import pandas as pd
import pytest

from wganbench.cli import main
from wganbench.reproduce import available, in_all


#: the image reproductions (need MNIST; IN_ALL = False) are run at a tiny scale on a built MNIST
#: in test_image_reproductions.py, and at --quick on the real one by its slow test
@pytest.mark.parametrize("name", [n for n in available() if in_all(n)])
def test_quick_reproduction_claims_hold(tmp_path, name):
    assert main(["reproduce", name, "--quick", "--out", str(tmp_path)]) == 0
    d = tmp_path / name
    for suffix in (".png", ".pdf", ".csv"):
        assert (d / f"{name}{suffix}").stat().st_size > 0
    claims = pd.read_csv(d / "claims.csv")
    assert len(claims) >= 1
    assert list(claims.columns[:2]) == ["claim", "measured"]
    assert (d / "provenance.json").exists()
    failing = claims[~claims["holds"]]
    assert failing.empty, failing[["claim", "measured", "threshold"]].to_string()
    assert (d / "provenance.json").exists()
    index = (tmp_path / "README.md").read_text()
    assert f"## {name}:" in index and f"{name}/{name}.png" in index


def test_reproduction_bad_input(capsys, tmp_path):
    def code_and_err(args):
        try:
            code = main(args)
        except SystemExit as e:
            code = e.code
        return code, capsys.readouterr().err.strip()

    code, err = code_and_err(["reproduce", "figure99", "--quick"])
    assert code == 2 and len(err.splitlines()) == 1 and "'figure99'" in err and "figure1" in err
    code, err = code_and_err(["reproduce", "figure1", "--seeds", "0"])
    assert code == 2 and len(err.splitlines()) == 1 and "--seeds 0" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = code_and_err(["reproduce", "figure1", "--quick", "--out", str(blocker)])
    assert code == 2 and len(err.splitlines()) == 1 and "cannot write" in err


def test_staged_runs_are_reused_stage_by_stage(tmp_path, monkeypatch):
    """A reproduction that reads its runs at intermediate steps (train_stages) reuses a
    finished run instead of retraining it, and each stage holds the networks of that step."""
    import torch

    from wganbench import reproduce
    from wganbench.config import TrainConfig

    cfg = TrainConfig(objective="wgan-gp", dataset="gaussian-1d", width=16, steps=6,
                      log_every=2, eval_every=6, progress=False)

    def stages():
        ctx = reproduce.Reproduction("gaussian-1d", tmp_path, quick=True, seeds=1, device="cpu")
        return [(t.step, [p.detach().clone() for p in t.generator.parameters()])
                for t in ctx.train_stages("run", cfg, [2, 4, 6])]

    first = stages()
    assert [step for step, _ in first] == [2, 4, 6]
    assert not torch.equal(first[0][1][0], first[2][1][0])  # the stages differ

    def no_training(cfg):
        raise AssertionError(f"retrained {cfg.out} to step {cfg.steps}")

    monkeypatch.setattr(reproduce, "train_or_reuse", no_training)
    again = stages()
    for (step, params), (step_again, params_again) in zip(first, again):
        assert step == step_again
        for p, q in zip(params, params_again):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
