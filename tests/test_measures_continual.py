"""Continual metrics against hand-computed values."""
import pytest

from forgetbench.measures.continual import continual_metrics, metric_definitions, stage_columns

KEYS = ["avg_accuracy", "bwt", "fwt", "forgetting", "old_task_decline", "new_task_gain", "prior_decline",
        "superseded_given_up"]


def check(got, want):
    assert set(got) == set(KEYS)
    for k, v in want.items():
        if isinstance(v, list):
            assert len(got[k]) == len(v), k
            for g, w in zip(got[k], v):
                assert (g is None and w is None) or g == pytest.approx(w, abs=1e-12), (k, got[k], v)
        elif v is None:
            assert got[k] is None, k
        else:
            assert got[k] == pytest.approx(v, abs=1e-12), (k, got[k], v)


def test_3x4_two_stages_two_prior_skills():
    stages = ["base", "a", "b"]
    tasks = ["a", "b", "p1", "p2"]                    # p1, p2: prior skills, never trained
    R = [[0.2, 0.1, 0.9, 0.8],
         [0.7, 0.3, 0.8, 0.8],
         [0.5, 0.9, 0.6, 0.7]]
    check(continual_metrics(R, stages, tasks), dict(
        avg_accuracy=(0.5 + 0.9) / 2,
        bwt=0.5 - 0.7,
        fwt=0.3 - 0.1,
        forgetting=0.7 - 0.5,
        old_task_decline=[(0.1 + 0.0) / 2, (0.3 + 0.1 + 0.2) / 3],   # k=2 adds a with ref R[1][a]
        new_task_gain=[0.7 - 0.2, 0.9 - 0.1],
        prior_decline=[0.05, (0.3 + 0.1) / 2]))


def test_4x5_three_stages_tie_and_max_window():
    stages = ["base", "a", "b", "c"]
    tasks = ["a", "b", "c", "p", "q"]
    R = [[0.1, 0.2, 0.3, 0.9, 0.6],
         [0.6, 0.8, 0.4, 0.8, 0.6],    # b already 0.8 before it is trained: outside b's max window
         [0.6, 0.7, 0.35, 0.7, 0.5],   # a ties its stage-1 value
         [0.4, 0.5, 0.9, 0.9, 0.3]]
    check(continual_metrics(R, stages, tasks), dict(
        avg_accuracy=(0.4 + 0.5 + 0.9) / 3,
        bwt=((0.4 - 0.6) + (0.5 - 0.7)) / 2,
        fwt=((0.8 - 0.2) + (0.35 - 0.3)) / 2,
        forgetting=((0.6 - 0.4) + (0.7 - 0.5)) / 2,             # not 0.8 - 0.5 for b
        old_task_decline=[(0.1 + 0.0) / 2,
                          (0.2 + 0.1 + 0.0) / 3,
                          (0.0 + 0.3 + 0.2 + 0.2) / 4],
        new_task_gain=[0.5, 0.5, 0.6],
        prior_decline=[0.05, 0.15, 0.15]))


def test_repeated_task_suffix_maps_to_its_column():
    stages = ["base", "a", "b", "a@2"]
    tasks = ["a", "b", "p"]
    R = [[0.1, 0.2, 0.9],
         [0.7, 0.2, 0.8],
         [0.4, 0.8, 0.7],
         [0.9, 0.5, 0.6]]
    assert stage_columns(stages, tasks) == [0, 1, 0]
    check(continual_metrics(R, stages, tasks), dict(
        avg_accuracy=(0.9 + 0.5) / 2,                            # distinct trained columns
        bwt=((0.9 - 0.7) + (0.5 - 0.8)) / 2,
        fwt=((0.2 - 0.2) + (0.4 - 0.1)) / 2,
        forgetting=((0.7 - 0.9) + (0.8 - 0.5)) / 2,
        old_task_decline=[0.1, (0.2 + 0.3) / 2, (0.3 + 0.3) / 2],  # k=3: a is the new task again
        new_task_gain=[0.6, 0.6, 0.8],
        prior_decline=[0.1, 0.2, 0.3]))


def test_repeated_task_uses_latest_training_row_and_none_without_old_tasks():
    stages = ["base", "a", "a@2", "b"]
    tasks = ["a", "b"]
    R = [[0.1, 0.1], [0.5, 0.1], [0.8, 0.2], [0.6, 0.7]]
    m = continual_metrics(R, stages, tasks)
    assert m["old_task_decline"][0] is None and m["old_task_decline"][1] is None
    assert m["old_task_decline"][2] == pytest.approx(0.8 - 0.6)   # ref R[2][a], not R[1][a]
    assert m["prior_decline"] == [None, None, None]
    assert m["new_task_gain"] == pytest.approx([0.4, 0.7, 0.6])


def test_suffixed_name_that_is_itself_a_column():
    m = continual_metrics([[0.0, 0.1], [0.0, 0.6]], ["base", "x@2"], ["x", "x@2"])
    assert m["new_task_gain"] == pytest.approx([0.5])
    assert m["prior_decline"] == pytest.approx([0.0])


def test_one_trained_stage_gives_none_not_zero():
    m = continual_metrics([[0.1, 0.9], [0.6, 0.7]], ["base", "a"], ["a", "p"])
    assert m["bwt"] is None and m["fwt"] is None and m["forgetting"] is None
    assert m["avg_accuracy"] == pytest.approx(0.6)
    assert m["old_task_decline"] == pytest.approx([0.2])
    assert m["new_task_gain"] == pytest.approx([0.5])
    assert m["prior_decline"] == pytest.approx([0.2])


def test_base_only():
    m = continual_metrics([[0.5, 0.5]], ["base"], ["a", "b"])
    assert m["avg_accuracy"] is None and m["bwt"] is None and m["old_task_decline"] == []


@pytest.mark.parametrize("R, stages, tasks, msg", [
    ([[0.1, 0.2]], ["base", "a"], ["a", "b"], "rows"),
    ([[0.1, 0.2], [0.3]], ["base", "a"], ["a", "b"], "entries"),
    ([[0.1], [0.2]], ["base", "zz"], ["a"], "names no column"),
    ([[0.1], [0.2]], ["start", "a"], ["a"], "base"),
    ([[0.1, 0.1], [0.2, 0.2]], ["base", "a"], ["a", "a"], "duplicate"),
    ([[0.1], [float("nan")]], ["base", "a"], ["a"], "non-finite"),
])
def test_shape_and_name_errors(R, stages, tasks, msg):
    with pytest.raises(ValueError, match=msg):
        continual_metrics(R, stages, tasks)


def test_definitions_cover_every_metric():
    defs = metric_definitions()
    assert set(defs) == set(KEYS) and all(isinstance(v, str) and v for v in defs.values())


def test_partial_matrix_with_planned_stages_agrees_with_the_final_one():
    # columns a (stage 1), b (stage 2), p (prior). After stage 1 only, b is not a prior skill.
    R = [[0.1, 0.5, 0.9], [0.6, 0.1, 0.7], [0.4, 0.8, 0.6]]
    stages, tasks = ["base", "a", "b"], ["a", "b", "p"]
    partial = continual_metrics(R[:2], stages[:2], tasks, planned=["a", "b"])
    final = continual_metrics(R, stages, tasks)
    assert partial["old_task_decline"] == pytest.approx([0.2]) == final["old_task_decline"][:1]
    assert partial["prior_decline"] == pytest.approx([0.2])
    # without `planned`, b counts as a prior skill at stage 1: (0.9-0.7 + 0.5-0.1) / 2
    assert continual_metrics(R[:2], stages[:2], tasks)["old_task_decline"] == pytest.approx([0.3])
    assert final["old_task_decline"] == pytest.approx([0.2, ((0.9 - 0.6) + (0.6 - 0.4)) / 2])


def test_superseded_column_is_adaptation_not_forgetting():
    # a (stage 1), b (stage 2), a_rot (stage 3) supersedes a: the same users with new tastes.
    tasks = ["a", "b", "a_rot"]
    stages = ["base", "a", "b", "a_rot"]
    R = [[0.2, 0.1, 0.3],
         [0.8, 0.2, 0.4],
         [0.7, 0.9, 0.3],
         [0.3, 0.6, 0.9]]
    plain = continual_metrics(R, stages, tasks, planned=stages[1:])
    m = continual_metrics(R, stages, tasks, planned=stages[1:], supersedes={"a_rot": "a"})
    # without supersedes, stage 3 charges a's lost 0.8 -> 0.3 as forgetting: ((0.8-0.3) + (0.9-0.6)) / 2
    assert plain["old_task_decline"][2] == pytest.approx(0.4)
    # with it, only b is old at stage 3; a is given up: ref 0.8 (trained at stage 1) - 0.3
    assert m["old_task_decline"][0] is None                  # nothing is old after stage 1
    assert m["old_task_decline"][1:] == pytest.approx([0.8 - 0.7, 0.9 - 0.6])
    assert m["superseded_given_up"][:2] == [None, None]
    assert m["superseded_given_up"][2] == pytest.approx(0.5)
    # stages 1-2 unchanged; the GEM metrics do not depend on the old-task set
    assert m["old_task_decline"][:2] == plain["old_task_decline"][:2]
    assert m["bwt"] == plain["bwt"] and m["forgetting"] == plain["forgetting"]


def test_superseded_untrained_column_references_the_base_row():
    # p is evaluated, never trained; "p_rot" supersedes it: given up vs the base row.
    tasks, stages = ["p", "p_rot"], ["base", "p_rot"]
    R = [[0.9, 0.2], [0.4, 0.8]]
    m = continual_metrics(R, stages, tasks, supersedes={"p_rot": "p"})
    assert m["old_task_decline"] == [None] and m["prior_decline"] == [None]
    assert m["superseded_given_up"] == pytest.approx([0.5])


def test_old_task_declines_after_every_stage_on_a_hand_made_matrix():
    from forgetbench.measures.continual import old_task_declines

    # a, b, c trained in turn, then a and b return; p is a prior skill
    stages = ["base", "a", "b", "c", "a@2", "b@2"]
    tasks = ["a", "b", "c", "p"]
    R = [[0.2, 0.2, 0.2, 0.9],
         [0.8, 0.3, 0.2, 0.8],
         [0.6, 0.9, 0.4, 0.8],
         [0.5, 0.7, 0.9, 0.7],
         [0.9, 0.6, 0.8, 0.7],
         [0.7, 0.95, 0.6, 0.6]]
    got = old_task_declines(R, stages, tasks)
    want = [{"p": 0.1},
            {"a": 0.2, "p": 0.1},
            {"a": 0.3, "b": 0.2, "p": 0.2},
            {"b": 0.3, "c": 0.1, "p": 0.2},                 # a is new again; b's ref is stage 2
            {"a": 0.2, "c": 0.3, "p": 0.3}]                 # a's ref is now stage 4 (0.9)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == pytest.approx(w)
    # their means are old_task_decline
    assert [sum(g.values()) / len(g) for g in got] == pytest.approx(continual_metrics(R, stages, tasks)["old_task_decline"])
