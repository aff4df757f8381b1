#!/usr/bin/env bash
# Which torch build scripts/setup.sh installs, said in one line on stderr; the pip arguments that get
# it on stdout (nothing: torch is already there, or the default index is the choice).
#
#   - torch already installed: keep it (its build stays as installed; TICKETS_TORCH_REINSTALL=1 chooses anew);
#   - an NVIDIA GPU visible: the default index (PyPI's torch is the CUDA build);
#   - no GPU, and PyTorch's CPU index answers within a few seconds: the CPU build from it
#     (~200 MB instead of ~3 GB of nvidia-* wheels);
#   - no GPU and that index unreachable (an offline mirror, a firewall): the default index.
# TICKETS_TORCH_CPU_INDEX names another CPU index; TICKETS_GPU=yes|no skips the GPU probe.
set -euo pipefail
index="${TICKETS_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
probe_seconds="${TICKETS_TORCH_PROBE_SECONDS:-4}"

installed=$(python3 -c "from importlib.metadata import version; print(version('torch'))" 2>/dev/null || true)
if [ -n "$installed" ] && [ -z "${TICKETS_TORCH_REINSTALL:-}" ]; then
    echo "torch: keeping the installed $installed" >&2
    exit 0
fi
gpu="${TICKETS_GPU:-}"
if [ -z "$gpu" ]; then
    gpu=no
    if [ -e /dev/nvidia0 ] || { [ -d /proc/driver/nvidia/gpus ] && [ -n "$(ls -A /proc/driver/nvidia/gpus)" ]; }; then
        gpu=yes
    fi
fi
if [ "$gpu" = yes ]; then
    echo "torch: NVIDIA GPU found: the CUDA build from the default index" >&2
    exit 0
fi
if python3 - "$index" "$probe_seconds" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=float(sys.argv[2])).close()
PY
then
    echo "torch: no GPU here: the CPU build from $index" >&2
    echo "--index-url $index --extra-index-url https://pypi.org/simple"
else
    echo "torch: no GPU here, but $index did not answer within ${probe_seconds} s: the default index's build (CUDA wheels, ~3 GB)" >&2
fi
