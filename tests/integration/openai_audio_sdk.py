"""The official OpenAI Python SDK's audio calls pointed at a Cairn gateway:
client.audio.transcriptions.create() in every response_format (json, text,
srt, vtt, verbose_json with word and segment timestamps) and
client.audio.speech.create() in every output format, each answer checked for
OpenAI's shape: subtitle timings well formed and monotonic, verbose_json's
fields, each audio format's own header; the model list holding OpenAI's
names; the SDK's BadRequestError for word timestamps with json, an unknown
format, an input over 4096 characters and a speed out of range.

Usage: openai_audio_sdk.py BASE_URL API_KEY AUDIO_FILE [EXPECTED_WORDS]
(or CAIRN_BASE_URL, CAIRN_API_KEY, CAIRN_AUDIO_FILE, CAIRN_EXPECTED_WORDS).
EXPECTED_WORDS, when given, must each be in every transcript (case and
punctuation aside). Exits non-zero on any mismatch."""
import os
import re
import sys

import openai
from openai import OpenAI


def arg(i, env, default=None):
    if len(sys.argv) > i:
        return sys.argv[i]
    value = os.environ.get(env, default)
    if value is None:
        sys.exit(f"usage: openai_audio_sdk.py BASE_URL API_KEY AUDIO_FILE [EXPECTED_WORDS] (or {env})")
    return value


base_url = arg(1, "CAIRN_BASE_URL")
key = arg(2, "CAIRN_API_KEY")
audio_path = arg(3, "CAIRN_AUDIO_FILE")
expected = arg(4, "CAIRN_EXPECTED_WORDS", "").split()
client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=180)


def words_of(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def has_expected(text, what):
    got = words_of(text)
    for w in expected:
        assert w.lower().strip(".,!?") in got, f"{what}: {w!r} not in {text!r}"


def transcribe(**kw):
    with open(audio_path, "rb") as f:
        return client.audio.transcriptions.create(model="whisper-1", file=f, **kw)


TIME = {"srt": r"(\d\d+):(\d\d):(\d\d),(\d\d\d)", "vtt": r"(\d\d+):(\d\d):(\d\d)\.(\d\d\d)"}


def seconds(m):
    h, mi, s, ms = (int(x) for x in m)
    return h * 3600 + mi * 60 + s + ms / 1000


def cues(text, kind):
    """The (start, end, text) of each cue, checking the layout on the way."""
    blocks = [b for b in text.strip("\n").split("\n\n") if b]
    if kind == "vtt":
        assert blocks and blocks[0] == "WEBVTT", f"vtt does not start with WEBVTT: {text!r}"
        blocks = blocks[1:]
    out = []
    timing = re.compile(f"^{TIME[kind]} --> {TIME[kind]}$")
    for n, b in enumerate(blocks, 1):
        lines = b.split("\n")
        if kind == "srt":
            assert lines[0] == str(n), f"srt cue {n} numbered {lines[0]!r}"
            lines = lines[1:]
        m = timing.match(lines[0])
        assert m, f"{kind} cue {n}: bad timing line {lines[0]!r}"
        start, end = seconds(m.groups()[:4]), seconds(m.groups()[4:])
        assert start <= end, f"{kind} cue {n} ends before it starts: {lines[0]}"
        assert len(lines) > 1 and lines[1].strip(), f"{kind} cue {n} has no text"
        out.append((start, end, " ".join(lines[1:])))
    for (s0, _, _), (s1, _, _) in zip(out, out[1:]):
        assert s0 <= s1, f"{kind} cues out of order: {out}"
    return out


# ---- transcriptions ----

j = transcribe()
assert isinstance(j.text, str), j
has_expected(j.text, "json")

t = transcribe(response_format="text")
assert isinstance(t, str), type(t)
has_expected(t, "text")

for kind in ("srt", "vtt"):
    sub = transcribe(response_format=kind)
    assert isinstance(sub, str), type(sub)
    cs = cues(sub, kind)
    if expected:
        assert cs, f"{kind}: no cues"
        has_expected(" ".join(c[2] for c in cs), kind)

v = transcribe(response_format="verbose_json", timestamp_granularities=["word", "segment"],
               language="en", temperature=0, prompt="A test recording.")
assert v.language == "english", v.language
assert v.duration > 0, v.duration
has_expected(v.text, "verbose_json")
assert v.segments, "verbose_json without segments"
last = 0.0
for i, seg in enumerate(v.segments):
    assert seg.id == i, (seg.id, i)
    assert 0 <= seg.start <= seg.end <= v.duration + 0.5, (seg.start, seg.end, v.duration)
    assert seg.start >= last - 1e-6, "segments out of order"
    last = seg.start
    for field in ("seek", "tokens", "temperature", "avg_logprob", "compression_ratio",
                  "no_speech_prob"):
        assert getattr(seg, field) is not None, f"segment {i} lacks {field}"
assert v.words, "word timestamps asked for, none given"
for w in v.words:
    assert w.word and not w.word.startswith(" "), w
    assert 0 <= w.start <= w.end, w

# segments alone: no words
s = transcribe(response_format="verbose_json", timestamp_granularities=["segment"])
assert s.segments and not getattr(s, "words", None), s

try:
    transcribe(response_format="json", timestamp_granularities=["word"])
    raise AssertionError("word timestamps with json were accepted")
except openai.BadRequestError as e:
    assert e.status_code == 400 and "verbose_json" in str(e), e

try:
    with open(audio_path, "rb") as f:
        client.audio.transcriptions.create(model="whisper-1", file=f, response_format="docx")
    raise AssertionError("response_format docx was accepted")
except openai.BadRequestError as e:
    assert e.status_code == 400, e

# ---- speech ----

MAGIC = {
    "mp3": lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and (b[1] & 0xE0) == 0xE0),
    "opus": lambda b: b[:4] == b"OggS",
    "aac": lambda b: b[0] == 0xFF and (b[1] & 0xF6) == 0xF0,
    "flac": lambda b: b[:4] == b"fLaC",
    "wav": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE",
    "pcm": lambda b: len(b) % 2 == 0,
}
TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
         "wav": "audio/wav", "pcm": "audio/pcm"}

for fmt, ok in MAGIC.items():
    r = client.audio.speech.create(model="tts-1", voice="alloy",
                                   input="Please send the report before Friday.",
                                   response_format=fmt)
    data = r.content
    assert len(data) > 16, f"{fmt}: {len(data)} bytes"
    assert ok(data), f"{fmt}: not {fmt}: {data[:16]!r}"
    ctype = r.response.headers.get("content-type", "")
    assert ctype.split(";")[0] == TYPES[fmt], f"{fmt}: Content-Type {ctype}"

# the default format is mp3; written to a file as an app would
r = client.audio.speech.create(model="tts-1-hd", voice="nova", input="Hello.", speed=1.25)
assert MAGIC["mp3"](r.content), r.content[:16]

for bad, what in (({"input": "x" * 4097}, "4097"), ({"input": "x", "speed": 5.0}, "speed"),
                  ({"input": "x", "response_format": "midi"}, "midi")):
    args = {"model": "tts-1", "voice": "alloy", **bad}
    try:
        client.audio.speech.create(**args)
        raise AssertionError(f"{bad} was accepted")
    except openai.BadRequestError as e:
        assert e.status_code == 400 and what in str(e), e

# ---- the model list ----

ids = [m.id for m in client.models.list().data]
for name in ("whisper-1", "tts-1", "tts-1-hd", "gpt-4o-transcribe", "gpt-4o-mini-tts"):
    assert name in ids, f"{name} not in {ids}"

print("openai_audio_sdk: all checks passed")
