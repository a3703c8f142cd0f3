"""The cluster recipes in examples/cluster stay true: their files parse and every `automl`
command they show is one the command line accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from automl.cli import build_parser

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "cluster"


def shown_automl_commands() -> list[list[str]]:
    """Each `automl ...` command in the code blocks of the recipes' README, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", (EXAMPLES / "README.md").read_text(), flags=re.DOTALL)
    commands = []
    for block in blocks:
        for match in re.finditer(r"(?:^|&&|--)\s*(automl [^'\n]+)", block.replace("\\\n", " "), flags=re.MULTILINE):
            commands.append(shlex.split(match.group(1))[1:])
    return commands


def test_the_recipes_show_a_gpu_search_for_each_cluster():
    commands = shown_automl_commands()
    assert len(commands) == 2  # ray up, KubeRay
    for argv in commands:
        args = build_parser().parse_args(argv)  # exits (fails the test) on a flag the CLI does not have
        assert args.command == "search" and args.address == "auto" and 0 < args.gpus_per_trial < 1 and args.storage


def test_ray_up_config_has_gpu_workers_and_installs_this_checkout():
    config = yaml.safe_load((EXAMPLES / "ray-up.yaml").read_text())
    workers = config["available_node_types"]["gpu_worker"]
    assert config["head_node_type"] in config["available_node_types"]
    assert workers["max_workers"] >= workers["min_workers"] >= 1 and workers["node_config"]["InstanceType"].startswith("g")
    assert any("pip install" in command and "/home/ubuntu/automl" in command for command in config["setup_commands"])


def test_kuberay_manifest_gives_workers_gpus_and_every_node_the_shared_storage():
    manifest = yaml.safe_load((EXAMPLES / "kuberay.yaml").read_text())
    assert manifest["kind"] == "RayCluster"
    (group,) = manifest["spec"]["workerGroupSpecs"]
    (worker,) = group["template"]["spec"]["containers"]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    (head,) = manifest["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    storage = "/mnt/runs/ray"  # the README's --storage
    for container in (head, worker):
        assert any(storage.startswith(mount["mountPath"]) for mount in container["volumeMounts"])
