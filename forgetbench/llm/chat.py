"""How a task's prompt becomes the model's input text: plain, or through the tokenizer's chat template.

``chat_template`` (config): ``auto`` (default) uses the template when the tokenizer has one (instruct
models; the embedded char-level base has none), ``true`` insists on it, ``false`` feeds the prompt as
raw text. With the template, a prompt ``p`` becomes

    text(p) = template([{"role": "user", "content": p}], add_generation_prompt=True)

(the template may add its default system message; ``chat_system: TEXT`` puts a system message
``{"role": "system", "content": TEXT}`` first instead), and the completion the model writes is the
assistant's answer, ended by the tokenizer's EOS (e.g. ``<|im_end|>``) — which is also what SFT
appends to its targets. A BOS the tokenizer adds by itself is cut from the front of ``text(p)``, so
it is not doubled. Tasks always score against the original prompt and answer.
"""
from __future__ import annotations

from forgetbench.errors import ForgetbenchError

MODES = {"auto": "auto", True: True, False: False, "true": True, "false": False}


def chat_mode(value) -> bool | str:
    """Normalise the config value (``auto``, a bool or the strings ``true``/``false``)."""
    key = value.lower() if isinstance(value, str) else value
    if key not in MODES:
        raise ForgetbenchError(f"config: chat_template must be auto, true or false, got {value!r}")
    return MODES[key]


def uses_chat_template(value, tokenizer) -> bool:
    mode, has = chat_mode(value), getattr(tokenizer, "chat_template", None) is not None
    if mode is True and not has:
        raise ForgetbenchError("config: chat_template is true but the model's tokenizer has no chat template "
                               "(use chat_template: auto or false)")
    return has if mode == "auto" else mode


class PromptFormat:
    """``fmt(prompt) -> text`` for the model; the identity when the template is off."""

    def __init__(self, tokenizer, mode="auto", system: str | None = None):
        self.tokenizer, self.system = tokenizer, system
        self.enabled = uses_chat_template(mode, tokenizer)
        bos = getattr(tokenizer, "bos_token", None)
        adds_bos = bos is not None and tokenizer("x")["input_ids"][:1] == [tokenizer.bos_token_id]
        self._strip = bos if self.enabled and adds_bos else None

    def __call__(self, prompt: str) -> str:
        if not self.enabled:
            return prompt
        messages = [{"role": "system", "content": self.system}] if self.system is not None else []
        text = self.tokenizer.apply_chat_template(messages + [{"role": "user", "content": prompt}], tokenize=False,
                                                  add_generation_prompt=True)
        if self._strip and text.startswith(self._strip):
            text = text[len(self._strip):]
        return text

    def rows(self, rows: list[dict]) -> list[dict]:
        """Copies of ``rows`` whose ``prompt`` is the model's text; ``raw_prompt`` keeps the task's
        (``rows`` themselves when the template is off)."""
        if not self.enabled:
            return list(rows)
        return [{**r, "raw_prompt": r["prompt"], "prompt": self(r["prompt"])} for r in rows]


def raw_example(row: dict) -> dict:
    """The task's own example from a formatted row (the inverse of ``PromptFormat.rows``)."""
    if "raw_prompt" not in row:
        return row
    out = {k: v for k, v in row.items() if k != "raw_prompt"}
    out["prompt"] = row["raw_prompt"]
    return out
