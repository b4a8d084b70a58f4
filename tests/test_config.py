"""Config: YAML + CLI overrides in TRL's style, validation with clear messages."""
import pytest

from forgetbench.config.schema import load_config
from forgetbench.errors import ForgetbenchError

FIELDS = ["experiment", "domain", "model_name_or_path", "tasks", "prior_tasks", "methods", "seeds",
          "max_steps", "max_stages", "output_dir", "include_path", "report_to", "overwrite", "list_tasks"]


def test_configs_parse_and_fields_exist():
    for name in ["default", "smoke"]:
        cfg = load_config(["--config", f"configs/{name}.yaml"])
        assert all(hasattr(cfg, f) for f in FIELDS)
    assert load_config(["--config", "configs/smoke.yaml"]).model_name_or_path == "embedded:tiny"


def test_cli_overrides():
    cfg = load_config(["--config", "configs/smoke.yaml", "--seeds", "0", "1", "2", "--overwrite",
                       "--max_stages", "1", "--grpo.learning_rate", "5e-5", "--tasks", "multiple",
                       "--report_to", "wandb", "--task_options", "{multiple: {teacher: hard}}"])
    assert cfg.seeds == [0, 1, 2] and cfg.overwrite is True and cfg.max_stages == 1
    assert cfg.grpo.learning_rate == 5e-5 and cfg.tasks == ["multiple"] and cfg.report_to == ["wandb"]
    assert cfg.task_options == {"multiple": {"teacher": "hard"}}
    assert cfg.stage_tasks() == ["multiple"]
    assert cfg.grpo.num_generations == 4  # untouched YAML value kept (the default is 8)


@pytest.mark.parametrize("argv,msg", [
    (["--max_stepz", "3"], "unknown config field 'max_stepz' (did you mean --max_steps?)"),
    (["--max_steps", "-1"], "max_steps must be a positive integer, got -1"),
    (["--max_steps", "ten"], "config field 'max_steps': expected int, got 'ten'"),
    (["--seeds", "0", "x"], "config field 'seeds': expected int, got 'x'"),
    (["--seeds", "1", "1"], "seeds must be a non-empty list of distinct"),
    (["--methods", "ppo"], "unknown method 'ppo'"),
    (["--domain", "vision"], "domain must be 'llm' or 'recsys'"),
    (["--tasks"], "tasks is empty"),
    (["--config", "configs/nope.yaml"], "config file 'configs/nope.yaml' not found"),
    (["--sft.on_policy_fraction", "1.5"], "on_policy_fraction must be in [0, 1]"),
])
def test_bad_cli(argv, msg):
    with pytest.raises(ForgetbenchError) as e:
        load_config(argv)
    assert msg in str(e.value)


def test_bad_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("experiment: x\ntasks: [a, b\nseeds: [0]\n")
    with pytest.raises(ForgetbenchError, match=r"c\.yaml'?: line 3"):
        load_config(["--config", str(p)])
    p.write_text("experiment: x\nmax_steps: '12'\n")
    with pytest.raises(ForgetbenchError, match="config field 'max_steps': expected int, got '12'"):
        load_config(["--config", str(p)])
    p.write_text("- a\n- b\n")
    with pytest.raises(ForgetbenchError, match="top level must be a mapping"):
        load_config(["--config", str(p)])


def test_narrowing_the_default_config_to_one_task_ignores_the_other_options(capsys):
    cfg = load_config(["--config", "configs/default.yaml", "--tasks", "even_between", "--task_options",
                       "{even_between: {teacher: easy}, sum_to: {teacher: hard}, multiple: {teacher: hard}}"])
    assert cfg.task_options == {"even_between": {"teacher": "easy"}}
    out = capsys.readouterr().out
    assert "task_options for 'sum_to' ignored (not a task of this run)" in out and out.count("\n") == 2


def test_misspelt_task_in_task_options_still_fails_with_did_you_mean():
    with pytest.raises(ForgetbenchError, match=r"'evn_between'.*did you mean even_between"):
        load_config(["--config", "configs/smoke.yaml", "--task_options", "{evn_between: {teacher: hard}}"])


@pytest.mark.parametrize("text,msg", [
    ("domain: recsys\nrecsys:\n  world: synthetic\n  slate_sise: 3\n",
     r"c\.yaml': line 4: unknown config field 'recsys\.slate_sise' \(did you mean recsys\.slate_size\?\)"),
    ("domain: recsys\nrecsys:\n  kl_coef: -1\n",
     r"c\.yaml': line 3: config field 'recsys\.kl_coef' must be >= 0 \(got -1\.0\)"),
    ("domain: recsys\nrecsys: {dim: big}\n", r"c\.yaml': line 2: config field 'recsys\.dim': expected int, got 'big'"),
    ("base_recipe:\n  stepz: 3\n",
     r"c\.yaml': line 2: unknown config field 'base_recipe\.stepz' \(did you mean base_recipe\.steps\?\)"),
    ("base_recipe:\n  new_tasks: [[rotate]]\n",
     r"c\.yaml': line 2: config field 'base_recipe\.new_tasks': expected 2 values, got \['rotate'\]"),
])
def test_domain_sections_go_through_the_same_parser(tmp_path, text, msg):
    """The recommender's section and the base recipe: line numbers, suggestions, one message."""
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ForgetbenchError, match=msg):
        load_config(["--config", str(p)])


def test_domain_sections_from_the_cli_keep_their_values():
    cfg = load_config(["--domain", "recsys", "--recsys.kl_coef", "0.1", "--recsys.stages", "cohort_a", "cohort_b"])
    assert cfg.recsys == {"kl_coef": "0.1", "stages": ["cohort_a", "cohort_b"]}  # as given: the fingerprint reads them
    from recsys_sim.config import RecsysConfig

    rc = RecsysConfig.from_dict(cfg.recsys)
    assert rc.kl_coef == 0.1 and rc.stages == ["cohort_a", "cohort_b"]
    with pytest.raises(ForgetbenchError, match=r"^config field 'recsys\.kl_coef' must be >= 0 \(got -1\.0\)$"):
        load_config(["--domain", "recsys", "--recsys.kl_coef", "-1"])
    with pytest.raises(ForgetbenchError, match=r"^unknown config field 'base_recipe\.stepz' \(did you mean "
                                               r"base_recipe\.steps\?\)$"):
        load_config(["--base_recipe", "{stepz: 3}"])


def test_a_single_include_path_string_is_a_one_item_list(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    p = tmp_path / "c.yaml"
    p.write_text(f"include_path: {plugins}\neval: {{lm_eval: {{include_path: {plugins}}}}}\n")
    cfg = load_config(["--config", str(p)])
    assert cfg.include_path == [str(plugins)] and cfg.eval.lm_eval.include_path == [str(plugins)]
    p.write_text("tasks: even_between\n")                     # elsewhere a list still means a list
    with pytest.raises(ForgetbenchError, match="'tasks': expected a list"):
        load_config(["--config", str(p)])
