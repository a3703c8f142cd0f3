"""Kills at random moments, then resume: does every killed search finish and keep what it had?

Searches with the shipped defaults (cross-validation, the ensemble, the bag, TPE after the
portfolio) on small built-in sets run as a real ``automl search`` process in its own process
group; the whole group (the driver and its local Ray) gets SIGKILL at a seeded random moment of
a chosen stage, then ``automl resume`` goes on, which may be killed again. The stages, aimed at
by watching the run directory's files:

- ``trial``: while trials train (0 to 20 s after a trial first reports an epoch, a trial still running);
- ``between``: as a trial ends (its end just journaled);
- ``ensemble``: as the trials are over (the journal's last line), when the ranking and the
  ensemble selection run;
- ``final model``: while the final model is built (refit or bag; stage ``refitting``);
- ``report``: while the report and tracking are written (``result.json`` is there, the stage
  is not ``done``).

Checked after each search's last resume: it exits 0; every trial the journal showed ended at a
kill is on the final leaderboard with the same score; no trial that was running at a kill ended
in an error.

    python -m bench.kill_resume [--kills 20] [--budget 60] [--datasets wine iris diabetes] [--seed 0] [--trial-window 20]
                                [--space NAME] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

STAGES = ("trial", "between", "ensemble", "final model", "report")
# The kills aimed at one search, in the order its stages come.
KILLS_PER_SEARCH = ("trial", "between", "ensemble", "final model", "report")
WAIT_S = 900  # the longest a stage may take to come


@dataclass
class Snapshot:
    """What the journal showed at a kill: each ended trial's score, and the trials running; and
    after the search, those of them that the final records lost or failed."""

    stage: str
    ended: dict[str, float]
    running: list[str]
    lost: list[str] = field(default_factory=list)  # ended, but missing from the final records, or another score
    failed: list[str] = field(default_factory=list)  # running, and ended in an error


@dataclass
class SearchOutcome:
    dataset: str
    kills: list[Snapshot] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)  # stages the search had passed before the kill came
    final_exit: int | None = None
    wall_s: float = 0.0


def journal(run_dir: Path) -> list[dict]:
    path = run_dir / "search_log.jsonl"
    entries = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # the line being written
    return entries


def stage_of(run_dir: Path) -> str:
    try:
        return json.loads((run_dir / "search_state.json").read_text())["stage"]
    except (OSError, ValueError, KeyError):
        return ""


def snapshot(run_dir: Path, stage: str) -> Snapshot:
    """The ended trials' scores (their best ``val_<metric>``) and the running trials, as journaled."""
    from automl.run_directory import RunDirectory

    found = RunDirectory(run_dir).read_journal()
    ended = {}
    for trial_id, end in found.ends.items():
        rows = found.results.get(trial_id) or []
        score = next((v for k, v in (rows[-1] if rows else {}).items() if k.startswith("best_val_")), None)
        if end.get("status") != "error" and isinstance(score, (int, float)):
            ended[trial_id] = float(score)
    return Snapshot(stage, ended, found.unfinished() if not found.search_ended else [])


def kill_point(stage: str, run_dir: Path, rng: random.Random, trial_window_s: float = 20.0):
    """``(ready, passed)`` for ``stage``: whether to kill now (at a seeded random moment of the
    stage; while trials train, within ``trial_window_s`` of a trial's first epoch), and whether
    the search has gone past the stage without it coming (a time budget can end the trials
    without another one ending)."""
    ends_before = sum(e.get("event") == "end" for e in journal(run_dir))
    delay = {"trial": rng.uniform(0.0, trial_window_s), "final model": rng.uniform(0.0, 2.0)}.get(stage, 0.0)
    armed_at: list[float] = []

    def due() -> bool:
        entries = journal(run_dir)
        trials_over = any(e.get("event") == "search_end" for e in entries)
        if stage == "trial":
            ended = {e["trial_id"] for e in entries if e.get("event") == "end"}
            return not trials_over and any(e.get("event") == "result" and e["trial_id"] not in ended for e in entries)
        if stage == "between":
            return not trials_over and sum(e.get("event") == "end" for e in entries) > ends_before
        if stage == "ensemble":
            return trials_over and stage_of(run_dir) == "searching"
        if stage == "final model":
            return stage_of(run_dir) == "refitting" and not (run_dir / "result.json").is_file()
        return (run_dir / "result.json").is_file() and stage_of(run_dir) != "done"

    def ready() -> bool:
        now_due = due()
        if now_due and not armed_at:
            armed_at.append(time.monotonic())
        return now_due and time.monotonic() - armed_at[0] >= delay

    def passed() -> bool:
        later = STAGES[STAGES.index(stage) + 1:]
        trials_over = any(e.get("event") == "search_end" for e in journal(run_dir))
        reached = {"between": trials_over, "ensemble": trials_over, "final model": stage_of(run_dir) in ("refitting", "done"),
                   "report": (run_dir / "result.json").is_file()}
        return any(reached[s] for s in later) and not due()

    return ready, passed


def start(command: list[str], log: Path, wandb_mode: str = "disabled") -> subprocess.Popen:
    """A CLI process in its own process group: its local Ray (raylet, GCS, workers) joins that group."""
    env = dict(os.environ, WANDB_MODE=wandb_mode)
    return subprocess.Popen(command, start_new_session=True, stdout=log.open("a"), stderr=subprocess.STDOUT, env=env)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the whole process group, and wait until nothing of it is left."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.monotonic() + 30
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def run_search(dataset: str, budget: list[str], stages: list[str], rng: random.Random, folder: Path,
               trial_window_s: float = 20.0) -> SearchOutcome:
    """One search (``budget``: its flags) killed at each of ``stages`` in order, resumed after each kill, then checked."""
    outcome = SearchOutcome(dataset)
    run_dir, log = folder / "run", folder / "log.txt"
    started = time.monotonic()
    process = start([sys.executable, "-m", "automl", "search", dataset, *budget, "--no-wandb", "-q", "--output", str(run_dir)], log)
    for stage in stages:
        (ready, passed), deadline = kill_point(stage, run_dir, rng, trial_window_s), time.monotonic() + WAIT_S
        while not ready() and not passed() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not ready() or process.poll() is not None:
            outcome.missed.append(stage)
            continue
        kill_group(process)
        outcome.kills.append(snapshot(run_dir, stage))
        process = start([sys.executable, "-m", "automl", "resume", str(run_dir), "-q"], log)
    try:
        outcome.final_exit = process.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        kill_group(process)
    outcome.wall_s = time.monotonic() - started
    check(outcome, run_dir)
    if outcome.final_exit != 0:
        print(log.read_text()[-3000:], file=sys.stderr)
    return outcome


def check(outcome: SearchOutcome, run_dir: Path) -> None:
    """Compare the final records with what the journal showed at each kill."""
    from automl.training.failures import FAILED_STATUSES

    path = run_dir / "trials.jsonl"
    lines = path.read_text().splitlines() if path.is_file() else []
    trials = {t["trial_id"]: t for t in map(json.loads, filter(None, lines))}
    for kill in outcome.kills:
        for trial_id, score in kill.ended.items():
            final = next((v for k, v in (trials.get(trial_id) or {}).get("metrics", {}).items() if k.startswith("best_val_")), None)
            if final is None or abs(float(final) - score) > 1e-9 * max(1.0, abs(score)):
                kill.lost.append(f"{trial_id}: {score} -> {final}")
        for trial_id in kill.running:
            status = (trials.get(trial_id) or {}).get("status", "")
            if status in FAILED_STATUSES:
                kill.failed.append(f"{trial_id}: {status}: {trials[trial_id].get('error')}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs in all (five per search, one per stage)")
    parser.add_argument("--budget", type=float, default=60.0, help="each search's --time-budget in seconds")
    parser.add_argument("--trials", type=int, help="each search's --num-trials (default: as many as the budget allows)")
    parser.add_argument("--datasets", nargs="+", default=["wine", "iris", "diabetes"], help="built-in sets, in turn")
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    parser.add_argument("--trial-window", type=float, default=20.0,
                        help="kills while trials train land within this many seconds of a trial's first epoch")
    parser.add_argument("--space", help="each search's --space (default: none, the default space a user's search gets)")
    parser.add_argument("--smoke", action="store_true",
                        help="one search on iris, two trials of the quick space, killed while a trial trains")
    args = parser.parse_args(argv)
    if args.smoke:
        args.kills, args.trials, args.budget, args.datasets, args.trial_window, args.space = 1, 2, 300.0, ["iris"], 1.0, "quick"
    budget = ["--time-budget", f"{args.budget:g}", *(["--num-trials", str(args.trials)] if args.trials else []),
              *(["--space", args.space] if args.space else [])]
    rng = random.Random(args.seed)
    outcomes: list[SearchOutcome] = []
    started = time.monotonic()
    # A search whose kill points all passed too soon is not counted; give up after as many again.
    while sum(len(o.kills) for o in outcomes) < args.kills and len(outcomes) < 2 * len(range(0, args.kills, len(KILLS_PER_SEARCH))):
        left = args.kills - sum(len(o.kills) for o in outcomes)
        stages = list(KILLS_PER_SEARCH[:left])
        dataset = args.datasets[len(outcomes) % len(args.datasets)]
        with tempfile.TemporaryDirectory(prefix="kill-resume-", dir=os.environ.get("KILL_RESUME_TMP")) as folder:
            outcome = run_search(dataset, budget, stages, rng, Path(folder), args.trial_window)
        outcomes.append(outcome)
        print(f"{dataset}: killed at {[k.stage for k in outcome.kills]}, missed {outcome.missed}, last resume's exit code "
              f"{outcome.final_exit}, lost {[x for k in outcome.kills for x in k.lost]}, "
              f"failed {[x for k in outcome.kills for x in k.failed]}, {outcome.wall_s:.0f} s", flush=True)
    figures = summarise(outcomes, args, budget, time.monotonic() - started)
    print(json.dumps({k: v for k, v in figures.items() if k != "searches"}, indent=2))
    return figures


def summarise(outcomes: list[SearchOutcome], args, budget: list[str], wall_s: float) -> dict:
    kills = [(o.dataset, k) for o in outcomes for k in o.kills]
    by_stage = {}
    for stage in STAGES:
        mine = [k for _, k in kills if k.stage == stage]
        by_stage[stage] = {
            "kills": len(mine), "ended": sum(len(k.ended) for k in mine), "lost": sum(len(k.lost) for k in mine),
            "running": sum(len(k.running) for k in mine), "failed": sum(len(k.failed) for k in mine),
        }
    return {
        "kills": len(kills),
        "by_stage": by_stage,
        "searches": [{"dataset": o.dataset, "final_exit": o.final_exit, "missed": o.missed, "wall_s": round(o.wall_s, 1),
                      "kills": [k.__dict__ for k in o.kills]} for o in outcomes],
        "searches_finished": sum(o.final_exit == 0 for o in outcomes),
        "search_count": len(outcomes),
        "distinct_ended": len({(i, t) for i, o in enumerate(outcomes) for k in o.kills for t in k.ended}),
        "distinct_running": len({(i, t) for i, o in enumerate(outcomes) for k in o.kills for t in k.running}),
        "lost": [f"{d} ({k.stage} kill): {x}" for d, k in kills for x in k.lost],
        "failed": [f"{d} ({k.stage} kill): {x}" for d, k in kills for x in k.failed],
        "missed": sum(len(o.missed) for o in outcomes),
        "budget": " ".join(budget),
        "datasets": args.datasets,
        "seed": args.seed,
        "wall_s": round(wall_s, 1),
    }


def to_markdown(figures: dict) -> str:
    """The kills by stage and what each left, for RESULTS.md."""
    from bench.results import markdown_table

    rows = [[stage, row["kills"], f"{row['ended'] - row['lost']} of {row['ended']}", f"{row['failed']} of {row['running']}"]
            for stage, row in figures["by_stage"].items()]
    lines = [
        f"{figures['kills']} SIGKILLs of the whole process group (driver and local Ray) at seeded random moments "
        f"(seed {figures['seed']}) of {figures['search_count']} searches with the shipped defaults "
        f"(`automl search NAME {figures['budget']}`, on {', '.join(figures['datasets'])} in turn), five per search, one per "
        f"stage, each followed by `automl resume`, which the next kill of the search killed in turn "
        f"({figures['missed']} aimed kills missed their stage and were not counted).",
        "",
        markdown_table(["stage killed", "kills", "ended trials on the final leaderboard with the same score",
                        "running trials that ended in an error"], rows),
        "",
        f"- searches whose last resume finished (exit 0): {figures['searches_finished']} of {figures['search_count']}",
        f"- a trial ended before several kills is counted at each: {figures['distinct_ended']} distinct ended trials, "
        f"{figures['distinct_running']} distinct running ones",
        f"- wall time: {figures['wall_s']:.0f} s",
    ]
    lines += [f"  - lost: {x}" for x in figures["lost"]] + [f"  - failed: {x}" for x in figures["failed"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
