"""The official OpenAI Python SDK pointed at a Cairn gateway: embeddings
(the SDK's default base64 path and explicit floats, one text and a batch),
the model list, and the SDK's own error classes for a bad request and a bad
key; given a BERT model and an alias of it, that model by both names (the
vectors carry meaning, usage counts its tokens).
Usage: openai_sdk.py BASE_URL API_KEY [BERT_MODEL BERT_ALIAS]. Exits non-zero
on a mismatch."""
import math
import sys

import openai
from openai import OpenAI

base_url, key = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=20)

# The SDK asks for base64 by default and decodes it to floats.
one = client.embeddings.create(model="cairn-lexical-384", input="hello world")
assert one.object == "list", one
assert one.model == "cairn-lexical-384", one.model
assert len(one.data) == 1 and one.data[0].index == 0
vec = one.data[0].embedding
assert len(vec) == 384, len(vec)
norm = math.sqrt(sum(x * x for x in vec))
assert abs(norm - 1.0) < 1e-3, norm
assert one.usage.prompt_tokens > 0 and one.usage.total_tokens == one.usage.prompt_tokens

# Floats asked for explicitly: the same vector.
flt = client.embeddings.create(model="cairn-lexical-384", input="hello world",
                               encoding_format="float")
assert all(abs(a - b) < 1e-7 for a, b in zip(flt.data[0].embedding, vec))

batch = client.embeddings.create(model="cairn-lexical-384", input=["a b c", "d e f", "g"])
assert [d.index for d in batch.data] == [0, 1, 2]

models = client.models.list()
assert "cairn-lexical-384" in [m.id for m in models.data], models

try:
    client.embeddings.create(model="cairn-lexical-384", input=[[1, 2, 3]])
    raise AssertionError("token arrays were accepted")
except openai.BadRequestError as e:
    assert e.status_code == 400 and "token arrays" in str(e), e

try:
    OpenAI(base_url=base_url, api_key="ck_wrong_0123456789abcdef", max_retries=0).models.list()
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError as e:
    assert e.status_code == 401, e

if len(sys.argv) > 4:
    bert, alias = sys.argv[3], sys.argv[4]
    texts = ["The quick brown fox jumps over the lazy dog",
             "a slow red fox", "quarterly revenue report"]
    got = client.embeddings.create(model=bert, input=texts)
    assert got.model == bert, got.model
    vecs = [d.embedding for d in got.data]
    assert all(len(v) == 384 for v in vecs)
    cos = [sum(a * b for a, b in zip(vecs[0], v)) for v in vecs[1:]]
    # related sentences close, unrelated ones far: what the lexical model
    # cannot tell apart
    assert cos[0] > 0.5 and cos[1] < 0.2, cos
    # [CLS] + 9 words + [SEP], [CLS] + 4 words + [SEP], [CLS] + 3 + [SEP]
    assert got.usage.prompt_tokens == 11 + 6 + 5, got.usage
    by_alias = client.embeddings.create(model=alias, input=texts[0], encoding_format="float")
    assert all(abs(a - b) < 1e-6 for a, b in zip(by_alias.data[0].embedding, vecs[0]))
    assert bert in [m.id for m in client.models.list().data]
    print("openai sdk %s: %s ok (cosines %.3f, %.3f)" % (openai.__version__, bert, cos[0], cos[1]))

print("openai sdk %s: ok" % openai.__version__)
