"""What a training phase reports: one record per epoch, plus the final and best test accuracy.

Accuracies are percentages (0-100); losses are mean cross-entropy per sample. `seconds` is the wall
time of one epoch (training pass + test evaluation), so it is the only field that differs between
two runs of the same seed."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

METRIC_FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


class Diverged(RuntimeError):
    """The training loss became NaN or infinite; the registry records this as the run's failure."""

    def __init__(self, phase: str, epoch: int, step: int | None):
        self.phase, self.epoch, self.step = phase, epoch, step
        where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
        super().__init__(f"training diverged (non-finite loss) in phase {phase!r} at {where}")

    def __reduce__(self):  # keep it picklable across worker processes
        return (Diverged, (self.phase, self.epoch, self.step))


@dataclass(frozen=True)
class EpochRecord:
    """One line of `metrics.jsonl`."""

    phase: str
    epoch: int  # 1-based: the number of finished epochs
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    lr: float  # the learning rate used during this epoch
    seconds: float
    val_acc: float | None = None  # accuracy on the held-out validation split (val_split > 0)
    test_top5: float | None = None  # top-5 test accuracy (percent); None in lines written before it

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for optional in ("val_acc", "test_top5"):  # absent when not measured: older lines stay as they were
            if out[optional] is None:
                del out[optional]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EpochRecord":
        val, top5 = d.get("val_acc"), d.get("test_top5")
        return cls(phase=str(d["phase"]), epoch=int(d["epoch"]),
                   **{k: float(d[k]) for k in (*METRIC_FIELDS, "seconds")},
                   val_acc=None if val is None else float(val), test_top5=None if top5 is None else float(top5))

    def metrics(self) -> tuple[float, ...]:
        """Everything except wall time: what must be identical across a resume on CPU."""
        return (self.epoch, *(getattr(self, k) for k in METRIC_FIELDS))


@dataclass(frozen=True)
class History:
    """The outcome of one `train()` call (one phase)."""

    phase: str
    records: tuple[EpochRecord, ...]
    final_test_acc: float
    best_test_acc: float
    final_train_loss: float
    final_test_loss: float
    final_train_acc: float
    resumed_from: int = 0  # epoch of the checkpoint this call resumed from (0 = fresh start)
    seconds: float = field(default=0.0)  # total of the records' wall times
    val_selected_test_acc: float | None = None  # test acc at the best validation epoch

    @classmethod
    def from_records(cls, phase: str, records: Sequence[EpochRecord], resumed_from: int = 0) -> "History":
        from tickets.train.validation import selected_test_acc

        last = records[-1]
        return cls(phase=phase, records=tuple(records), final_test_acc=last.test_acc,
                   best_test_acc=max(r.test_acc for r in records), final_train_loss=last.train_loss,
                   final_test_loss=last.test_loss, final_train_acc=last.train_acc,
                   resumed_from=resumed_from, seconds=sum(r.seconds for r in records),
                   val_selected_test_acc=selected_test_acc(records))

    @classmethod
    def untrained(cls, phase: str, test_loss: float, test_acc: float) -> "History":
        """A zero-epoch phase: the test metrics of the weights as given; train metrics are NaN."""
        return cls(phase=phase, records=(), final_test_acc=test_acc, best_test_acc=test_acc,
                   final_train_loss=math.nan, final_test_loss=test_loss, final_train_acc=math.nan)

    @property
    def epochs(self) -> int:
        return self.records[-1].epoch if self.records else 0

    def result(self) -> dict[str, Any]:
        """The training part of `result.json` (see registry/domain.py)."""
        return {"test_acc": self.final_test_acc, "best_test_acc": self.best_test_acc,
                "train_loss": self.final_train_loss, "test_loss": self.final_test_loss,
                "train_acc": self.final_train_acc, "seconds": self.seconds,
                **({} if not self.records or self.records[-1].test_top5 is None
                   else {"test_top5": self.records[-1].test_top5}),
                **({} if self.val_selected_test_acc is None
                   else {"val_selected_test_acc": self.val_selected_test_acc})}
