#!/usr/bin/env python3
"""Generate a set of MONAURAL test calls with known speaker turns (stdlib + espeak-ng, sox, ffmpeg).

    make_calls.py OUT_DIR [--seed N] [--calls N]

Writes, per call, OUT_DIR/call-NN.{wav,mp3} (both voices on one channel) and
OUT_DIR/call-NN.json, the reference:

    {"id": "call-03", "audio": "call-03.wav", "format": "ulaw8k", "format_detail": "...",
     "event_type": "OUTGOING_CALL", "language": "en", "introduction": true,
     "answering": "customer", "duration": 97.3,
     "voices": {"kind": "similar", "method": "sox pitch 250", "user": "...", "customer": "..."},
     "utterances": [{"speaker": "customer", "start": 0.61, "end": 1.2, "text": "Hello?"}, ...],
     "turns": [{"speaker": "customer", "start": 0.61, "end": 1.2}, ...],
     "overlaps": [[start, end], ...]}

plus OUT_DIR/calls.json, the list of calls. `turns` are the stretches each speaker is
audible: every utterance, split where espeak-ng left a pause of 0.3 s or more inside it
(between sentences), the usual convention for reference segmentations. Times are seconds
from the start of the file.

Each call is 1-3 minutes: an opening that follows the event type (INCOMING_CALL: the user,
i.e. the agent on the TO side, answers first; OUTGOING_CALL: the customer answers first),
with or without the agent introducing themselves by name and company, then an excerpt of
a support dialogue (English: bench/analyze/make_call.py's; Japanese: the kana dialogue
below, as espeak-ng reads kana but not kanji), then a short closing. Pauses of 0.3-1.5 s
between turns, a few silences of 2-3.5 s, and a few short overlaps (0.3-0.8 s) where the
next speaker starts before the other has finished. The far side is a little quieter (a
gain of 0.55-1.0) and there is a faint noise floor.

The conditions are crossed over the calls (24 by default: 2 voice kinds x 3 formats x 2
event types x 2 introduction settings, with 4 of them Japanese):
- voices: `different` (two espeak-ng voices that differ in voice and pitch), or `similar`:
  the same voice twice, apart from `-p` (espeak-ng's pitch, e.g. 30 vs 70) or with one
  side pitch-shifted by sox (`pitch 250`, 2.5 semitones up);
- formats: `wav16` (16-bit PCM, 16 kHz), `ulaw8k` (G.711 mu-law WAV, 8 kHz, sox) and
  `mp3` (32 kb/s, 16 kHz, ffmpeg/LAME).
The same seed gives the same files with the same espeak-ng, sox and ffmpeg versions.
"""

import argparse
import array
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analyze"))
import make_call  # noqa: E402  (bench/analyze/make_call.py: render(), DIALOGUE, RATE, ...)

RATE = make_call.RATE
PAUSE_SPLIT = 0.3  # a pause this long inside an utterance ends a reference turn
FRAME = RATE // 100  # 10 ms

# Voice pairs: (kind, method, voice A, voice B, sox pitch shift of B in cents or None).
# Which of A and B is the user is drawn per call.
VOICES = {
    "en": {
        "different": [
            ("-v en-us -p 35 -s 165", "-v en-gb+f3 -p 70 -s 170"),
            ("-v en-gb -p 40 -s 160", "-v en-us+f5 -p 60 -s 170"),
            ("-v en-us+klatt -p 45 -s 165", "-v en-gb+f2 -p 65 -s 160"),
            ("-v en-gb+m3 -p 30 -s 170", "-v en-us+f3 -p 75 -s 165"),
        ],
        "espeak -p": [
            ("-v en-us -p 30 -s 165", "-v en-us -p 70 -s 165"),
            ("-v en-gb -p 35 -s 160", "-v en-gb -p 65 -s 160"),
        ],
        "sox pitch 250": [
            ("-v en-us -p 50 -s 165", "-v en-us -p 50 -s 165"),
            ("-v en-gb+m3 -p 45 -s 165", "-v en-gb+m3 -p 45 -s 165"),
        ],
    },
    "ja": {
        "different": [("-v ja -p 40 -s 150", "-v ja+f3 -p 65 -s 155")],
        "espeak -p": [("-v ja -p 30 -s 150", "-v ja -p 70 -s 150")],
        "sox pitch 250": [("-v ja -p 50 -s 150", "-v ja -p 50 -s 150")],
    },
}
PITCH_SHIFT_CENTS = 250

FORMATS = {
    "wav16": "16-bit PCM WAV, 16 kHz",
    "ulaw8k": "G.711 mu-law WAV, 8 kHz (sox)",
    "mp3": "MP3, 32 kb/s, 16 kHz (ffmpeg, libmp3lame)",
}

AGENTS = ["Daniel", "Emma", "Oliver", "Grace", "Samuel", "Chloe"]
COMPANIES = ["Northwind Broadband", "Contoso Energy", "Fabrikam Insurance", "Litware Mobile"]
CUSTOMERS = ["Sarah", "James", "Priya", "Thomas", "Hannah", "Marcus"]

# Openings: (speaker, gap, text); U = user (the agent), C = customer. "{agent}" etc. are
# filled in per call.
EN_OPENINGS = {
    ("INCOMING_CALL", True): [
        ("U", "", "Thank you for calling {company}, this is {agent}, how can I help you today?"),
        ("C", "", "Hello {agent}, I have a few questions about my account."),
    ],
    ("INCOMING_CALL", False): [
        ("U", "", "Hello, good morning."),
        ("C", "", "Good morning. I have a few questions about my account."),
    ],
    ("OUTGOING_CALL", True): [
        ("C", "", "Hello?"),
        ("U", "", "Hello, this is {agent} from {company}. Am I speaking with {customer}?"),
        ("C", "", "Yes, that is me."),
    ],
    ("OUTGOING_CALL", False): [
        ("C", "", "Hello, {customer} speaking."),
        ("U", "", "Hi {customer}, I am following up on the questions you sent us last week."),
        ("C", "", "Oh yes, I remember. Thanks for getting back to me."),
    ],
}
EN_CLOSING = [
    ("U", "", "Is there anything else I can do for you?"),
    ("C", "", "No, that is everything for now."),
    ("U", "", "Great. Have a nice day, goodbye."),
    ("C", "", "Goodbye."),
]
# The body: bench/analyze/make_call.py's dialogue without its first and last lines (the
# agent's introduction and the closing company phrase).
EN_BODY = make_call.DIALOGUE[2:-1]

# Japanese in kana (espeak-ng's `ja` reads hiragana and katakana, but says "Chinese
# letter" for kanji and "Japanese letter" for ー and small ィ/ェ): the particle は is
# written わ, as it is said.
JA_OPENINGS = {
    ("INCOMING_CALL", True): [
        ("U", "", "おでんわ ありがとうございます。さくらでんきの すずきと もうします。"),
        ("C", "", "もしもし、でんきの けいやくに ついて ききたいのですが。"),
    ],
    ("INCOMING_CALL", False): [
        ("U", "", "はい、もしもし。"),
        ("C", "", "もしもし、でんきの けいやくに ついて ききたいのですが。"),
    ],
    ("OUTGOING_CALL", True): [
        ("C", "", "はい、もしもし。"),
        ("U", "", "おせわに なって おります。さくらでんきの すずきと もうします。たなかさまの おたくでしょうか。"),
        ("C", "", "はい、そうです。"),
    ],
    ("OUTGOING_CALL", False): [
        ("C", "", "はい、たなかです。"),
        ("U", "", "もしもし、せんじつの おといあわせの けんで おでんわ しました。"),
        ("C", "", "ああ、はい。ありがとうございます。"),
    ],
}
JA_CLOSING = [
    ("U", "", "ほかに なにか ございますか。"),
    ("C", "", "いいえ、だいじょうぶです。"),
    ("U", "", "ほんじつわ ありがとうございました。しつれい いたします。"),
    ("C", "", "ありがとうございました。"),
]
JA_BODY = [
    ("C", "", "こんげつの でんきだいが いつもより たかいので、りゆうを しりたいです。"),
    ("U", "", "かしこまりました。おきゃくさまばんごうを おしえて いただけますか。"),
    ("C", "", "はい、いち に さん よん ご ろく です。"),
    ("U", "", "ありがとうございます。たなか たろうさまで まちがいないでしょうか。"),
    ("C", "", "はい、そうです。"),
    ("U", "", "しょうしょう おまちください。いま おしらべ します。"),
    ("C", "long", "はい、おねがいします。"),
    ("U", "long", "こんげつわ しようりょうが いつもより おおく なって おります。"),
    ("C", "", "そうですか。とくに かわった ことわ して いないのですが。"),
    ("U", "", "さむい ひが つづいたので、だんぼうを つかう じかんが ながかったのかも しれません。"),
    ("C", "overlap", "ああ、たしかに エアコンわ まいにち つけて いました。"),
    ("U", "", "それでしたら、よるの でんきだいが やすい プランも ございます。"),
    ("C", "", "どんな プランですか。"),
    ("U", "", "よる じゅうじから あさ はちじまでの りょうきんが やすく なる プランです。"),
    ("C", "", "ひるまわ しごとで いないので、よさそうですね。"),
    ("U", "", "ひるまの りょうきんわ すこし たかく なりますが、おきゃくさまには おとくだと おもいます。"),
    ("C", "", "けいやくを かえるのに おかねわ かかりますか。"),
    ("U", "", "いいえ、てすうりょうわ かかりません。"),
    ("C", "", "いつから かわりますか。"),
    ("U", "", "らいげつの ついたちから あたらしい プランに なります。"),
    ("C", "overlap", "わかりました。では、おねがいします。"),
    ("U", "", "ありがとうございます。かくにんの ために、ごじゅうしょを おしえて いただけますか。"),
    ("C", "", "とうきょうと せたがやく さくらまち に の さん です。"),
    ("U", "", "ありがとうございます。ごとうろくの ごじゅうしょと おなじです。"),
    ("U", "", "けいやくの へんこうわ これで かんりょう しました。"),
    ("C", "", "しょるいわ とどきますか。"),
    ("U", "", "はい、いっしゅうかん いないに ゆうびんで おおくり します。"),
    ("C", "", "インタネットでも みられますか。"),
    ("U", "", "はい、おきゃくさまページから いつでも ごらんに なれます。"),
    ("C", "", "それから、らいねん ひっこしの よていが あるのですが、そのときわ どうすれば いいですか。"),
    ("U", "", "おひっこしの にしゅうかん まえまでに ごれんらく ください。"),
    ("C", "", "わかりました。そのときわ また でんわ します。"),
    ("U", "", "おまちして おります。ほかにも わからない ことが あれば、いつでも ごれんらく ください。"),
    ("C", "", "ありがとうございます。たすかりました。"),
]

# What would count as an introduction or a company phrase (a subset of what Kiku looks
# for); calls without an introduction must not contain them.
INTRO_MARKERS = ["this is ", "my name is ", "speaking with", "thank you for calling", "how can i help", "もうします", "おでんわ ありがとう"]


def placeholder_free(text, names):
    return text.format(**names)


def render_line(voice, shift, text, path):
    """Mono samples of `text` in `voice`, trimmed, optionally pitch-shifted by sox."""
    samples = make_call.render(voice.split(), text, path)
    if shift is None:
        return samples
    raw, shifted = path + ".raw.wav", path + ".shifted.wav"
    write_wav(raw, samples, RATE)
    subprocess.run(["sox", "-V1", "-R", raw, shifted, "pitch", str(shift)], check=True)
    with wave.open(shifted, "rb") as w:
        out = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        out.byteswap()
    return trim(out)


def trim(samples):
    start = next((i for i, s in enumerate(samples) if abs(s) >= make_call.SILENCE_THRESHOLD), 0)
    end = len(samples)
    while end > start and abs(samples[end - 1]) < make_call.SILENCE_THRESHOLD:
        end -= 1
    return samples[start:end]


def write_wav(path, samples, rate):
    data = array.array("h", samples)
    if sys.byteorder != "little":
        data.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def audible_parts(samples):
    """(start, end) in seconds of the audible stretches of a trimmed rendering: split where
    10 ms frames stay below the silence threshold for PAUSE_SPLIT seconds or more."""
    n = len(samples)
    loud = [
        max((abs(x) for x in samples[i : i + FRAME]), default=0) >= make_call.SILENCE_THRESHOLD
        for i in range(0, n, FRAME)
    ]
    parts, start, quiet = [], None, 0
    min_quiet = round(PAUSE_SPLIT * 100)
    for f, is_loud in enumerate(loud):
        if is_loud:
            if start is None:
                start = f
            elif quiet >= min_quiet:
                parts.append((start, f - quiet))
                start = f
            quiet = 0
        elif start is not None:
            quiet += 1
    if start is not None:
        parts.append((start, len(loud) - quiet))
    return [(a * FRAME / RATE, min(b * FRAME, n) / RATE) for a, b in parts]


def plan_calls(count, rng):
    """The conditions of each call, crossed: voice kind x format x event x introduction."""
    plans = []
    kinds = ["different", "similar"]
    formats = list(FORMATS)
    events = ["INCOMING_CALL", "OUTGOING_CALL"]
    for i in range(count):
        plans.append(
            {
                "kind": kinds[i % 2],
                "format": formats[i % 3],
                "event_type": events[(i // 6) % 2],
                "introduction": (i // 12) % 2 == 0,
                "language": "en",
            }
        )
    for i in rng.sample(range(count), max(1, count // 6)):
        plans[i]["language"] = "ja"
    return plans


def script_of(plan, rng):
    """The lines of one call, and the names used."""
    lang = plan["language"]
    names = {"agent": rng.choice(AGENTS), "company": rng.choice(COMPANIES), "customer": rng.choice(CUSTOMERS)}
    openings, body, closing = (
        (EN_OPENINGS, EN_BODY, EN_CLOSING) if lang == "en" else (JA_OPENINGS, JA_BODY, JA_CLOSING)
    )
    opening = [(s, g, placeholder_free(t, names)) for s, g, t in openings[(plan["event_type"], plan["introduction"])]]
    # A random excerpt of the body, long enough for the target duration (trimmed later).
    # English: a stretch of the long dialogue; Japanese: the short one, from anywhere, round.
    start = rng.randrange(len(body) - 70) if lang == "en" else rng.randrange(len(body))
    excerpt = [body[(start + k) % len(body)] for k in range(len(body))]
    if excerpt[0][1] == "overlap":
        excerpt[0] = (excerpt[0][0], "", excerpt[0][2])
    return opening, excerpt, list(closing), names


def lay_out(lines, audio, rng, target):
    """Place the lines in time. `lines` = opening + body + closing; the body is cut once
    the call reaches `target` seconds. Returns placed [(speaker, start, samples, text)] and
    the overlaps."""
    placed, overlaps = [], []
    cursor = rng.uniform(0.4, 1.0)
    prev_start, prev_speaker = 0.0, None
    last_end = {"U": 0.0, "C": 0.0}
    for (speaker, gap, text), samples in zip(lines, audio):
        length = len(samples) / RATE
        if gap == "overlap" and prev_speaker not in (None, speaker):
            start = cursor - rng.uniform(0.3, 0.8)
        elif gap == "long":
            start = cursor + rng.uniform(2.0, 3.5)
        else:
            start = cursor + rng.uniform(0.3, 1.5)
            gap = ""
        start = max(start, prev_start + 0.2, last_end[speaker] + 0.3)
        start = round(start * RATE) / RATE
        end = start + length
        if gap == "overlap" and start < cursor:
            overlaps.append([round(start, 3), round(min(cursor, end), 3)])
        placed.append((speaker, start, samples, text))
        last_end[speaker] = end
        prev_start, prev_speaker = start, speaker
        cursor = max(cursor, end)
    return placed, overlaps, cursor


def build_call(index, plan, rng, out_dir, tmp, pool):
    lang = plan["language"]
    kind = plan["kind"]
    if kind == "different":
        method = "different"
    else:
        method = rng.choice(["espeak -p", "sox pitch 250"])
    pair = rng.choice(VOICES[lang][method])
    shifted_side = 1 if method == "sox pitch 250" else None
    # Which voice of the pair is the user.
    order = [0, 1] if rng.random() < 0.5 else [1, 0]
    voice = {"U": pair[order[0]], "C": pair[order[1]]}
    shift = {
        "U": PITCH_SHIFT_CENTS if shifted_side == order[0] else None,
        "C": PITCH_SHIFT_CENTS if shifted_side == order[1] else None,
    }
    opening, body, closing, names = script_of(plan, rng)
    target = rng.uniform(60.0, 130.0)
    # Render the opening and closing, and the body lines until they clearly fill the target
    # (about 4 s per line with its pause); the layout below cuts the body to length.
    n_body = min(len(body), int(target / 2.5) + 4)
    lines = opening + body[:n_body] + closing
    if not plan["introduction"]:
        for _, _, text in lines:
            low = text.lower()
            if any(m in low for m in INTRO_MARKERS):
                sys.exit(f"call {index}: a call without introduction says {text!r}")
    audio = list(
        pool.map(
            lambda k: render_line(voice[lines[k][0]], shift[lines[k][0]], lines[k][2], os.path.join(tmp, f"{index}-{k}.wav")),
            range(len(lines)),
        )
    )
    closing_s = sum(len(a) / RATE + 1.0 for a in audio[len(lines) - len(closing) :])
    # Keep body lines while the call (with the closing) stays under the target.
    keep = len(opening)
    for k in range(len(opening), len(opening) + n_body):
        _, _, end = lay_out(lines[: k + 1], audio[: k + 1], random.Random(0), target)
        keep = k + 1
        if end + closing_s >= target:
            break
    chosen = list(range(keep)) + list(range(len(opening) + n_body, len(lines)))
    placed, overlaps, cursor = lay_out([lines[k] for k in chosen], [audio[k] for k in chosen], rng, target)
    duration = cursor + rng.uniform(0.5, 1.0)
    if not 60.0 <= duration <= 180.0:
        sys.exit(f"call {index}: {duration:.1f} s is outside 1-3 minutes")

    # Mix into one channel: noise floor + the user at full level + the customer quieter.
    gain = {"U": 1.0, "C": rng.uniform(0.55, 1.0)}
    if rng.random() < 0.5:
        gain = {"U": gain["C"], "C": 1.0}
    frames = round(duration * RATE)
    block = 30011
    noise = array.array("h", (round(rng.gauss(0.0, make_call.NOISE_STD)) for _ in range(block)))
    mix = noise * (frames // block + 1)
    del mix[frames:]
    for speaker, start, samples, _ in placed:
        a = round(start * RATE)
        b = a + len(samples)
        g = gain[speaker]
        mix[a:b] = array.array("h", (max(-32768, min(32767, x + round(g * y))) for x, y in zip(mix[a:b], samples)))

    call_id = f"call-{index + 1:02d}"
    base = os.path.join(tmp, f"{call_id}.base.wav")
    write_wav(base, mix, RATE)
    fmt = plan["format"]
    ext = "mp3" if fmt == "mp3" else "wav"
    audio_path = os.path.join(out_dir, f"{call_id}.{ext}")
    if fmt == "wav16":
        subprocess.run(["sox", "-V1", "-R", base, "-b", "16", "-e", "signed-integer", "-r", "16000", audio_path], check=True)
    elif fmt == "ulaw8k":
        subprocess.run(["sox", "-V1", "-R", base, "-e", "u-law", "-r", "8000", audio_path], check=True)
    else:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", base, "-ar", "16000", "-c:a", "libmp3lame", "-b:a", "32k",
             "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", audio_path],
            check=True,
        )

    role = {"U": "user", "C": "customer"}
    utterances, turns = [], []
    for speaker, start, samples, text in placed:
        utterances.append({"speaker": role[speaker], "start": round(start, 3), "end": round(start + len(samples) / RATE, 3), "text": text})
        for a, b in audible_parts(samples):
            turns.append({"speaker": role[speaker], "start": round(start + a, 3), "end": round(start + b, 3)})
    turns.sort(key=lambda t: t["start"])
    ref = {
        "id": call_id,
        "audio": os.path.basename(audio_path),
        "format": fmt,
        "format_detail": FORMATS[fmt],
        "event_type": plan["event_type"],
        "language": lang,
        "introduction": plan["introduction"],
        "names": names if plan["introduction"] else {},
        "answering": "user" if plan["event_type"] == "INCOMING_CALL" else "customer",
        "duration": round(frames / RATE, 3),
        "voices": {
            "kind": kind,
            "method": method,
            "user": voice["U"] + (f" + sox pitch {shift['U']}" if shift["U"] else ""),
            "customer": voice["C"] + (f" + sox pitch {shift['C']}" if shift["C"] else ""),
            "gain": {"user": round(gain["U"], 3), "customer": round(gain["C"], 3)},
        },
        "utterances": utterances,
        "turns": turns,
        "overlaps": overlaps,
    }
    with open(os.path.join(out_dir, f"{call_id}.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return ref


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calls", type=int, default=24)
    args = parser.parse_args()
    if args.calls < 1:
        sys.exit("--calls must be at least 1")
    os.makedirs(args.out_dir, exist_ok=True)
    rng = random.Random(args.seed)
    plans = plan_calls(args.calls, rng)
    refs = []
    with tempfile.TemporaryDirectory(dir=args.out_dir) as tmp:
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            for i, plan in enumerate(plans):
                # One generator per call, so each call is the same whatever the others are.
                refs.append(build_call(i, plan, random.Random(f"{args.seed}-{i}"), args.out_dir, tmp, pool))
    summary = [
        {k: r[k] for k in ("id", "audio", "format", "event_type", "language", "introduction", "duration")}
        | {"voices": r["voices"]["kind"], "method": r["voices"]["method"]}
        for r in refs
    ]
    with open(os.path.join(args.out_dir, "calls.json"), "w", encoding="utf-8") as f:
        json.dump({"seed": args.seed, "calls": summary}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    minutes = sum(r["duration"] for r in refs) / 60
    print(f"{len(refs)} calls, {minutes:.1f} minutes in all", file=sys.stderr)


if __name__ == "__main__":
    main()
