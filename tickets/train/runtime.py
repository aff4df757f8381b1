"""What a run computed on, recorded in meta.json and the store's runs table (device, gpu_model,
torch_version, cuda_version, threads): two runs of one key on different hardware can then be told
apart, and throughput figures can be read per device."""
from __future__ import annotations

import os
from typing import Any


def runtime_info(device: Any = None) -> dict[str, Any]:
    """device "cpu" or "cuda:<id>" (the physical id when CUDA_VISIBLE_DEVICES narrows the view),
    the GPU's name, torch's version, the CUDA runtime torch uses (None on the CPU) and torch's
    intra-op thread count, and the CPU vector instruction set torch's kernels dispatch to."""
    import torch

    from tickets.train.loop import resolve_device

    dev = resolve_device(device)
    info: dict[str, Any] = {"device": "cpu", "gpu_model": None, "torch_version": torch.__version__,
                            "cuda_version": None, "threads": int(torch.get_num_threads()),
                            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        physical = visible[index] if index < len(visible) else str(index)
        info.update(device=f"cuda:{physical}", gpu_model=torch.cuda.get_device_name(index),
                    cuda_version=torch.version.cuda)
    elif dev.type != "cpu":
        info["device"] = str(dev)
    from tickets.train.distributed import runtime_fields

    info.update(runtime_fields())  # world_size (1 for one process) and the collective backend
    return info
