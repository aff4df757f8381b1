#!/usr/bin/env bash
# The README's test command: install, then run the whole suite (CPU only, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# two test processes (pytest-xdist) on the 2-core CI: most tests wait on subprocesses, imports and
# daemons; the SLURM tests share one cluster in one process (tests/conftest.py)
python3 -m pytest -q -p no:cacheprovider -n "${TICKETS_TEST_WORKERS:-2}" --dist loadgroup "$@"
