#!/usr/bin/env python3
# Makes the tokenizer goldens in tests/golden/tokenizer/: trains small tokenizer.json files with
# different pipelines using Hugging Face `tokenizers`, and records HF's ids and decodes for the
# hand-written corpus (corpus.py). The C++ tokenizer must reproduce them exactly.
# Run from the repo root:  python3 tools/golden/tokenizer/make_tokenizer_goldens.py
import json
import os
import random
import sys

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import CORPUS, ENGLISH, WORDS  # noqa: E402

SEED = 1234
OUT = "tests/golden/tokenizer"

GPT2_REGEX = None  # ByteLevel(use_regex=True) carries the GPT-2 regex itself.
O200K_REGEX = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CL100K_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
MINIMAX_SPECIALS = ["<beginning_of_sentence>", "<end_of_sentence>", "<end_of_document>",
                    "<begin_of_document>", "<function_call>", "<image>"]


def training_text():
    rng = random.Random(SEED)
    lines = list(CORPUS) * 3
    for _ in range(4000):
        n = rng.randint(5, 18)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rng.choice([".", ",", "!", "?", ";", ""]))
    lines += ENGLISH * 20
    return lines


def byte_level_trainer(vocab_size):
    return trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet())


def make_gpt2_style(text):
    # GPT-2 regex inside ByteLevel, with add_prefix_space (RoBERTa-style) and added tokens that
    # exercise normalized / lstrip / rstrip / single_word.
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(text, byte_level_trainer(2000))
    tok.add_tokens([AddedToken("[ADDED]", normalized=False),
                    AddedToken("##hello##", normalized=True),
                    AddedToken("hello_there", single_word=True, normalized=False),
                    AddedToken("[STRIP]", lstrip=True, rstrip=True, normalized=False)])
    tok.add_special_tokens([AddedToken("<tag>", normalized=False)])
    return tok


def make_o200k_style(text):
    # o200k regex as a Split pre-tokenizer, then ByteLevel without its own regex; NFC normalizer;
    # ignore_merges; merges saved in the "a b" string form (patched below).
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(O200K_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(text, byte_level_trainer(2500))
    return tok


def make_minimax_like(text):
    # The tiny default model's tokenizer: byte-level BPE (all 256 byte tokens), a cl100k-style
    # Split regex + ByteLevel, and MiniMax's special tokens appended after the learned vocab.
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CL100K_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(text, byte_level_trainer(3000))
    tok.add_special_tokens([AddedToken(s, normalized=False) for s in MINIMAX_SPECIALS])
    return tok


def make_llama_style(text):
    # SentencePiece-like BPE (not byte-level): Prepend/Replace normalizers, Digits pre-tokenizer,
    # byte_fallback with <0xXX> tokens, decoders Replace+ByteFallback+Fuse+Strip.
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                           normalizers.Replace(" ", "\u2581")])
    tok.pre_tokenizer = pre_tokenizers.Digits(individual_digits=True)
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    # Trained on Latin-script lines only, so CJK, emoji etc. go through byte_fallback. (Not
    # limit_alphabet: its tie-breaking between equally frequent characters is not reproducible.)
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2, show_progress=False,
                                  special_tokens=["<unk>", "<s>", "</s>"])
    tok.train_from_iterator([l for l in text if all(ord(c) < 0x250 for c in l)], trainer)
    # Append the 256 byte tokens so unseen characters fall back to bytes.
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    for b in range(256):
        name = "<0x%02X>" % b
        if name not in vocab:
            vocab[name] = len(vocab)
    return Tokenizer.from_str(json.dumps(data))


def load_chars_style():
    # The next tiny model's tokenizer (tools/train_tiny/make_tokenizer.py --chars): byte-level
    # with no merges at all, one token per byte, the VL-01 specials after them.
    return Tokenizer.from_file("tools/train_tiny/tokenizer_chars/tokenizer.json")


def patch_merges_to_strings(tok):
    data = json.loads(tok.to_str())
    data["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
    return Tokenizer.from_str(json.dumps(data))


def record(tok, name, corpus):
    path = os.path.join(OUT, name + ".json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(tok.to_str(pretty=False))
    tok = Tokenizer.from_file(path)  # record from the saved file, as the C++ side loads it
    out = {"tokenizer": name + ".json", "ids": [], "ids_no_special": [], "decoded": [],
           "decoded_skip_special": []}
    for line in corpus:
        tok.encode_special_tokens = False
        ids = tok.encode(line, add_special_tokens=False).ids
        tok.encode_special_tokens = True
        ids_ns = tok.encode(line, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        out["ids"].append(ids)
        out["ids_no_special"].append(ids_ns)
        out["decoded"].append(tok.decode(ids, skip_special_tokens=False))
        out["decoded_skip_special"].append(tok.decode(ids, skip_special_tokens=True))
    with open(os.path.join(OUT, "expected_" + name + ".json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
    return {"file": name + ".json", "vocab_size": tok.get_vocab_size(with_added_tokens=True)}


def main():
    random.seed(SEED)
    os.makedirs(OUT, exist_ok=True)
    text = training_text()
    with open(os.path.join(OUT, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(CORPUS, f, ensure_ascii=False, indent=0)
    made = [
        record(make_gpt2_style(text), "gpt2_style", CORPUS),
        record(patch_merges_to_strings(make_o200k_style(text)), "o200k_style", CORPUS),
        record(make_minimax_like(text), "minimax_like", CORPUS),
        record(make_llama_style(text), "llama_style", CORPUS),
        record(load_chars_style(), "chars_style", CORPUS),
    ]
    import platform
    manifest = {
        "what": "tokenizer.json files trained with HF tokenizers and HF's ids/decodes for corpus.json",
        "command": "python3 tools/golden/tokenizer/make_tokenizer_goldens.py  (from the repo root)",
        "seed": SEED,
        "versions": {"python": platform.python_version(), "tokenizers": tokenizers.__version__},
        "ids": "Tokenizer.encode(line, add_special_tokens=False).ids",
        "ids_no_special": "same with tokenizer.encode_special_tokens = True (special added tokens as text)",
        "decoded": "Tokenizer.decode(ids, skip_special_tokens=False / True)",
        "corpus_lines": len(CORPUS),
        "tokenizers": made,
    }
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
