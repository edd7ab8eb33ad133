"""Results CSV -> a table for a paper: Markdown, LaTeX (``tabular``) or CSV.

Columns that come as ``<x>_mean`` with ``<x>_ci_low``/``<x>_ci_high`` (see
:func:`wganbench.stats.summarize`) are shown as one column ``x``: mean +- half-width of the
interval. The best value of each numeric column is bold: the smallest for distances, errors,
losses and times, the largest for scores and throughput (override with ``best``). The protocol
(from ``provenance.json`` beside the CSV, or given) goes into a caption.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from wganbench.errors import UserError, first_line

FORMATS = ("markdown", "latex", "csv")
_LOWER_IS_BETTER = re.compile(r"(fid|kid|w1|error|loss|time|seconds|memory|distance|reverse_kl)",
                              re.I)
_HIGHER_IS_BETTER = re.compile(r"(^is$|inception|throughput|per_s|it_s|ratio|speedup|holds|"
                               r"modes_covered|high_quality)", re.I)
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def markdown_escape(text: str) -> str:
    """A table cell cannot hold a bare '|'."""
    return str(text).replace("|", r"\|")


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return ""
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def collapse_intervals(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Replace ``x_mean, x_std, x_ci_low, x_ci_high`` by one text column ``x`` ("mean +- hw");
    returns the new frame and the numeric means (for choosing the best)."""
    out, numeric = {}, {}
    skip = set()
    for col in df.columns:
        if col in skip:
            continue
        if col.endswith("_mean") and f"{col[:-5]}_ci_low" in df and f"{col[:-5]}_ci_high" in df:
            base = col[:-5]
            skip |= {f"{base}_std", f"{base}_ci_low", f"{base}_ci_high"}
            half = (df[f"{base}_ci_high"] - df[f"{base}_ci_low"]) / 2
            out[base] = [_fmt(m) + ("" if math.isnan(h) else f" ± {h:.2g}")
                         for m, h in zip(df[col], half)]
            numeric[base] = df[col]
        else:
            out[col] = df[col]
            if pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
                numeric[col] = df[col]
    return pd.DataFrame(out), numeric


def best_direction(column: str, override: Mapping[str, str]) -> str | None:
    if column in override:
        return override[column]
    if _HIGHER_IS_BETTER.search(column):
        return "max"
    if _LOWER_IS_BETTER.search(column):
        return "min"
    return None


def protocol_caption(csv_path: Path) -> str:
    """A caption from the provenance.json beside ``csv_path``, if there is one."""
    prov_path = csv_path.parent / "provenance.json"
    if not prov_path.exists():
        return ""
    try:
        prov = json.loads(prov_path.read_text())
        if not isinstance(prov, dict):
            raise ValueError(f"a JSON {type(prov).__name__}, not an object")
    except (OSError, ValueError) as e:
        raise UserError(f"{str(prov_path)!r} beside the CSV is not a provenance record "
                        f"({first_line(e)}); pass --caption "
                        "to do without it") from None
    parts = [f"{prov.get('device_name', '?')} ({prov.get('cpu_threads', '?')} threads)",
             f"torch {prov.get('torch_version', '?')}",
             f"commit {str(prov.get('git_commit', '?'))[:10]}"
             + (" (dirty)" if prov.get("git_dirty") else "")]
    if "seeds" in prov:
        parts.insert(0, f"seeds {', '.join(map(str, prov['seeds']))}")
    return "; ".join(parts)


def render(df: pd.DataFrame, fmt: str, caption: str = "",
           best: Mapping[str, str] | None = None) -> str:
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose from: {', '.join(FORMATS)}")
    best = dict(best or {})
    for col, direction in best.items():
        if direction not in ("min", "max"):
            raise UserError(f"--best {col}:{direction}: the direction must be min or max")
    table, numeric = collapse_intervals(df)
    text = table.astype(object).map(_fmt)
    bold = pd.DataFrame(False, index=table.index, columns=table.columns)
    for col, values in numeric.items():
        direction = best_direction(col, best)
        if direction and len(values.dropna()) > 1:
            target = values.min() if direction == "min" else values.max()
            bold[col] = values == target
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "markdown":
        text = text.map(markdown_escape)
        cells = text.where(~bold, "**" + text + "**")
        lines = ["| " + " | ".join(markdown_escape(c) for c in table.columns) + " |",
                 "|" + "|".join("---" for _ in table.columns) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
        if caption:
            lines += ["", f"*{caption}*"]
        return "\n".join(lines) + "\n"
    escaped = text.map(latex_escape)
    cells = escaped.where(~bold, r"\textbf{" + escaped + "}")
    spec = "".join("r" if col in numeric else "l" for col in table.columns)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    lines += [r"\begin{tabular}{" + spec + "}", r"\hline",
              " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\hline"]
    lines += [" & ".join(row) + r" \\" for row in cells.itertuples(index=False)]
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def select(df: pd.DataFrame, columns: list[str] | None = None,
           where: list[str] | None = None) -> pd.DataFrame:
    """Rows whose ``COL=VALUE`` conditions all hold (values compared as text), then the named
    columns in that order (a ``<x>_mean`` column brings its ``_ci_low``/``_ci_high`` along; a
    summarised measure may be named without its suffix: ``w1`` for ``w1_mean``)."""
    for cond in where or []:
        col, sep, value = cond.partition("=")
        if not sep or col not in df.columns:
            raise UserError(f"--where {cond!r}: write COLUMN=VALUE with a column of the CSV "
                            f"({', '.join(df.columns)})")
        df = df[df[col].astype(str) == value]
    if columns:
        columns = [c if c in df.columns or f"{c}_mean" not in df.columns else f"{c}_mean"
                   for c in columns]
        unknown = [c for c in columns if c not in df.columns]
        if unknown:
            raise UserError(f"--columns {unknown[0]!r} is not a column of the CSV; choose from "
                            f"{', '.join(df.columns)}")
        keep = []
        for c in columns:
            keep.append(c)
            if c.endswith("_mean"):
                keep += [c[:-5] + s for s in ("_ci_low", "_ci_high") if c[:-5] + s in df.columns]
        df = df[keep]
    return df


def render_file(path: str | Path, fmt: str, caption: str | None = None,
                best: Mapping[str, str] | None = None, columns: list[str] | None = None,
                where: list[str] | None = None) -> str:
    path = Path(path)
    import warnings

    try:
        with warnings.catch_warnings():  # pandas warns (several lines) before some failures
            warnings.simplefilter("ignore")
            df = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise UserError(f"{str(path)!r}: cannot read it as a CSV ({first_line(e)})") from None
    df = select(df, columns, where)
    return render(df, fmt, protocol_caption(path) if caption is None else caption, best)
