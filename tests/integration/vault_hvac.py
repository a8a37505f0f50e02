"""hvac, Vault's Python client, pointed at a Cairn gateway: the KV v2 engine
on the mount "secret" as hvac drives Vault's. Writes with check-and-set (and
the error of a mismatch), reads of versions, hvac's patch and a JSON merge
patch, delete, undelete and destroy (and the 404 of a deleted version),
metadata read, update, merge patch and delete, lists (LIST, GET ?list=true,
the recursive extension, an empty folder's 404), subkeys, the engine's
configuration, and a refused token.

Usage: vault_hvac.py [BASE_URL [TOKEN [PREFIX]]], or VAULT_ADDR, VAULT_TOKEN
and VAULT_HVAC_PREFIX in the environment. The token (a Cairn JWT or API key)
needs a policy of the secrets service allowing everything under PREFIX
(default: hvac-<random>/). Exits non-zero on a mismatch."""
import importlib.metadata
import os
import re
import sys
import uuid

if any(a in ("-h", "--help") for a in sys.argv[1:]):
    print(__doc__)
    sys.exit(0)

import hvac  # noqa: E402  (after --help, which needs no venv)
import requests  # noqa: E402  (hvac's own HTTP library, for the raw answers)
from hvac import exceptions  # noqa: E402

base_url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VAULT_ADDR", "")
token = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VAULT_TOKEN", "")
prefix = (sys.argv[3] if len(sys.argv) > 3
          else os.environ.get("VAULT_HVAC_PREFIX", "hvac-" + uuid.uuid4().hex[:8]))
if not base_url or not token:
    sys.exit("usage: vault_hvac.py BASE_URL TOKEN [PREFIX] (or VAULT_ADDR, VAULT_TOKEN)")

client = hvac.Client(url=base_url, token=token, timeout=20)
kv = client.secrets.kv.v2
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
db, nested = prefix + "/db", prefix + "/nested/x"


def raises(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (fn.__name__, exc.__name__))


def envelope(resp):
    """Vault's envelope around every answer with a body."""
    for k, v in (("lease_id", ""), ("renewable", False), ("lease_duration", 0),
                 ("wrap_info", None), ("warnings", None), ("auth", None), ("mount_type", "kv")):
        assert resp[k] == v, (k, resp)
    assert resp["request_id"], resp
    return resp["data"]


def raw(method, path, content_type="application/json", **kwargs):
    """The answer as it comes, status and all (hvac's adapter parses it)."""
    return requests.request(method, base_url + path, timeout=20,
                            headers={"X-Vault-Token": token, "Content-Type": content_type},
                            **kwargs)


def merge_patch(path, body):
    return raw("PATCH", path, "application/merge-patch+json", json=body)


# The engine's configuration (the tenant's defaults).
assert client.secrets.kv.v2.configure(max_versions=10, delete_version_after="0s").status_code == 204
cfg = envelope(kv.read_configuration())
assert cfg == {"cas_required": False, "delete_version_after": "0s", "max_versions": 10}, cfg

# Create with cas=0, then a second cas=0 is a mismatch.
v1 = envelope(kv.create_or_update_secret(path=db, secret={"password": "one"}, cas=0))
assert v1["version"] == 1 and v1["deletion_time"] == "" and v1["destroyed"] is False, v1
assert TIME.match(v1["created_time"]), v1
e = raises(exceptions.InvalidRequest, kv.create_or_update_secret, path=db,
           secret={"password": "x"}, cas=0)
assert "check-and-set parameter did not match the current version" in str(e), e
v2 = envelope(kv.create_or_update_secret(path=db, secret={"password": "two", "user": "app"},
                                         cas=1))
assert v2["version"] == 2, v2

# Read the latest and an older version.
got = envelope(kv.read_secret_version(path=db, raise_on_deleted_version=True))
assert got["data"] == {"password": "two", "user": "app"}, got
assert got["metadata"]["version"] == 2 and got["metadata"]["custom_metadata"] is None, got
old = envelope(kv.read_secret_version(path=db, version=1, raise_on_deleted_version=True))
assert old["data"] == {"password": "one"}, old

# hvac's patch (a read and a check-and-set write), then a JSON merge patch.
v3 = envelope(kv.patch(path=db, secret={"password": "three"}))
assert v3["version"] == 3, v3
r = merge_patch("/v1/secret/data/" + db, {"data": {"user": None, "port": 5432},
                                          "options": {"cas": 3}})
assert r.status_code == 200 and r.json()["data"]["version"] == 4, r.text
got = envelope(kv.read_secret_version(path=db, raise_on_deleted_version=True))
assert got["data"] == {"password": "three", "port": 5432}, got
r = raw("PATCH", "/v1/secret/data/" + db, json={"data": {}})
assert r.status_code == 415, r.status_code

# Delete the latest: Vault's 404 with the version's metadata.
assert kv.delete_latest_version_of_secret(path=db).status_code == 204
gone = kv.read_secret_version(path=db, raise_on_deleted_version=False)
assert gone["data"]["data"] is None and gone["data"]["metadata"]["deletion_time"] != "", gone
raises(exceptions.InvalidPath, kv.read_secret_version, path=db, raise_on_deleted_version=True)
assert kv.undelete_secret_versions(path=db, versions=[4]).status_code == 204
assert envelope(kv.read_secret_version(path=db, raise_on_deleted_version=True))["data"]["port"] \
    == 5432

# Destroy one version, soft-delete another.
assert kv.destroy_secret_versions(path=db, versions=[1]).status_code == 204
raises(exceptions.InvalidPath, kv.read_secret_version, path=db, version=1,
       raise_on_deleted_version=False)
assert kv.delete_secret_versions(path=db, versions=[2]).status_code == 204
raises(exceptions.InvalidPath, kv.read_secret_version, path=db, version=2,
       raise_on_deleted_version=True)
e = raises(exceptions.InvalidRequest, kv.create_or_update_secret, path=db, secret={"a": 1},
           cas="x")
assert "cas" in str(e), e

# Metadata: read, update, merge patch.
meta = envelope(kv.read_secret_metadata(path=db))
assert meta["current_version"] == 4 and meta["custom_metadata"] is None, meta
assert sorted(meta["versions"]) == ["1", "2", "3", "4"], meta["versions"]
assert meta["versions"]["1"]["destroyed"] is True, meta["versions"]
assert meta["versions"]["2"]["deletion_time"] != "", meta["versions"]
assert meta["delete_version_after"] == "0s" and TIME.match(meta["updated_time"]), meta
assert kv.update_metadata(path=db, max_versions=5, custom_metadata={"owner": "ops"},
                          delete_version_after="1h").status_code == 204
meta = envelope(kv.read_secret_metadata(path=db))
assert meta["max_versions"] == 5 and meta["custom_metadata"] == {"owner": "ops"}, meta
assert meta["delete_version_after"] == "1h0m0s", meta
r = merge_patch("/v1/secret/metadata/" + db, {"custom_metadata": {"owner": None, "team": "db"}})
assert r.status_code == 204, r.text
meta = envelope(kv.read_secret_metadata(path=db))
assert meta["custom_metadata"] == {"team": "db"} and meta["max_versions"] == 5, meta
got = envelope(kv.read_secret_version(path=db, raise_on_deleted_version=True))
assert got["metadata"]["custom_metadata"] == {"team": "db"}, got

# Subkeys: the shape without the values.
envelope(kv.create_or_update_secret(path=nested, secret={"a": {"b": "c"}, "d": 1}))
sub = envelope(client.adapter.get("/v1/secret/subkeys/" + nested))
assert sub["subkeys"] == {"a": {"b": None}, "d": None}, sub
assert sub["metadata"]["version"] == 1, sub
sub = envelope(client.adapter.get("/v1/secret/subkeys/" + nested, params={"depth": 1}))
assert sub["subkeys"] == {"a": None, "d": None}, sub

# Lists: LIST, GET ?list=true, recursive, and an empty folder's 404.
keys = envelope(kv.list_secrets(path=prefix))["keys"]
assert keys == ["db", "nested/"], keys
strict = hvac.Client(url=base_url, token=token, timeout=20, strict_http=True)
assert envelope(strict.secrets.kv.v2.list_secrets(path=prefix))["keys"] == keys
rec = envelope(client.adapter.get("/v1/secret/metadata/" + prefix,
                                  params={"list": "true", "recursive": "true"}))
assert rec["keys"] == ["db", "nested/x"], rec
assert prefix + "/" in envelope(kv.list_secrets(path=""))["keys"]
e = raises(exceptions.InvalidPath, kv.list_secrets, path=prefix + "/none")
assert e.errors == [], e.errors

# Delete the metadata and every version.
assert kv.delete_metadata_and_all_versions(path=db).status_code == 204
assert kv.delete_metadata_and_all_versions(path=nested).status_code == 204
raises(exceptions.InvalidPath, kv.read_secret_metadata, path=db)

# A token the gateway does not know: Vault's 403.
bad = hvac.Client(url=base_url, token="ck_wrong_0123456789abcdef", timeout=20)
e = raises(exceptions.Forbidden, bad.secrets.kv.v2.read_secret_version, path=db,
           raise_on_deleted_version=True)
assert e.errors == ["permission denied"], e.errors

print("vault hvac %s: ok" % importlib.metadata.version("hvac"))
