"""Named experiments shipped in the package: ``--config NAME`` resolution, its error, the listing."""
from __future__ import annotations

import os

import pytest

from forgetbench.cli import main as cli_main
from forgetbench.config.named import CONFIG_DIR, describe_configs, named_configs, resolve_config, summary
from forgetbench.errors import ForgetbenchError
from forgetbench.run import main as run_main, with_config_file


def test_a_name_and_a_checkout_path_name_one_shipped_file(tmp_path, monkeypatch):
    assert resolve_config("razor_lite") == CONFIG_DIR / "razor_lite.yaml"
    assert resolve_config("razor_lite.yaml") == CONFIG_DIR / "razor_lite.yaml"
    monkeypatch.chdir(tmp_path)                       # no checkout here: configs/… falls back to the shipped file
    assert resolve_config("configs/smoke.yaml") == CONFIG_DIR / "smoke.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text("experiment: mine\n")
    assert resolve_config(str(own)) == own            # a path that exists is taken as given
    (tmp_path / "smoke.yaml").write_text("experiment: local\n")
    assert resolve_config("smoke.yaml").resolve() == tmp_path / "smoke.yaml"   # a file in the cwd wins over the name


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ForgetbenchError) as e:
        resolve_config("razorlite")
    assert "config 'razorlite' is neither a file nor a shipped experiment; did you mean razor_lite" in str(e.value)
    assert "smoke" in str(e.value)


def test_run_exits_2_naming_the_unknown_config(capsys):
    assert run_main(["--config", "smokee"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("forgetbench: error: config 'smokee'") and "did you mean smoke" in err


def test_without_config_the_run_is_the_shipped_default():
    assert with_config_file(["--seeds", "1"]) == ["--config", str(CONFIG_DIR / "default.yaml"), "--seeds", "1"]
    assert with_config_file(["--config", "smoke"]) == ["--config", str(CONFIG_DIR / "smoke.yaml")]
    assert with_config_file(["--config=smoke"]) == ["--config=" + str(CONFIG_DIR / "smoke.yaml")]


def test_configs_lists_every_shipped_experiment_with_its_first_comment_line(capsys):
    assert cli_main(["configs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(named_configs()) >= 10
    assert any(line.split()[0] == "smoke" and line.endswith(summary(CONFIG_DIR / "smoke.yaml")) for line in out)
    assert summary(CONFIG_DIR / "smoke.yaml").startswith("The tiny base")
    assert describe_configs() == out


def test_the_checkout_link_and_the_package_folder_are_one_folder():
    root = CONFIG_DIR.parents[1]
    if (root / "configs").exists():                 # a checkout (an installed wheel has only the package folder)
        assert os.path.samefile(root / "configs", CONFIG_DIR)


def test_the_dataclass_defaults_are_the_shipped_default():
    """One source of defaults: a config with nothing set resolves to configs/default.yaml, except for
    that experiment's own design (its learning-rate sweep) and its thread pin (reproducible numbers)."""
    from forgetbench.config.schema import config_from_dict, load_config

    bare = config_from_dict({}).to_dict()
    shipped = load_config(["--config", str(CONFIG_DIR / "default.yaml")]).to_dict()
    assert {k for k in set(bare) | set(shipped) if bare.get(k) != shipped.get(k)} == {"sweep", "threads"}
    assert shipped["threads"] == 1 and [f["method"] for f in shipped["sweep"]] == ["sft", "grpo", "rft"]


def test_a_missing_path_is_a_missing_file_not_an_unknown_name(tmp_path):
    with pytest.raises(ForgetbenchError, match=r"config file '.*nope\.yaml' not found"):
        resolve_config(str(tmp_path / "nope.yaml"))


def test_the_module_entry_point_runs_from_any_directory(tmp_path):
    """``python -m forgetbench.run`` (what ``accelerate launch -m forgetbench.run`` starts) from outside a
    checkout resolves shipped names: ``--list_tasks`` of ``--config smoke`` runs, an unknown name exits 2."""
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "forgetbench.run", "--config", "smoke", "--list_tasks"],
                        cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0 and "sum_to" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "forgetbench.run", "--config", "smok"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "did you mean smoke" in bad.stderr
