#!/usr/bin/env python3
"""Word error rate of a transcript of the generated call against its script (stdlib only).

    wer.py SCRIPT_JSON TRANSCRIPT_JSON [--kiku] [--user-channel left|right] [--dump DIR]
           [--language en|ja] [--digits-one-by-one]

TRANSCRIPT_JSON is either faster_whisper_peer.py's output ({"left": [{"text"}, ...],
"right": [...]}) or, with --kiku, what `kiku analyze` prints (MiiTel's call details:
phrases[].raw[].phrase per participant; the participant whose role is "user" is on
--user-channel, the customer on the other). Prints one JSON object:

    {"left":  {"ref_words", "hyp_words", "sub", "del", "ins", "errors", "wer"},
     "right": {...}, "overall": {...}}

Both sides are normalised the same way before alignment: lower case, apostrophes dropped
("today's" -> "todays"), other punctuation and hyphens turned into spaces, numerals
written out as words ("18" -> "eighteen"), and "ok" counted as "okay". WER is the word-level
Levenshtein distance (substitutions + deletions + insertions) over the reference length,
per channel on the channel's whole text in time order, and overall on the sums.
--dump DIR writes the normalised reference and hypothesis per channel there, for diffing.

--language ja scores characters instead of words (the character error rate; the keys keep
their names, "ref_words" then counts characters): both sides NFKC-normalised, lower case,
punctuation, symbols and spaces dropped, kanji digits as digits (一 -> 1). With
--digits-one-by-one, numbers of four digits or more (order and phone numbers, as people
read them out) are written digit by digit ("4719" -> "four seven one nine").

When the script lists a "vocabulary" (bench/realistic), the result also says how many of
its planted occurrences each channel's text has ("vocabulary": {"planted", "recognised",
"words": {word: [planted, recognised]}}): per channel and word, the times the word (its
normalised words in a row, or for ja its characters) occurs in the script, and at most as
many of its occurrences in the transcript.
"""

import argparse
import json
import os
import re
import sys
import unicodedata

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
EQUIVALENT = {"ok": "okay", "mr": "mister", "ms": "miss"}
KANJI_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")


def number_words(n):
    """0..999_999 as English words (larger numbers are left as digits)."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return str(n)


def normalise(text, language="en", digits_one_by_one=False):
    if language == "ja":
        text = unicodedata.normalize("NFKC", text).lower().translate(KANJI_DIGITS)
        return [c for c in text if unicodedata.category(c)[0] not in "PSZC"]
    text = text.lower().replace("\u2019", "'").replace("'", "")
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)  # 1,000 -> 1000
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)  # 7pm -> 7 pm
    words = []
    for word in text.split():
        if word.isdigit() and digits_one_by_one and len(word) >= 4:
            words.extend(ONES[int(d)] for d in word)
        elif word.isdigit():
            words.extend(number_words(int(word)).split())
        else:
            words.append(EQUIVALENT.get(word, word))
    return words


def occurrences(needle, haystack):
    """How often the sequence NEEDLE occurs in HAYSTACK (not overlapping)."""
    n, count, i = len(needle), 0, 0
    while n and i + n <= len(haystack):
        if haystack[i: i + n] == needle:
            count, i = count + 1, i + n
        else:
            i += 1
    return count


def align(ref, hyp):
    """(substitutions, deletions, insertions) of the cheapest word-level edit."""
    # prev[j] = (cost, sub, del, ins) for ref[:i] against hyp[:j]
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        r = ref[i - 1]
        for j in range(1, len(hyp) + 1):
            d = prev[j - 1]
            if hyp[j - 1] == r:
                best = d
            else:
                best = (d[0] + 1, d[1] + 1, d[2], d[3])
            up = prev[j]  # delete ref[i-1]
            if up[0] + 1 < best[0]:
                best = (up[0] + 1, up[1], up[2] + 1, up[3])
            left = cur[j - 1]  # insert hyp[j-1]
            if left[0] + 1 < best[0]:
                best = (left[0] + 1, left[1], left[2], left[3] + 1)
            cur.append(best)
        prev = cur
    _, sub, dele, ins = prev[-1]
    return sub, dele, ins


def stats(ref, hyp):
    sub, dele, ins = align(ref, hyp)
    errors = sub + dele + ins
    return {
        "ref_words": len(ref),
        "hyp_words": len(hyp),
        "sub": sub,
        "del": dele,
        "ins": ins,
        "errors": errors,
        "wer": round(errors / len(ref), 4) if ref else 0.0,
    }


def kiku_texts(doc, user_channel):
    """Per-channel text from `kiku analyze` output (MiiTel call details)."""
    if "call" in doc:
        doc = doc["call"]
    if "details" in doc:
        doc = doc["details"][0]
    other = "right" if user_channel == "left" else "left"
    roles = {p["id"]: p.get("role") for p in doc.get("participants", [])}
    texts = {"left": [], "right": []}
    for group in doc.get("phrases", []):
        role = roles.get(group.get("participant_id"))
        if role not in ("user", "customer"):
            sys.exit(f"phrases for participant {group.get('participant_id')!r} with role {role!r}")
        channel = user_channel if role == "user" else other
        for phrase in group.get("raw", []):
            texts[channel].append((_number(phrase.get("order")), _number(phrase.get("start_at")), phrase["phrase"]))
    return {c: [t for _, _, t in sorted(v, key=lambda x: (x[0], x[1]))] for c, v in texts.items()}


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("script")
    parser.add_argument("transcript")
    parser.add_argument("--kiku", action="store_true", help="TRANSCRIPT is `kiku analyze` output")
    parser.add_argument("--user-channel", choices=("left", "right"), default="left")
    parser.add_argument("--dump", metavar="DIR")
    parser.add_argument("--language", choices=("en", "ja"), default="en")
    parser.add_argument("--digits-one-by-one", action="store_true")
    args = parser.parse_args()
    norm = lambda text: normalise(text, args.language, args.digits_one_by_one)  # noqa: E731
    with open(args.script, encoding="utf-8") as f:
        script = json.load(f)
    with open(args.transcript, encoding="utf-8") as f:
        doc = json.load(f)
    if args.kiku:
        hyp_texts = kiku_texts(doc, args.user_channel)
    else:
        hyp_texts = {c: [s["text"] for s in doc[c]] for c in ("left", "right")}

    result, texts = {}, {}
    for channel in ("left", "right"):
        ref = norm(" ".join(u["text"] for u in sorted(script[channel], key=lambda u: u["start"])))
        hyp = norm(" ".join(hyp_texts[channel]))
        texts[channel] = (ref, hyp)
        result[channel] = stats(ref, hyp)
        if args.dump:
            os.makedirs(args.dump, exist_ok=True)
            for kind, words in (("ref", ref), ("hyp", hyp)):
                with open(os.path.join(args.dump, f"{channel}.{kind}.txt"), "w", encoding="utf-8") as f:
                    f.write("\n".join(words) + "\n")
    total = {k: result["left"][k] + result["right"][k] for k in ("ref_words", "hyp_words", "sub", "del", "ins", "errors")}
    total["wer"] = round(total["errors"] / total["ref_words"], 4) if total["ref_words"] else 0.0
    result["overall"] = total
    if script.get("vocabulary"):
        words = {}
        for word in script["vocabulary"]:
            needle = norm(word)
            planted = sum(occurrences(needle, ref) for ref, _ in texts.values())
            if planted:
                got = sum(min(occurrences(needle, ref), occurrences(needle, hyp)) for ref, hyp in texts.values())
                words[word] = [planted, got]
        result["vocabulary"] = {
            "planted": sum(p for p, _ in words.values()),
            "recognised": sum(r for _, r in words.values()),
            "words": words,
        }
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
