"""The committed ``results/`` are what the README cites: each reproduction there must be a full
(not quick) run from a clean tree, with its figure, table and claims, and the index must be the
one ``write_index`` writes from those folders (not hand-edited, not left stale)."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from wganbench.reproduce import available, load_script, write_index

RESULTS = Path(__file__).resolve().parents[1] / "results"
COMMITTED = [n for n in available() if (RESULTS / n / "claims.csv").exists()]


def test_results_hold_reproductions():
    assert COMMITTED, "no committed reproduction under results/"


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_reproduction_is_a_full_clean_run(name):
    d = RESULTS / name
    prov = json.loads((d / "provenance.json").read_text())
    assert prov["git_dirty"] is False, f"{name}: made from uncommitted code"
    assert prov["quick"] is False, f"{name}: a quick (smoke) run"
    assert prov["reproduction"] == name
    assert prov["runtime_seconds"] > 0
    assert not prov.get("diverged_runs"), f"{name}: diverged runs {prov['diverged_runs']}"
    # several seeds, as many as the script runs by default (toys: 5 or more)
    assert len(prov["seeds"]) >= getattr(load_script(name), "DEFAULT_SEEDS", 5), name
    for suffix in (".png", ".pdf", ".csv"):
        assert (d / f"{name}{suffix}").stat().st_size > 0, f"{name}{suffix}"
    claims = pd.read_csv(d / "claims.csv", keep_default_na=False)
    assert len(claims) >= 1
    assert (claims.control != "").all(), f"{name}: a claim without a control"


def test_index_is_the_one_write_index_writes(tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(RESULTS, copy)
    write_index(copy)
    assert (copy / "README.md").read_text() == (RESULTS / "README.md").read_text(), (
        "results/README.md is stale or hand-edited: rebuild it with write_index")
