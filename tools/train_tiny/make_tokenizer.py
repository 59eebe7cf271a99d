"""Trains the tiny model's byte-level BPE tokenizer (tokenizer.json) on generated document text.

Same pipeline as MiniMax-VL-01's tokenizer (Split regex + ByteLevel, ByteLevel decoder, the
VL-01 special tokens as added tokens after the BPE vocabulary), except that digits are split
one by one (\\p{N} instead of \\p{N}{1,3}) so numbers are read and copied digit by digit.
Deterministic for a given corpus; writes tools/train_tiny/tokenizer/{tokenizer.json,
tokenizer_config.json}.  Run: python3 tools/train_tiny/make_tokenizer.py
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


def main():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(SPECIALS), min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(corpus(int(os.environ.get("TOK_DOCS", "600"))), trainer=trainer)
    assert tok.get_vocab_size() <= VOCAB - len(SPECIALS), tok.get_vocab_size()
    tok.add_special_tokens(SPECIALS)
    out = os.path.join(HERE, "tokenizer")
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(HERE, "..", "..", "assets", "models", "tiny-random", "tokenizer_config.json")) as f:
        cfg = json.load(f)
    cfg["model_max_length"] = 16384
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    ids = {s: tok.token_to_id(s) for s in SPECIALS}
    print(f"vocab {tok.get_vocab_size()} (BPE {ids['<beginning_of_sentence>']}), specials {ids}")


if __name__ == "__main__":
    main()
