"""bench/trl_peer.py STEPS — TRL's GRPOTrainer on the demo's GRPO step.

The peer of bench_trl.sh: the same tiny Llama as configs/r1zero-arith.ini
(dim 96, 3 layers, 4 heads, ffn 256, vocab 264, tied embeddings, RoPE),
random weights (std 0.02, as model_init), a byte-level tokenizer (byte b is
id b, BOS 256, EOS 257, PAD 258, as ours), the demo's prompts ("Q:a+b+c\\n", sums of
3-4 two-digit numbers), its reward (1 for the right answer inside
<answer></answer>, else 0) and batch: 16 prompts x 8 samples, up to 80 new
tokens at temperature 1, one iteration (the old policy is the sampler, as
in ours), beta 0.02 (k3 KL to the frozen reference), clip 0.2, AdamW lr
1e-4, grad clip 1.0.  CPU only, 2 threads.

Prints "key value" lines: over the timed steps (after one warm-up step) the
fastest of each (other jobs' bursts on a shared machine only ever add): step_s (the whole optimizer step), generate_s (model.generate), reward_s,
ref_s (the reference forward), update_s (step_s - generate_s - reward_s:
reference forward, policy forward and backward, AdamW: what our t_learn
covers) and completion_tokens (per step: the work done).
"""
import os
import random
import sys
import time
import warnings

import torch

warnings.filterwarnings("ignore")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from datasets import Dataset  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizer, TrainerCallback  # noqa: E402
import transformers.generation.utils as generation_utils  # noqa: E402
import trl  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

BOS, EOS, PAD = 256, 257, 258  # ours: model/tokenizer.h TOK_BOS, TOK_EOS, TOK_PAD


class ByteTokenizer(PreTrainedTokenizer):
    """Byte b is id b; ids 256..263 are special (ours has 7 + one spare)."""

    def __init__(self, **kw):
        super().__init__(pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", **kw)

    @property
    def vocab_size(self):
        return 264

    def get_vocab(self):
        return {self._convert_id_to_token(i): i for i in range(264)}

    def _tokenize(self, text):
        return [chr(b) if b < 256 else "?" for b in text.encode("utf-8")]

    def _convert_token_to_id(self, token):
        return {"<pad>": PAD, "<bos>": BOS, "<eos>": EOS}.get(token, ord(token[0]) & 0xFF)

    def _convert_id_to_token(self, index):
        return {PAD: "<pad>", BOS: "<bos>", EOS: "<eos>"}.get(index, chr(index) if index < 256 else f"<{index}>")

    def convert_tokens_to_string(self, tokens):
        return bytes(ord(t) for t in tokens if len(t) == 1).decode("utf-8", "replace")

    def build_inputs_with_special_tokens(self, a, b=None):
        return a + (b or [])

    def save_vocabulary(self, save_directory, filename_prefix=None):
        return ()


def prompts(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        nums = [rng.randint(10, 99) for _ in range(rng.randint(3, 4))]
        out.append({"prompt": "Q:" + "+".join(map(str, nums)) + "\n", "answer": str(sum(nums))})
    return out


def accuracy(completions, answer, **_):
    """1 for <answer>gold</answer> in the completion (the demo's gated reward)."""
    out = []
    for c, a in zip(completions, answer):
        i, j = c.find("<answer>"), c.find("</answer>")
        out.append(1.0 if 0 <= i < j and c[i + 8:j].strip() == a else 0.0)
    return out


class Timers(TrainerCallback):
    def __init__(self):
        self.t = {"step": [], "generate": [], "reward": [], "ref": []}
        self.cur = {}
        self.tokens = []

    def on_step_begin(self, *a, **k):
        self.cur = {"generate": 0.0, "reward": 0.0, "ref": 0.0, "tokens": 0}
        self.t0 = time.perf_counter()

    def on_step_end(self, *a, **k):
        self.t["step"].append(time.perf_counter() - self.t0)
        for key in ("generate", "reward", "ref"):
            self.t[key].append(self.cur[key])
        self.tokens.append(self.cur["tokens"])


# Debian's torch 1.13 cannot import torch.distributed.fsdp under Python 3.11
# (a dataclass with a mutable default), and transformers' generate() imports
# it only to ask whether the model is FSDP-wrapped: it is not.
generation_utils.is_fsdp_managed_module = lambda module: False


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    warmup = 1
    torch.set_num_threads(2)
    torch.manual_seed(1)
    cfg = LlamaConfig(vocab_size=264, hidden_size=96, intermediate_size=256, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
                      initializer_range=0.02, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS,
                      attn_implementation="eager")
    model = LlamaForCausalLM(cfg)
    tok = ByteTokenizer()
    timers = Timers()

    def timed_reward(completions, answer, **kw):
        t0 = time.perf_counter()
        r = accuracy(completions, answer)
        timers.cur["reward"] += time.perf_counter() - t0
        return r
    timed_reward.__name__ = "accuracy"

    args = GRPOConfig(output_dir="/tmp/trl_peer_out", per_device_train_batch_size=128, num_generations=8,
                      gradient_accumulation_steps=1, max_prompt_length=32, max_completion_length=80,
                      temperature=1.0, learning_rate=1e-4, beta=0.02, epsilon=0.2, num_iterations=1,
                      max_grad_norm=1.0, lr_scheduler_type="constant", warmup_steps=0,
                      max_steps=warmup + steps, logging_steps=1000, save_strategy="no", report_to=[],
                      use_cpu=True, bf16=False, fp16=False, seed=1, dataloader_num_workers=0,
                      log_completions=False, disable_tqdm=True)
    ds = Dataset.from_list(prompts(16 * (warmup + steps + 2), 7))
    trainer = GRPOTrainer(model=model, reward_funcs=[timed_reward], args=args, train_dataset=ds,
                          processing_class=tok, callbacks=[timers])

    gen = model.generate

    def timed_generate(*a, **k):
        t0 = time.perf_counter()
        out = gen(*a, **k)
        timers.cur["generate"] += time.perf_counter() - t0
        prompt_len = k["input_ids"].shape[1] if "input_ids" in k else a[0].shape[1]
        comp = out[:, prompt_len:]
        # tokens up to and including the first EOS, as TRL's completion mask counts them
        is_eos = comp == EOS
        first = torch.where(is_eos.any(1), is_eos.int().argmax(1) + 1, torch.full((comp.shape[0],), comp.shape[1]))
        timers.cur["tokens"] += int(first.sum())
        return out
    model.generate = timed_generate

    get_logps = trainer._get_per_token_logps

    def timed_logps(m, *a, **k):
        t0 = time.perf_counter()
        out = get_logps(m, *a, **k)
        if not torch.is_grad_enabled():  # the reference forward (no grad); the policy's has grad
            timers.cur["ref"] += time.perf_counter() - t0
        return out
    trainer._get_per_token_logps = timed_logps
    trainer.train()

    def best(xs):
        return min(xs[warmup:])
    step, g, r, ref = (best(timers.t[k]) for k in ("step", "generate", "reward", "ref"))
    update = min(s - g - r for s, g, r in list(zip(timers.t["step"], timers.t["generate"], timers.t["reward"]))[warmup:])
    print(f"trl_version {trl.__version__}")
    print(f"torch_version {torch.__version__.split('+')[0]}")
    print(f"step_s {step:.4f}")
    print(f"generate_s {g:.4f}")
    print(f"reward_s {r:.4f}")
    print(f"ref_s {ref:.4f}")
    print(f"update_s {update:.4f}")
    tokens = timers.tokens[warmup:]
    print(f"completion_tokens {sum(tokens) / len(tokens):.0f}")


if __name__ == "__main__":
    main()
