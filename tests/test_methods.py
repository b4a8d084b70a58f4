"""Method registry: every built-in registered with truthful traits, did-you-mean, the methods table,
cheap discovery; the fingerprint reads the field marks and stored runs still resume."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from forgetbench.config.fingerprint import fingerprint, non_semantic_fields
from forgetbench.config.schema import config_class, config_from_dict
from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.methods import get_method, methods_table, registered_methods

ROOT = Path(__file__).resolve().parent.parent
TRAITS = {  # name: (data source, objective, teacher)
    "sft": ("off_policy", "likelihood", False), "rft": ("on_policy", "likelihood", False),
    "grpo": ("on_policy", "policy_gradient", False), "rloo": ("on_policy", "policy_gradient", False),
    "kd": ("off_policy", "distillation", True), "opd": ("on_policy", "distillation", True),
    "sdft": ("on_policy", "distillation", False),
    "dpo": ("off_policy", "preference", False), "online_dpo": ("on_policy", "preference", False),
}


def test_builtins_are_registered_with_their_traits():
    known = registered_methods()
    assert {n: (m.data_source, m.objective, m.teacher) for n, m in known.items() if n in TRAITS} == TRAITS
    assert {n for n, m in known.items() if not m.added} == {"sft", "grpo", "rft"}   # in every stored config


def test_sections_keep_their_names_and_defaults():
    cfg = config_class()()
    assert cfg.sft.learning_rate == 3e-4 and cfg.sft.on_policy_fraction == 0.0 and cfg.rft.samples_per_prompt == 4
    assert (cfg.grpo.learning_rate, cfg.grpo.num_generations, cfg.grpo.loss_type) == (1e-4, 8, "dapo")
    assert (cfg.kd.teacher, cfg.opd.beta, cfg.dpo.beta, cfg.sdft.distillation_topk) == ("expert", 1.0, 0.1, 100)
    assert all(hasattr(getattr(cfg, n), "trl_args") for n in TRAITS)


def test_unknown_method_has_a_did_you_mean_list():
    with pytest.raises(ForgetbenchError, match=r"unknown method 'grop' \(did you mean grpo\b.*\); known: .*sft"):
        get_method("grop")


def test_methods_table_lists_every_registered_method():
    table = methods_table().splitlines()
    assert table[0] == "| method | data source | objective | teacher | defaults |"
    assert sorted(line.split("`")[1] for line in table[2:]) == sorted(registered_methods())
    assert "| `kd` | off-policy | distillation | yes | learning_rate=0.0003, teacher='expert'," in methods_table()


def test_discovery_imports_neither_torch_nor_trl():
    code = ("import sys; from forgetbench.config.schema import load_config; load_config([]); "
            "print(sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


OLD_NON_SEMANTIC = {"overwrite", "report_to", "list_tasks", "debug", "max_stages", "output_dir", "seeds", "methods",
                    "wandb_project", "keep_checkpoints", "include_path", "eval_only", "sweep", "overlap_measurement",
                    "verbose", "launcher", "ray", "only_run"}
#: Marked since: the stage probe only observes training (tests/test_saturation.py: same weights with and without).
NEW_NON_SEMANTIC = {"saturation", "cache_base_eval"}


def test_marked_fields_are_the_old_non_semantic_list():
    cls = config_class()
    fields = set(cls.__dataclass_fields__)
    assert fields - non_semantic_fields(cls) == fields - OLD_NON_SEMANTIC - NEW_NON_SEMANTIC
    assert non_semantic_fields(cls) == OLD_NON_SEMANTIC | NEW_NON_SEMANTIC


REFERENCE = {  # stored run -> its stored fingerprint
    "razor/sft_dial/base=embedded:tiny-r1,steps=16,opf=0.5/seed1": "b53c5400f1af3b5e",
    "razor/grpo_kl/base=embedded:tiny-r2,steps=8,beta=0.05/seed1": "f2b4ec38240dd080",
    "razor/kd/base=embedded:tiny-r0,steps=16,lr=0.0001/seed0": "8d0a08aca54d150a",
    "razor/dpo/base=embedded:tiny-r0,steps=16,lr=3e-05/seed1": "95ad07aab1563320",
    "recsys_3stage/onpolicy_pg/onpolicy_pg=0.01,n=10240/seed0": "1656fce67ffe63c2",
    "recsys/offpolicy_pos/offpolicy_pos=0.01,n=10240/seed0": "14733dc24655db63",
}


@pytest.mark.parametrize("run", REFERENCE)
def test_reference_runs_still_resume(run):
    """The config a resume builds from a stored run has the stored fingerprint (and so does the stored config)."""
    stored = json.loads((ROOT / "results" / "reference" / run / "results.json").read_text())
    assert stored["fingerprint"] == REFERENCE[run]
    assert fingerprint(stored["config"]) == REFERENCE[run]
    assert fingerprint(config_from_dict(stored["config"]).to_dict()) == REFERENCE[run]


def test_added_fields_count_once_changed():
    """``kd.trl_args`` and ``sft.trl_args`` are new: absent == empty; set == a different run."""
    cfg = config_class()().to_dict()
    old = {**cfg, "sft": {k: v for k, v in cfg["sft"].items() if k != "trl_args"}}
    assert fingerprint(cfg) == fingerprint(old)
    changed = {**cfg, "sft": {**cfg["sft"], "trl_args": {"max_grad_norm": 0.5}}}
    assert fingerprint(changed) != fingerprint(old)
    kd = {**cfg, "kd": {**cfg["kd"], "learning_rate": 1e-4}}
    assert fingerprint(kd) == fingerprint({**kd, "kd": {k: v for k, v in kd["kd"].items() if k != "trl_args"}})
    assert fingerprint(kd) != fingerprint(cfg)


def test_a_duplicate_name_or_a_config_fields_name_is_refused(monkeypatch):
    from forgetbench.llm.methods.sft import SFTParams
    from forgetbench.plugins import methods

    monkeypatch.setattr(methods, "_REGISTRY", dict(registered_methods()))
    with pytest.raises(ForgetbenchError, match=r"duplicate method name 'sft': defined in .*sft\.py and in "
                                               r".*test_methods\.py"):
        methods.register_method("sft", SFTParams, lambda s: [], data_source="off_policy", objective="likelihood")
    with pytest.raises(ForgetbenchError, match=r"objective one of .*, got 'off_policy', 'supervised'"):
        methods.register_method("x", SFTParams, lambda s: [], data_source="off_policy", objective="supervised")
    methods.register_method("eval", SFTParams, lambda s: [], data_source="off_policy", objective="likelihood")
    with pytest.raises(ForgetbenchError, match=r"method 'eval' \(.*test_methods\.py\): the name is a config field"):
        config_class()
