#!/usr/bin/env python3
"""Score MONAURAL diarization against make_calls.py's references (stdlib + numpy).

    score.py CALLS_DIR --kiku DIR --probe PROBE.json --peer PEER.json [--peer-light PEER.json]
             [--kiku-times FILE] [--json OUT.json]

- CALLS_DIR: make_calls.py's output (calls.json and call-NN.json).
- --kiku DIR: `kiku analyze --mono` output per call, DIR/call-NN.json. Kiku's speakers are
  its two participants; each one's speech is `participants[].analysis.speech_segments`
  ([[start, end], ...]) or, in builds without that field, the spans of its phrases
  (`phrases[].raw[].start_at/end_at`; the report says which was used).
- --probe / --peer / --peer-light: bench/probe's and resemblyzer_peer.py's JSON ({"calls":
  [{"file", "turns": [[[s, e], ...], [[s, e], ...]], "total_s", ...}], "model_load_s"}).
- --kiku-times: lines "CALL_ID WALL_S CPU_S" of the `kiku analyze` runs.

DER = (missed speech + false alarm + speaker confusion) / reference speech, on 10 ms
frames, with the optimal one-to-one mapping of hypothesis to reference speakers, a 0.25 s
collar around every reference turn boundary (not scored), and reference overlap (both
speakers at once) not scored. Role accuracy: the share of calls whose hypothesised user
maps to the reference user under that mapping. Kiku's user is its `user` participant; the
peer has no role decision, so it gets the rule "the first speaker is the answering party"
(OUTGOING_CALL: the customer; INCOMING_CALL: the user).

Prints the report's tables (Markdown) on stdout.
"""

import argparse
import itertools
import json
import os
import sys

import numpy as np

STEP = 0.01  # 10 ms frames
COLLAR = 0.25
SPEAKERS = ("user", "customer")


def frames(t):
    return int(round(t / STEP))


def to_mask(spans, n):
    mask = np.zeros(n, dtype=bool)
    for start, end in spans:
        a, b = max(0, frames(start)), min(n, frames(end))
        if b > a:
            mask[a:b] = True
    return mask


def reference(ref):
    n = frames(ref["duration"]) + 1
    masks = {s: to_mask([(t["start"], t["end"]) for t in ref["turns"] if t["speaker"] == s], n) for s in SPEAKERS}
    scored = np.ones(n, dtype=bool)
    c = frames(COLLAR)
    for t in ref["turns"]:
        for edge in (t["start"], t["end"]):
            f = frames(edge)
            scored[max(0, f - c) : min(n, f + c)] = False
    scored &= ~(masks["user"] & masks["customer"])
    return masks, scored


def der(ref, hyp_spans):
    """hyp_spans: {label: [(start, end), ...]}. Returns the error counts (in frames) and
    the optimal mapping {hyp label: ref speaker or None}."""
    masks, scored = reference(ref)
    n = len(scored)
    hyp = {label: to_mask(spans, n) for label, spans in hyp_spans.items()}
    labels = list(hyp)
    n_ref = sum(masks[s].astype(int) for s in SPEAKERS)
    n_hyp = sum((h.astype(int) for h in hyp.values()), np.zeros(n, dtype=int))
    best, best_map = -1, {}
    targets = list(SPEAKERS) + [None] * len(labels)
    for perm in set(itertools.permutations(targets, len(labels))):
        correct = sum(int((hyp[label] & masks[s] & scored).sum()) for label, s in zip(labels, perm) if s)
        if correct > best:
            best, best_map = correct, dict(zip(labels, perm))
    ref_speech = int(n_ref[scored].sum())
    miss = int(np.maximum(n_ref - n_hyp, 0)[scored].sum())
    fa = int(np.maximum(n_hyp - n_ref, 0)[scored].sum())
    conf = int(np.minimum(n_ref, n_hyp)[scored].sum()) - best
    return {"ref": ref_speech, "miss": miss, "fa": fa, "conf": conf, "der": (miss + fa + conf) / max(ref_speech, 1)}, best_map


def kiku_speakers(detail):
    """({participant role: spans}, source) from a kiku analyze call detail."""
    spans, source = {}, "speech_segments"
    by_id = {}
    for p in detail["participants"]:
        segs = (p.get("analysis") or {}).get("speech_segments")
        if segs is None:
            source = "phrases"
        by_id[p["id"]] = p["role"]
        spans[p["role"]] = [tuple(s) for s in segs] if segs is not None else []
    if source == "phrases":
        spans = {role: [] for role in by_id.values()}
        for phrase in detail.get("phrases", []):
            role = by_id.get(phrase["participant_id"])
            for raw in phrase.get("raw", []):
                spans[role].append((raw["start_at"], raw["end_at"]))
    return spans, source


def first_label(turns):
    firsts = [(min(s for s, _ in t), i) for i, t in enumerate(turns) if t]
    return min(firsts)[1] if firsts else None


def pct(x):
    return "–" if x is None else f"{100 * x:.1f} %"


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def load_turns(path):
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    data["by_file"] = {c["file"]: c for c in data["calls"]}
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("calls_dir")
    ap.add_argument("--kiku", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--peer-light")
    ap.add_argument("--kiku-times")
    ap.add_argument("--json")
    args = ap.parse_args()

    with open(os.path.join(args.calls_dir, "calls.json"), encoding="utf-8") as f:
        calls = json.load(f)["calls"]
    probe, peer, light = load_turns(args.probe), load_turns(args.peer), load_turns(args.peer_light)
    kiku_times = {}
    if args.kiku_times:
        with open(args.kiku_times, encoding="utf-8") as f:
            for line in f:
                cid, wall, cpu = line.split()
                kiku_times[cid] = (float(wall), float(cpu))

    rows, sources = [], set()
    for c in calls:
        with open(os.path.join(args.calls_dir, f"{c['id']}.json"), encoding="utf-8") as f:
            ref = json.load(f)
        with open(os.path.join(args.kiku, f"{c['id']}.json"), encoding="utf-8") as f:
            detail = json.load(f)
        row = {"id": c["id"], "ref": ref, "minutes": ref["duration"] / 60}
        spans, source = kiku_speakers(detail)
        sources.add(source)
        row["kiku"], mapping = der(ref, spans)
        row["kiku_role_ok"] = mapping.get("user") == "user"
        row["kiku_confidence"] = detail["analysis"].get("role_confidence")
        row["kiku_basis"] = detail["analysis"].get("role_basis", "")
        row["kiku_user_s"] = sum(e - s for s, e in spans.get("user", []))
        row["kiku_customer_s"] = sum(e - s for s, e in spans.get("customer", []))
        p = probe["by_file"][ref["audio"]]
        row["probe"], _ = der(ref, {0: p["turns"][0], 1: p["turns"][1]})
        row["probe_cosine"] = p.get("centroid_cosine")
        row["probe_one_voice"] = not p["turns"][1]
        for name, data in (("peer", peer), ("light", light)):
            if data is None:
                continue
            q = data["by_file"][ref["audio"]]
            row[name], mapping = der(ref, {0: q["turns"][0], 1: q["turns"][1]})
            first = first_label(q["turns"])
            row[name + "_role_ok"] = first is not None and mapping.get(first) == ref["answering"]
        rows.append(row)

    tools = [("kiku", "Kiku (`kiku analyze --mono`)"), ("probe", "Kiku diarization only (bench/probe)"), ("peer", f"peer, rate {peer['rate']:g}")]
    if light:
        tools.append(("light", f"peer, rate {light['rate']:g}"))
    out = []
    say = out.append

    # --- summary -------------------------------------------------------------
    minutes = sum(r["minutes"] for r in rows)
    say("### DER and roles")
    say("")
    say(f"{len(rows)} calls, {minutes:.1f} minutes. DER: mean over calls (pooled over all scored speech in brackets); miss / false alarm / confusion pooled, as shares of reference speech.")
    if sources != {"speech_segments"}:
        say("")
        say(f"Kiku's speech per participant came from **{', '.join(sorted(sources))}** (`participants[].analysis.speech_segments` missing in this build: the spans of its phrases were used instead, which leave out speech Whisper did not transcribe).")
    say("")
    say("| tool | DER mean | DER pooled | miss | false alarm | confusion | role accuracy |")
    say("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in tools:
        if key not in rows[0]:
            continue
        tot = {k: sum(r[key][k] for r in rows) for k in ("ref", "miss", "fa", "conf")}
        if key == "kiku":
            roles = f"{sum(r['kiku_role_ok'] for r in rows)}/{len(rows)} = {pct(mean([float(r['kiku_role_ok']) for r in rows]))}"
        elif key in ("peer", "light"):
            roles = f"{sum(r[key + '_role_ok'] for r in rows)}/{len(rows)} = {pct(mean([float(r[key + '_role_ok']) for r in rows]))} (first-speaker rule)"
        else:
            roles = "–"
        say(
            f"| {label} | {pct(mean([r[key]['der'] for r in rows]))} | {pct((tot['miss'] + tot['fa'] + tot['conf']) / tot['ref'])} | "
            f"{pct(tot['miss'] / tot['ref'])} | {pct(tot['fa'] / tot['ref'])} | {pct(tot['conf'] / tot['ref'])} | {roles} |"
        )
    say("")

    # --- per condition -------------------------------------------------------
    def cond_rows():
        yield "all", rows
        for label, pred in (
            ("voices: different", lambda r: r["ref"]["voices"]["kind"] == "different"),
            ("voices: similar (all)", lambda r: r["ref"]["voices"]["kind"] == "similar"),
            ("voices: similar, espeak -p", lambda r: r["ref"]["voices"]["method"] == "espeak -p"),
            ("voices: similar, sox pitch 250", lambda r: r["ref"]["voices"]["method"] == "sox pitch 250"),
            ("format: wav16", lambda r: r["ref"]["format"] == "wav16"),
            ("format: ulaw8k", lambda r: r["ref"]["format"] == "ulaw8k"),
            ("format: mp3", lambda r: r["ref"]["format"] == "mp3"),
            ("language: en", lambda r: r["ref"]["language"] == "en"),
            ("language: ja", lambda r: r["ref"]["language"] == "ja"),
            ("INCOMING_CALL", lambda r: r["ref"]["event_type"] == "INCOMING_CALL"),
            ("OUTGOING_CALL", lambda r: r["ref"]["event_type"] == "OUTGOING_CALL"),
            ("with introduction", lambda r: r["ref"]["introduction"]),
            ("no introduction", lambda r: not r["ref"]["introduction"]),
        ):
            yield label, [r for r in rows if pred(r)]

    say("### Per condition (mean DER over the calls in each)")
    say("")
    head = "| condition | calls | DER Kiku | DER Kiku probe | DER peer |" + (" DER peer light |" if light else "") + " Kiku roles | peer first-speaker rule |"
    say(head)
    say("|---|---:|---:|---:|---:|" + ("---:|" if light else "") + "---:|---:|")
    for label, rs in cond_rows():
        if not rs:
            continue
        cells = [label, str(len(rs)), pct(mean([r["kiku"]["der"] for r in rs])), pct(mean([r["probe"]["der"] for r in rs])), pct(mean([r["peer"]["der"] for r in rs]))]
        if light:
            cells.append(pct(mean([r["light"]["der"] for r in rs])))
        cells.append(f"{sum(r['kiku_role_ok'] for r in rs)}/{len(rs)}")
        cells.append(f"{sum(r['peer_role_ok'] for r in rs)}/{len(rs)}")
        say("| " + " | ".join(cells) + " |")
    say("")

    # --- time ----------------------------------------------------------------
    say("### Time per call-minute")
    say("")
    say("Seconds of wall time per minute of audio, summed over all calls (so long calls weigh more); model load once per process, shown apart.")
    say("")
    say("| tool | s per call-minute | total s | model load s | × real time | stages (total s) |")
    say("|---|---:|---:|---:|---:|---|")
    times = {}
    p_total = sum(probe["by_file"][r["ref"]["audio"]]["total_s"] for r in rows)
    times["probe"] = p_total / minutes
    stages = ", ".join(
        f"{k[:-2]} {sum(probe['by_file'][r['ref']['audio']][k] for r in rows):.1f}" for k in ("decode_s", "resample_s", "vad_s", "diarize_s")
    )
    say(f"| Kiku diarization (bench/probe) | {times['probe']:.2f} | {p_total:.1f} | {probe['model_load_s']:.3f} | {60 * minutes / p_total:.0f}× | {stages} |")
    if kiku_times:
        k_total = sum(kiku_times[r["id"]][0] for r in rows)
        k_cpu = sum(kiku_times[r["id"]][1] for r in rows)
        times["kiku"] = k_total / minutes
        say(f"| Kiku full analysis (`kiku analyze --mono`, recognition included) | {times['kiku']:.2f} | {k_total:.1f} | (in each run) | {60 * minutes / k_total:.0f}× | whole processes, CPU {k_cpu:.0f} s |")
    for key, data in (("peer", peer), ("light", light)):
        if data is None:
            continue
        total = sum(data["by_file"][r["ref"]["audio"]]["total_s"] for r in rows)
        times[key] = total / minutes
        stages = ", ".join(f"{k[:-2]} {sum(data['by_file'][r['ref']['audio']][k] for r in rows):.1f}" for k in ("load_s", "vad_s", "embed_s", "cluster_s"))
        say(
            f"| peer, rate {data['rate']:g} ({data['clusterer']}) | {times[key]:.2f} | {total:.1f} | {data['model_load_s']:.3f} (+ {data['import_s']:.1f} imports) | {60 * minutes / total:.0f}× | {stages} |"
        )
    say("")
    ratios = [f"peer (rate {peer['rate']:g}) / Kiku diarization = **{times['peer'] / times['probe']:.1f}×**"]
    if light:
        ratios.append(f"peer (rate {light['rate']:g}) / Kiku diarization = **{times['light'] / times['probe']:.1f}×**")
    if "kiku" in times:
        ratios.append(f"peer (rate {peer['rate']:g}) / Kiku full analysis = **{times['peer'] / times['kiku']:.2f}×**")
        if light:
            ratios.append(f"peer (rate {light['rate']:g}) / Kiku full analysis = **{times['light'] / times['kiku']:.2f}×**")
    say("Speed-ups (above 1: Kiku is faster): " + "; ".join(ratios) + ".")
    say("")

    # --- goals ---------------------------------------------------------------
    k_der, p_der = mean([r["kiku"]["der"] for r in rows]), mean([r["peer"]["der"] for r in rows])
    roles = mean([float(r["kiku_role_ok"]) for r in rows])
    speed = times["peer"] / times["probe"]

    def goal(ok, text):
        return f"**{'met' if ok else 'MISSED'}** ({text})"

    say("### Goals")
    say("")
    say(f"- DER ≤ the peer's: {goal(k_der <= p_der, f'Kiku {pct(k_der)} vs peer {pct(p_der)}, mean over calls')}")
    say(f"- role accuracy ≥ 95 %: {goal(roles >= 0.95, f'{pct(roles)}')}")
    say(f"- ≥ 3× faster than the peer (diarization vs diarization): {goal(speed >= 3, f'{speed:.1f}×')}")
    say("")

    # --- per call ------------------------------------------------------------
    say("### Per call")
    say("")
    say("voices: d = different, p = similar (espeak -p), s = similar (sox pitch); intro: the agent names themselves and the company. "
        "Kiku role: ✓ when its `user` maps to the reference user; conf = `analysis.role_confidence`. "
        "cos = cosine of Kiku's two voice centroids (bench/probe's `centroid_cosine`); 1 voice = Kiku judged the call one voice and gave all speech to one speaker.")
    say("")
    hdr = "| call | lang | event | intro | voices | format | min | DER Kiku | DER probe | DER peer |" + (" DER light |" if light else "") + " Kiku role | conf | cos | peer rule | Kiku's basis |"
    say(hdr)
    say("|---|---|---|---|---|---|---:|---:|---:|---:|" + ("---:|" if light else "") + "---|---:|---:|---|---|")
    short = {"different": "d", "espeak -p": "p", "sox pitch 250": "s"}
    for r in rows:
        ref = r["ref"]
        cells = [
            r["id"], ref["language"], ref["event_type"].split("_")[0].lower(), "yes" if ref["introduction"] else "no",
            short[ref["voices"]["method"]], ref["format"], f"{r['minutes']:.1f}",
            pct(r["kiku"]["der"]), pct(r["probe"]["der"]), pct(r["peer"]["der"]),
        ]
        if light:
            cells.append(pct(r["light"]["der"]))
        cells += [
            "✓" if r["kiku_role_ok"] else "✗",
            f"{r['kiku_confidence']:.2f}" if r["kiku_confidence"] is not None else "–",
            (f"{r['probe_cosine']:.3f}" if r["probe_cosine"] is not None else "–") + (" (1 voice)" if r["probe_one_voice"] else ""),
            "✓" if r["peer_role_ok"] else "✗",
            r["kiku_basis"].replace("|", "/"),
        ]
        say("| " + " | ".join(cells) + " |")
    print("\n".join(out))

    if args.json:
        summary = {
            "der_mean": {k: mean([r[k]["der"] for r in rows]) for k, _ in tools if k in rows[0]},
            "kiku_role_accuracy": roles,
            "peer_rule_role_accuracy": mean([float(r["peer_role_ok"]) for r in rows]),
            "s_per_call_minute": times,
            "kiku_segments_source": sorted(sources),
            "calls": [
                {k: v for k, v in r.items() if k != "ref"} | {"format": r["ref"]["format"], "voices": r["ref"]["voices"]["method"], "language": r["ref"]["language"]}
                for r in rows
            ],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
