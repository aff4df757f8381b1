#!/usr/bin/env bash
# Installs everything tickets needs on a fresh Debian machine: the embedded Fashion-MNIST data and
# SLURM (for the executor tests) from Debian, torch (the CPU build on a machine without a GPU, where
# PyTorch's CPU index is reachable), then the package itself with its test extra.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# apt_install [apt options] -- PACKAGE...: installs those not yet installed; waits (up to 10 min) for
# another apt/dpkg holding the lock instead of failing at once
apt_install() {
    local options=() need=()
    while [ "$1" != "--" ]; do options+=("$1"); shift; done; shift
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
    [ ${#need[@]} -gt 0 ] || return 0
    echo "installing Debian packages: ${need[*]}"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${options[@]}" \
        "${need[@]}" >/dev/null
}
# chromium: tests/test_track_ui.py checks in a headless browser that TensorBoard shows a run's curve
apt_install -- dataset-fashion-mnist slurm-wlm munge chromium
# TeX, without its recommends (documentation, fonts): the LaTeX tables are compiled and their print size
# measured (tests/test_latex_print_size.py, tests/test_report_tables.py); -recommended brings booktabs
apt_install --no-install-recommends -- texlive-latex-base texlive-latex-recommended

# torch first, so the package install below finds it: the CPU build where there is no GPU (one line says
# which build and why; scripts/torch_choice.sh)
torch_index=$(bash scripts/torch_choice.sh)
if [ -n "$torch_index" ]; then
    # shellcheck disable=SC2086  # the index arguments are words
    python3 -m pip install -q --disable-pip-version-check $torch_index torch torchvision
fi

python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
# The trackers the tests read back (tensorboard, mlflow, wandb: the package's optional extras) in a
# second call: resolved together with torchattacks' requests pin, pip backtracks for many minutes.
python3 -m pip install -q --disable-pip-version-check "tensorboard>=2.14" "mlflow>=3" "wandb>=0.19"
