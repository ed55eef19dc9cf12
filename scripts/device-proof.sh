#!/usr/bin/env bash
# Issue 9, item 6, on the device machine (NVIDIA GPU): installs the wheels that
# scripts/device-wheels.sh put into .whl/ (carried), then runs benches/gpu_proof.py with its
# full sizes, writing the JSON under $OUT.  Extra arguments go to the benchmark.
#   device run: bash scripts/device-proof.sh      carry: [".whl"]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
# What ran it, for the note; neither line may stop the run.
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
python3 -c 'import numba, numba_cuda, numpy; print("numba", numba.__version__, "numba-cuda", numba_cuda.__version__, "numpy", numpy.__version__)' || true
python3 benches/gpu_proof.py --out "${OUT:-/tmp}/gpu_proof.json" "$@" 2>&1 | tee "${OUT:-/tmp}/gpu_proof.log"
