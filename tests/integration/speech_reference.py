"""faster-whisper as the reference for Cairn's Whisper engine
(services/speech/whisper_*.c), run by
tests/integration/0060-speech_whisper_reference.c and tests/bench/speech_whisper.c
in the venv of tests/clients/fasterwhisper.txt:

  speech_reference.py MODEL_DIR CLIP...
      each CLIP is a file of 16 kHz mono samples as little-endian float32;
      each is transcribed as the engine is asked to (greedy, beam_size=1,
      language "en", compute_type float32, 2 threads, no VAD, every other
      option faster-whisper's default) and one JSON line is written per clip:
      {"clip": CLIP, "text": the segments' texts joined and stripped,
       "seconds": the transcription's wall time, "segments": [[start, end,
       text, avg_logprob, no_speech_prob], ...]}.
"""
import json
import sys
import time

import numpy as np
from faster_whisper import WhisperModel


def main():
    model = WhisperModel(sys.argv[1], device="cpu", compute_type="float32", cpu_threads=2)
    for clip in sys.argv[2:]:
        audio = np.fromfile(clip, dtype="<f4")
        start = time.perf_counter()
        segments, _ = model.transcribe(audio, beam_size=1, language="en", vad_filter=False)
        segments = list(segments)
        seconds = time.perf_counter() - start
        print(json.dumps({
            "clip": clip,
            "text": "".join(s.text for s in segments).strip(),
            "seconds": seconds,
            "segments": [[s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob]
                         for s in segments],
        }), flush=True)


if __name__ == "__main__":
    main()
