"""faster-whisper as the reference for Cairn's Whisper engine
(services/speech/whisper_*.c), run by
tests/integration/0060-speech_whisper_reference.c and tests/bench/speech_whisper.c
in the venv of tests/clients/fasterwhisper.txt:

  speech_reference.py MODEL_DIR CLIP...
  speech_reference.py MODEL_DIR - < jobs
      each CLIP is a file of 16 kHz mono samples as little-endian float32;
      with "-", stdin holds one JSON object a line, {"clip": CLIP, "words":
      true for word timestamps, "prompt": an initial prompt or null,
      "greedy": true for no temperature fallback}. Each
      is transcribed as the engine is asked to (greedy, beam_size=1,
      language "en", compute_type float32, 2 threads, no VAD, every other
      option faster-whisper's default) and one JSON line is written per clip:
      {"clip": CLIP, "text": the segments' texts joined and stripped,
       "seconds": the transcription's wall time, "segments": [[start, end,
       text, avg_logprob, no_speech_prob], ...], "words": [[start, end,
       word, probability], ...] (empty without word timestamps)}.
"""
import json
import sys
import time

import numpy as np
from faster_whisper import WhisperModel


def main():
    model = WhisperModel(sys.argv[1], device="cpu", compute_type="float32", cpu_threads=2)
    if sys.argv[2:] == ["-"]:
        jobs = [json.loads(line) for line in sys.stdin if line.strip()]
    else:
        jobs = [{"clip": clip} for clip in sys.argv[2:]]
    for job in jobs:
        audio = np.fromfile(job["clip"], dtype="<f4")
        start = time.perf_counter()
        segments, _ = model.transcribe(audio, beam_size=1, language="en", vad_filter=False,
                                       word_timestamps=bool(job.get("words")),
                                       initial_prompt=job.get("prompt"),
                                       temperature=0.0 if job.get("greedy") else
                                       [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
        segments = list(segments)
        seconds = time.perf_counter() - start
        print(json.dumps({
            "clip": job["clip"],
            "text": "".join(s.text for s in segments).strip(),
            "seconds": seconds,
            "segments": [[s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob]
                         for s in segments],
            "words": [[w.start, w.end, w.word, w.probability]
                      for s in segments for w in (s.words or [])],
        }), flush=True)


if __name__ == "__main__":
    main()
