"""Bootstrap intervals against hand computations; tables in Markdown and LaTeX."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from wganbench.cli import main
from wganbench.stats import bootstrap_ci, summarize
from wganbench.tables import render


def test_bootstrap_ci_by_hand():
    # resampling [0, 1] gives the mean 0 (p 1/4), 1/2 (p 1/2) or 1 (p 1/4): the 2.5% and 97.5%
    # percentiles are 0 and 1
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    low, high = bootstrap_ci([3.0])
    assert math.isnan(low) and math.isnan(high)


def test_bootstrap_ci_matches_the_normal_interval_for_many_seeds():
    x = np.random.default_rng(0).normal(5.0, 2.0, 400)
    low, high = bootstrap_ci(x)
    half = 1.96 * x.std(ddof=1) / math.sqrt(len(x))
    assert low == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert high == pytest.approx(x.mean() + half, abs=0.1 * half)
    assert bootstrap_ci(x) == (low, high)  # fixed resampling seed: the same table every time


def test_summarize_mean_std_ci():
    df = pd.DataFrame({"objective": ["a", "a", "a", "b", "b"], "w1": [1.0, 2.0, 3.0, 0.0, 1.0]})
    out = summarize(df, ["objective"], ["w1"]).set_index("objective")
    assert out.loc["a", "w1_mean"] == 2.0 and out.loc["a", "w1_std"] == 1.0
    assert out.loc["a", "n_seeds"] == 3
    assert (out.loc["b", "w1_ci_low"], out.loc["b", "w1_ci_high"]) == (0.0, 1.0)


TABLE = pd.DataFrame({
    "objective": ["wgan_gp", "wgan_clip"],
    "w1_mean": [0.2, 0.5], "w1_std": [0.01, 0.02], "w1_ci_low": [0.18, 0.45],
    "w1_ci_high": [0.22, 0.55], "IS": [7.0, 6.0], "note": ["a|b", "50%"],
})


def test_latex_is_a_balanced_tabular_with_escapes_and_bold_best():
    tex = render(TABLE, "latex", caption="seeds 0-4; commit_abc")
    assert tex.count(r"\begin{tabular}") == 1 and tex.count(r"\end{tabular}") == 1
    spec = re.search(r"\\begin\{tabular\}\{(\w+)\}", tex).group(1)
    rows = [line for line in tex.splitlines() if line.endswith(r"\\")]
    assert len(rows) == 3  # header + 2
    for row in rows:
        assert len(re.findall(r"(?<!\\)&", row)) == len(spec) - 1
    assert r"wgan\_gp" in tex and "wgan_gp" not in tex.replace(r"\_", "")
    assert r"50\%" in tex and r"commit\_abc" in tex
    assert r"\textbf{0.2 ± 0.02}" in tex  # lowest W1 is best
    assert r"\textbf{7}" in tex  # highest IS is best
    assert tex.count("{") == tex.count("}")


def test_markdown_table():
    md = render(TABLE, "markdown", caption="protocol")
    lines = md.splitlines()
    assert lines[0] == "| objective | w1 | IS | note |"
    assert "**0.2 ± 0.02**" in md and "**7**" in md and "a\\|b" in md
    assert all(line.count("|") - line.count("\\|") == 5 for line in lines[:4])
    assert lines[-1] == "*protocol*"


def test_table_cli(tmp_path, capsys):
    path = tmp_path / "r.csv"
    TABLE.to_csv(path, index=False)
    assert main(["table", str(path), "--format", "latex", "--out", str(tmp_path / "t.tex")]) == 0
    assert r"\begin{tabular}" in (tmp_path / "t.tex").read_text()
    assert main(["table", str(path), "--best", "IS:min"]) == 0
    assert "**6**" in capsys.readouterr().out
    assert main(["table", str(path), "--format", "html"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'html'" in err and "markdown, latex, csv" in err
    assert main(["table", str(tmp_path / "missing.csv")]) == 2


def test_table_columns_and_where(tmp_path, capsys):
    path = tmp_path / "t.csv"
    pd.DataFrame({"model": ["a", "a", "b"], "phase": ["x", "y", "y"], "speed": [1.0, 2.0, 3.0],
                  "fid_mean": [5.0, 6.0, 7.0], "fid_ci_low": [4.0, 5.0, 6.0],
                  "fid_ci_high": [6.0, 7.0, 8.0], "extra": [0, 0, 0]}).to_csv(path, index=False)
    assert main(["table", str(path), "--where", "phase=y", "--columns", "model", "fid_mean",
                 "--caption", ""]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert header.count("|") == 3 and "model" in header and "extra" not in header
    assert "6 ± 1" in out and "7 ± 1" in out and "5 ± 1" not in out  # row phase=x left out
    assert main(["table", str(path), "--columns", "model", "fid", "--caption", ""]) == 0
    assert "| model | fid |\n" in capsys.readouterr().out  # fid_mean, named without _mean
    assert main(["table", str(path), "--columns", "nope"]) == 2
    assert "--columns 'nope'" in capsys.readouterr().err
    assert main(["table", str(path), "--where", "phase"]) == 2
