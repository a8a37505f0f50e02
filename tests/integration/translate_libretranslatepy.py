"""libretranslatepy, LibreTranslate's Python client from PyPI, pointed at a
Cairn gateway: translate a string (a named source, and "auto"), detect,
languages, and refused keys (a wrong one, and none), each as LibreTranslate
answers them. libretranslatepy sends its fields as a urlencoded form, q
included: a list would be sent as its Python repr, so batches are not
something this client can send (tests/integration/0053-* sends them as
JSON).

Usage: translate_libretranslatepy.py BASE_URL API_KEY. The key (a Cairn API
key or JWT) needs a role that may translate (owner, admin or member).
Exits non-zero on a mismatch."""
import importlib.metadata
import json
import sys
import urllib.error

if any(a in ("-h", "--help") for a in sys.argv[1:]):
    print(__doc__)
    sys.exit(0)

from libretranslatepy import LibreTranslateAPI  # noqa: E402  (after --help, which needs no venv)

if len(sys.argv) != 3:
    sys.exit("usage: translate_libretranslatepy.py BASE_URL API_KEY")
base_url, key = sys.argv[1], sys.argv[2]
TIMEOUT = 30


def refused(fn, *args):
    """The HTTP error LibreTranslate's client raises, with its JSON body."""
    try:
        fn(*args, timeout=TIMEOUT)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())
    raise AssertionError("%s did not fail" % fn.__name__)


lt = LibreTranslateAPI(base_url, api_key=key)

# Translate: a named source, then "auto" (libretranslatepy returns the text only).
out = lt.translate("Hello world", "en", "es", timeout=TIMEOUT)
assert out.lower().startswith("hola"), out
out = lt.translate("The house is big and the garden is green.", "auto", "es", timeout=TIMEOUT)
assert "casa" in out.lower(), out

# Detect: ranked candidates, LibreTranslate's percentages.
det = lt.detect("This is a sentence written in English about the weather and the sea.",
                timeout=TIMEOUT)
assert isinstance(det, list) and det, det
assert det[0]["language"] == "en", det
assert all(0 <= d["confidence"] <= 100 for d in det), det
assert det == sorted(det, key=lambda d: -d["confidence"]), det

# Languages: a GET with the key in a form body, as this client sends it.
langs = lt.languages(timeout=TIMEOUT)
by_code = {lang["code"]: lang for lang in langs}
assert by_code["en"]["name"] == "English", by_code.get("en")
assert "es" in by_code["en"]["targets"], by_code["en"]
assert "en" in by_code["es"]["targets"], by_code["es"]

# An unknown key, and no key at all: LibreTranslate's 403 with its error body.
bad = LibreTranslateAPI(base_url, api_key="ck_not_a_key_0123456789abcdef")
code, body = refused(bad.translate, "Hello", "en", "es")
assert code == 403 and "Invalid API key" in body["error"], (code, body)
code, body = refused(bad.languages)
assert code == 403 and isinstance(body.get("error"), str), (code, body)
code, body = refused(LibreTranslateAPI(base_url).detect, "Hello")
assert code == 403 and "API key" in body["error"], (code, body)

# A pair nothing serves: LibreTranslate's 400.
code, body = refused(lt.translate, "Hello", "en", "xx")
assert code == 400 and body["error"], (code, body)

print("libretranslatepy %s: ok" % importlib.metadata.version("libretranslatepy"))
