"""The MiniMax-VL-01 chat format as the C++ runtime encodes it (llm/chat, app/engine/loading/checkpoint.cpp):
template parts are encoded with special tokens on, user text as plain text, each message alone.
A conversation is encoded to ids with ONE <image> id; expand_image() widens it to N slots.
"""
from __future__ import annotations

SYSTEM_PROMPT = "You are a helpful assistant created by MiniMax based on MiniMax-VL-01 model."
DOCVQA_SUFFIX = "\nAnswer the question using a single word or phrase."  # app/eval/prompts.h
BOS, EOS, IMAGE = "<beginning_of_sentence>", "<end_of_sentence>", "<image>"


class ChatEncoder:
    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.eos = tokenizer.token_to_id(EOS)
        self.image = tokenizer.token_to_id(IMAGE)

    def _t(self, s):  # template text: specials on
        return self.tok.encode(s, add_special_tokens=False).ids

    def _u(self, s):  # user / assistant text (never contains specials here)
        return self.tok.encode(s, add_special_tokens=False).ids

    def encode(self, turns, system=SYSTEM_PROMPT):
        """turns: [(question, answer or None)], the image in the first user message.
        Returns (ids, labels): labels are -100 except answer tokens and their EOS."""
        ids, labels = [], []

        def add(x, learn=False):
            ids.extend(x)
            labels.extend(x if learn else [-100] * len(x))

        if system:
            add(self._t(BOS + "system ai_setting=assistant\n"))
            add(self._u(system))
            add(self._t(EOS + "\n"))
        for k, (q, a) in enumerate(turns):
            add(self._t(BOS + "user name=user\n"))
            if k == 0:
                add([self.image])
            add(self._u(q))
            add(self._t(EOS + "\n" + BOS + "ai name=assistant\n"))
            if a is None:
                break
            add(self._u(a), learn=True)
            add([self.eos], learn=True)
            add(self._t("\n"))
        return ids, labels


def expand_image(ids, labels, image_id, n):
    """Replaces the single image id by n copies (the packed feature count)."""
    k = ids.index(image_id)
    return ids[:k] + [image_id] * n + ids[k + 1:], labels[:k] + [-100] * n + labels[k + 1:], k
