"""What a run computes from the base alone, kept on disk across runs (``llm/eval/base_cache.py``): a
second learner on the same base reads the first one's evaluation, KL draws and spectra, and its
numbers equal a fresh computation; anything the numbers depend on changes the key; a trained model
is never read from the cache."""
from pathlib import Path

import torch

from forgetbench.config.schema import load_config

SMOKE = ["--config", str(Path(__file__).resolve().parent.parent / "configs" / "smoke.yaml"), "--max_steps", "2",
         "--eval.batch_size", "64"]


def _learner(micro_base_path, *extra):
    from forgetbench.llm.learner import LLMLearner

    return LLMLearner(load_config(SMOKE + list(extra)), "sft", 0, micro_base_path)


def _stage_measures(learner) -> dict:
    from forgetbench.loop.stage_measurer import InlineMeasurer

    m = InlineMeasurer(learner)
    learner.train_stage(learner.cfg.tasks[0], 1)
    out = m.measure({"kind": "stage", "task": learner.cfg.tasks[0], "old": list(learner.cfg.prior_tasks)})
    return {"accuracy": out["accuracy"], "kl": out["kl"], "drift": out["drift"]}


def test_second_learner_reads_the_first_ones_base_evaluation(micro_base_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGETBENCH_CACHE", str(tmp_path))
    first = _learner(micro_base_path)
    fresh = first.suite.evaluate(first.model, first.tokenizer)
    assert first.evaluate() == {n: r["greedy"] for n, r in fresh.items()}
    assert len(list((tmp_path / "base-eval").glob("*.pt"))) == 1

    second = _learner(micro_base_path)
    calls = []
    real = second.suite.evaluate
    monkeypatch.setattr(second.suite, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert second.evaluate() == first.evaluate()
    assert second.last_eval == fresh and calls == []          # read, not computed: the same numbers

    second.train_stage(second.cfg.tasks[0], 1)                 # a trained model: evaluated, not read
    second.evaluate()
    assert calls == [1]


def test_kept_draws_and_spectra_give_the_numbers_of_a_fresh_run(micro_base_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGETBENCH_CACHE", str(tmp_path / "on"))
    first = _stage_measures(_learner(micro_base_path))        # computes and keeps
    assert list((tmp_path / "on" / "base-draws").glob("*.pt")) and list((tmp_path / "on" / "base-spectra").glob("*.pt"))
    import forgetbench.measures.drift as drift

    monkeypatch.setattr(drift, "spectrum", lambda w, k, real=drift.spectrum: calls.append(1) or real(w, k))
    calls = []
    second = _stage_measures(_learner(micro_base_path))       # reads: only the trained matrices' SVDs
    n_svd = second["drift"]["n_svd_matrices"]
    assert len(calls) == n_svd > 0
    monkeypatch.setenv("FORGETBENCH_CACHE", str(tmp_path / "off"))
    off = _stage_measures(_learner(micro_base_path, "--cache_base_eval", "false"))
    assert first == second == off                              # bit for bit
    assert not (tmp_path / "off").exists()


def test_the_key_changes_with_what_the_numbers_depend_on(micro_base_path, tmp_path, monkeypatch):
    from forgetbench.llm.eval.base_cache import base_eval_memo, base_identity

    monkeypatch.setenv("FORGETBENCH_CACHE", str(tmp_path))

    def key(learner, cfg=None, seed=0):
        cfg = cfg or learner.cfg
        return base_eval_memo(base_identity(micro_base_path, cfg.dtype), learner.suite, cfg, seed)._path("evaluation")

    a = _learner(micro_base_path)
    assert key(a, seed=1) == key(a)                                         # greedy: the seed does not matter
    sampled = _learner(micro_base_path, "--eval.sampled", "true")
    assert key(sampled, seed=1) != key(sampled)                             # sampled: it does
    assert key(a, cfg=sampled.cfg) != key(a)
    assert key(_learner(micro_base_path, "--prior_tasks", "copy")) != key(a)  # other rows
    before, threads = key(a), torch.get_num_threads()
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads + 1)
    assert key(a) != before                                                 # another thread count
    monkeypatch.setattr(type(a.suite.tasks[a.cfg.tasks[0]]), "version", 7)
    assert key(a) != before                                                 # a task's new version


def test_a_damaged_file_is_computed_again(micro_base_path, tmp_path, monkeypatch):
    from forgetbench.llm.eval.base_cache import base_eval_memo

    monkeypatch.setenv("FORGETBENCH_CACHE", str(tmp_path))
    on = _learner(micro_base_path)
    path = base_eval_memo(on.base_identity, on.suite, on.cfg, 0)._path("evaluation")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    assert on.evaluate() == _learner(micro_base_path, "--cache_base_eval", "false").evaluate()
    assert torch.load(path, weights_only=False) == on.last_eval            # replaced by the computed one
