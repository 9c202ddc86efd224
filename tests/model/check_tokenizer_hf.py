#!/usr/bin/env python3
"""Hugging Face tokenizer parity: `grpo tokenize` against the PyPI `tokenizers`.

Trains three byte-level BPE tokenizers here (no downloads) with the
pre-tokenizer settings of the families grpo loads:
  llama3  Split(Llama 3 regex) + ByteLevel(use_regex=False), ignore_merges, no normalizer
  qwen2   NFC + Split(Qwen2 regex) + ByteLevel(use_regex=False), plus Qwen3's <think> tags
  gpt2    ByteLevel(use_regex=True) alone (the GPT-2 / SmolLM2 layout)
each with added special tokens, then on a corpus of >= 10,000 lines built
here (CJK, emoji with skin tones and ZWJ sequences, combining marks, NFD and
NFC forms, mixed scripts, digit runs, contractions in both cases, whitespace
runs, tabs, CRLF, special-token strings inside text) checks:
  - every line's ids equal tok.encode(text, add_special_tokens=False).ids;
  - `--decode` of those ids equals tok.decode(ids, skip_special_tokens=False),
    and so does the decode of random id sequences (partial UTF-8 included);
  - merges stored as ["a", "b"] pairs (what tokenizers 0.21 writes) and as
    legacy "a b" strings load to the same ids;
  - bad tokenizer.json files exit 2 naming the file and the field.
Exit 77 (skip) only when the `tokenizers` package is missing.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

try:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
except ImportError:
    print("the tokenizers package is missing")
    sys.exit(77)

GRPO = os.environ.get("GRPO", "./grpo")
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>"]
N_LINES = 10_500

# ------------------------------------------------------------------ corpus

WORDS = ("the of and to in is was he for it with as his on be at by had are but from or have an they "
         "which one you were her all she there would their we him been has when who will more no if out "
         "so said what up its about into than them can only other new some could time these two may then "
         "do first any my now such like our over man me even most made after also did many before must "
         "through back years where much your way well down should because each just those people how too "
         "little state good very make world still own see men work long get here between both life being "
         "under never day same another know while last might us great old year off come since against go "
         "came right used take three answer think reason step total number equals therefore").split()
CONTRACTIONS = ["it's", "IT'S", "It'S", "we'll", "WE'LL", "We'Ll", "they've", "THEY'VE", "I'm", "I'M",
                "you're", "YOU'RE", "he'd", "HE'D", "don't", "DON'T", "can't", "'s", "'S", "'ll", "'VE",
                "'ve", "'re", "'d", "'m", "'t", "o'clock", "rock'n'roll", "it'ſ", "''", "'", "l'homme"]
ACCENTED = ["café", "naïve", "résumé", "Ångström", "façade", "São Paulo", "Zürich", "crème brûlée",
            "Đặng Thị Ngọc", "tiếng Việt", "Ñandú", "œuvre", "Dvořák", "Łódź", "Ærøskøbing", "piñata",
            "coöperate", "Hà Nội", "phở", "Øresund"]
SCRIPTS = ["Привет, как дела?", "Ελληνικά γράμματα", "مرحبا بالعالم", "שָׁלוֹם עוֹלָם", "नमस्ते दुनिया",
           "สวัสดีครับ", "안녕하세요 세계", "こんにちは世界", "你好，世界！", "Γειά σου Κόσμε", "Բարև աշխարհ",
           "გამარჯობა", "ሰላም ልዑል", "Xin chào", "Sveiki, pasauli", "ॐ मणि पद्मे हूँ", "بِسْمِ ٱللَّٰهِ",
           "தமிழ் மொழி", "ᚠᛇᚻ᛫ᛒᛦᚦ", "Ⅻ Ⅳ ⅷ", "x² + y³ = z⁴", "½ ¾ ⅓", "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕"]
EMOJI = ["😀", "😂", "🙏", "🎉", "🚀", "❤️", "👍🏽", "👋🏻", "👩🏿‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇺🇸🇫🇷",
         "1️⃣", "#️⃣", "🤷‍♀️", "🧑🏾‍🤝‍🧑🏼", "👁️‍🗨️", "🐈‍⬛", "☺︎", "✌🏿", "💯"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", " \t ", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", " \n ", "\u00a0",
          "\u3000", "\u2028", "\u0085", "\u200b", "\ufeff", "\u2009", "\u202f", " \u00a0 ", "\u180e", "\x0b",
          "\x0c"]
SPECIAL_TEXT = ["<|im_start|>user\n", "<|im_end|>\n", "<|endoftext|>", "<think>", "</think>",
                "<|im_start|>assistant\n<think>\n", "<|begin_of_text|>", "<|eot_id|>", "<|im_start",
                "<|im_end", "<|endoftext|", "<<|endoftext|>>", "<|<|im_start|>|>", "< think>", "<think",
                "</think >", "<|EOT_ID|>", "café<|im_end|>", "<|im_start|>\u0301"]
CODE = ["def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
        "{\"key\": [1, 2.5e-3, null], \"s\": \"a\\\\nb\"}", "\\frac{1}{2} + \\sqrt{x^2+1}", "if a != b && c >= d:",
        "SELECT * FROM t WHERE x = 'it''s';", "x = [i*i for i in range(10)]", "$ ls -la ~/.config",
        "https://example.com/path?q=1&r=%20", "user@example.org", "#include <stdio.h>", ">>> print('hi')",
        "...", "!!!", "?!", "—", "–", "“quoted”", "«guillemets»", "‘single’", "…", "(((nested)))", "~~~",
        "=====", "-->", "<=>", "::", ";;", "***", "___init___", "a_b_c", "CamelCaseWord", "snake_case_word"]


def cjk(rng, lo, hi, n):
    return "".join(chr(rng.randint(lo, hi)) for _ in range(n))


def digits(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return str(rng.randrange(10 ** rng.randint(1, 20)))
    if kind == 1:
        return f"{rng.randrange(10 ** 7):,}"
    if kind == 2:
        return f"{rng.uniform(-1000, 1000):.{rng.randint(1, 6)}f}"
    if kind == 3:
        return "".join(chr(0x0660 + rng.randrange(10)) for _ in range(rng.randint(1, 6)))  # Arabic-Indic
    if kind == 4:
        return "".join(chr(0xFF10 + rng.randrange(10)) for _ in range(rng.randint(1, 6)))  # fullwidth
    if kind == 5:
        return f"{rng.randrange(100)}+{rng.randrange(100)}={rng.randrange(200)}"
    if kind == 6:
        return f"{rng.randrange(10)}{rng.choice(['st', 'nd', 'rd', 'th', 'km', '%', '$', '€'])}"
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(30, 60)))


def combining(rng):
    base = rng.choice("aeiouAEIOUnczsgyw")
    marks = [chr(rng.choice([0x0300, 0x0301, 0x0302, 0x0303, 0x0308, 0x030A, 0x030C, 0x0323, 0x0327, 0x0328,
                             0x031B, 0x0345, 0x0338]))
             for _ in range(rng.randint(1, 3))]
    return base + "".join(marks)


def fragment(rng):
    k = rng.randrange(14)
    if k == 0:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))
    if k == 1:
        return " ".join(w.upper() if rng.random() < 0.3 else w.capitalize() for w in rng.sample(WORDS, 4))
    if k == 2:
        return rng.choice(CONTRACTIONS) + rng.choice(["", " ", "s", " it"])
    if k == 3:
        w = rng.choice(ACCENTED)
        return unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKD", "NFC"]), w)
    if k == 4:
        return rng.choice(SCRIPTS)
    if k == 5:
        return cjk(rng, 0x4E00, 0x9FFF, rng.randint(1, 40))
    if k == 6:
        return cjk(rng, 0x3041, 0x30FF, rng.randint(1, 12)) + cjk(rng, 0x4E00, 0x4FFF, rng.randint(0, 4))
    if k == 7:  # Hangul: syllables, and conjoining jamo that NFC composes into syllables
        s = cjk(rng, 0xAC00, 0xD7A3, rng.randint(1, 6))
        return unicodedata.normalize("NFD", s) if rng.random() < 0.5 else s
    if k == 8:
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 5)))
    if k == 9:
        return "".join(combining(rng) for _ in range(rng.randint(1, 4)))
    if k == 10:
        return digits(rng)
    if k == 11:
        return rng.choice(CODE)
    if k == 12:
        return rng.choice(SPECIAL_TEXT)
    # singletons and exclusions NFC changes: Angstrom and Ohm signs, Devanagari QA, Hebrew presentation forms
    return rng.choice(["\u212b", "\u2126", "\u0958", "\ufb2a", "K\u212a", "\u1e9b\u0323", "\u0344", "\u0f73",
                       "\u00c5", "A\u030a", "\u0041\u0323\u0302", "\u0041\u0302\u0323"])


def line(rng):
    r = rng.random()
    if r < 0.01:
        return ""
    if r < 0.03:  # long words: more symbols than the merge loop keeps on the stack
        return rng.choice(["x", "ab", "0", "\u00e9", "\u4e00", "\U0001F600", " "]) * rng.randint(60, 400)
    if r < 0.05:
        return rng.choice(SPACES) * rng.randint(1, 8) + rng.choice(WORDS) + rng.choice(SPACES) * rng.randint(1, 8)
    parts = []
    for _ in range(rng.randint(1, 7)):
        parts.append(fragment(rng))
        parts.append(rng.choice(SPACES) if rng.random() < 0.4 else rng.choice([" ", " ", "", ", ", ". "]))
    return "".join(parts[:-1] if rng.random() < 0.7 else parts)


def corpus(seed, n):
    rng = random.Random(seed)
    return [line(rng) for _ in range(n)]


# -------------------------------------------------------------- tokenizers

def train(kind, texts, vocab_size=None):
    if kind == "llama3":
        tok = Tokenizer(models.BPE(ignore_merges=True))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        vocab = 3000
    elif kind == "qwen2":
        tok = Tokenizer(models.BPE())
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        vocab = 4000
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        vocab = 2000
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size or vocab, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    # Qwen3's thinking tags: added, not special, matched on the raw text
    tok.add_tokens([AddedToken("<think>", special=False, normalized=False),
                    AddedToken("</think>", special=False, normalized=False)])
    if kind == "qwen2":  # an added token matched after NFC (given here in NFD)
        tok.add_tokens([AddedToken(unicodedata.normalize("NFD", "café"), special=False, normalized=True)])
    return tok


def run_grpo(args, stdin_path):
    with open(stdin_path, "rb") as f:
        return subprocess.run([GRPO, "tokenize", *args], stdin=f, capture_output=True)


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            f.write(json.dumps(r, ensure_ascii=i % 2 == 0) + "\n")  # both escaped and raw UTF-8


def read_field(out, field):
    # split on "\n" only: str.splitlines() would also split at U+2028 and U+0085 inside strings
    return [json.loads(l)[field] for l in out.decode("utf-8").split("\n")[:-1]]


failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def compare_encode(name, model_dir, tok, texts, tmp):
    src = os.path.join(tmp, f"{name}.jsonl")
    write_jsonl(src, [{"text": t} for t in texts])
    r = subprocess.run([GRPO, "tokenize", "--model", model_dir, src], capture_output=True)
    if not check(r.returncode == 0, f"{name}: grpo tokenize exit {r.returncode}: {r.stderr.decode(errors='replace')[-500:]}"):
        return None
    got = read_field(r.stdout, "ids")
    want = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    check(len(got) == len(want), f"{name}: {len(got)} output lines for {len(want)} inputs")
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    for i in bad[:5]:
        print(f"  {name} line {i + 1}: {texts[i]!r}\n    grpo {got[i]}\n    hf   {want[i]}")
    check(not bad, f"{name}: {len(bad)} of {len(want)} lines differ")
    print(f"{name}: encode {len(want) - len(bad)}/{len(want)} lines identical "
          f"({sum(map(len, want))} ids, {sum(len(t.encode()) for t in texts)} bytes)")
    return want


def compare_decode(name, model_dir, tok, id_lists, tmp):
    src = os.path.join(tmp, f"{name}.ids.jsonl")
    write_jsonl(src, [{"ids": ids} for ids in id_lists])
    r = subprocess.run([GRPO, "tokenize", "--model", model_dir, "--decode", src], capture_output=True)
    if not check(r.returncode == 0, f"{name}: grpo tokenize --decode exit {r.returncode}: {r.stderr.decode(errors='replace')[-500:]}"):
        return
    got = read_field(r.stdout, "text")
    want = tok.decode_batch(id_lists, skip_special_tokens=False)
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    for i in bad[:5]:
        print(f"  {name} decode line {i + 1}: ids {id_lists[i][:20]}\n    grpo {got[i]!r}\n    hf   {want[i]!r}")
    check(len(got) == len(want) and not bad, f"{name}: decode {len(bad)} of {len(want)} lines differ")
    print(f"{name}: decode {len(want) - len(bad)}/{len(want)} lines identical")


def legacy_merges(path_in, path_out):
    j = json.load(open(path_in, encoding="utf-8"))
    assert all(isinstance(m, list) for m in j["model"]["merges"]), "tokenizers wrote merges as pairs"
    j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
    json.dump(j, open(path_out, "w", encoding="utf-8"), ensure_ascii=False)


def expect_refusal(what, model_dir, src, file_part, field_part):
    r = subprocess.run([GRPO, "tokenize", "--model", model_dir, src], capture_output=True)
    msg = r.stderr.decode(errors="replace")
    ok = r.returncode == 2 and file_part in msg and (field_part is None or field_part in msg)
    check(ok, f"{what}: want exit 2 naming {file_part!r} and {field_part!r}, got {r.returncode}: {msg.strip()}")
    if ok:
        print(f"refused as expected: {what}: {msg.strip()}")


def bad_files(tmp, good_dir, src):
    good = json.load(open(os.path.join(good_dir, "tokenizer.json"), encoding="utf-8"))
    text = open(os.path.join(good_dir, "tokenizer.json"), encoding="utf-8").read()

    def variant(name, j=None, raw=None):
        d = os.path.join(tmp, name)
        os.makedirs(d)
        if j is not None or raw is not None:
            with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
                f.write(raw if raw is not None else json.dumps(j))
        return d

    expect_refusal("missing tokenizer.json", variant("missing"), src, "missing/tokenizer.json", None)
    uni = json.loads(json.dumps(good))
    uni["model"] = {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0]], "byte_fallback": False}
    expect_refusal("Unigram model", variant("unigram", uni), src, "unigram/tokenizer.json", '"model.type"')
    cut = text.index('"merges"') + (len(text) - text.index('"merges"')) // 2
    expect_refusal("truncated JSON", variant("truncated", raw=text[:cut]), src, "truncated/tokenizer.json",
                   '"model.merges"')
    expect_refusal("invalid JSON", variant("invalid", raw=text.replace('"vocab": {', '"vocab": {,', 1)), src,
                   "invalid/tokenizer.json", '"model.vocab"')
    fb = json.loads(json.dumps(good))
    fb["model"]["byte_fallback"] = True
    expect_refusal("byte_fallback", variant("fallback", fb), src, "fallback/tokenizer.json", '"model.byte_fallback"')
    meta = json.loads(json.dumps(good))
    meta["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    expect_refusal("Metaspace", variant("metaspace", meta), src, "metaspace/tokenizer.json", '"pre_tokenizer"')
    nfkc = json.loads(json.dumps(good))
    nfkc["normalizer"] = {"type": "NFKC"}
    expect_refusal("NFKC normalizer", variant("nfkc", nfkc), src, "nfkc/tokenizer.json", '"normalizer"')
    merge = json.loads(json.dumps(good))
    merge["model"]["merges"].insert(7, ["Ġzzq", "qq"])
    expect_refusal("merge of unknown tokens", variant("merge", merge), src, "merge/tokenizer.json",
                   '"model.merges[7]"')
    bad_lines = os.path.join(tmp, "data.jsonl")
    with open(bad_lines, "w") as f:
        f.write('{"text": "fine"}\n{"text": 5}\n')
    expect_refusal("bad JSONL line", good_dir, bad_lines, "data.jsonl:2", 'field "text": not a string')


def main():
    if not os.access(GRPO, os.X_OK):
        print(f"no grpo binary at {GRPO}")
        return 1
    train_texts = corpus(1, 6000) + SCRIPTS * 20 + EMOJI * 20 + CONTRACTIONS * 20 + CODE * 10
    texts = corpus(2, N_LINES)
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ["llama3", "qwen2", "gpt2"]:
            tok = train(kind, train_texts)
            d = os.path.join(tmp, kind)
            os.makedirs(d)
            tok.save(os.path.join(d, "tokenizer.json"))
            want = compare_encode(kind, d, tok, texts, tmp)
            if want is None:
                continue
            size = tok.get_vocab_size(with_added_tokens=True)
            random_ids = [[rng.randrange(size + 5) for _ in range(rng.randint(0, 12))] for _ in range(1000)]
            compare_decode(kind, d, tok, want + random_ids, tmp)
            # merges as legacy "a b" strings: the same ids as the pairs
            legacy = os.path.join(tmp, kind + "-legacy")
            os.makedirs(legacy)
            legacy_merges(os.path.join(d, "tokenizer.json"), os.path.join(legacy, "tokenizer.json"))
            compare_encode(kind + "-legacy", legacy, Tokenizer.from_file(os.path.join(legacy, "tokenizer.json")),
                           texts[:3000], tmp)
            if kind == "qwen2":
                bad_files(tmp, d, os.path.join(tmp, "qwen2.jsonl"))
        # one of grpo's own checkpoints: the byte-level tokenizer (ids 0..255 are the bytes)
        ours = os.path.join(tmp, "ours.safetensors")
        open(ours, "wb").close()
        src = os.path.join(tmp, "bytes.jsonl")
        write_jsonl(src, [{"text": t} for t in texts[:200] if "<" not in t])
        r = subprocess.run([GRPO, "tokenize", "--model", ours, src], capture_output=True)
        want = [list(t.encode()) for t in texts[:200] if "<" not in t]
        check(r.returncode == 0 and read_field(r.stdout, "ids") == want, "byte-level tokenizer of a .safetensors model")
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    print("all tokenizer parity checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
