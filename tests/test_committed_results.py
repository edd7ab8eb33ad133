"""The committed ``results/`` are what the README cites: each reproduction there must be a full
(not quick) run from a clean tree, with its figure, table and claims, and the index must be the
one ``write_index`` writes from those folders (not hand-edited, not left stale). A result is
also tied to the code that made it: the code its script runs must not have changed since the
commit in its provenance, unless it is listed below as waiting for its regeneration."""

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from wganbench.reproduce import available, load_script, write_index

RESULTS = Path(__file__).resolve().parents[1] / "results"
COMMITTED = [n for n in available() if (RESULTS / n / "claims.csv").exists()]

# Results made before a later change to wganbench/ (the runner, config, statistics and
# reproduction core, image data), each waiting for its regeneration at the current code; the
# README says so. A name leaves this set when its result is regenerated (the test below fails
# until it does), and a change to code that a result not listed here runs fails the test
# until that result is regenerated or listed.
PREDATES_CODE = {"weight-histograms", "em-vs-quality",
                 "gp-one-sided", "gp-activation"}


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


def code_changed_since(commit: str, name: str) -> bool | None:
    """Whether the package or the reproduction's script differs between ``commit`` and the
    working tree (uncommitted edits count); None where git or the commit is not at hand (an
    export, a shallow clone)."""
    paths = ["wganbench", f"reproductions/{name}.py"]
    try:
        rc = subprocess.run(["git", "diff", "--quiet", commit, "--", *paths],
                            cwd=RESULTS.parent, capture_output=True).returncode
    except OSError:
        return None
    return {0: False, 1: True}.get(rc)


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_reproduction_was_made_by_this_code(name):
    commit = json.loads((RESULTS / name / "provenance.json").read_text())["git_commit"]
    changed = code_changed_since(commit, name)
    if changed is None:
        pytest.skip(f"git history with {commit[:7]} is not available here")
    if name in PREDATES_CODE:
        assert changed, f"{name} is regenerated at the current code: remove it from PREDATES_CODE"
    else:
        assert not changed, (f"the code {name} runs changed since {commit[:7]}: regenerate "
                             f"results/{name} (or list it in PREDATES_CODE and say so in the README)")


def test_predates_code_names_committed_results():
    assert PREDATES_CODE <= set(COMMITTED)
