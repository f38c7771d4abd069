"""Gives the conformance run's server something to show: signs in, creates a user, the
Incoming Webhook URL, three calls (one with its recording uploaded), a tag rule, a Slack
rule, a CRM connection and e-mail settings; prints the tokens as shell assignments.

    python3 conformance-seed.py BASE EMAIL PASSWORD CALL_DATA_SAMPLE.json
"""

import copy
import io
import json
import sys
import urllib.request
import wave

base, email, password, sample_path = sys.argv[1:5]


def call(method, path, body=None, token=None, raw=None, content_type="application/json"):
    url = path if path.startswith("http") else base + path
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"seeding: {method} {path}: {e.code} {e.read()[:500]!r}")
    return json.loads(text) if text else None


def sign_in():
    return call("POST", "/api/v1/auth/login", {"email": email, "password": password})["token"]


admin = sign_in()
spare = sign_in()
user = call("POST", "/api/v1/users", {"name": "User", "email": "user@conformance.example",
                                      "password": "conformance-password-2",
                                      "use_incoming_webhook": True}, admin)["user_id"]
webhook = call("POST", "/api/v1/incoming-webhook", token=admin)["url"]

sample = json.load(open(sample_path, encoding="utf-8"))
batch = {"call_data": []}
for i in range(3):
    c = copy.deepcopy(sample["call_data"][0])
    c["call_data_id"] = f"conformance-{i}"
    c["audio_file_type"] = "wav"
    c["participants"][0]["miitel_user_id"] = user
    batch["call_data"].append(c)
urls = call("POST", webhook, batch)["audio_upload_urls"]

# Two seconds of stereo 16 kHz silence with a tone on the left.
buf = io.BytesIO()
with wave.open(buf, "wb") as w:
    w.setnchannels(2)
    w.setsampwidth(2)
    w.setframerate(16000)
    frames = bytearray()
    for n in range(32000):
        left = int(8000 * ((n // 20) % 2 * 2 - 1))
        frames += left.to_bytes(2, "little", signed=True) + (0).to_bytes(2, "little")
    w.writeframes(bytes(frames))
call("PUT", urls[0]["conformance-0"]["url"], raw=buf.getvalue(), content_type="audio/wav")

call("POST", "/api/v1/tag-rules", {"name": "Churn", "keywords": ["cancel"], "tag": "churn"}, admin)
# An address literal: no name to resolve (this machine may have no DNS), and a public one.
call("POST", "/api/v1/slack-rules", {"name": "sales",
                                     "webhook_url": "https://192.0.2.10/services/T/B/X"}, admin)
call("POST", "/api/v1/crm-connections", {"kind": "hubspot", "name": "HubSpot",
                                         "access_token": "conformance-token"}, admin)

print(f"ADMIN_TOKEN={admin}")
print(f"SPARE_TOKEN={spare}")
