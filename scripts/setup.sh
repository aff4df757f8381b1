#!/usr/bin/env bash
# Installs everything tickets needs on a fresh Debian machine: the embedded Fashion-MNIST data and
# SLURM (for the executor tests) from Debian, then the package itself with its test extra.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# chromium: tests/test_track_ui.py checks in a headless browser that TensorBoard shows a run's curve
for pkg in dataset-fashion-mnist slurm-wlm munge chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing Debian packages: ${need[*]}"
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
    # wait for another apt/dpkg (unattended upgrades, a parallel setup) instead of failing at once
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
