#!/usr/bin/env python3
"""Writes a deterministic tokenizer test corpus: one JSON string per line (ASCII-only JSON, so any text —
newlines, tabs, control characters, emoji — survives line-based tools).

    python3 make_tokenizer_corpus.py [--lines N] [--seed S] > corpus.jsonl
    python3 make_tokenizer_corpus.py --random-ids N --vocab-size V > ids.jsonl

The second form writes N random id sequences (JSON arrays) for decoder comparisons: runs of byte-fallback
tokens that form valid and invalid UTF-8, special and whitespace tokens, and ids from the whole vocabulary.

The corpus mixes hand-written samples (many scripts and languages, emoji, code, whitespace runs, digits,
Gemma special-token strings, unusual Unicode) with seeded random combinations of them and random code points.
Every line is valid Unicode (no lone surrogates), so decode(encode(x)) == x is expected (with "▁" read as a
space, the one character Gemma's tokenizer cannot give back).
"""
import argparse
import json
import random
import sys

HAND_WRITTEN = [
    # English and punctuation
    "Hello world",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "the quick brown fox",
    "I'm sure it's fine — isn't it? \"Quoted\" and 'single' (parens) [brackets] {braces}.",
    "e-mail: someone@example.com, URL: https://example.org/path?q=1&x=%20#frag",
    "Mr. O'Neil paid $1,234.56 on 2024-03-15 at 10:45pm (UTC+02:00).",
    "ALL CAPS SENTENCE WITH NUMBERS 123 AND SYMBOLS !@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_CASE",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    # Other languages
    "Le cœur a ses raisons que la raison ne connaît point.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein. Straße, Größe, Fußgänger.",
    "¿Dónde está la biblioteca? ¡Qué sorpresa! El niño comió piña.",
    "Não há nada como o lar. Ação, coração, pão.",
    "Zażółć gęślą jaźń. Łódź, Kraków, Gdańsk.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Türkçe: İstanbul'da ığdır, şeker, çay, ölçü.",
    "Tiếng Việt có dấu: Hà Nội, Thành phố Hồ Chí Minh, người Việt.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Γαζέες καὶ μυρτιὲς δὲν θὰ βρῶ πιὰ στὸ χρυσαφὶ ξέφωτο.",
    "我能吞下玻璃而不伤身体。北京是中国的首都。",
    "日本語のテキスト：東京は日本の首都です。ひらがな、カタカナ、漢字。",
    "한국어 텍스트: 서울은 대한민국의 수도입니다. 안녕하세요!",
    "العربية: مرحبا بالعالم. القاهرة عاصمة مصر.",
    "עברית: שלום עולם. ירושלים.",
    "हिन्दी: नमस्ते दुनिया। भारत की राजधानी नई दिल्ली है।",
    "বাংলা: আমি বাংলায় গান গাই।",
    "தமிழ்: வணக்கம் உலகம்.",
    "ไทย: สวัสดีชาวโลก กรุงเทพมหานคร",
    "ქართული: გამარჯობა მსოფლიო.",
    "Հայերեն: Բարեւ աշխարհ.",
    "አማርኛ: ሰላም ልዑል።",
    "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
    "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ",
    "Ελληνικά and English mixed with Русский и 中文 und Deutsch.",
    # Emoji
    "😀😃😄😁😆😅😂🤣",
    "Family: 👨‍👩‍👧‍👦, skin tones: 👍🏻👍🏼👍🏽👍🏾👍🏿, flags: 🇯🇵🇺🇸🇫🇷🇩🇪",
    "Hearts ❤️ 🧡 💛 💚 💙 💜 🖤 🤍 and ☺️ ✌️ ⚠️",
    "🏳️‍🌈 🏴‍☠️ 🧑‍🚀 👩🏽‍💻 🫠 🫶🏾",
    "emoji🙂inside🙂words and 🙂 spaced 🙂",
    # Code
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}",
    "#include <iostream>\nint main() { std::cout << \"hi\\n\"; return 0; }",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "<html><body><div class=\"x\"><span>text</span></div></body></html>",
    "<table><tr><td>1</td><td>2</td></tr></table>",
    "SELECT name, COUNT(*) FROM users WHERE age > 21 GROUP BY name ORDER BY 2 DESC;",
    "regex: ^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@[a-z]+\\.[a-z]{2,}$",
    "const add = (a, b) => a + b; console.log(`sum=${add(1, 2)}`);",
    "    indented with four spaces\n        and eight\n\tand a tab",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "$ ls -la | grep '^d' | awk '{print $9}' > dirs.txt 2>&1",
    # Whitespace
    " leading space",
    "trailing space ",
    "  two leading spaces",
    "double  space  between",
    "many          spaces",
    " ",
    "  ",
    "                                        ",
    "\t",
    "\t\t\ttabs\t\t",
    "\n",
    "\n\n",
    "\n\n\n\n\n",
    "line one\nline two\n\nline four",
    "windows\r\nline\r\nendings",
    "old mac\rline",
    " \t \n \r\n mixed \n\t whitespace \t\n",
    "\u3000ideographic\u3000space",
    "no\u00a0break\u00a0space",
    "thin\u2009space and en\u2002space and em\u2003space",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "",
    # Digits and numbers
    "0",
    "1234567890",
    "3.14159265358979323846264338327950288419716939937510",
    "-42 +17 1e10 6.022e23 0x1F 0b1010 0o777",
    "Phone: +1 (555) 123-4567, ISBN 978-3-16-148410-0",
    "１２３４５ full-width digits and ٠١٢٣٤٥٦٧٨٩ Arabic-Indic and ०१२३ Devanagari",
    "Year 1999, 2000, 2024; version v1.2.3-rc.4+build.5",
    # Special-token strings (Gemma 3 vocabulary) and look-alikes
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos><eos><pad><unk><mask>",
    "<bos>Hello<eos>",
    "text<start_of_turn>glued<end_of_turn>text",
    "<start_of_image><image_soft_token><end_of_image>",
    "[multimodal] <unused0> <unused99> <unused6241>",
    "<start_of_tur <end_of_turn <bos <eos> > < > <<bos>> <<<eos>>>",
    "<|turn>user\nhi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>",
    "<|image|> <|audio|> <|video|> <|think|> <|tool_call> <tool_call|> <|\"|>",
    "<h1>Title</h1><strong>bold</strong><em>em</em><code>x</code>",
    "<s>not a special</s> <blockquote>quote</blockquote>",
    # Unusual Unicode
    "e\u0301 (e + combining acute) vs é (precomposed)",
    "Z\u0351\u0358\u0334a\u0316\u0356\u0351l\u0334g\u0335o\u0338 text",
    "\ufeffbyte order mark at start",
    "replacement char \ufffd and specials \ufff9\ufffa\ufffb",
    "noncharacters \ufdd0 \ufdef \ufffe \uffff \U0001fffe \U0010ffff",
    "private use \ue000\uf8ff \U000f0000 \U00100000",
    "control chars \x00 \x01 \x07 \x08 \x0b \x0c \x1b \x1f \x7f",
    "C1 controls \x80 \x85 \x9f and soft hyphen \xad",
    "bidi: \u202eRTL override\u202c \u200fRLM\u200e LRM \u2066isolate\u2069",
    "math: 𝐀𝐁𝐂 𝔸𝔹ℂ 𝒜ℬ𝒞 ∀x∈ℝ: x²≥0, ∑ᵢ₌₁ⁿ i = n(n+1)/2, √2 ≈ 1.414, ∞",
    "CJK extension B: 𠀀𠀁𠀂 𪚥 and variation selector 葛\U000e0100",
    "tags \U000e0067\U000e0062 and 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "ligatures ﬁ ﬂ ﬀ and compatibility ㎞ ㍿ Ⅻ ½ ™",
    "Hangul jamo 각 vs 각, fullwidth ＡＢＣ ｱｲｳ",
    "line separator\u2028and paragraph separator\u2029end",
    "lowline ▁ metaspace ▁▁ in text",
    "unassigned \u0378 \u2fe0 \U0003ffff \U000e01f0",
    "surrogate-adjacent \ud7ff \ue000",
    "a" * 300,
    "ab" * 200,
    "🙂" * 100,
    "\n" * 40,
    " " * 70,
    "\t" * 40,
    "<bos>" * 20,
]

WORDS = {
    "en": "the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part".split(),
    "fr": "le de un être et à il avoir ne je son que se qui ce dans en du elle au pour pas que vous par sur faire plus dire me on mon lui nous comme mais pouvoir avec tout y aller voir en bien où sans tu ou leur homme si deux mari moi vouloir te femme venir quand grand celui notre devoir là jour prendre même votre rien petit encore aussi quelque dont tout mer trouver donner temps ça peu même falloir sous parler alors main chose".split(),
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei prozent hatte kann gegen vom können schon wenn habe seine mark ihre dann unter wir soll ich eines jahr zwei jahren diese dieser wieder keine seiner worden und will zwischen immer millionen was".split(),
    "es": "de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o este sí porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos durante todos uno les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo otro otras otra él tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas algo nosotros".split(),
    "ru": "и в не он на я что тот быть с а весь это как она по но они к у ты из мы за вы так же от сказать этот который мочь человек о один еще бы такой только себя свое какой когда уже для вот кто да говорить год знать мой до или если время рука нет самый ни стать большой даже другой наш свой ну под где дело есть сам раз чтобы два там чем глаз жизнь первый день".split(),
    "zh": "的 一 是 不 了 在 人 有 我 他 这 个 们 中 来 上 大 为 和 国 地 到 以 说 时 要 就 出 会 可 也 你 对 生 能 而 子 那 得 于 着 下 自 之 年 过 发 后 作 里 用 道 行 所 然 家 种 事 成 方 多 经 么 去 法 学 如 都 同 现 当 没 动 面 起 看 定 天 分 还 进 好 小 部 其 些 主 样 理 心 她 本 前 开 但 因 只 从 想 实".split(),
    "ja": "の に は を た が で て と し れ さ ある いる も する から な こと として い や れる など なっ ない この ため その あっ よう また もの という あり まで られ なる へ か だ これ によって により おり より による ず なり られる において ば なかっ なく しかし について せ だっ その後 できる それ う ので なお のみ でき き つ における および いう さらに でも ら たり その他 に関する たち ます ん なら".split(),
    "ko": "이 그 저 것 수 등 들 및 에서 으로 하는 있는 있다 한다 되는 된다 하고 것이 같은 위해 대한 그리고 또는 이런 그런 사람 시간 오늘 내일 학교 회사 나라 세계 한국 서울 문제 경우 생각 정도 사회 때문 이후 다음 가장 모든 우리 자신 새로운 다른 많은 함께".split(),
    "ar": "في من على إلى أن عن مع هذا هذه التي الذي كان لا ما هو هي كل بين بعد قد أو ذلك عند لم إذا حتى منذ غير أي كما ثم وقد وهو فيه به له عليه يكون تكون الله العالم اليوم".split(),
    "hi": "के है में की और से को का एक पर यह भी है। था कि जो कर हैं लिए नहीं तो ही या इस होता ने साथ वह अपने कुछ किया गया हो सकता बहुत दिया जाता भारत सरकार".split(),
    "th": "ที่ และ ของ ใน เป็น การ มี ได้ ไม่ ให้ จะ กับ ว่า แต่ นี้ คน ไป มา อยู่ ความ ก็ เรา เขา ทำ ด้วย".split(),
    "el": "και το η του της να ο σε με για που τα την είναι από των θα στο δεν τη ένα οι στην μια τον".split(),
    "he": "של את על לא הוא זה עם כל גם היא אני אם או מה יש היה כי אבל רק אחד".split(),
    "code": "def class return import from if else elif for while try except finally with as lambda yield int char void static const auto struct template typename std::vector std::string nullptr true false None self this -> => :: == != <= >= && || ++ -- += -= /* */ // # {} [] () ; , .".split(),
}

EMOJI = ["😀", "😂", "🥲", "😍", "🤔", "🙃", "🔥", "✨", "🎉", "🚀", "🌍", "🍕", "🐍", "🦀", "⚡", "💡", "📈",
         "👍", "👍🏽", "👋🏿", "❤️", "🇺🇳", "🇧🇷", "👨‍💻", "👩‍🔬", "🧑‍🤝‍🧑", "🏳️‍⚧️", "🐈‍⬛", "☕", "✅", "❌", "⭐",
         "1️⃣", "#️⃣", "©️", "™️", "🅰️", "🆗", "🈯", "🀄", "🃏", "🧬", "🪐", "🫡"]

SPECIAL_STRINGS = ["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>",
                   "<start_of_image>", "<end_of_image>", "<image_soft_token>", "[multimodal]", "<unused0>",
                   "<unused17>", "<unused6241>", "<table>", "</td>", "<h1>", "<code>", "</code>", "<b>", "<s>",
                   "<|turn>", "<turn|>", "<|channel>", "<|image|>", "<|\"|>", "\n", "\n\n", "\t", "\t\t",
                   "<start_of_tu", "rn>", "<", ">", "<<", ">>", "<0x41>", "<0x0A>", "▁", "▁▁", "user", "model"]

WHITESPACE = [" ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r", " \n", "\n ", " \t",
              "\u3000", "\u00a0", "\u2009", "\u200b", "\u2028", "\x0b", "\x0c", "\x85"]

# Code point ranges for random "soup": (start, end inclusive, weight).
RANGES = [
    (0x20, 0x7E, 30), (0x00, 0x1F, 2), (0x7F, 0xFF, 4), (0x100, 0x24F, 4), (0x250, 0x2FF, 1),
    (0x300, 0x36F, 2), (0x370, 0x3FF, 3), (0x400, 0x4FF, 4), (0x530, 0x58F, 1), (0x590, 0x5FF, 2),
    (0x600, 0x6FF, 3), (0x900, 0x97F, 3), (0x980, 0x9FF, 1), (0xB80, 0xBFF, 1), (0xE00, 0xE7F, 2),
    (0x10A0, 0x10FF, 1), (0x1100, 0x11FF, 1), (0x1200, 0x137F, 1), (0x13A0, 0x13FF, 1), (0x1E00, 0x1EFF, 2),
    (0x2000, 0x206F, 2), (0x2070, 0x209F, 1), (0x20A0, 0x20CF, 1), (0x2100, 0x214F, 1), (0x2190, 0x22FF, 2),
    (0x2500, 0x25FF, 1), (0x2600, 0x27BF, 2), (0x3000, 0x303F, 1), (0x3040, 0x30FF, 4), (0x3400, 0x4DBF, 1),
    (0x4E00, 0x9FFF, 8), (0xAC00, 0xD7A3, 4), (0xE000, 0xF8FF, 1), (0xF900, 0xFAFF, 1), (0xFB00, 0xFB4F, 1),
    (0xFE00, 0xFE0F, 1), (0xFE30, 0xFE4F, 1), (0xFF00, 0xFFEF, 2), (0xFFF0, 0xFFFF, 1), (0x10000, 0x1007F, 1),
    (0x1D400, 0x1D7FF, 1), (0x1F300, 0x1FAFF, 6), (0x20000, 0x2A6DF, 1), (0x2F800, 0x2FA1F, 1),
    (0x30000, 0x3134F, 1), (0xE0000, 0xE007F, 1), (0xE0100, 0xE01EF, 1), (0xF0000, 0xFFFFD, 1),
    (0x100000, 0x10FFFF, 1),
]


def random_char(rng):
    start, end, _ = rng.choices(RANGES, weights=[w for _, _, w in RANGES])[0]
    cp = rng.randint(start, end)
    if 0xD800 <= cp <= 0xDFFF:  # never a lone surrogate
        cp = 0xFFFD
    return chr(cp)


def sentence(rng, lang=None):
    lang = lang or rng.choice(sorted(WORDS))
    words = WORDS[lang]
    n = rng.randint(1, 14)
    sep = "" if lang in ("zh", "ja") and rng.random() < 0.7 else " "
    out = sep.join(rng.choice(words) for _ in range(n))
    if rng.random() < 0.5:
        out = out[:1].upper() + out[1:]
    if rng.random() < 0.6:
        out += rng.choice([".", "!", "?", "。", "…", ",", ";", ":", "", "!!", "?!", "…\n"])
    return out


def whitespace_mix(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        parts.append(rng.choice(WHITESPACE) * rng.randint(1, 3))
        if rng.random() < 0.7:
            parts.append(rng.choice(WORDS[rng.choice(sorted(WORDS))]))
    return "".join(parts)


def special_mix(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.45:
            parts.append(rng.choice(SPECIAL_STRINGS))
        elif r < 0.8:
            parts.append(sentence(rng))
        else:
            parts.append(rng.choice(WHITESPACE))
    return "".join(parts)


def number(rng):
    kind = rng.randint(0, 6)
    if kind == 0:
        return str(rng.randint(0, 10 ** rng.randint(1, 30)))
    if kind == 1:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 12)}f}"
    if kind == 2:
        return f"{rng.uniform(0, 1):.3e}"
    if kind == 3:
        return ",".join(str(rng.randint(0, 999)).zfill(3) for _ in range(rng.randint(2, 6)))
    if kind == 4:
        return " ".join(str(rng.randint(0, 99)) for _ in range(rng.randint(2, 20)))
    if kind == 5:
        return f"{rng.randint(1900, 2099)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    return hex(rng.getrandbits(rng.randint(4, 128)))


def code_line(rng):
    snippets = [s for s in HAND_WRITTEN if any(k in s for k in ("def ", "for (", "#include", "SELECT", "=>", "fn ", "{\""))]
    s = rng.choice(snippets)
    ident = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(1, 12)))
    return s.replace("x", ident, 1) if rng.random() < 0.5 else " ".join(rng.choice(WORDS["code"]) for _ in range(rng.randint(3, 25)))


def emoji_line(rng):
    parts = []
    for _ in range(rng.randint(1, 10)):
        parts.append(rng.choice(EMOJI))
        if rng.random() < 0.4:
            parts.append(rng.choice([" ", "", "\n", sentence(rng)]))
    return "".join(parts)


def soup(rng):
    return "".join(random_char(rng) for _ in range(rng.randint(1, 60)))


def random_ids(rng, n, vocab_size):
    """Id sequences for decode comparisons (Gemma 2/3/4 layout: bytes <0x00>..<0xFF> at 238..493)."""
    byte0 = 238
    lines = []
    for _ in range(n):
        ids = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.3:  # bytes of a valid character, possibly cut short
                encoded = random_char(rng).encode("utf-8")
                if rng.random() < 0.3:
                    encoded = encoded[: rng.randint(1, len(encoded))]
                ids.extend(byte0 + b for b in encoded)
            elif r < 0.4:  # arbitrary bytes
                ids.extend(byte0 + rng.randint(0, 255) for _ in range(rng.randint(1, 4)))
            elif r < 0.5:
                ids.append(rng.choice([0, 1, 2, 3, 4, 5, 105, 106, 107, 108, 138, 139, 168, 255968, 255999]))
            else:
                ids.append(rng.randrange(vocab_size))
        lines.append(ids)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=20260402)
    parser.add_argument("--random-ids", type=int, default=0, metavar="N")
    parser.add_argument("--vocab-size", type=int, default=262144)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.random_ids:
        for ids in random_ids(rng, args.random_ids, args.vocab_size):
            sys.stdout.write(json.dumps(ids) + "\n")
        return

    lines = list(HAND_WRITTEN)
    generators = [(sentence, 24), (whitespace_mix, 14), (special_mix, 14), (number, 8), (code_line, 8),
                  (emoji_line, 8), (soup, 16)]
    funcs = [g for g, _ in generators]
    weights = [w for _, w in generators]
    long_lines = 12
    while len(lines) < args.lines - long_lines:
        r = rng.random()
        if r < 0.12 and len(lines) > 10:  # glue two earlier lines with some whitespace or a special string
            a, b = rng.choice(lines), rng.choice(lines)
            lines.append(a + rng.choice(WHITESPACE + SPECIAL_STRINGS + [""]) + b)
        else:
            lines.append(rng.choices(funcs, weights=weights)[0](rng))
    for _ in range(long_lines):  # a few long lines (thousands of characters, one BPE word each)
        parts = []
        while sum(len(p) for p in parts) < rng.randint(2000, 6000):
            parts.append(rng.choices(funcs, weights=weights)[0](rng))
            parts.append(rng.choice(WHITESPACE))
        lines.append("".join(parts))

    out = sys.stdout
    for line in lines:
        out.write(json.dumps(line, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
