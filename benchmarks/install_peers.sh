#!/usr/bin/env bash
# Creates .venv-bench: this project plus the peer AutoML libraries that benchmarks/run.py compares with.
# torch goes in first and stays pinned (constraints file), so no dependency pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV_BENCH:-.venv-bench}"
constraints=benchmarks/constraints-peers.txt

python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install -c "$constraints")
"${pip[@]}" --upgrade pip
"${pip[@]}" torch==2.13.0
"${pip[@]}" -e ".[bench]"
"$venv/bin/python" -m pip check

"$venv/bin/python" - <<'PY'
import importlib.metadata as md
import torch

assert torch.__version__ == "2.13.0+cpu" and torch.version.cuda is None, f"torch is {torch.__version__}, not the 2.13.0 CPU wheel"
for name in ("automl-pareto", "flaml", "autogluon.tabular", "mljar-supervised", "xgboost", "lightgbm", "optuna"):
    print(f"{name:20} {md.version(name)}")
PY
echo "ready: $venv/bin/python -m benchmarks.run --systems automl,flaml,autogluon,mljar ..."
