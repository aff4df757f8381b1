"""Appendix of the seed paper (footnote 7): Iterative Magnitude Pruning against its one-shot
counterpart (LT), both under the sanity checks, on CIFAR-10 with VGG19 and ResNet32. The paper
concludes that iterating "hardly helps initial tickets"; its appendix text is not in our copy, so
the grid is our reading: IMP's default 5 rounds, the main text's sparsities and checks
(corrupted data for the pruning step, layerwise rearrange before retraining), three seeds."""
from tickets.study import Grid, Study

study = Study(
    "appendix_imp_oneshot",
    Grid(datasets=("cifar10",), models=("vgg19", "resnet32"), methods=("dense",), sparsities=(0.0,),
         seeds=(0, 1, 2)),
    Grid(datasets=("cifar10",), models=("vgg19", "resnet32"), methods=("lt", "imp"),
         checks=("none", "corrupt", "rearrange"), sparsities=(0.9, 0.95, 0.98), seeds=(0, 1, 2)),
    # IMP's 5 rounds retrain 5 times: give its stages the time of five trainings
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "24:00:00"}},
    description="Does iterating the prune-retrain loop help an initial ticket beyond one-shot LT?",
)
