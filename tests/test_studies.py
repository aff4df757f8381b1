"""Every study under studies/ loads and plans against the real domain, with the paper's grid sizes
(stages with shared pretraining, and the training runs it would take without sharing)."""
from __future__ import annotations

from pathlib import Path

import pytest

from registry.plan import make_plan
from registry.store import Store
from tickets.study import load_study

STUDIES = Path(__file__).resolve().parents[1] / "studies"

# study: (cells, stages, pretraining stages)
EXPECTED = {
    "table1_cifar": (156, 156, 12),                # 2 datasets x 2 nets x 3 seeds x (dense + 4 methods x 3 sparsities)
    "table2_tinyimagenet": (60, 60, 6),
    "table3_partial_sanity": (78, 84, 12),         # half_data trains its own dense networks on half the data
    "table4_hybrid": (120, 120, 12),
    "figure3_sanity_initial": (276, 282, 12),
    "ablation_ratios": (96, 96, 6),
    "quickstart": (32, 32, 2),
    "appendix_imp_oneshot": (114, 120, 12),        # corrupted data trains its own dense networks
    "appendix_figure3_cifar100": (276, 282, 12),
    # "Rethinking the Value of Network Pruning": scratch pipelines of predefined architectures need no
    # large model; network slimming's penalised training is a second shared stage per network and seed
    "rethinking_l1_cifar": (180, 180, 30),         # 2 datasets x 3 nets x 5 seeds x dense + (1 + 2 + 2 variants) x 3 pipelines
    "rethinking_slimming_cifar": (180, 210, 60),   # 2 datasets x 3 nets x 5 seeds x (dense + sparse) + 5 ratios x 3 pipelines
    "rethinking_weight_level_cifar": (210, 210, 30),  # 2 datasets x 3 nets x 5 seeds x (dense + 2 ratios x 3 pipelines)
    "rethinking_sfp_cifar": (155, 200, 65),        # 4 nets x 5 seeds dense + 9 (net, ratio) x 5 seeds x (soft stage + 3 pipelines)
    "rethinking_lottery_cifar": (500, 500, 40),    # 2 lrs x 5 seeds x (4 dense + 9 sparsities x 2 methods x 2 inits + 5 nets x 2)
    "rethinking_fashionmnist": (33, 36, 6),       # MLP: + 3 lottery pipelines x 2 seeds; CNN: dense, 3 weight-level, 3 SFP (+ its soft stage)
    # Random Pruning: stages = trainings + 5 evaluation stages per trained network
    "random_pruning_cpu": (110, 660, 10),           # 5 MLP sizes x 2 seeds x (dense + 5 rules x 2 sparsities)
    "random_pruning_depth": (1920, 11520, 30),      # 2 datasets x 5 depths x 3 seeds x (dense + 7 rules x 9)
    "random_pruning_width": (2304, 13824, 36),      # 2 datasets x 6 widths x 3 seeds x (dense + 7 rules x 9)
    "random_pruning_vgg_depth": (1536, 9216, 24),   # 2 datasets x 4 VGGs x 3 seeds x (dense + 7 rules x 9)
    "random_pruning_wrn": (54, 324, 6),
    # ImageNet (issue 18): one seed; Scratch-E/B of predefined architectures need no large model
    "random_pruning_imagenet": (20, 20, 2),         # 2 nets x (dense + 3 rules x 3 sparsities)
    "rethinking_imagenet_l1": (5, 5, 1),            # ResNet-34 dense + A/B x Scratch-E/B
    "rethinking_imagenet_thinet": (14, 14, 2),      # VGG-16, ResNet-50 dense + 6 architectures x 2
    "rethinking_imagenet_regression": (6, 6, 2),
    "rethinking_imagenet_sss": (7, 7, 1),
    "rethinking_imagenet_slimming": (4, 5, 2),      # dense + the penalised training + 3 pipelines
    "rethinking_imagenet_weight": (10, 10, 2),      # VGG-16, ResNet-50 dense + Scratch-E/B x 30 %, 60 %
}
# studies naming a ratio rule registered by another branch's work (issue 20's erk_plus)
NEEDS_RULES = {"random_pruning_imagenet": ("erk_plus",)}
CPU_STUDIES = ("quickstart", "rethinking_fashionmnist", "random_pruning_cpu")


def test_every_study_file_is_covered():
    assert sorted(p.stem for p in STUDIES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_study_plans_to_the_papers_grid(name, tmp_path):
    from tickets.pruning.ratios import RATIOS

    missing = [r for r in NEEDS_RULES.get(name, ()) if r not in RATIOS.names()]
    if missing:
        pytest.skip(f"ratio rule {missing[0]} is not registered on this checkout")
    study = load_study(STUDIES / f"{name}.py")
    plan = make_plan(study, Store(tmp_path / "home"))
    cells, stages, pretrain = EXPECTED[name]
    assert len(plan.cells) == cells
    assert len(plan.stages) == stages
    assert sum(s.kind == "pretrain" for s in plan.stages.values()) == pretrain
    assert set(plan.status.values()) == {"missing"}
    if name not in CPU_STUDIES:
        assert study.resources["slurm"]["gpus_per_run"] == 1
