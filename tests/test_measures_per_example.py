"""Per-example forgetting: events on hand-made correctness matrices."""
import pytest

from forgetbench.measures.continual import reference_rows
from forgetbench.measures.per_example import correctness, example_events

TASKS = ["copy", "a", "b"]          # a prior skill, then two trained tasks
STAGES = ["base", "a", "b"]
C = [
    {"copy": "1111", "a": "0000", "b": "0010"},   # base
    {"copy": "1100", "a": "1110", "b": "0011"},   # after a: copy forgot 2 (old: copy, b is planned later)
    {"copy": "0101", "a": "0111", "b": "1111"},   # after b: old = copy (ref base), a (ref row 1)
]


def test_reference_rows_follow_old_task_decline():
    assert reference_rows(STAGES, TASKS) == [{0: 0}, {0: 0, 1: 1}]
    # a partial run: b is trained later in the plan, so not yet old; without the plan it is a prior skill
    assert reference_rows(STAGES[:2], TASKS, planned=STAGES[1:]) == [{0: 0}]
    assert reference_rows(STAGES[:2], TASKS) == [{0: 0, 2: 0}]


def test_events_by_hand():
    ev = example_events(C, STAGES, TASKS, planned=STAGES[1:])
    # stage 1: copy 1111 -> 1100: 2 forgotten, 0 learned; 4 old examples
    # stage 2: copy 1111 -> 0101: 2 forgotten (positions 0, 2), 0 learned;
    #          a (ref row 1) 1110 -> 0111: position 0 forgotten, position 3 learned
    assert ev == {"forgetting_events": [2, 3], "learning_events": [0, 1], "turnover": [2, 4],
                  "old_examples": [4, 8]}
    assert example_events(C, STAGES, TASKS) == ev
    # a partial run without its plan: b counts as a prior skill, 0010 -> 0011 is one learning event
    assert example_events(C[:2], STAGES[:2], TASKS)["learning_events"] == [1]
    assert example_events(C[:2], STAGES[:2], TASKS, planned=STAGES[1:])["learning_events"] == [0]


def test_mean_decline_hides_turnover():
    """Same mean accuracy before and after (decline 0) and yet every example flipped."""
    ev = example_events([{"p": "1100", "n": "0"}, {"p": "0011", "n": "1"}], ["base", "n"], ["p", "n"])
    assert ev["forgetting_events"] == [2] and ev["learning_events"] == [2] and ev["turnover"] == [4]


def test_correctness_string_and_bad_lengths():
    assert correctness([1.0, 0.0, 0.5, 1]) == "1001"
    with pytest.raises(ValueError, match="2 examples at row 0, 3 at row 1"):
        example_events([{"p": "10"}, {"p": "101"}], ["base", "n"], ["p", "n"])
    with pytest.raises(ValueError, match="per_example has 1 rows"):
        example_events([{"p": "10"}], ["base", "n"], ["p", "n"])


def test_report_table_is_seed_means(tmp_path):
    import json

    from forgetbench.report import write_report
    from test_report import RUNS, _table_rows

    for seed, (f, l) in enumerate([([2, 3], [0, 1]), ([4, 5], [2, 1])]):
        res = dict(RUNS[("sft", seed)], example_events={"forgetting_events": f, "learning_events": l,
                                                       "turnover": [a + b for a, b in zip(f, l)],
                                                       "old_examples": [400, 600]})
        d = tmp_path / "sft" / f"seed{seed}"
        d.mkdir(parents=True)
        (d / "results.json").write_text(json.dumps(res))
    md = write_report(tmp_path).read_text()
    rows = _table_rows(md.split("### Per-example forgetting")[1], "group")
    # the last row of the group (stage 2): decline (0.2 + 0.4) / 2; forgetting (3 + 5) / 2;
    # learning (1 + 1) / 2; turnover (4 + 6) / 2
    assert rows["sft"]["stage"] == "2: b"
    assert [rows["sft"][c] for c in ("n seeds", "old-task decline", "forgetting events", "learning events",
                                      "turnover", "old examples")] == ["2", "0.300", "4.0", "1.0", "5.0", "600.0"]
    assert "| sft | 1: a | 2 | 0.125 | 3.0 | 1.0 | 4.0 | 400.0 |" in md
