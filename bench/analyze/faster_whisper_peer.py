#!/usr/bin/env python3
"""The peer in the analyze benchmark: faster-whisper on both channels of a stereo call.

    faster_whisper_peer.py CALL MODEL_DIR [--beam-size 5] [--threads N] [--language en]
                           [--hotwords TEXT] [--initial-prompt TEXT]
    faster_whisper_peer.py CALL --decode-only [--repeat N]

Runs inside the benchmark's virtual environment (faster-whisper 1.2.1). Everything the
benchmark times happens in this one process, as it does for `kiku analyze`: importing
faster-whisper, loading the model, decoding and splitting the file, voice activity
detection (Silero, vad_filter=True) and recognition of the left channel, then the right.
Prints one JSON object: {"left": [{"start", "end", "text"}, ...], "right": [...]}.
--language auto lets faster-whisper detect the language per channel. --hotwords and
--initial-prompt are passed to transcribe() as they are (the realistic benchmark's
vocabulary run gives --hotwords the words `kiku analyze --vocabulary` gets, joined as
Kiku joins them).

--decode-only times faster-whisper's decode_audio() alone (PyAV: decode, resample to
16 kHz, split the channels), the best of --repeat runs, and prints {"decode_s": seconds}.
"""

import argparse
import json
import os
import sys
import time

from faster_whisper import WhisperModel, decode_audio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("call")
    parser.add_argument("model_dir", nargs="?")
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--language", default="en")
    parser.add_argument("--hotwords")
    parser.add_argument("--initial-prompt")
    parser.add_argument("--decode-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if args.decode_only:
        best = None
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            decode_audio(args.call, sampling_rate=16000, split_stereo=True)
            elapsed = time.perf_counter() - t0
            best = elapsed if best is None else min(best, elapsed)
        print(json.dumps({"decode_s": round(best, 4)}))
        return
    if not args.model_dir:
        parser.error("MODEL_DIR is needed unless --decode-only")

    model = WhisperModel(
        args.model_dir, device="cpu", compute_type="int8", cpu_threads=args.threads
    )
    left, right = decode_audio(args.call, sampling_rate=16000, split_stereo=True)
    out = {}
    for name, audio in (("left", left), ("right", right)):
        segments, _ = model.transcribe(
            audio,
            language=None if args.language == "auto" else args.language,
            beam_size=args.beam_size,
            vad_filter=True,
            hotwords=args.hotwords,
            initial_prompt=args.initial_prompt,
        )
        # transcribe() is lazy: the work happens while the segments are read.
        out[name] = [
            {"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text.strip()}
            for s in segments
        ]
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
