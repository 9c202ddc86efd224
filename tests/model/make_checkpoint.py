"""tests/model/make_checkpoint.py FOLDER [seed] — write a small random Llama
checkpoint the way Python tools would (safetensors.torch.save_file) plus the
sha256 metadata grpo.c checks, and config.json.  Used by check_sample_cmd.sh:
it also proves a checkpoint made outside grpo.c loads."""
import hashlib
import json
import os
import struct
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_llama  # noqa: E402

folder = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
os.makedirs(folder, exist_ok=True)
cfg = dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=48, vocab=264, max_seq=64,
           rope_theta=10000.0, norm_eps=1e-5, tie=True)
params = ref_llama.init_params(cfg, seed=seed, std=0.5)
path = os.path.join(folder, "model.safetensors")
save_file({k: v.contiguous() for k, v in params.items()}, path, metadata={"format": "pt"})
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = raw[8 + n:]
head["__metadata__"]["sha256"] = hashlib.sha256(data).hexdigest()
text = json.dumps(head).encode()
text += b" " * (-len(text) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": cfg["dim"],
           "num_hidden_layers": cfg["n_layers"], "num_attention_heads": cfg["n_heads"],
           "num_key_value_heads": cfg["n_kv_heads"], "intermediate_size": cfg["ffn_dim"],
           "vocab_size": cfg["vocab"], "max_position_embeddings": cfg["max_seq"],
           "rope_theta": cfg["rope_theta"], "rms_norm_eps": cfg["norm_eps"],
           "tie_word_embeddings": cfg["tie"]}, open(os.path.join(folder, "config.json"), "w"))
