#!/usr/bin/env python3
"""The peer diarization for bench/run mono: resemblyzer's GE2E speaker encoder + spectral
clustering, the usual open-source recipe (resemblyzer's diarization demo, with the
clustering of Google's `spectralcluster`, "Speaker Diarization with LSTM", ICASSP 2018).

    resemblyzer_peer.py FILE... [--rate 16] [--threads N] [--warmup]

For each file, timed end to end:
1. load: `librosa.load(FILE, sr=None)`, resampled to 16 kHz, volume normalised to -30 dBFS
   (increase only), exactly as `resemblyzer.preprocess_wav`;
2. vad: resemblyzer's own voice activity mask (webrtcvad mode 3 on 30 ms windows, a moving
   average of 8, dilated by 6 windows: `trim_long_silences`), kept as a mask so that times
   can be mapped back to the file;
3. embed: `VoiceEncoder.embed_utterance(speech, return_partials=True, rate=RATE)` on the
   speech only (1.6 s partials, RATE per second; 16 as in resemblyzer's demo);
4. cluster: `SpectralClusterer(min_clusters=2, max_clusters=2)` with the ICASSP 2018
   refinement (`spectralcluster.configs.icassp2018_refinement_options`) on the partial
   embeddings; told the true number of speakers, 2. If `spectralcluster` cannot be
   imported, scikit-learn's `SpectralClustering(n_clusters=2)` on the cosine affinity.
5. turns: each 10 ms frame of speech takes the label of the nearest partial's centre.

Prints one JSON object: {"clusterer", "rate", "threads", "import_s", "model_load_s",
"calls": [{"file", "audio_s", "speech_s", "partials", "load_s", "vad_s", "embed_s",
"cluster_s", "total_s", "turns": [[[start, end], ...], [[start, end], ...]]}, ...]}.
Label 0 is whichever cluster speaks first.
"""

import argparse
import json
import os
import sys
import time
import warnings

T_IMPORT = time.perf_counter()
warnings.filterwarnings("ignore")  # librosa/scipy deprecation noise on stderr

import numpy as np  # noqa: E402
import librosa  # noqa: E402
import torch  # noqa: E402
import webrtcvad  # noqa: E402
from scipy.ndimage import binary_dilation  # noqa: E402
from resemblyzer import VoiceEncoder  # noqa: E402
from resemblyzer import audio as r_audio  # noqa: E402
from resemblyzer import hparams  # noqa: E402

try:
    from spectralcluster import SpectralClusterer, configs

    CLUSTERER = "spectralcluster"
except ImportError:  # pragma: no cover - the fallback the brief allows
    from sklearn.cluster import SpectralClustering

    CLUSTERER = "sklearn"
IMPORT_S = time.perf_counter() - T_IMPORT

RATE = hparams.sampling_rate  # 16 kHz
VAD_WINDOW = hparams.vad_window_length * RATE // 1000  # 480 samples (30 ms)
FRAME = RATE // 100  # 10 ms


def load(path):
    """resemblyzer.preprocess_wav without its last step (trimming the silences)."""
    wav, source_sr = librosa.load(path, sr=None)
    if source_sr != RATE:
        wav = librosa.resample(wav, orig_sr=source_sr, target_sr=RATE)
    return r_audio.normalize_volume(wav, hparams.audio_norm_target_dBFS, increase_only=True)


def speech_mask(wav):
    """resemblyzer's trim_long_silences mask: one bool per 30 ms window."""
    n = len(wav) - len(wav) % VAD_WINDOW
    pcm = (np.round(wav[:n] * 32767)).astype("<i2").tobytes()
    vad = webrtcvad.Vad(3)
    flags = np.array(
        [vad.is_speech(pcm[i * 2 : (i + VAD_WINDOW) * 2], sample_rate=RATE) for i in range(0, n, VAD_WINDOW)],
        dtype=float,
    )
    width = hparams.vad_moving_average_width
    padded = np.concatenate((np.zeros((width - 1) // 2), flags, np.zeros(width // 2)))
    ret = np.cumsum(padded, dtype=float)
    ret[width:] = ret[width:] - ret[:-width]
    mask = np.round(ret[width - 1 :] / width).astype(bool)
    return binary_dilation(mask, np.ones(hparams.vad_max_silence_length + 1))


def cluster(embeddings):
    if len(embeddings) < 2:
        return np.zeros(len(embeddings), dtype=int)
    if CLUSTERER == "spectralcluster":
        clusterer = SpectralClusterer(
            min_clusters=2,
            max_clusters=2,
            refinement_options=configs.icassp2018_refinement_options,
            custom_dist="cosine",
        )
        return np.asarray(clusterer.predict(embeddings))
    affinity = np.clip(embeddings @ embeddings.T, 0.0, 1.0)
    return SpectralClustering(n_clusters=2, affinity="precomputed", random_state=0).fit_predict(affinity)


def diarize(encoder, path, rate):
    t0 = time.perf_counter()
    wav = load(path)
    t1 = time.perf_counter()
    mask = speech_mask(wav)
    keep = np.repeat(mask, VAD_WINDOW)
    speech = wav[: len(keep)][keep]
    t2 = time.perf_counter()
    turns = [[], []]
    partials = 0
    if len(speech) >= FRAME:
        _, embeds, slices = encoder.embed_utterance(speech, return_partials=True, rate=rate)
        partials = len(slices)
        t3 = time.perf_counter()
        labels = cluster(embeds)
        t4 = time.perf_counter()
        if labels[0] != 0:
            labels = 1 - labels
        # Each 10 ms frame of speech: the label of the nearest partial centre (in speech time).
        centres = np.array([(s.start + s.stop) / 2 / FRAME for s in slices])
        frame_mask = np.repeat(mask, VAD_WINDOW // FRAME)
        speech_index = np.cumsum(frame_mask) - 1
        current, start = None, 0
        for f, is_speech in enumerate(np.append(frame_mask, False)):
            label = None
            if is_speech:
                at = speech_index[f] + 0.5
                k = int(np.searchsorted(centres, at))
                if k == len(centres) or (k > 0 and at - centres[k - 1] < centres[k] - at):
                    k -= 1
                label = int(labels[k])
            if label != current:
                if current is not None:
                    turns[current].append([round(start * 0.01, 2), round(f * 0.01, 2)])
                current, start = label, f
    else:
        t3 = t4 = t2
    t5 = time.perf_counter()
    return {
        "file": os.path.basename(path),
        "audio_s": round(len(wav) / RATE, 3),
        "speech_s": round(len(speech) / RATE, 3),
        "partials": partials,
        "load_s": round(t1 - t0, 4),
        "vad_s": round(t2 - t1, 4),
        "embed_s": round(t3 - t2, 4),
        "cluster_s": round(t4 - t3, 4),
        "total_s": round(t5 - t0, 4),
        "turns": turns,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--rate", type=float, default=16.0, help="partial embeddings per second (default 16)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--warmup", action="store_true", help="diarize the first file once, untimed and unreported, first")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    encoder = VoiceEncoder("cpu", verbose=False)
    model_load_s = time.perf_counter() - t0
    if args.warmup:
        diarize(encoder, args.files[0], args.rate)
    calls = [diarize(encoder, path, args.rate) for path in args.files]
    json.dump(
        {
            "clusterer": CLUSTERER,
            "rate": args.rate,
            "threads": args.threads,
            "import_s": round(IMPORT_S, 3),
            "model_load_s": round(model_load_s, 4),
            "calls": calls,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
