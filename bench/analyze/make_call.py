#!/usr/bin/env python3
"""Generate a stereo test phone call with a known transcript (Python stdlib + espeak-ng).

    make_call.py OUT_DIR [--seed N] [--min-duration SECONDS]

Writes OUT_DIR/call.wav (16-bit PCM, stereo, 22,050 Hz: the user, i.e. the agent, on the
LEFT channel, the customer on the RIGHT) and OUT_DIR/script.json:

    {"sample_rate": 22050, "duration": 642.1, "seed": 1,
     "voices": {"left": "...", "right": "..."},
     "left":  [{"start": 0.5, "end": 4.1, "text": "..."}, ...],
     "right": [...],
     "overlaps": [[start, end], ...], "long_silences": [[start, end], ...]}

Times are seconds from the start of the file, trimmed to the audible speech. Each line of
DIALOGUE below is one utterance rendered by espeak-ng; turns are separated by pauses of
0.3-2 s, with a few silences over 3 s (the agent looking something up) and a few overlaps
over 1 s (the next speaker starting before the other has finished). The same seed gives
the same file, byte for byte, with the same espeak-ng version.
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

RATE = 22050
# Two clearly different voices: a low US male agent, a high British female customer.
VOICES = {
    "left": ["-v", "en-us", "-p", "35", "-s", "165"],
    "right": ["-v", "en-gb+f3", "-p", "70", "-s", "170"],
}
NOISE_STD = 20.0  # a faint line-noise floor (about -64 dBFS), so silence is not digital zero
SILENCE_THRESHOLD = 200  # |sample| below this at either end of a rendering is trimmed

# (speaker, gap before it, text). Speaker U = user (the agent, left), C = customer (right).
# Gap: "" = an ordinary pause of 0.3-2 s; "long" = 3.2-5 s of silence; "overlap" = starts
# 1.1-1.6 s before the previous utterance (on the other channel) ends.
DIALOGUE = [
    ("U", "", "Thank you for calling Northwind Broadband, my name is Daniel, how can I help you today?"),
    ("C", "", "Hello Daniel, I am calling because my internet connection keeps dropping every evening."),
    ("U", "", "I am sorry to hear that, I will do my best to sort it out for you."),
    ("U", "", "Before we start, could I have the full name on the account please?"),
    ("C", "", "Yes, the account is under Sarah Mitchell."),
    ("U", "", "Thank you, Sarah. And could you confirm the first line of your address for me?"),
    ("C", "", "It is the cottage on Meadow Lane, right next to the old church."),
    ("U", "", "Perfect, that matches what I have here. Thank you for confirming."),
    ("U", "", "So you said the connection drops in the evening. When did this start?"),
    ("C", "", "It started about two weeks ago, and it has been getting worse every day."),
    ("U", "", "Does it drop completely, or does it just become very slow?"),
    ("C", "", "It drops completely. The light on the router turns orange and then it comes back after a few minutes."),
    ("U", "", "That is really helpful, thank you. Are you connected by cable or over wireless?"),
    ("C", "", "Mostly wireless. My laptop and my phone both lose the connection at the same time."),
    ("U", "", "Understood. And is anyone else in the house using the internet when it happens?"),
    ("C", "", "My son plays games online in the evening, and my husband usually watches films."),
    ("U", "", "That is quite a lot of traffic at the same time, but the line should still cope with it."),
    ("U", "", "Let me run a quick test on your line from our side. It will only take a moment."),
    ("C", "long", "Sure, no problem, I will wait."),
    ("U", "long", "Thank you for waiting. The test shows a number of short interruptions over the last few days."),
    ("U", "", "They all happen between seven and eleven in the evening, which matches what you described."),
    ("C", "", "So it is not just me imagining things then."),
    ("U", "", "Not at all. The line is definitely losing its signal for a few minutes at a time."),
    ("C", "", "Is it a problem with my equipment or with your network?"),
    ("U", "overlap", "It could be either, so I would like to check the router first, if that is all right with you."),
    ("C", "", "Of course. I am standing right next to it now."),
    ("U", "", "Great. Can you tell me which lights are on at the front of the router?"),
    ("C", "", "There is a green power light, a blue wireless light, and the internet light is white."),
    ("U", "", "That all looks normal at the moment. Is the router standing on the floor or on a shelf?"),
    ("C", "", "It is on the floor behind the television, next to the games console."),
    ("U", "", "That might be part of the problem. Routers work best in an open space, away from other electronics."),
    ("U", "", "Would you be able to move it onto a shelf or a table, somewhere a little higher?"),
    ("C", "", "I think so. The cable is long enough to reach the bookcase."),
    ("U", "", "That would be ideal. You can leave it plugged in while you move it."),
    ("C", "long", "Right, it is on the bookcase now, and all the lights are still on."),
    ("U", "", "Wonderful. Now I would also like to restart the router from our end, so it picks up a fresh configuration."),
    ("U", "", "Your connection will go down for about three minutes while it restarts."),
    ("C", "", "That is fine, nobody is using it right now."),
    ("U", "", "Thank you. I am sending the restart now."),
    ("C", "long", "The lights are flashing. Oh, now the internet light has gone green again."),
    ("U", "", "That is exactly what should happen. Could you open a web page to check that it works?"),
    ("C", "", "Yes, the news site loads straight away, and it seems faster than before."),
    ("U", "", "I am glad to hear that. I have also changed the wireless channel to a quieter one."),
    ("C", "", "What does that mean exactly?"),
    ("U", "", "Several networks nearby were using the same channel, which can cause interference in the evening."),
    ("U", "", "Moving to a different channel should give your devices a cleaner signal."),
    ("C", "overlap", "That makes sense. Everyone is at home in the evening, so everyone is online."),
    ("U", "", "Exactly. I will keep monitoring the line for the next few days to make sure the drops have stopped."),
    ("C", "", "Thank you, that is reassuring. While I have you, can I ask about my bill?"),
    ("U", "", "Of course, what would you like to know?"),
    ("C", "", "My last bill was higher than usual, and I do not understand why."),
    ("U", "", "Let me pull up your recent bills and take a look."),
    ("C", "long", "Thank you."),
    ("U", "long", "I can see the difference. Your introductory discount ended at the start of last month."),
    ("C", "", "Nobody told me that the discount would end."),
    ("U", "", "I am sorry about that. We should have sent you a letter and an email before it ended."),
    ("C", "", "I never received anything, or maybe it went to my junk folder."),
    ("U", "", "That is possible. Let me see what I can do to bring the price down again."),
    ("U", "", "There is a loyalty offer available for customers who have been with us for more than a year."),
    ("C", "", "I have been with you for almost three years now."),
    ("U", "", "Then you definitely qualify. The offer would bring your monthly price back down to what you paid before."),
    ("C", "overlap", "That would be great. Is there any catch?"),
    ("U", "", "The only condition is a new contract for another eighteen months."),
    ("C", "", "And would my speed stay the same?"),
    ("U", "", "Actually, the offer includes an upgrade to our faster premium package at no extra cost."),
    ("C", "", "Really? That sounds too good to be true."),
    ("U", "", "It is a genuine offer. We would rather keep a loyal customer than lose one."),
    ("C", "", "What would I need to do for the upgrade?"),
    ("U", "", "An engineer would visit to fit a new socket, and we would send you a new router in the post."),
    ("C", "", "How long would the engineer need to be at the house?"),
    ("U", "", "Usually about an hour, and they will call you on the morning of the visit."),
    ("C", "", "Can they come on a Saturday? I work during the week."),
    ("U", "", "Let me check the calendar for weekend appointments in your area."),
    ("C", "", "Thank you, a morning would be best for me."),
    ("U", "long", "I have a Saturday morning slot available at the end of next week, between eight and twelve."),
    ("C", "", "That works perfectly. Please book it for me."),
    ("U", "", "Done, the appointment is booked. You will receive a confirmation by text message today."),
    ("C", "", "Will the new router be delivered before the engineer comes?"),
    ("U", "", "Yes, it should arrive two or three days before the visit."),
    ("U", "", "Please do not plug it in yourself. The engineer will set it up and test everything."),
    ("C", "", "Okay, I will leave it in the box until then."),
    ("U", "", "Thank you. Now, about the bill you already paid, I can also apply a credit for the missing discount."),
    ("C", "", "That would be very kind of you."),
    ("U", "", "I have added a credit to your account. You will see it on your next bill."),
    ("C", "overlap", "Thank you so much, that really helps."),
    ("U", "", "You are welcome. Is there anything else on your account you would like me to look at?"),
    ("C", "", "Actually, yes. I would like to update my email address, because I do not use the old one anymore."),
    ("U", "", "No problem. For security, I will send a code to the mobile number we have on file."),
    ("C", "", "Okay, I have just received it."),
    ("U", "", "Could you tell me the word at the end of that message, please?"),
    ("C", "", "Yes, the word is sunflower."),
    ("U", "", "Thank you, that is correct. What is the new email address?"),
    ("C", "", "It is my first name and my surname together, at the same provider as before."),
    ("U", "", "Let me just type that in and read it back to you to make sure it is right."),
    ("U", "", "I have updated it, and a confirmation message is on its way to your new address."),
    ("C", "", "Wonderful, I can see it in my inbox already."),
    ("U", "", "Great. Would you also like to receive your bills by email instead of by post?"),
    ("C", "", "Yes please. That way I will not miss anything important again."),
    ("U", "", "That is all set up for you. Your next bill will arrive by email."),
    ("C", "", "Can I ask one more thing about the parental controls?"),
    ("U", "", "Of course, what would you like to know about them?"),
    ("C", "", "My son stays up far too late playing games, and I would like to switch the internet off at bedtime."),
    ("U", "", "You can do that in our app. There is a schedule setting for each device in the house."),
    ("C", "", "Do I need to know which device is which?"),
    ("U", "", "The app shows each device by name, so his games console should be easy to find."),
    ("C", "", "And he will not be able to change the settings himself?"),
    ("U", "", "Not unless he knows your account password, so please keep that somewhere safe."),
    ("C", "overlap", "He is clever, but I do not think he will guess it."),
    ("U", "", "I will send you a short guide on setting up the schedule, together with the appointment details."),
    ("C", "", "That would be really useful, thank you."),
    ("U", "", "Let me quickly go over everything we have done today."),
    ("U", "", "We moved the router, restarted it, and changed the wireless channel to stop the evening drops."),
    ("U", "", "We applied the loyalty offer, booked the premium upgrade for a Saturday morning, and added a credit to your account."),
    ("U", "", "And we updated your email address and switched your bills to email."),
    ("C", "", "That is a lot more than I expected to get done in one phone call."),
    ("U", "", "I am happy we could fix it all at once. If the connection drops again, please call us straight away."),
    ("C", "", "I will. Is there a reference number for today's call?"),
    ("U", "", "Yes, the reference is in the text message we just sent you."),
    ("C", "", "Perfect, I can see it. Thank you for all your help, Daniel."),
    ("U", "", "It was my pleasure, Sarah. At the end of this call you may receive a short survey about my service."),
    ("C", "", "I will be happy to fill it in. You have been very patient."),
    ("U", "", "Thank you, that is very kind. Is there anything else I can help you with today?"),
    ("C", "", "No, I think that covers everything for now."),
    ("U", "", "Then I hope you enjoy the faster connection, and have a lovely evening."),
    ("C", "", "You too, goodbye."),
    ("U", "", "Goodbye, and thank you for calling Northwind Broadband."),
]


def render(voice, text, path):
    """espeak-ng → mono 22,050 Hz 16-bit samples, trimmed to the audible part."""
    subprocess.run(["espeak-ng", *voice, "-w", path, text], check=True)
    with wave.open(path, "rb") as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, RATE):
            sys.exit(f"unexpected espeak-ng output format {w.getparams()}")
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        samples.byteswap()
    start = next((i for i, s in enumerate(samples) if abs(s) >= SILENCE_THRESHOLD), 0)
    end = len(samples)
    while end > start and abs(samples[end - 1]) < SILENCE_THRESHOLD:
        end -= 1
    return samples[start:end]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-duration", type=float, default=600.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)

    # Render every line (espeak-ng is single-threaded: one process per core).
    with tempfile.TemporaryDirectory(dir=args.out_dir) as tmp:
        channels = ["left" if who == "U" else "right" for who, _, _ in DIALOGUE]
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            audio = list(
                pool.map(
                    lambda i: render(VOICES[channels[i]], DIALOGUE[i][2], os.path.join(tmp, f"{i}.wav")),
                    range(len(DIALOGUE)),
                )
            )

    # Lay the utterances out in time.
    placed = {"left": [], "right": []}
    overlaps, long_silences = [], []
    cursor = rng.uniform(0.5, 1.0)  # where the previous utterance ended
    prev_start, prev_channel = 0.0, None
    last_end = {"left": 0.0, "right": 0.0}
    for i, (_, gap, text) in enumerate(DIALOGUE):
        channel = channels[i]
        length = len(audio[i]) / RATE
        if gap == "overlap":
            if prev_channel in (None, channel):
                sys.exit(f"line {i}: an overlap needs the previous line on the other channel")
            start = cursor - rng.uniform(1.1, 1.6)
        elif gap == "long":
            start = cursor + rng.uniform(3.2, 5.0)
        else:
            start = cursor + rng.uniform(0.3, 2.0)
        # Never before the previous utterance started, nor over this channel's last one.
        start = max(start, prev_start + 0.2, last_end[channel] + 0.3)
        start = round(start * RATE) / RATE
        end = start + length
        if gap == "overlap":
            overlaps.append([round(start, 3), round(min(cursor, end), 3)])
        elif gap == "long":
            long_silences.append([round(cursor, 3), round(start, 3)])
        placed[channel].append((start, audio[i], text))
        last_end[channel] = end
        prev_start, prev_channel = start, channel
        cursor = max(cursor, end)
    duration = cursor + rng.uniform(0.5, 1.0)
    if duration < args.min_duration:
        sys.exit(f"the call is only {duration:.1f} s long (need {args.min_duration:.0f} s)")

    # Mix: a faint noise floor (a tiled block of seeded Gaussian noise) plus the speech.
    frames = round(duration * RATE)
    block = 30011  # a prime number of samples, so the tiling does not line up with anything
    pcm = {}
    for channel in ("left", "right"):
        noise = array.array("h", (round(rng.gauss(0.0, NOISE_STD)) for _ in range(block)))
        samples = noise * (frames // block + 1)
        del samples[frames:]
        for start, speech, _ in placed[channel]:
            a = round(start * RATE)
            b = a + len(speech)
            samples[a:b] = array.array(
                "h", (max(-32768, min(32767, x + y)) for x, y in zip(samples[a:b], speech))
            )
        pcm[channel] = samples
    stereo = array.array("h", bytes(4 * frames))
    stereo[0::2] = pcm["left"]
    stereo[1::2] = pcm["right"]
    if sys.byteorder != "little":
        stereo.byteswap()
    with wave.open(os.path.join(args.out_dir, "call.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(stereo.tobytes())

    script = {
        "sample_rate": RATE,
        "duration": round(frames / RATE, 3),
        "seed": args.seed,
        "voices": {"left": " ".join(VOICES["left"]), "right": " ".join(VOICES["right"])},
        "roles": {"left": "user", "right": "customer"},
    }
    for channel in ("left", "right"):
        script[channel] = [
            {"start": round(s, 3), "end": round(s + len(a) / RATE, 3), "text": t}
            for s, a, t in placed[channel]
        ]
    script["overlaps"] = overlaps
    script["long_silences"] = long_silences
    with open(os.path.join(args.out_dir, "script.json"), "w", encoding="utf-8") as f:
        json.dump(script, f, indent=1)
        f.write("\n")
    words = sum(len(u["text"].split()) for c in ("left", "right") for u in script[c])
    print(
        f"call.wav: {script['duration']:.1f} s, {len(DIALOGUE)} utterances, {words} words, "
        f"{len(overlaps)} overlaps, {len(long_silences)} silences over 3 s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
