"""Real Ray clusters started on this machine: a search joins them with --address and uses what
they offer (both nodes of a two-node cluster; fractions of a GPU)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from search_log_helpers import trials_running_at_once
from presets import HOLDOUT_NO_ENSEMBLE_FLAGS, UNTRACKED_FLAGS

RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_node(args: list[str], env: dict, log: Path, num_cpus: int = 1) -> subprocess.Popen:
    # --block keeps `ray start` in the foreground as the leader of its own process group, so
    # the test can stop exactly the processes it started (never `ray stop`, which stops every
    # Ray on the machine).
    return subprocess.Popen([RAY, "start", *args, "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}", "--block"],
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop_node(process: subprocess.Popen) -> None:
    # SIGKILL to the whole group: `ray start --block` took over 10 s to act on a SIGTERM in every
    # run (measured: both teardowns waited out a 10 s timeout and then needed the SIGKILL anyway).
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@pytest.fixture
def two_node_cluster(tmp_path):
    port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    head = start_node(["--head", f"--port={port}", "--include-dashboard=false"], env, tmp_path / "head.log")
    nodes = [head]
    try:
        address = f"127.0.0.1:{port}"
        _wait_for_nodes(address, 1, env)
        nodes.append(start_node([f"--address={address}"], env, tmp_path / "worker.log"))
        node_ids = _wait_for_nodes(address, 2, env)
        yield address, env, node_ids
    finally:
        for node in reversed(nodes):
            stop_node(node)


def _wait_for_nodes(address: str, count: int, env: dict, timeout: float = 120) -> list[str]:
    probe = ("import ray, sys, json; ray.init(address=sys.argv[1], logging_level='ERROR'); "
             "print(json.dumps([n['NodeID'] for n in ray.nodes() if n['Alive']]))")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-c", probe, address], env=env, capture_output=True, text=True, timeout=120)
        if done.returncode == 0:
            ids = json.loads(done.stdout.strip().splitlines()[-1])
            if len(ids) >= count:
                return ids
        time.sleep(2)
    raise TimeoutError(f"the Ray cluster at {address} did not reach {count} nodes")


@pytest.mark.slow
def test_a_search_through_address_runs_trials_on_both_nodes(two_node_cluster, blobs_frame, tiny_space, tmp_path):
    address, env, node_ids = two_node_cluster
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    space = tiny_space("epochs: 6\nbatch_size: 32\narchitectures:\n  include: [mlp]\n  mlp: {depth: 1, width: 16}\n"
                       "optimizers:\n  include: [adam]\nregularizers:\n  include: []\n")
    run_dir = tmp_path / "cluster-run"
    done = subprocess.run(
        [sys.executable, "-m", "automl", "search", str(data), "--target", "species", "--space", str(space),
         "--num-trials", "6", "--scheduler", "fifo", "--address", address, "--output", str(run_dir), "-q",
         # The default searcher (TPE): without a concurrency limit Tune keeps one trial pending
         # for a search algorithm, and 6 one-second trials ran one after another on one node.
         *HOLDOUT_NO_ENSEMBLE_FLAGS, *UNTRACKED_FLAGS],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(pd.read_csv(run_dir / "leaderboard.csv")) == 6
    records = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    used = {r["metrics"]["node_id"] for r in records}
    assert used == set(node_ids) and len(used) == 2


@pytest.fixture
def one_gpu_cluster(tmp_path):
    """A one-node cluster that declares 1 GPU and 4 CPUs. This machine has no GPU: Ray schedules
    the declared resource all the same, and trials train on the CPU (torch finds no CUDA)."""
    port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    head = start_node(["--head", f"--port={port}", "--include-dashboard=false", "--num-gpus=1"], env,
                      tmp_path / "head.log", num_cpus=4)
    try:
        address = f"127.0.0.1:{port}"
        _wait_for_nodes(address, 1, env)
        yield address, env
    finally:
        stop_node(head)


@pytest.mark.slow
def test_fractional_gpus_pack_trials_onto_one_gpu(one_gpu_cluster, blobs_frame, tiny_space, tmp_path):
    address, env = one_gpu_cluster
    data = tmp_path / "d.csv"
    blobs_frame.to_csv(data, index=False)
    # Trials of a few seconds each: long enough to overlap however their actors start.
    space = tiny_space("epochs: 40\nbatch_size: 32\narchitectures:\n  include: [mlp]\n  mlp: {depth: 1, width: 16}\n"
                       "optimizers:\n  include: [adam]\nregularizers:\n  include: []\n")
    run_dir = tmp_path / "gpu-0.5"
    done = subprocess.run(
        [sys.executable, "-m", "automl", "search", str(data), "--target", "species", "--space", str(space),
         "--num-trials", "4", "--scheduler", "fifo", "--gpus-per-trial", "0.5", "--cpus-per-trial", "1",
         "--address", address, "--output", str(run_dir), "-q", "--searcher", "random", *HOLDOUT_NO_ENSEMBLE_FLAGS, *UNTRACKED_FLAGS],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(pd.read_csv(run_dir / "leaderboard.csv")) == 4
    records = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert {r["metrics"]["device"] for r in records} == {"cpu"}  # Ray's GPU ids name no CUDA device here
    # The cluster's 4 CPUs would run all 4 trials at once: half a GPU each packs two onto its one GPU.
    assert trials_running_at_once(run_dir) == 2
