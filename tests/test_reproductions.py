"""Every reproduction runs at --quick scale and its claims hold (read from claims.csv)."""

import pandas as pd
import pytest

from wganbench.cli import main
from wganbench.reproduce import available, in_all


#: reproductions whose claims need their default scale (stated in their docstrings)
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
