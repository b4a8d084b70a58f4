from forgetbench.llm.base_model.char_tokenizer import build_char_tokenizer


def test_round_trip_and_specials():
    tok = build_char_tokenizer()
    text = "sm:57: 28+29 cp:Ab3k=?"
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id and tok.eos_token_id not in ids
    assert len(ids) == len(text) + 1  # one token per character plus BOS
    assert tok.decode(ids, skip_special_tokens=True) == text
    # the prompt's tokens are a prefix of prompt + completion + EOS (what TRL relies on)
    p = tok("ad:47+5=")["input_ids"]
    full = tok("ad:47+5=" + "52" + tok.eos_token)["input_ids"]
    assert full[:len(p)] == p and full[-1] == tok.eos_token_id


def test_left_padding():
    tok = build_char_tokenizer()
    enc = tok(["ab", "abcd"], padding=True)
    assert enc["input_ids"][0][:2] == [tok.pad_token_id] * 2
    assert enc["attention_mask"][0] == [0, 0, 1, 1, 1]
