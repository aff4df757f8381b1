"""A bad `structure.json` is set aside and the channels selected again (as a corrupt mask.pt is), and
evaluation specs that are not ones are refused in one line of our own words."""
from __future__ import annotations

import json

import pytest

from registry.errors import UserError
from tickets.data import dataset_info
from tickets.models import build_model
from tickets.pruning.structured import rebuild
from tickets.pruning.structured.methods import STRUCTURE_FILE, saved_selection

GRAY = dataset_info("fashionmnist")


@pytest.mark.parametrize("text", ["{\"kept\": {", "[1, 2]", "{\"kept\": {\"nope\": [0]}}", "{\"kept\": {\"G\": [-1]}}",
                                  "[" * 100_000])
def test_an_unreadable_or_impossible_structure_is_set_aside_and_selected_again(tmp_path, text):
    model = build_model("mlp_bn", GRAY)
    group = rebuild.groups_of(model, "mlp_bn")[0].name
    path = tmp_path / STRUCTURE_FILE
    path.write_text(text.replace("\"G\"", json.dumps(group)))
    with pytest.warns(RuntimeWarning, match=r"set aside as structure.json.corrupt and the channels selected again"):
        assert saved_selection(path, model, "mlp_bn") is None
    assert not path.exists() and (tmp_path / f"{STRUCTURE_FILE}.corrupt").read_text() == text.replace(
        "\"G\"", json.dumps(group))


def test_a_sound_structure_is_reused(tmp_path):
    model = build_model("mlp_bn", GRAY)
    groups = rebuild.groups_of(model, "mlp_bn")
    kept = {g.name: list(range(max(1, g.size // 2))) for g in groups}
    (tmp_path / STRUCTURE_FILE).write_text(json.dumps({"kept": kept}))
    assert saved_selection(tmp_path / STRUCTURE_FILE, model, "mlp_bn") == kept


@pytest.mark.parametrize("evals, words", [
    ((42,), "an evaluation is a name such as 'calibration' or 'ood:mnist', got 42"),
    (("ood:",), "evaluation 'ood:' needs its dataset (e.g. ood:mnist); known OoD sets: "),
    (("ood",), "evaluation 'ood' needs its dataset (e.g. ood:mnist)"),
    (("pgd:steps=1000000000",), "pgd steps must be an integer in [1, 10000], got 1000000000"),
    (("fgsm:eps=2",), "fgsm eps must be in (0, 1]"),
])
def test_bad_evaluations_in_a_grid_are_one_line(evals, words):
    from tickets.domain import DOMAIN
    from tickets.study import Grid, Study

    with pytest.raises(UserError) as caught:  # where a study is planned: its cells, then their stages
        for cell in Study("s", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], sparsities=[0],
                                    seeds=[0], evals=evals)).cells():
            DOMAIN.expand(cell)
    assert str(caught.value).startswith(words) and "\n" not in str(caught.value)
