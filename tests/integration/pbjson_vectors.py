#!/usr/bin/env python3
"""Test vectors for libcairn's proto3 JSON mapping (cairn/pbjson.h), made and
checked by Google's protobuf runtime for Python, an implementation of its own.

  pbjson_vectors.py gen DIR [--count N] [--seed S]
      Writes N random cairn.testing.v1.Kinds messages (tests/proto) covering
      every field kind and edge values, each as DIR/NNNN.bin (the binary) and
      the JSON json_format.MessageToJson prints: NNNN.json (lowerCamelCase),
      NNNN.proto.json (proto names), NNNN.defaults.json and
      NNNN.defaults_proto.json (with default values); DIR/count holds N.
  pbjson_vectors.py check DIR
      Parses every NNNN.c*.json the C side wrote back with json_format.Parse
      and compares the message with NNNN.bin (deterministic serialisation of
      both, so map order does not matter and NaN compares by its bits).
      Prints each mismatch and exits 1 if there was one. Messages whose JSON
      Python cannot read back itself (json_format rejects FLT_MAX, which it
      prints as 3.4028235e+38) are skipped and counted.

The message classes come from a FileDescriptorSet that protoc-c writes for
kinds.proto (no protoc needed). Exit 77 when google.protobuf is missing.
"""
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

try:
    from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, json_format
    from google.protobuf import message_factory
except ImportError:
    print("pbjson_vectors: google.protobuf is not installed (Debian python3-protobuf)",
          file=sys.stderr)
    sys.exit(77)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WKT_DIR = os.environ.get("WKT_PROTO_DIR", "/usr/include")
FD = descriptor.FieldDescriptor
VARIANTS = {  # file suffix: MessageToJson options
    ".json": {},
    ".proto.json": {"preserving_proto_field_name": True},
    ".defaults.json": {"including_default_value_fields": True},
    ".defaults_proto.json": {"including_default_value_fields": True,
                             "preserving_proto_field_name": True},
}


def kinds_class():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "kinds.pb")
        subprocess.run(["protoc-c", "--proto_path=" + os.path.join(ROOT, "tests", "proto"),
                        "--proto_path=" + WKT_DIR, "--include_imports",
                        "--descriptor_set_out=" + out, "cairn/testing/v1/kinds.proto"],
                       check=True)
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fdp in fds.file:
        pool.Add(fdp)
    desc = pool.FindMessageTypeByName("cairn.testing.v1.Kinds")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def f32(x):
    """x as the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


INT32 = [0, 1, -1, 2**31 - 1, -2**31, 123456]
UINT32 = [0, 1, 2**32 - 1, 2**31]
INT64 = [0, 1, -1, 2**63 - 1, -2**63, 2**53 + 1, -(2**53 + 1)]
UINT64 = [0, 1, 2**64 - 1, 2**63, 2**53 + 1]
DOUBLES = [0.0, 0.1, -2.5, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, 2.0**53 + 2,
           123456789.125, math.nan, math.inf, -math.inf, 1.0, 1e21, 1e-7]
FLOATS = [0.0, 0.1, -2.5, -3.4028232635611926e38, 1.401298464324817e-45, 1.1754943508222875e-38,
          16777217.0, math.nan, math.inf, -math.inf, 1.0, 1e-7, 33554434.0]
FLT_MAX = 3.4028234663852886e38  # rare: json_format cannot read it back (see check)
STRINGS = ["", "plain", "ünïcödé", "日本語のテキスト", "emoji 😀 and 𝄞", "quote \" backslash \\ slash /",
           "controls \n\r\t\b\f \x01 \x1f \x7f", "line sep \u2028 \u2029", "   spaced   ",
           "null-ish null", "<script>&amp;</script>"]
SNAKE = ["user", "display_name", "a", "photo", "x1", "a1_b", "long_field_name_here"]


def rand_text(rng):
    if rng.random() < 0.5:
        return rng.choice(STRINGS)
    alphabet = [chr(c) for c in range(0x20, 0x7f)] + ["é", "ß", "中", "😀", "\n", "\u0301"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))


def rand_scalar(fd, rng, singular):
    t = fd.type
    edge = rng.random() < 0.4
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return rng.choice(INT32) if edge else rng.randint(-2**31, 2**31 - 1)
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return rng.choice(UINT32) if edge else rng.randint(0, 2**32 - 1)
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return rng.choice(INT64) if edge else rng.randint(-2**63, 2**63 - 1)
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return rng.choice(UINT64) if edge else rng.randint(0, 2**64 - 1)
    if t == FD.TYPE_DOUBLE:
        v = rng.choice(DOUBLES) if edge else rng.uniform(-1e6, 1e6) * 10.0**rng.randint(-30, 30)
        # -0.0 only where protobuf-c keeps it (elements): its packer drops a singular -0.0
        if not singular and rng.random() < 0.05:
            v = -0.0
        return v
    if t == FD.TYPE_FLOAT:
        v = rng.choice(FLOATS) if edge else f32(rng.uniform(-1e6, 1e6) * 10.0**rng.randint(-30, 30))
        if rng.random() < 0.003:
            v = rng.choice([FLT_MAX, -FLT_MAX])
        if not singular and rng.random() < 0.05:
            v = -0.0
        return v
    if t == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if t == FD.TYPE_STRING:
        return rand_text(rng)
    if t == FD.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 17, 64])))
    if t == FD.TYPE_ENUM:
        if fd.enum_type.full_name == "google.protobuf.NullValue":
            return 0
        if rng.random() < 0.1:
            return 77  # proto3 enums are open: an unknown number
        return rng.choice(fd.enum_type.values).number
    raise ValueError(fd.full_name)


def rand_json(rng, depth):
    kinds = ["null", "num", "str", "bool"] + (["list", "obj"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "num":
        return rng.choice([0.0, 1.0, -3.0, 0.5, 1e300, -1e-300, 2.0**53, rng.uniform(-1e9, 1e9)])
    if kind == "str":
        return rand_text(rng)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "list":
        return [rand_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rand_text(rng): rand_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def fill_wkt(msg, rng, depth):
    """Fills well-known type @msg; False when it is not one."""
    name = msg.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        msg.seconds = rng.choice([0, -62135596800, 253402300799, -1, 951782400,
                                  rng.randint(-62135596800, 253402300799)])
        msg.nanos = rng.choice([0, 0, 120000000, 1000, 999999999, rng.randrange(10**9)])
        return True
    if name == "google.protobuf.Duration":
        secs = rng.choice([0, 1, 315576000000, rng.randint(0, 315576000000)])
        nanos = rng.choice([0, 0, 500000000, 1000, 1, 999999999, rng.randrange(10**9)])
        sign = -1 if rng.random() < 0.4 else 1
        msg.seconds, msg.nanos = sign * secs, sign * nanos
        return True
    if name == "google.protobuf.Struct":
        msg.update({rand_text(rng): rand_json(rng, depth) for _ in range(rng.randint(0, 4))})
        return True
    if name == "google.protobuf.ListValue":
        msg.extend([rand_json(rng, depth) for _ in range(rng.randint(0, 4))])
        return True
    if name == "google.protobuf.Value":
        v = rand_json(rng, depth)
        if v is None:
            msg.null_value = 0
        elif isinstance(v, bool):
            msg.bool_value = v
        elif isinstance(v, float):
            msg.number_value = v
        elif isinstance(v, str):
            msg.string_value = v
        elif isinstance(v, list):
            msg.list_value.SetInParent()  # an empty list is still a kind of Value
            msg.list_value.extend(v)
        else:
            msg.struct_value.SetInParent()
            msg.struct_value.update(v)
        return True
    if name == "google.protobuf.FieldMask":
        for _ in range(rng.randint(0, 3)):
            msg.paths.append(".".join(rng.choice(SNAKE) for _ in range(rng.randint(1, 3))))
        return True
    if name == "google.protobuf.Empty":
        return True
    if name.startswith("google.protobuf.") and name.endswith("Value"):
        # a wrapper: set, often to its default, which still shows
        fd = msg.DESCRIPTOR.fields_by_name["value"]
        if rng.random() < 0.7:
            msg.value = rand_scalar(fd, rng, True)
        return True
    return False


def fill(msg, rng, depth, oneof_pick):
    """Random content for @msg; @oneof_pick chooses each oneof's member."""
    msg.SetInParent()
    if fill_wkt(msg, rng, depth):
        return
    d = msg.DESCRIPTOR
    for fd in d.fields:
        if fd.containing_oneof is not None or rng.random() < 0.4:
            continue
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            set_map(getattr(msg, fd.name), fd, rng, depth)
        elif fd.label == FD.LABEL_REPEATED:
            items = getattr(msg, fd.name)
            for _ in range(rng.choice([0, 1, 2, 3, 5])):
                if fd.message_type is not None:
                    if depth < 3:
                        fill(items.add(), rng, depth + 1, oneof_pick)
                else:
                    items.append(rand_scalar(fd, rng, False))
        elif fd.message_type is not None:
            if depth < 3:
                fill(getattr(msg, fd.name), rng, depth + 1, oneof_pick)
        else:
            setattr(msg, fd.name, rand_scalar(fd, rng, True))
    for oneof in d.oneofs:
        fd = oneof_pick(oneof)
        if fd is None:
            continue
        if fd.message_type is not None:
            fill(getattr(msg, fd.name), rng, depth + 1, oneof_pick)
        else:
            # a member set to its default is still set, and shows
            setattr(msg, fd.name, rand_scalar(fd, rng, True))


def set_map(m, fd, rng, depth):
    kfd = fd.message_type.fields_by_name["key"]
    vfd = fd.message_type.fields_by_name["value"]
    for _ in range(rng.choice([0, 1, 2, 4])):
        key = rand_scalar(kfd, rng, False)
        if vfd.message_type is not None:
            if vfd.message_type.full_name == "google.protobuf.Value" and rng.random() < 0.2:
                m[key].null_value = 0
            else:
                fill(m[key], rng, depth + 1, lambda o: None)
        else:
            m[key] = rand_scalar(vfd, rng, False)


def gen(out, count, seed):
    kinds = kinds_class()
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    d = kinds.DESCRIPTOR
    for i in range(count):
        # cycle through every oneof member (and none) so each shows up
        def pick(oneof, i=i):
            members = list(oneof.fields) + [None]
            return members[(i + rng.randrange(2)) % len(members)]
        msg = kinds()
        if i == 0:
            pass  # the empty message
        elif i == 1:
            # edge values everywhere at once
            for fd in d.fields:
                if fd.containing_oneof is None and fd.label != FD.LABEL_REPEATED and \
                        fd.message_type is None:
                    setattr(msg, fd.name, rand_scalar(fd, random.Random(1), True))
        else:
            fill(msg, rng, 0, pick)
        base = os.path.join(out, "%04d" % i)
        with open(base + ".bin", "wb") as f:
            f.write(msg.SerializeToString())
        for suffix, opts in VARIANTS.items():
            with open(base + suffix, "w", encoding="utf-8") as f:
                f.write(json_format.MessageToJson(msg, **opts))
    with open(os.path.join(out, "count"), "w") as f:
        f.write("%d\n" % count)
    print("pbjson_vectors: %d messages in %s" % (count, out))


def check(out):
    kinds = kinds_class()
    with open(os.path.join(out, "count")) as f:
        count = int(f.read())
    checked = bad = skipped = 0
    for i in range(count):
        base = os.path.join(out, "%04d" % i)
        orig = kinds()
        with open(base + ".bin", "rb") as f:
            orig.ParseFromString(f.read())
        want = orig.SerializeToString(deterministic=True)
        for suffix, opts in VARIANTS.items():
            path = base + ".c" + suffix
            if not os.path.exists(path):
                continue
            # json_format (3.21/4.21) rejects the largest float, 3.4028235e+38,
            # which it prints itself: where Python cannot read its own JSON of
            # a message, it cannot judge ours.
            try:
                json_format.Parse(json_format.MessageToJson(orig, **opts), kinds())
            except json_format.ParseError:
                skipped += 1
                continue
            checked += 1
            with open(path, encoding="utf-8") as f:
                text = f.read()
            try:
                got = json_format.Parse(text, kinds())
            except json_format.ParseError as e:
                bad += 1
                print("MISMATCH %s: Python cannot parse it: %s" % (path, e))
                continue
            if got.SerializeToString(deterministic=True) != want:
                bad += 1
                print("MISMATCH %s: differs from %s.bin\n  C JSON: %s\n  Python: %s" %
                      (path, base, text[:2000], json_format.MessageToJson(orig, indent=None)[:2000]))
    print("pbjson_vectors: Python read back %d JSON texts from C, %d mismatches; %d skipped "
          "where Python cannot read its own JSON (FLT_MAX)" % (checked, bad, skipped))
    return 1 if bad or not checked else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "gen":
        count, seed = 300, 20240501
        args = argv[3:]
        while args:
            if args[0] == "--count":
                count = int(args[1])
            elif args[0] == "--seed":
                seed = int(args[1])
            else:
                break
            args = args[2:]
        gen(argv[2], count, seed)
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
