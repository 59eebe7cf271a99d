# The tokenizer golden corpus: hand-written lines that stress every part of a byte-level BPE
# pipeline (scripts, emoji, code, numbers, whitespace runs, combining marks, long words,
# special-token strings). make_tokenizer_goldens.py dumps it to tests/golden/tokenizer/corpus.json.
# Lines may contain \n, \t and \r: the C++ golden test reads the JSON, not a text file.

ENGLISH = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged, that a single man in possession of a good fortune must be in want of a wife.",
    "I'm sure you'll agree we've done it; they'd say THEY'RE RIGHT and I'LL go, she's here, he'd've gone.",
    "Don't stop believing; WON'T you stay? We'RE fine. You'Ve got mail.",
    "The model runs lightning attention in 70 of its 80 layers, and softmax attention in the other 10.",
    "Mr. O'Neil paid $1,234,567.89 on 2024-03-15 at 10:45 p.m. (about 3.5% more than planned).",
    "E-mail me at someone@example.com or visit https://example.org/path?query=1&b=2#frag.",
    "  leading spaces and trailing spaces   ",
    "multiple     spaces\tand\ttabs\t\tand a tab at the end\t",
    "line one\nline two\n\nline four after a blank line\n",
    "windows line endings\r\nsecond line\r\n",
    "\n\n\n",
    "   ",
    "\t",
    "a",
    "",
    "UPPERCASE WORDS AND lowercase words AND MiXeD CaSe WoRdS",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "thequickbrownfoxjumpsoverthelazydogthequickbrownfoxjumpsoverthelazydogthequickbrownfoxjumpsoverthelazydog",
    "!!!???...,,,;;;:::---___+++===***&&&^^^%%%$$$###@@@~~~```|||\\\\\\///",
    "\"quoted\" 'single' `back` (paren) [bracket] {brace} <angle>",
    "She said: \"I can't believe it's not butter!\" and left.",
    "Numbers: 0 1 12 123 1234 12345 123456 1234567 3.14159 -42 +7 1e-10 0x1F 0b1010 1_000_000",
    "Phone: +1 (555) 010-9999, ext. 42; ISBN 978-3-16-148410-0",
    "Room 101, floor 7, 2nd street, 3rd avenue, the 21st century, 1990s music",
]

CODE = [
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v.size() == 3 ? 0 : 1;\n}",
    "const x = await fetch(`/api/${id}`).then(r => r.json()); // TODO: handle errors",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name ORDER BY 2 DESC;",
    "if x != None and y <= 3:\n        print(f\"{x!r} -> {y:>08.3f}\")",
    "<html><body><p class=\"note\">Hi &amp; bye</p></body></html>",
    "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}",
    "$ ls -la /usr/local/bin | grep -E '^-rwx' > out.txt 2>&1",
    "    indented with four spaces\n        and eight\n\t\tand two tabs",
]

CJK_AND_OTHERS = [
    "你好，世界！今天天气很好。",
    "中华人民共和国成立于一九四九年。机器学习和深度学习是人工智能的重要分支。",
    "我爱北京天安门，天安门上太阳升。",
    "日本語のテキストです。ひらがな、カタカナ、漢字が混ざっています。",
    "東京は日本の首都です。今日は2024年3月15日（金）です。",
    "한국어 문장입니다. 안녕하세요, 만나서 반갑습니다!",
    "서울특별시는 대한민국의 수도이다.",
    "مرحبا بالعالم! هذه جملة باللغة العربية.",
    "اللغة العربية تكتب من اليمين إلى اليسار، والأرقام ١٢٣٤٥٦٧٨٩٠ كذلك.",
    "Привет, мир! Это предложение на русском языке.",
    "Γειά σου Κόσμε! Αλφάβητο: αβγδεζηθικλμνξοπρστυφχψω",
    "שלום עולם, זה משפט בעברית.",
    "नमस्ते दुनिया! यह हिंदी में एक वाक्य है।",
    "สวัสดีชาวโลก ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "Tiếng Việt có nhiều dấu: ả ã ạ ắ ằ ẳ ẵ ặ ấ ầ ẩ ẫ ậ",
    "Mixed: English 中文 日本語 한국어 العربية in one line.",
    "全角スペース　と　全角数字１２３ と半角123",
]

EMOJI = [
    "I love pizza 🍕🍕🍕 and tacos 🌮!",
    "Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍👨 technologist: 👩🏽‍💻",
    "Flags: 🇫🇷🇯🇵🇺🇸 🏳️‍🌈 🏴‍☠️",
    "Skin tones: 👍🏻👍🏼👍🏽👍🏾👍🏿 and keycaps 1️⃣ #️⃣",
    "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘",
    "Weather ☀️☁️🌧️⛈️❄️ and hearts ❤️🧡💛💚💙💜",
]

UNUSUAL = [
    "Combining: e\u0301 a\u0300 o\u0308 n\u0303 (decomposed) vs é à ö ñ (precomposed)",
    "Zalgo: Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034da\u036b\u0357\u0364\u035f",
    "Ligatures and compat: ﬁ ﬂ ﬀ ① ② ℌ ℍ ™ ㎏ ㍻ Ⅻ ½ ² ³",
    "Zero width: a\u200bb\u200cc\u200dd\ufeffe and soft\u00adhyphen",
    "Spaces: a\u00a0b\u2002c\u2003d\u2009e\u3000f\u202fg\u205fh",
    "Other whitespace: a\u000bb\u000cc\u0085d\u2028e\u2029f",
    "Control chars: \u0001\u0002\u001b[31mred\u001b[0m\u007f",
    "Math: ∀x∈ℝ, ∃y: x² + y² ≤ 1 ⇒ |x| ≤ 1; ∑ᵢ aᵢ = ∫₀¹ f(t) dt ≈ π",
    "Currency: € £ ¥ ₹ ₩ ₿ ¢ and arrows ← ↑ → ↓ ↔",
    "Box: ┌─┬─┐ │ │ │ └─┴─┘ █▓▒░",
    "Private use and rare: \ue000\uf8ff 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕳𝖊𝖑𝖑𝖔 𐍈 𓀀 𠀀𠀁",
    "Apostrophes: it’s don’t ‘quoted’ “double” „low“ «guillemets» ‹single›",
    "Dashes: a–b a—b a‐b a−b … · • ※",
    "İstanbul ß ẞ ǅ ǈ Σίσυφος ΣΊΣΥΦΟΣ",
    "x" * 300,
    "ab" * 150 + " " + "的" * 120,
    " " * 40 + "deep indent",
    "\t" * 12 + "tabs then text",
    "\n" * 10 + "after newlines",
    "end with spaces and newline   \n",
    "mixed ws \t \n \r\n \u00a0 \t\t  \n\n  x",
]

SPECIAL_TOKEN_LINES = [
    "<beginning_of_sentence>system ai_setting=assistant\nYou are a helpful assistant.<end_of_sentence>\n",
    "<beginning_of_sentence>user name=user\n<image>Describe this image.<end_of_sentence>\n<beginning_of_sentence>ai name=assistant\n",
    "<image><image><image>three images in a row",
    "text<end_of_sentence>more text<end_of_document>",
    "<begin_of_document><beginning_of_sentence>hi<end_of_sentence>",
    "a<function_call>```typescript\nfunctions.get_weather({\"city\": \"Paris\"})\n```",
    "broken <image tokens <ima ge> and <image >",
    "spaces around  <image>  the token",
    "<<image>> and <end_of_sentence<end_of_sentence>>",
    "added tokens: [ADDED] x[ADDED]y [ADDED]  and ##hello## ##hello##world and <tag>",
    "single word: hello_there hello_there! xhello_there hello_therex",
    "strip:   [STRIP]   both sides [STRIP]end",
]

CORPUS = ENGLISH + CODE + CJK_AND_OTHERS + EMOJI + UNUSUAL + SPECIAL_TOKEN_LINES

# English sentences for the speed benchmark and for training: built from the English lines
# above and a seeded word list so the training data is reproducible without any download.
WORDS = (
    "the of and to in a is that for it as was with be by on not he i this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no will "
    "more can who said about out up some into them time only other new could its also than then "
    "first two like these any may after most over did very where just made through long before "
    "people between many being under while must should because each such those well years state "
    "language model attention token image vision layer expert weight matrix vector sequence cache "
    "decode prefill tensor kernel memory thread runtime engine prompt answer question document "
    "network training inference parameter gradient softmax lightning router projector encoder "
    "during around without against another however several important number system world great "
    "small large right left under within again never always often something nothing everything"
).split()


def fuzz_lines(seed, count=200):
    """Seeded random mixtures of the tricky pieces above (contractions in any case, digit runs,
    whitespace of every kind, combining marks, emoji parts, special-token strings)."""
    import random
    rng = random.Random(seed)
    pieces = ["a", "Z", "hello", "World", "'s", "'S", "'ll", "'LL", "'Re", "'ve", "'d", "'m", "'t",
              "0", "7", "42", "123", "4567", "3.14", "١٢٣", "²", "½", " ", "  ", "\t", "\n", "\r\n",
              "\u00a0", "\u0085", "\u2028", "\u3000", "\u200b", "!", "?!", "...", "/", "//", "-", "_",
              "(", ")", "\"", "'", "`", "é", "e\u0301", "\u0301", "ß", "İ", "ǅ", "中", "文字", "カタ",
              "한", "ع", "ب", "😀", "👩\u200d💻", "🇫🇷", "\ufe0f", "\U0001d518", "<image>",
              "<end_of_sentence>", "<begin", "_of_document>", "[ADDED]", "##hello##", "hello_there",
              "[STRIP]", "<tag>", "\u2581", "<0x41>", "x" * 40]
    out = []
    for _ in range(count):
        n = rng.randint(1, 30)
        out.append("".join(rng.choice(pieces) for _ in range(n)))
    return out


CORPUS = CORPUS + fuzz_lines(20261122)
