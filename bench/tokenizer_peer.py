#!/usr/bin/env python3
"""Tokenization bench peer: the PyPI `tokenizers` (Rust) on one thread.

  tokenizer_peer.py setup DIR FILE.jsonl LINES VOCAB
      trains the Qwen2-style tokenizer of tests/model/check_tokenizer_hf.py
      (NFC, Qwen2's Split regex, ByteLevel, <|im_start|> and friends) with
      VOCAB entries into DIR/tokenizer.json, and writes LINES lines of the
      same mixed corpus (another seed) as {"text"} lines to FILE.jsonl
  tokenizer_peer.py encode DIR FILE.jsonl REPEAT
      encodes every line REPEAT times with encode_batch (the library's
      fastest call: one Python call for all lines) with parallelism off,
      and prints "lines N bytes B ids I idsum S cpu_s X mb_per_cpu_s Y" (CPU
      seconds of this process: one core's work)
"""
import importlib.util
import json
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # before the import: encode_batch on one thread
from tokenizers import Tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus_module():
    path = os.path.join(HERE, "..", "tests", "model", "check_tokenizer_hf.py")
    spec = importlib.util.spec_from_file_location("check_tokenizer_hf", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def setup(out_dir, path, lines, vocab):
    c = corpus_module()
    tok = c.train("qwen2", c.corpus(1, 20000), vocab_size=vocab)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(path, "w", encoding="utf-8") as f:
        for t in c.corpus(7, lines):
            f.write(json.dumps({"text": t}) + "\n")


def encode(model_dir, path, repeat):
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    texts = [json.loads(l)["text"] for l in open(path, encoding="utf-8")]
    n_bytes = sum(len(t.encode()) for t in texts)
    t0 = time.process_time()
    for _ in range(repeat):
        enc = tok.encode_batch(texts, add_special_tokens=False)
    cpu = time.process_time() - t0
    ids = sum(len(e.ids) for e in enc)
    idsum = sum(sum(e.ids) for e in enc)
    print(f"lines {len(texts)} bytes {n_bytes} ids {ids} idsum {idsum} cpu_s {cpu:.3f} mb_per_cpu_s {n_bytes * repeat / cpu / 1e6:.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        encode(sys.argv[2], sys.argv[3], int(sys.argv[4]))
