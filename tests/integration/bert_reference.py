"""Hugging Face's tokenizers library as the reference for Cairn's BERT
tokenizer (services/embedding/bert_tokenizer.c), run by
tests/integration/0031-bert_reference.c in the venv of
tests/clients/bert.txt:

  bert_reference.py ids TOKENIZER_JSON MAX_LEN[,MAX_LEN...] < texts > ids
      each input line is one text as a JSON string; each output line is that
      text's token ids, space-separated, as sentence-transformers gets them
      (no padding, truncation to MAX_LEN tokens with [CLS] and [SEP]): every
      text for the first MAX_LEN, then every text for the next.
  bert_reference.py embed MODEL_DIR < texts > vectors
      the sentence embedding of each text (one a line, as for ids) by a plain
      numpy forward pass of the sentence-transformers BERT directory
      MODEL_DIR: its tokenizer, batches of 8 texts of similar lengths padded
      to their longest, with an attention mask,
      float32, exact erf GELU, the model's LayerNorm epsilon, mean or CLS
      pooling over the mask, L2 normalisation; written as little-endian
      float32, one vector after another.
  bert_reference.py codepoints > dump
      for every code point (surrogates left out) that any part of the BERT
      normalizer or pre-tokenizer treats specially, one line:
      "CP<TAB>ALL<TAB>STRIP<TAB>LOWER<TAB>CLASS", CP in hex, the next three
      the UTF-8 bytes in hex ("-" for none) of the one-character text after
      BertNormalizer with every option on, with strip_accents alone and with
      lowercase alone, CLASS "w" (BertPreTokenizer drops it as whitespace),
      "p" (isolates it as punctuation) or "-".
  bert_reference.py tables > ranges
      the code point ranges of tokenizers' own Unicode tables, as C
      initialisers for services/embedding/bert_unicode.c.
"""
import json
import math
import os
import struct
import sys

import numpy as np
from tokenizers import Tokenizer, normalizers, pre_tokenizers


def ids(path, max_lens):
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    # one text a line; not splitlines(), which also splits at U+2028 and others
    texts = [json.loads(line) for line in sys.stdin.read().split("\n") if line]
    out = []
    for max_len in max_lens:
        tok.enable_truncation(max_length=max_len)
        for enc in tok.encode_batch(texts):
            out.append(" ".join(str(i) for i in enc.ids) + "\n")
    sys.stdout.write("".join(out))


def read_json(*path):
    with open(os.path.join(*path)) as f:
        return json.load(f)


def weights(path):
    """The tensors of a safetensors file, read with nothing but its format."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        a = np.frombuffer(data, dtype=dtypes[t["dtype"]], count=(end - begin) // 4
                          if t["dtype"] == "F32" else (end - begin) // 8, offset=8 + n + begin)
        out[name.removeprefix("bert.")] = a.reshape(t["shape"])
    return out


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return (0.5 * x * (1.0 + _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(np.float64))
            ).astype(np.float32)


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps)) * w + b


def encode(W, cfg, ids, mask):
    """BertModel's forward pass over a padded batch: [B, L] ids and mask."""
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    eps, dh = cfg.get("layer_norm_eps", 1e-12), cfg["hidden_size"] // cfg["num_attention_heads"]
    B, L = ids.shape
    x = (W["embeddings.word_embeddings.weight"][ids]
         + W["embeddings.position_embeddings.weight"][np.arange(L)][None]
         + W["embeddings.token_type_embeddings.weight"][0][None, None])
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    # what BertModel adds to the scores of padded keys
    bias = ((1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min).astype(np.float32)
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i

        def lin(t, name):
            return t @ W[p + name + ".weight"].T + W[p + name + ".bias"]

        def split(t):
            return t.reshape(B, L, heads, dh).transpose(0, 2, 1, 3)
        q = split(lin(x, "attention.self.query"))
        k = split(lin(x, "attention.self.key"))
        v = split(lin(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(dh)) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(B, L, h)
        x = layer_norm(x + lin(ctx, "attention.output.dense"),
                       W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"], eps)
        x = layer_norm(x + lin(gelu(lin(x, "intermediate.dense")), "output.dense"),
                       W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    return x


def embed(model_dir):
    modules = read_json(model_dir, "modules.json")
    pooling_dir = next(m["path"] for m in modules if m["type"].endswith(".Pooling"))
    normalize = any(m["type"].endswith(".Normalize") for m in modules)
    pooling = read_json(model_dir, pooling_dir, "config.json")
    cfg = read_json(model_dir, "config.json")
    max_len = read_json(model_dir, "sentence_bert_config.json")["max_seq_length"]
    W = weights(os.path.join(model_dir, "model.safetensors"))
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(max_length=max_len)
    tok.no_padding()  # tokenizer.json's own padding (to 128) is not what sentence-transformers does
    texts = [json.loads(line) for line in sys.stdin.read().split("\n") if line]
    encs = tok.encode_batch(texts)
    # batches of similar lengths, padded to their longest
    order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
    out = np.zeros((len(encs), cfg["hidden_size"]), dtype=np.float32)
    for at in range(0, len(order), 8):
        batch = order[at:at + 8]
        L = max(len(encs[i].ids) for i in batch)
        ids = np.zeros((len(batch), L), dtype=np.int64)
        mask = np.zeros((len(batch), L), dtype=np.float32)
        for row, i in enumerate(batch):
            ids[row, :len(encs[i].ids)] = encs[i].ids
            mask[row, :len(encs[i].ids)] = 1
        x = encode(W, cfg, ids, mask)
        if pooling.get("pooling_mode_cls_token"):
            v = x[:, 0]
        else:
            v = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        if normalize:
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        out[batch] = v
    sys.stdout.buffer.write(out.astype("<f4").tobytes())


def code_points():
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        yield cp, chr(cp)


def pretoken_class(pt, c):
    parts = [s for s, _ in pt.pre_tokenize_str("a" + c + "a")]
    if parts == ["a", "a"]:
        return "w"
    if parts == ["a", c, "a"]:
        return "p"
    assert parts == ["a" + c + "a"], (hex(ord(c)), parts)
    return "-"


def hexbytes(s):
    return s.encode("utf-8").hex() if s else "-"


def dump():
    every = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True)
    strip = normalizers.BertNormalizer(
        clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    lower = normalizers.BertNormalizer(
        clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
    pt = pre_tokenizers.BertPreTokenizer()
    out = []
    for cp, c in code_points():
        a, s, l = every.normalize_str(c), strip.normalize_str(c), lower.normalize_str(c)
        k = pretoken_class(pt, c)
        if a != c or s != c or l != c or k != "-":
            out.append("%x\t%s\t%s\t%s\t%s\n" % (cp, hexbytes(a), hexbytes(s), hexbytes(l), k))
    sys.stdout.write("".join(out))


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def c_table(name, cps, comment):
    print("/* %s */" % comment)
    print("static const struct range %s[] = {" % name)
    rs = ranges(cps)
    for i in range(0, len(rs), 4):
        print("        " + " ".join("{ 0x%04x, 0x%04x }," % (a, b) for a, b in rs[i:i + 4]))
    print("};")
    print()


def tables():
    clean = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(
        clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    pt = pre_tokenizers.BertPreTokenizer()
    control, punct, mark = [], [], []
    for cp, c in code_points():
        # U+0000 and U+FFFD are dropped by a rule of their own
        if clean.normalize_str(c) == "" and cp not in (0, 0xFFFD):
            control.append(cp)
        if pretoken_class(pt, c) == "p":
            punct.append(cp)
        if strip.normalize_str(c) == "":
            mark.append(cp)
    c_table("control", control, "dropped by clean_text: tokenizers' Cc, Cf and Co but \\t \\n \\r")
    c_table("punct", punct, "isolated by BertPreTokenizer: ASCII punctuation and tokenizers' P*")
    c_table("nonspacing", mark, "dropped after NFD by strip_accents: tokenizers' Mn")


def main():
    mode = sys.argv[1]
    if mode == "ids":
        ids(sys.argv[2], [int(n) for n in sys.argv[3].split(",")])
    elif mode == "embed":
        embed(sys.argv[2])
    elif mode == "codepoints":
        dump()
    elif mode == "tables":
        tables()
    else:
        sys.exit("usage: bert_reference.py ids TOKENIZER_JSON MAX_LEN[,...] | embed MODEL_DIR | "
                 "codepoints | tables")


if __name__ == "__main__":
    main()
