"""The ``automl`` command line: a thin layer over the Python API.

The only module that reads ``sys.argv`` or turns :class:`AutoMLError` into one line on stderr
and exit code 2. Exit codes: 0 done, 1 every trial of the search failed (a summary of the
reasons on stderr) or a check of ``automl plugins check`` failed, 2 a mistake in the input,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from automl import __version__
from automl.components import FAMILIES, INPUT_KINDS, SINGULAR
from automl.errors import AutoMLError, AutoMLWarning
from automl.flags import COLUMN_NAMES, INTEGER, PORT, POSITIVE_INT, ShortErrorParser
from automl.options import TASK_OPTIONS, add_search_flags, options_from_flags

EXIT_SEARCH_FAILED = 1
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Run the ``automl`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    from automl.training.failures import SearchFailed

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args) or 0
    except SearchFailed as failed:
        print("\n".join(f"automl: {line}" for line in failed.summary()), file=sys.stderr)
        return EXIT_SEARCH_FAILED
    except AutoMLError as exc:
        print(f"automl: error: {exc.one_line()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("automl: interrupted", file=sys.stderr)
        return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """An :class:`AutoMLWarning` as one ``automl: warning:`` line; other warnings as Python prints them."""
    if issubclass(category, AutoMLWarning):
        print(f"automl: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``automl`` subcommand."""
    parser = ShortErrorParser(prog="automl", description="Plugin-based AutoML for deep learning on Ray Tune.")
    parser.add_argument("--version", action="version", version=f"automl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    search = commands.add_parser("search", help="search, rank, refit and save a model for a dataset")
    search.add_argument("data", help="CSV, Parquet, JSON Lines or .npz file, a folder of images (one subfolder per class), or a built-in dataset: digits, iris, wine, breast_cancer, diabetes")
    noise = add_search_flags(search)
    search.add_argument("--resume", action="store_true",
                        help="continue the interrupted search in --output (its own data and options) if there is one; else start it")
    noise.add_argument("-q", "--quiet", action="store_true", help="no progress display: print only the final leaderboard and test metrics")
    search.set_defaults(handler=run_search)

    resume = commands.add_parser("resume", help="continue an interrupted search in its run directory")
    resume.add_argument("run_dir", type=Path, help="the run directory of a search whose driver was killed or crashed")
    resume_noise = resume.add_mutually_exclusive_group()
    resume_noise.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    resume_noise.add_argument("-v", "--verbose", action="store_true", help="show Ray Tune's own output and logs")
    resume.set_defaults(handler=run_resume)

    predict = commands.add_parser("predict", help="predict with a saved model")
    predict.add_argument("artifact", type=Path, help="the model/ folder of a run (or the run directory)")
    predict.add_argument("data", help="CSV, Parquet or JSON Lines file with the feature columns, an .npz with X, or a folder of images")
    predict.add_argument("-o", "--output", type=Path, help="write predictions to this CSV (default: print them)")
    predict.set_defaults(handler=run_predict)

    sample = commands.add_parser("sample", help="write new rows from a saved generate model")
    sample.add_argument("artifact", type=Path, help="the model/ folder of a --task generate run (or the run directory)")
    sample.add_argument("-n", "--num-rows", type=POSITIVE_INT, default=100, help="rows to generate (default 100)")
    sample.add_argument("-o", "--output", type=Path, help="write the rows to this CSV (default: print them)")
    sample.add_argument("--seed", type=INTEGER, default=0, help="seed of the generator's noise (default 0)")
    sample.set_defaults(handler=run_sample)

    plugins = commands.add_parser("plugins", help="list every installed component and its plugin; `plugins check PATH_OR_MODULE` runs the plugin contract")
    plugins.add_argument("pattern", nargs="?", default="*",
                         help="a component name (bare or package:name), or a wildcard on names, e.g. 'ml*'; "
                         "or `check` followed by a plugin to check")
    plugins.add_argument("target", nargs="?", metavar="PATH_OR_MODULE",
                         help="with `check`: a plugin's .py file, package folder or project folder (its pyproject's "
                         "automl entry points), an importable module, or an installed distribution")
    plugins.add_argument("--family", choices=list(FAMILIES))
    plugins.add_argument("--space", action="store_true", help="show each matching component's own hyperparameter space")
    plugins.add_argument("--format", default="table", choices=["table", "json"], help="output format (default: table)")
    plugins.set_defaults(handler=run_plugins)

    space = commands.add_parser("space", help="inspect search spaces")
    space_commands = space.add_subparsers(dest="space_command", metavar="SUBCOMMAND", required=True)
    show = space_commands.add_parser("show", help="the resolved conditional space a search would sample")
    show.add_argument("space", nargs="?", default="default", help="a name in search_spaces/ or a YAML path (default: default, which follows --input-kind)")
    show_task = show.add_argument("--task", required=True, help="the task the space is resolved for")
    show_task.choices = TASK_OPTIONS["task"].choices  # the registered tasks, read when a value is checked (see add_search_flags)
    show.add_argument("--input-kind", default="tabular", choices=list(INPUT_KINDS), help="the input kind (default: tabular)")
    show.add_argument("--format", default="table", choices=["table", "json"], help="output format (default: table)")
    show.set_defaults(handler=run_space_show)

    leaderboard = commands.add_parser("leaderboard", help="print the leaderboard of a run directory")
    leaderboard.add_argument("run_dir", type=Path, help="the run directory of a search")
    leaderboard.add_argument("--sort", metavar="COLUMN", help="sort by this column (default: rank)")
    leaderboard.add_argument("--descending", action="store_true", help="sort from the largest value down")
    leaderboard.add_argument("--component", action="append", default=[], metavar="NAME",
                             help="keep trials that use this architecture, loss, optimizer or regularizer (repeatable: all must match)")
    leaderboard.add_argument("--status", action="append", default=[], metavar="STATUS",
                             help="keep trials with this status: completed, 'stopped early', 'no result', error, diverged, "
                             "'out of memory', 'worker died' (repeatable: any may match)")
    leaderboard.add_argument("--top", type=POSITIVE_INT, metavar="K", help="keep the first K rows after filtering and sorting")
    leaderboard.add_argument("--columns", type=COLUMN_NAMES, default=(), metavar="A,B,...", help="show only these columns, in this order")
    leaderboard.add_argument("--format", default="table", choices=["table", "csv", "md", "json"], help="output format (default: table)")
    leaderboard.set_defaults(handler=run_leaderboard)

    report = commands.add_parser("report", help="write a self-contained report.html with plots for a run directory")
    report.add_argument("run_dir", type=Path, help="the run directory of a finished search")
    report.add_argument("-o", "--output", type=Path, help="write the page here (default: RUN_DIR/report.html)")
    report.set_defaults(handler=run_report)

    export = commands.add_parser("export", help="export a saved model to run with torch alone")
    export.add_argument("artifact", type=Path, help="the model/ folder of a run (or the run directory)")
    export.add_argument("--format", default="torchscript", choices=["torchscript", "torch-export"],
                        help="torchscript (torch.jit) or torch-export (torch.export, where the architecture allows)")
    export.add_argument("-o", "--output", type=Path, help="folder for the exported files (default: ARTIFACT/../export)")
    export.set_defaults(handler=run_export)

    serve = commands.add_parser("serve", help="serve predictions of a saved model over HTTP (JSON)")
    serve.add_argument("artifact", type=Path, help="the model/ folder of a run (or the run directory)")
    serve.add_argument("--port", type=PORT, default=8000, help="port to listen on; 0 picks a free one (default 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    serve.add_argument("--max-body-bytes", type=POSITIVE_INT, default=1 << 20, help="largest request body accepted (default 1 MiB)")
    serve.add_argument("--max-rows", type=POSITIVE_INT, default=10_000, help="most rows per request (default 10000)")
    serve.set_defaults(handler=run_serve)
    disable_plugin = TASK_OPTIONS["disable_plugins"]  # the flag of `automl search`, declared there once
    for loads_plugins in (predict, sample, plugins, show, export, serve):
        loads_plugins.add_argument(disable_plugin.flag, **disable_plugin.argparse_keywords("disable_plugin"))
    return parser


def run_search(args: argparse.Namespace) -> int:
    """``automl search``: run the whole flow and print the leaderboard and test metrics."""
    from automl.api import AutoML
    from automl.run_directory import RunDirectory

    if args.resume:
        if args.output is None:
            raise AutoMLError("--resume needs the run directory to continue", "pass --output RUN_DIR")
        if args.overwrite:
            raise AutoMLError("--resume and --overwrite contradict each other", "drop one of them")
        if RunDirectory(args.output).holds_request():
            return _resume(args.output, args.quiet, args.verbose)  # a finished one is refused there
        if args.output.exists() and any(args.output.iterdir()):
            raise AutoMLError(f"{args.output} is not empty and holds no search to resume", "pass another --output")
    display = None
    if not args.quiet:
        from automl.progress import SearchDisplay

        display = SearchDisplay(num_trials=args.num_trials, time_budget_s=args.time_budget_s, live=not args.verbose)
    automl = AutoML(**options_from_flags(args), callbacks=display.callbacks() if display else ())
    result = automl.fit(args.data, on_event=display.on_event if display else None)
    return _print_result(result)


def run_resume(args: argparse.Namespace) -> int:
    """``automl resume``: continue an interrupted search from its run directory."""
    return _resume(args.run_dir, args.quiet, args.verbose)


def _resume(run_dir: Path, quiet: bool, verbose: bool) -> int:
    from automl.api import AutoML
    from automl.run_directory import RunDirectory

    request = RunDirectory(run_dir).read_request()
    if request.data is None:
        raise AutoMLError(
            f"the search in {run_dir} was started from Python with in-memory data",
            "resume it from Python: AutoML.resume(run_dir, data=the same data)",
        )
    display = None
    if not quiet:
        from automl.progress import SearchDisplay

        display = SearchDisplay(num_trials=request.options.get("num_trials"), time_budget_s=request.options.get("time_budget_s"),
                                live=not verbose)
    print(f"resuming the search in {run_dir} ({request.stage}, {request.search_seconds:.0f} s spent)", flush=True)
    result = AutoML.resume(run_dir, callbacks=display.callbacks() if display else (), on_event=display.on_event if display else None)
    return _print_result(result)


def _print_result(result) -> int:
    print(_summary_table(result.leaderboard, result.metric))
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
    final = result.best.get("final_model") or f"refit on train+val for {result.best['refit_epochs']} epochs"
    print(f"\nfinal model (trial {result.best['trial_id']}): {final}")
    if result.best.get("final_model_note"):
        print(f"note: {result.best['final_model_note']}")
    print(f"test: {metrics}")
    print(f"run directory: {result.run_dir}   model: {result.artifact_dir}   report: {result.report_path}")
    if result.wandb_sync_command:
        print(f"W&B runs were written offline; upload them with: {result.wandb_sync_command}")
    return 0


def _summary_table(frame, metric: str) -> str:
    from automl.leaderboard import to_markdown

    columns = ["rank", "trial_id", "architecture", "optimizer", "regularizers", f"val_{metric}", "best_epoch", "epochs_run", "params", "status"]
    return "\n" + to_markdown(frame[[c for c in columns if c in frame.columns]])


def run_predict(args: argparse.Namespace) -> int:
    """``automl predict``: predictions (and class probabilities) for a table, as CSV."""
    from automl.data.load import load_prediction_input
    from automl.predictor import load

    predictor = load(args.artifact, disabled=args.disable_plugin)
    predictions = predictor.predict_frame(load_prediction_input(args.data))
    if args.output and args.output.exists() and args.output.resolve() == Path(args.data).resolve():
        raise AutoMLError(f"--output {args.output} is the input file", "write predictions to another file")
    _write_csv(predictions, args.output, "predictions")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    """``automl sample``: rows from a generative model, in the original columns, as CSV."""
    from automl.predictor import load

    predictor = load(args.artifact, disabled=args.disable_plugin)
    if not hasattr(predictor, "sample"):
        raise AutoMLError(f"{args.artifact} is a {predictor.task} model, it cannot sample", "pass the model of a --task generate run")
    _write_csv(predictor.sample(args.num_rows, seed=args.seed), args.output, "generated rows")
    return 0


def _write_csv(frame, output: Path | None, what: str) -> None:
    """``frame`` as CSV into ``output`` (atomically), or to stdout without one."""
    from automl.files import write_text_atomic

    if output is None:
        print(frame.to_csv(index=False), end="")
        return
    write_text_atomic(output, frame.to_csv(index=False))
    print(f"wrote {len(frame)} {what} to {output}")


def run_plugins(args: argparse.Namespace) -> int:
    """``automl plugins``: every installed component, its plugin and package (with ``--space``,
    each one's own hyperparameter space)."""
    from automl.registry import load_registry
    from automl.space_view import component_record, format_component, text_table

    if args.pattern == "check" or args.target is not None:
        return run_plugins_check(args)
    components = load_registry(disabled=args.disable_plugin).list(args.family, args.pattern)
    if not components and args.pattern != "*":
        raise AutoMLError(f"no installed component is named '{args.pattern}'", "see `automl plugins` for every installed one")
    records = [component_record(component) for component in components]
    if args.format == "json":
        print(json.dumps(records, indent=2, default=str))
    elif args.space:
        print("\n\n".join(format_component(record) for record in records))
    else:
        rows = [("family", "name", "qualified name", "plugin", "package", "tasks", "inputs")]
        rows += [
            (SINGULAR[r["family"]], r["name"], r["qualified_name"], r["plugin"], f"{r['package']} {r['version']}", ",".join(r["tasks"]), ",".join(r["input_kinds"]))
            for r in records
        ]
        print(text_table(rows))
    return 0


def run_plugins_check(args: argparse.Namespace) -> int:
    """``automl plugins check PATH_OR_MODULE``: run the plugin contract (``automl.testing``) on
    a plugin; exit 0 when every check passes, 1 when one fails."""
    from automl.testing import load_plugin_target, run_checks

    if args.pattern != "check":
        raise AutoMLError(f"`automl plugins` takes one pattern, got '{args.pattern}' and '{args.target}'",
                          "quote a wildcard, or run `automl plugins check PATH_OR_MODULE`")
    if not args.target:
        raise AutoMLError("`automl plugins check` needs the plugin to check", "run `automl plugins check PATH_OR_MODULE`")
    results = run_checks(load_plugin_target(args.target))
    for result in results:
        print(result.line())
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed" + (f", {len(failed)} failed" if failed else ""))
    return 1 if failed else 0


def run_space_show(args: argparse.Namespace) -> int:
    """``automl space show``: the space a search would sample for a task and input kind, after
    the YAML file's overrides (the same resolution as the search's)."""
    from automl.registry import load_registry
    from automl.space import build_search_space, load_space_file, space_for_input_kind
    from automl.space_view import format_space, space_record

    spec, source = load_space_file(space_for_input_kind(args.space, args.input_kind))
    space = build_search_space(load_registry(disabled=args.disable_plugin), spec, args.task, args.input_kind, source)
    record = space_record(space, args.task, args.input_kind)
    print(json.dumps(record, indent=2, default=str) if args.format == "json" else format_space(record))
    return 0


def run_leaderboard(args: argparse.Namespace) -> int:
    """``automl leaderboard``: a run directory's leaderboard, filtered and sorted (the same rows as ``result.leaderboard``)."""
    from automl.tracking.leaderboard_view import format_leaderboard, load_leaderboard, pick_columns, select_rows

    frame = select_rows(
        load_leaderboard(args.run_dir), components=tuple(args.component), statuses=tuple(args.status),
        sort=args.sort, descending=args.descending, top=args.top,
    )
    print(format_leaderboard(pick_columns(frame, args.columns, args.format), args.format), end="")
    return 0


def run_report(args: argparse.Namespace) -> int:
    """``automl report``: (re)write a run directory's self-contained report.html."""
    from automl.report import write_report

    path = write_report(args.run_dir, output=args.output)
    print(f"wrote {path}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``automl export``: write a torch-only model and its ``preprocessing.json``."""
    from automl.export import export_artifact

    artifact = args.artifact
    output = args.output or (artifact.parent if (artifact / "model.json").exists() else artifact) / "export"
    path = export_artifact(artifact, output, args.format, disabled=args.disable_plugin)
    print(f"wrote {path} and {path.parent / 'preprocessing.json'} (inputs, categories and classes: see that file)")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """``automl serve``: answer prediction requests over HTTP until interrupted."""
    from automl.predictor import load
    from automl.serve import make_server

    predictor = load(args.artifact, disabled=args.disable_plugin)
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
