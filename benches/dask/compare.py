#!/usr/bin/env python3
"""The DAG Tracker against dask's local threaded scheduler on the same graphs.

Installs dask into a virtual environment under the cargo target directory
(once), has `dag_shapes` write the benchmark workflows (chain, fan-out/fan-in
and layered DAGs of 10k and 100k trivial nodes) and time the DAG Tracker on
them, then runs each graph through `dask.threaded.get` with a no-op per node
and prints, per graph, the ARCHITECTURE.md compare line:

    compare dag_vs_dask_<shape>_<n>k: ours=<us> us/node baseline=<us> us/node ratio=<ours/dask>

Run it from the repository root: `python3 benches/dask/compare.py [ROUNDS]`
(or `cargo xtask bench dask`).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

DASK = "dask==2025.11.0"
ROOT = Path(__file__).resolve().parents[2]


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def ensure_dask() -> Path:
    """A virtual environment with dask installed; returns its python."""
    env = target_dir() / "dask-venv"
    python = env / "bin" / "python"
    if not python.exists():
        print(f"compare.py: creating {env}", file=sys.stderr)
        venv.create(env, with_pip=True)
    probe = subprocess.run([python, "-c", "import dask"], capture_output=True)
    if probe.returncode != 0:
        print(f"compare.py: installing {DASK}", file=sys.stderr)
        subprocess.run([python, "-m", "pip", "install", "--quiet", DASK], check=True)
    return python


def ours(out: Path, rounds: int) -> list:
    """Runs dag_shapes: writes the workflows and times the DAG Tracker."""
    result = subprocess.run(
        ["cargo", "run", "--release", "--quiet", "-p", "symphony-benches",
         "--bin", "dag_shapes", "--", str(out), str(rounds)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


# Runs inside the dask virtual environment: builds the dask graph of one
# workflow file and prints the median microseconds per node.
DASK_RUN = r"""
import json, sys, time
import dask
from dask.threaded import get

def noop(*args):
    return args[0] if args else 1

doc = json.load(open(sys.argv[1]))
rounds = int(sys.argv[2])
parents = {node["id"]: [] for node in doc["nodes"]}
children = {node["id"]: 0 for node in doc["nodes"]}
for edge in doc["edges"]:
    parents[edge["to"]].append(edge["from"])
    children[edge["from"]] += 1
graph = {key: (noop, *deps) for key, deps in parents.items()}
sinks = [key for key, n in children.items() if n == 0]
times = []
for _ in range(rounds):
    start = time.perf_counter()
    get(graph, sinks, num_workers=None)
    times.append(time.perf_counter() - start)
times.sort()
print(times[len(times) // 2] * 1e6 / len(parents))
"""


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    python = ensure_dask()
    with tempfile.TemporaryDirectory() as out:
        for entry in ours(Path(out), rounds):
            dask_us = float(subprocess.run(
                [python, "-c", DASK_RUN, entry["file"], str(rounds)],
                check=True, capture_output=True, text=True,
            ).stdout)
            name = f"dag_vs_dask_{entry['shape']}_{entry['nodes'] // 1000}k"
            ratio = entry["us_per_node"] / dask_us
            print(f"compare {name}: ours={entry['us_per_node']:.3f} us/node "
                  f"baseline={dask_us:.3f} us/node ratio={ratio:.4f}", flush=True)


if __name__ == "__main__":
    main()
