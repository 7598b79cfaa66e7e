#!/usr/bin/env python3
"""Writes multilingual.txt, the committed tokenizer test text (run once; its bytes are the contract).

Kept as a script because the text deliberately ends with invalid UTF-8, which editors would "repair".
"""
import pathlib

PARTS = [
    # Legal English with section signs, smart quotes, dashes, ellipsis.
    "§ 1. Definitions. In this Agreement, “Confidential Information” means any information disclosed "
    "by either party (the ‘Discloser’) — whether oral, written, or electronic — that is marked "
    "“confidential”… See §§ 4.2(a)–(c) and Art. 7 ¶ 3; cf. 17 U.S.C. § 107 (fair use).\n"
    "The Licensee shan't sublicense; it's agreed they'll comply & we've noted it. NOT LEGAL ADVICE™.\n",
    # German and French.
    "Die Vertragsparteien verpflichten sich, Straßenverkehrsordnung-konforme Maßnahmen zu ergreifen; "
    "Übergangsfrist: 30 Tage. Größenänderungen sind zulässig.\n"
    "L'acheteur s'engage à payer le prix convenu, c'est-à-dire 1 250,00 € TTC, à la livraison — "
    "«sans délai». Où est l'hôpital ? Ça coûte cher, n'est-ce pas ?\n",
    # Chinese, Japanese, Korean.
    "本协议受中华人民共和国法律管辖。双方应友好协商解决争议；协商不成的，提交仲裁委员会仲裁。\n"
    "この契約は日本法に準拠します。カタカナとひらがなと漢字が混ざった文章、ｶﾀｶﾅ（半角）も含む。\n"
    "대한민국 법률에 따른다. 한국어 문장도 포함합니다.\n",
    # Arabic and Hebrew (right to left), Russian, Greek, Hindi.
    "تخضع هذه الاتفاقية لقوانين دولة الإمارات العربية المتحدة، والأرقام ١٢٣٤٥ مكتوبة بالعربية.\n"
    "הסכם זה כפוף לחוקי מדינת ישראל.\n"
    "Настоящий договор вступает в силу с 1 января 2025 г. Ελληνικά: Σύμβαση. हिन्दी में अनुबंध।\n",
    # Emoji, flags, skin tones and ZWJ sequences.
    "Emoji: 😀 👍🏽 🇩🇪🇫🇷 👨‍👩‍👧‍👦 🏳️‍🌈 👩🏾‍💻 ❤️‍🔥 1️⃣ ✔︎ 🧑‍⚖️\n",
    # Source code.
    "```cpp\n#include <vector>\nint main(int argc, char** argv) {\n    std::vector<int> v{1, 2, 3};\n"
    "    for (auto& x : v) { x *= 2; }  // doubled\n\treturn v.size() > 2 ? 0 : 1;\n}\n```\n"
    "def f(x):\n    return {'key': [x ** 2 for x in range(10)], \"s\": f'{x!r:>8}'}\n",
    # Whitespace runs: spaces, tabs, newlines, CRLF, no-break and ideographic spaces.
    "a" + " " * 40 + "b\t\t\tc\n\n\n\nd   \r\n\r\n   e\u00a0\u00a0f\u3000g\u2009h" + " " * 17 + "\n" + "\t" * 9 + "\n",
    # Digits and numbers.
    "0 7 42 123 1234 12345 123456789012345678901234567890 3.14159 -2.5e-10 0xDEADBEEF 1,000,000 ²³ ½ Ⅻ ٣\n",
    # Markup, URLs, things that look like special tokens but are plain text here.
    "<html><body class=\"x\">&amp;</body></html> https://example.com/a?b=c&d=e#f user@example.org\n"
    "<|im_start|> <｜User｜> <think> </think> <｜end▁of▁sentence｜> <｜not_a_token｜>\n",
]

INVALID_UTF8 = (
    b"Invalid: \xff \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf \x80\x80 end\xe4"
)

text = "".join(PARTS).encode("utf-8") + INVALID_UTF8
pathlib.Path(__file__).with_name("multilingual.txt").write_bytes(text)
print(f"multilingual.txt: {len(text)} bytes")
