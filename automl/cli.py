"""The ``automl`` command line: a thin layer over the Python API.

The only module that reads ``sys.argv`` or turns :class:`AutoMLError` into one line on stderr
and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from automl import __version__
from automl.errors import AutoMLError

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Run the ``automl`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args) or 0
    except AutoMLError as exc:
        print(f"automl: error: {exc.one_line()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("automl: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``automl`` subcommand."""
    parser = argparse.ArgumentParser(prog="automl", description="Plugin-based AutoML for deep learning on Ray Tune.")
    parser.add_argument("--version", action="version", version=f"automl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    search = commands.add_parser("search", help="search, rank, refit and save a model for a dataset")
    search.add_argument("data", help="CSV or Parquet file, or a built-in dataset: digits, iris, wine, breast_cancer, diabetes")
    search.add_argument("--target", help="target column (default for built-in datasets: target)")
    search.add_argument("--task", choices=["binary", "multiclass", "regression"], help="override the inferred task")
    search.add_argument("--space", default="default", help="search space: a name in search_spaces/ or a YAML path (default: default)")
    search.add_argument("--num-trials", type=_positive_int, help="number of trials (default 20, or unlimited with --time-budget)")
    search.add_argument("--time-budget", type=_positive_float, metavar="SECONDS", help="stop starting and running trials after this long")
    search.add_argument("--scheduler", default="asha", choices=["asha", "fifo"], help="trial scheduler (default: asha)")
    search.add_argument("--searcher", default="random", choices=["random"], help="search algorithm (default: random)")
    search.add_argument("--max-concurrent", type=_positive_int, help="at most this many trials at once")
    search.add_argument("--cpus-per-trial", type=_positive_float, default=1.0, help="CPUs per trial (default 1)")
    search.add_argument("--gpus-per-trial", type=_non_negative_float, default=0.0, help="GPUs per trial, fractions allowed (default 0)")
    search.add_argument("--address", help="join an existing Ray cluster at this address (default: start Ray locally)")
    search.add_argument("--output", type=Path, help="run directory (default: runs/<dataset>-<time>)")
    search.add_argument("--overwrite", action="store_true", help="replace an existing, non-empty run directory")
    search.add_argument("--seed", type=int, default=0, help="seed for splits, sampling and training (default 0)")
    search.add_argument("--val-fraction", type=float, default=0.15, help="validation share of rows (default 0.15)")
    search.add_argument("--test-fraction", type=float, default=0.15, help="test share of rows (default 0.15)")
    search.add_argument("--image-shape", type=_shape, metavar="C,H,W", help="treat pixel columns as images of this shape")
    search.add_argument("--disable-plugin", action="append", default=[], metavar="NAME", help="skip a plugin (repeatable)")
    search.add_argument("--ensemble", type=_positive_int, default=0, metavar="K",
                        help="also build a greedy ensemble of the top K trials; it is the final model only if it wins on validation")
    search.add_argument("-q", "--quiet", action="store_true", help="print only the final leaderboard and test metrics")
    search.add_argument("-v", "--verbose", action="store_true", help="show Ray Tune's own output")
    search.set_defaults(handler=run_search)

    predict = commands.add_parser("predict", help="predict with a saved model")
    predict.add_argument("artifact", type=Path, help="the model/ folder of a run (or the run directory)")
    predict.add_argument("data", help="CSV or Parquet file with the feature columns")
    predict.add_argument("-o", "--output", type=Path, help="write predictions to this CSV (default: print them)")
    predict.set_defaults(handler=run_predict)

    plugins = commands.add_parser("plugins", help="list every installed component and its plugin")
    plugins.add_argument("pattern", nargs="?", default="*", help="wildcard on component names, e.g. 'ml*'")
    plugins.add_argument("--family", choices=["architectures", "losses", "optimizers", "regularizers"])
    plugins.add_argument("--disable-plugin", action="append", default=[], metavar="NAME")
    plugins.set_defaults(handler=run_plugins)

    leaderboard = commands.add_parser("leaderboard", help="print the leaderboard of a run directory")
    leaderboard.add_argument("run_dir", type=Path)
    leaderboard.set_defaults(handler=run_leaderboard)

    export = commands.add_parser("export", help="export a saved model to run with torch alone")
    export.add_argument("artifact", type=Path, help="the model/ folder of a run (or the run directory)")
    export.add_argument("--format", default="torchscript", choices=["torchscript", "torch-export"],
                        help="torchscript (torch.jit) or torch-export (torch.export, where the architecture allows)")
    export.add_argument("-o", "--output", type=Path, help="folder for the exported files (default: ARTIFACT/../export)")
    export.set_defaults(handler=run_export)

    serve = commands.add_parser("serve", help="serve predictions of a saved model over HTTP (JSON)")
    serve.add_argument("artifact", type=Path, help="the model/ folder of a run (or the run directory)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one (default 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    serve.add_argument("--max-body-bytes", type=_positive_int, default=1 << 20, help="largest request body accepted (default 1 MiB)")
    serve.add_argument("--max-rows", type=_positive_int, default=10_000, help="most rows per request (default 10000)")
    serve.set_defaults(handler=run_serve)
    return parser


def run_search(args: argparse.Namespace) -> int:
    """``automl search``: run the whole flow and print the leaderboard and test metrics."""
    from automl.api import AutoML

    automl = AutoML(
        target=args.target, task=args.task, space=args.space, num_trials=args.num_trials,
        time_budget_s=args.time_budget, scheduler=args.scheduler, searcher=args.searcher,
        max_concurrent=args.max_concurrent, cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial, address=args.address, output=args.output,
        overwrite=args.overwrite, seed=args.seed, val_fraction=args.val_fraction,
        test_fraction=args.test_fraction, image_shape=args.image_shape,
        disable_plugins=tuple(args.disable_plugin), verbose=args.verbose, ensemble=args.ensemble,
    )
    result = automl.fit(args.data, on_event=None if args.quiet else _print_event)
    print(_summary_table(result.leaderboard, result.metric))
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
    print(f"\nbest: trial {result.best['trial_id']}, refit on train+val for {result.best['refit_epochs']} epochs")
    print(f"test: {metrics}")
    print(f"run directory: {result.run_dir}   model: {result.artifact_dir}")
    return 0


def _print_event(stage: str, info: dict) -> None:
    if stage == "data":
        rows = info["split_rows"]
        print(f"data: {info['dataset']}, {info['rows']} rows, task {info['task']}, {info['input_kind']} input; "
              f"split train {rows['train']} / val {rows['val']} / test {rows['test']}")
    elif stage == "search":
        comps = "; ".join(f"{family}: {', '.join(names) or '-'}" for family, names in info["components"].items())
        print(f"search: space {info['space']} ({comps})\n        run directory {info['run_dir']}")
    elif stage == "leaderboard":
        print(f"search finished: {len(info['leaderboard'])} trials in {info['seconds']:.1f} s")
    elif stage == "refit_epoch" and info["epoch"] == info["epochs"]:
        print(f"refit: {info['epochs']} epochs on train+val, final training loss {info['train_loss']:.4f}")


def _summary_table(frame, metric: str) -> str:
    from automl.leaderboard import to_markdown

    columns = ["rank", "trial_id", "architecture", "optimizer", "regularizers", f"val_{metric}", "best_epoch", "epochs_run", "params", "status"]
    return "\n" + to_markdown(frame[[c for c in columns if c in frame.columns]])


def run_predict(args: argparse.Namespace) -> int:
    """``automl predict``: predictions (and class probabilities) for a table, as CSV."""
    from automl.data.load import load_table
    from automl.files import write_text_atomic
    from automl.predictor import load

    predictor = load(args.artifact)
    frame, _ = load_table(args.data)
    predictions = predictor.predict_frame(frame)
    if args.output:
        if args.output.exists() and args.output.resolve() == Path(args.data).resolve():
            raise AutoMLError(f"--output {args.output} is the input file", "write predictions to another file")
        write_text_atomic(args.output, predictions.to_csv(index=False))
        print(f"wrote {len(predictions)} predictions to {args.output}")
    else:
        print(predictions.to_csv(index=False), end="")
    return 0


def run_plugins(args: argparse.Namespace) -> int:
    """``automl plugins``: every installed component, its plugin and package."""
    from automl.components import SINGULAR
    from automl.plugins import load_registry

    registry = load_registry(disabled=args.disable_plugin)
    rows = [("family", "name", "plugin", "package", "tasks", "inputs")]
    for component in registry.list(args.family, args.pattern):
        spec = component.spec
        rows.append((
            SINGULAR[component.family], component.name, component.plugin, f"{component.package} {component.version}",
            ",".join(getattr(spec, "tasks", ("any",))), ",".join(getattr(spec, "input_kinds", ("any",))),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def run_leaderboard(args: argparse.Namespace) -> int:
    """``automl leaderboard``: print a run directory's leaderboard (the same table as ``result.leaderboard``)."""
    path = args.run_dir / "leaderboard.md"
    if not path.is_file():
        raise AutoMLError(f"{args.run_dir} has no leaderboard", "pass the run directory of a finished search")
    print(path.read_text(), end="")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``automl export``: write a torch-only model and its ``preprocessing.json``."""
    from automl.export import export_artifact

    artifact = args.artifact
    output = args.output or (artifact.parent if (artifact / "model.json").exists() else artifact) / "export"
    path = export_artifact(artifact, output, args.format)
    print(f"wrote {path} and {path.parent / 'preprocessing.json'} (inputs, categories and classes: see that file)")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """``automl serve``: answer prediction requests over HTTP until interrupted."""
    from automl.predictor import load
    from automl.serve import make_server

    predictor = load(args.artifact)
    try:
        server = make_server(predictor, args.host, args.port, args.max_body_bytes, args.max_rows)
    except OSError as exc:
        raise AutoMLError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", "pick another --port") from None
    host, port = server.server_address[:2]
    print(f"serving {args.artifact} on http://{host}:{port} (GET /health, POST /predict); Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 1,8,8, got {text!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected three positive sizes C,H,W, got {text!r}")
    return shape
