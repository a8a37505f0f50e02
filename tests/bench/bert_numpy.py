"""The numpy reference forward pass (tests/integration/bert_reference.py) timed
on the batches tests/bench/bert.c embeds, for tests/bench/run.sh to compare
with it in the same run. Run in the venv of tests/clients/bert.txt, on one
thread (run.sh sets OPENBLAS_NUM_THREADS=1 and RAYON_NUM_THREADS=1):

  bert_numpy.py MODEL_DIR TEXTS SECONDS

TEXTS is the file bert.c writes under BENCH_BERT_TEXTS (one JSON object a
line, {"words": N, "text": "..."}). For each length and batch size, batches
of consecutive texts, as bert.c takes them, are tokenized (the tokenizers
library), padded to their longest, run through the reference's encoder,
mean-pooled over the mask and L2-normalised, until SECONDS have passed (at
least one batch). Prints "key value" lines: numpy_<words>w_b<batch>_sps and
_tps (sentences and tokens a second).

The one change to the reference: its GELU calls math.erf once per element
from Python, which would make this a benchmark of the interpreter; here erf
is computed on whole arrays (Abramowitz and Stegun 7.1.26, absolute error
under 1.5e-7), so numpy spends its time in BLAS as a fair baseline should.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import numpy as np  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

import bert_reference as ref  # noqa: E402

BATCHES = (1, 8, 32, 128)
POOL = 256


def erf(x):
    sign = np.sign(x)
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
        np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    return sign * (np.float32(1.0) - poly * np.exp(-a * a))


def gelu(x):
    return (np.float32(0.5) * x * (np.float32(1.0) + erf(x * np.float32(0.7071067811865476)))
            ).astype(np.float32)


def main():
    model_dir, texts_path, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    ref.gelu = gelu
    cfg = ref.read_json(model_dir, "config.json")
    max_len = ref.read_json(model_dir, "sentence_bert_config.json")["max_seq_length"]
    W = ref.weights(os.path.join(model_dir, "model.safetensors"))
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(max_length=max_len)
    tok.no_padding()
    by_len = {}
    with open(texts_path) as f:
        for line in f:
            t = json.loads(line)
            by_len.setdefault(t["words"], []).append(t["text"])

    def run(texts):
        encs = tok.encode_batch(texts)
        L = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), L), dtype=np.int64)
        mask = np.zeros((len(encs), L), dtype=np.float32)
        for row, e in enumerate(encs):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        x = ref.encode(W, cfg, ids, mask)
        v = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return sum(len(e.ids) for e in encs)

    for words, pool in sorted(by_len.items()):
        run(pool[:8])  # warm-up
        for batch in BATCHES:
            n = tokens = 0
            at = 0
            start = time.perf_counter()
            while True:
                first = at % (POOL - batch + 1)
                tokens += run(pool[first:first + batch])
                n += batch
                at += batch
                elapsed = time.perf_counter() - start
                if elapsed >= secs:
                    break
            name = "numpy_%dw_b%d" % (words, batch)
            print("%s_sps %.2f\n%s_tps %.0f\n%s_secs %.2f" % (name, n / elapsed, name,
                                                              tokens / elapsed, name, elapsed))
            sys.stdout.flush()
    print("numpy_version %s" % np.__version__)


if __name__ == "__main__":
    main()
