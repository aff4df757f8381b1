#!/usr/bin/env bash
# The README's main command: install, run the quickstart study on Fashion-MNIST, print its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tickets study run studies/quickstart.py --workers 2
tickets report quickstart
