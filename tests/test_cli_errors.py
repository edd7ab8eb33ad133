"""Bad input: exit code 2, one line naming the bad value and what is allowed, no traceback."""

import pytest

from wganbench.cli import main


def run_main(args, capsys):
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    captured = capsys.readouterr()
    return code, captured.err


BAD = [
    (["--objective", "wgan-xx"], ["'wgan-xx'", "gan, gan-ns, wgan-clip, wgan-gp, lsgan"]),
    (["--dataset", "9gaussians"], ["'9gaussians'", "8gaussians", "swissroll"]),
    (["--steps", "0"], ["--steps 0", "positive integer"]),
    (["--steps", "-5"], ["--steps -5", "positive integer"]),
    (["--steps", "ten"], ["--steps", "'ten'"]),
    (["--batch-size", "0"], ["--batch-size 0", "positive integer"]),
    (["--lr", "0"], ["--lr 0.0", "> 0"]),
    (["--lr", "-1e-4"], ["--lr -0.0001", "> 0"]),
    (["--n-critic", "0"], ["--n-critic 0", "positive integer"]),
    (["--objective", "wgan-clip", "--clip", "0"], ["--clip 0.0", "c > 0"]),
    (["--objective", "wgan-clip", "--clip", "-0.01"], ["--clip -0.01", "c > 0"]),
    (["--gp-lambda", "-1"], ["--gp-lambda -1.0", ">= 0"]),
    (["--objective", "wgan-gp", "--clip", "0.01"], ["--clip 0.01", "--lipschitz clip"]),
    (["--objective", "wgan-clip", "--betas", "0.5", "0.9"], ["--betas", "rmsprop"]),
    (["--device", "tpu"], ["--device 'tpu'", "cpu, cuda"]),
    (["--latent", "gauss"], ["--latent 'gauss'", "uniform:LOW:HIGH"]),
    (["--generator", "resnet9000"], ["'resnet9000'", "mlp"]),
    (["--clip-mode", "during", "--objective", "wgan-clip"], ["--clip-mode 'during'", "after, before"]),
]


@pytest.mark.parametrize("args,expected", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_value_is_one_line_exit_2(tmp_path, capsys, args, expected):
    code, err = run_main(["train", "--out", str(tmp_path / "r"), "--no-progress", *args], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert not (tmp_path / "r" / "metrics.csv").exists()


def test_out_that_cannot_be_written(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, err = run_main(["train", "--out", str(blocker / "run"), "--steps", "1"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--out" in err and "cannot write" in err and str(blocker / "run") in err


def test_resume_without_checkpoint(tmp_path, capsys):
    code, err = run_main(["train", "--resume", "--out", str(tmp_path / "nothing")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no checkpoint" in err and "nothing" in err


def test_resume_with_contradicting_settings(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--objective", "wgan-gp", "--steps", "2", "--width", "32",
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    for args, fragment in ((["--lr", "0.001"], "--lr 0.001"),
                           (["--objective", "wgan-clip"], "--objective 'wgan-clip'"),
                           (["--width", "64"], "--width 64"),
                           (["--seed", "7"], "--seed 7")):
        code, err = run_main(["train", "--resume", "--out", str(out), *args], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert fragment in err and "contradicts the checkpoint" in err
    # the same values as the checkpoint's, and a longer --steps, are fine
    assert main(["train", "--resume", "--out", str(out), "--objective", "wgan-gp", "--width", "32",
                 "--steps", "4", "--no-progress"]) == 0


def test_refuses_to_overwrite_an_existing_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--steps", "1", "--width", "16", "--out", str(out), "--no-progress"]) == 0
    before = (out / "metrics.csv").read_bytes()
    code, err = run_main(["train", "--steps", "1", "--out", str(out)], capsys)
    assert code == 2 and "already holds a run" in err
    assert (out / "metrics.csv").read_bytes() == before


def test_real_process_exit_code_and_no_traceback(cli, tmp_path):
    proc = cli("train", "--objective", "nope", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("wganbench train: error: unknown objective 'nope'; choose "
                                   "from: gan, gan-ns, wgan-clip, wgan-gp, lsgan")
    proc = cli("train", "--steps", "abc")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_help_lists_every_option_with_its_paper_default(cli):
    proc = cli("train", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for fragment in ("--objective", "--dataset", "--steps", "--seed", "--out", "--resume",
                     "--device", "--batch-size", "--lr", "--n-critic", "--clip", "--gp-lambda",
                     "wgan-clip 5e-05", "wgan-gp 0.0001", "wgan-clip 0.01", "wgan-gp 10.0",
                     "wgan-gp 0.0 0.9", "wgan-clip 5", "gan 1"):
        assert fragment in text, fragment
