"""Tiny Hugging Face model directories for tests, built here from nothing:
a byte-level BPE tokenizer trained with the `tokenizers` trainer on a small
corpus, and a random transformers model saved with save_pretrained.

    make_model_dir(folder, family="qwen2", dtype="float32", shard=False, **config)

writes config.json, model.safetensors (or shards with an index),
generation_config.json, tokenizer.json and tokenizer_config.json, and returns
(model, tokenizer) as transformers objects for the caller to compare against.
"""
import os

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TAGS = ["<think>", "</think>", "<answer>", "</answer>"]


def corpus():
    """A few hundred lines like the prompts and answers the tests use."""
    lines = []
    for a in range(40):
        for b in (3, 17, 250):
            lines.append(f"Q: What is {a} + {b}? Natalia sold {a} clips in April and {b} in May.")
            lines.append(f"<think>{a} + {b} = {a + b}</think><answer>{a + b}</answer>")
    lines += ["The answer is 42.", "Let's think step by step.", "#### 1,234", "  indented\ttab\r\n"]
    return lines


def make_tokenizer(vocab_size=600):
    """Qwen2's pre-tokenizer (NFC, its Split regex, ByteLevel) trained on corpus()."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    tok.add_tokens(TAGS)
    return tok


def write_tokenizer(tok, folder):
    from transformers import PreTrainedTokenizerFast
    tok.save(os.path.join(folder, "tokenizer.json"))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.save_pretrained(folder)
    return fast


def make_model_dir(folder, family="qwen2", dtype="float32", shard=False, seed=0, **overrides):
    """A random tiny model of the family, saved with save_pretrained."""
    import transformers
    os.makedirs(folder, exist_ok=True)
    tok = make_tokenizer()
    fast = write_tokenizer(tok, folder)
    cfg = dict(vocab_size=tok.get_vocab_size() + 8, hidden_size=32, intermediate_size=64,
               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               max_position_embeddings=1024, rms_norm_eps=1e-6, rope_theta=10000.0,
               eos_token_id=tok.token_to_id("<|im_end|>"), bos_token_id=None,
               pad_token_id=tok.token_to_id("<|endoftext|>"))
    cfg.update(overrides)
    config_cls, model_cls = {
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
    }[family]
    torch.manual_seed(seed)
    model = model_cls(config_cls(**cfg)).eval()
    with torch.no_grad():  # larger weights than the default init: sharper, more telling logits
        for p in model.parameters():
            p.mul_(10.0 if p.dim() > 1 else 1.0)
    saved = model.to(getattr(torch, dtype))
    saved.save_pretrained(folder, safe_serialization=True, max_shard_size="20KB" if shard else "10GB")
    return model.float(), fast


def greedy(model, ids, n):
    """Greedy decoding by hand (generate() does not import on this Python)."""
    ids = list(ids)
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([ids])).logits[0, -1]
            ids.append(int(logits.argmax()))
    return ids


def completion_logprobs(model, ids, n_prompt):
    """log p(ids[t] | ids[:t]) for t >= n_prompt, in float64 for the comparison."""
    with torch.no_grad():
        z = model(torch.tensor([ids])).logits[0].double().log_softmax(-1)
    return [float(z[t - 1, ids[t]]) for t in range(n_prompt, len(ids))]
