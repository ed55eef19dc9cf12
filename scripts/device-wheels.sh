#!/usr/bin/env bash
# Puts into .whl/ what benches/gpu_proof.py needs on the device machine beyond its image:
# this package (an abi3 wheel, so it runs under the image's Python 3.12), numpy 2.4 (the
# numba-cuda there does not take the image's numpy 2.5) and platformdirs.  .whl/ is kept
# out of git (.git/info/exclude) and travels as the device tool's `carry`; then run
# scripts/device-proof.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl
mkdir .whl
"$python" -m maturin build --release --quiet --out .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
    platforms+=(--platform "$p")
done
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${platforms[@]}" -d .whl 'numpy==2.4.*' 'platformdirs>=4'
ls -l .whl
