"""Trains the tiny model's byte-level BPE tokenizer (tokenizer.json) on generated document text.

Same pipeline as MiniMax-VL-01's tokenizer (Split regex + ByteLevel, ByteLevel decoder, the
VL-01 special tokens as added tokens after the BPE vocabulary), except that digits are split
one by one (\\p{N} instead of \\p{N}{1,3}) so numbers are read and copied digit by digit.
Deterministic for a given corpus; writes tools/train_tiny/tokenizer/{tokenizer.json,
tokenizer_config.json}.  Run: python3 tools/train_tiny/make_tokenizer.py

--chars writes tools/train_tiny/tokenizer_chars/ instead: the same pipeline with no merges at all,
so every character is its own token (the 256 byte-level pieces + the 6 specials). Why (session
10): with the BPE vocabulary, names, vendors and item names are single tokens ('Felix',
'ĠBerg', 'ĠBistro'), so a tiny model must recognise each word as a whole picture and spell
nothing; the tiny-docs model reads digit strings (one token per digit) and fails on words, even
on the training fonts (README "Session 10").
"""
from __future__ import annotations

import json
import os
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "docgen"))
import docgen  # noqa: E402
from chat import DOCVQA_SUFFIX, SYSTEM_PROMPT  # noqa: E402

SPECIALS = ["<beginning_of_sentence>", "<end_of_sentence>", "<end_of_document>", "<begin_of_document>",
            "<function_call>", "<image>"]
VOCAB = 2048  # BPE pieces + the 6 specials; config vocab_size is this
SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
         r"\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus(n_docs: int):
    fixed = [SYSTEM_PROMPT, DOCVQA_SUFFIX, "system ai_setting=assistant\n", "user name=user\n",
             "ai name=assistant\n", docgen.OCR_QUESTION, "Hello! How can I help you today?",
             "The quick brown fox jumps over the lazy dog. 0123456789 $%&()*+,-./:;<=>?@#"]
    for _ in range(20):
        yield from fixed
    for s in range(n_docs):
        doc = docgen.sample_doc(700000 + s, "train")
        yield doc.transcript
        for qa in doc.qas:
            yield qa.question + DOCVQA_SUFFIX
            yield qa.answers[0]


def write(tok, out):
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(HERE, "..", "..", "assets", "models", "tiny-random", "tokenizer_config.json")) as f:
        cfg = json.load(f)
    cfg["model_max_length"] = 16384
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    ids = {s: tok.token_to_id(s) for s in SPECIALS}
    print(f"{out}: vocab {tok.get_vocab_size()} (BPE {ids['<beginning_of_sentence>']}), specials {ids}")


def pipeline(tok):
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    return tok


def chars():
    """One token per byte-level character, ids in byte order (GPT-2's bytes_to_unicode)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    piece = {b: chr(c) for b, c in zip(bs, cs)}
    assert sorted(piece.values()) == sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = pipeline(Tokenizer(models.BPE(vocab={piece[b]: b for b in range(256)}, merges=[])))
    tok.add_special_tokens(SPECIALS)
    write(tok, os.path.join(HERE, "tokenizer_chars"))


def main():
    if "--chars" in sys.argv[1:]:
        return chars()
    tok = Tokenizer(models.BPE())
    pipeline(tok)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(SPECIALS), min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(corpus(int(os.environ.get("TOK_DOCS", "600"))), trainer=trainer)
    assert tok.get_vocab_size() <= VOCAB - len(SPECIALS), tok.get_vocab_size()
    tok.add_special_tokens(SPECIALS)
    write(tok, os.path.join(HERE, "tokenizer"))


if __name__ == "__main__":
    main()
