#!/usr/bin/env python3
"""An approver in Python: check what a request would do, from the spec alone, then approve it.

    python3 approve.py CREDENTIALS.json REQUEST_ID APPROVER_NAME APPROVER_KEY.pem [--data FILE]
    python3 approve.py --request-file REQUEST.bin [--data FILE]        # check only, offline

Fetches the request (GetRequest, with the security officer's API key from the credentials file
that `redoubt serve --dev` writes), rebuilds the SHA-256 digest of its operation as
docs/approval-challenge.md specifies, and refuses — exit status 2, nothing signed — when the
approve challenge binds another digest, request, partition, key or operation. With --data the
message (or digest, ciphertext, MAC data) must also be this file, byte for byte. Then it prints
the operation in words, signs the challenge with the approver's key (Ed25519 or P-256 PKCS#8
PEM, from `redoubt approver-key generate`) using the openssl command, and hands the signature in
(ApproveRequest). --request-file reads a serialized ApprovalRequest instead and only checks it.

Needs grpcio and protobuf (pip install -r requirements.txt) and the openssl command.
"""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redoubt.v1 import common_pb2  # noqa: E402

PREFIX = b"redoubt-approval-v1\n"
HASHES = {common_pb2.HASH_ALGORITHM_SHA_256: "SHA-256", common_pb2.HASH_ALGORITHM_SHA_384: "SHA-384",
          common_pb2.HASH_ALGORITHM_SHA_512: "SHA-512"}
ENCRYPTION = {common_pb2.ENCRYPTION_SCHEME_AES_GCM: "AES-GCM",
              common_pb2.ENCRYPTION_SCHEME_CHACHA20_POLY1305: "CHACHA20-POLY1305",
              common_pb2.ENCRYPTION_SCHEME_AES_CBC_PKCS7: "AES-CBC-PKCS7",
              common_pb2.ENCRYPTION_SCHEME_RSA_OAEP_SHA256: "RSA-OAEP-SHA256"}


class Refused(Exception):
    """The request does not bind what it shows: do not sign."""


def field(data: bytes) -> bytes:
    """A canonical-data field: 4-byte big-endian length, then the bytes."""
    return struct.pack(">I", len(data)) + data


def scheme_name(scheme) -> tuple:
    """(name, ML-DSA context) of a SignatureScheme, as the spec names it."""
    kind = scheme.WhichOneof("scheme")
    if kind == "ed25519":
        return "ED25519", b""
    if kind == "ml_dsa":
        return "ML-DSA", scheme.ml_dsa.context
    if kind == "ecdsa":
        encoding = "RAW" if scheme.ecdsa.encoding == common_pb2.ECDSA_SIGNATURE_ENCODING_RAW else "DER"
        low_s = "STRICT" if scheme.ecdsa.low_s == common_pb2.LOW_S_POLICY_STRICT else "STANDARD"
        return f"ECDSA-{HASHES[scheme.ecdsa.hash]}-{encoding}-{low_s}", b""
    if kind == "rsa_pss":
        return f"RSA-PSS-{HASHES[scheme.rsa_pss.hash]}", b""
    if kind == "rsa_pkcs1v15":
        return f"RSA-PKCS1-{HASHES[scheme.rsa_pkcs1v15.hash]}", b""
    if kind == "rsa_pkcs1v15_raw":
        return "RSA-PKCS1-RAW", b""
    raise Refused(f"unknown signature scheme {kind}")


def canonical(operation) -> tuple:
    """(operation name, canonical data, the data to compare with --data, the operation in words)."""
    kind = operation.WhichOneof("operation")
    if kind == "sign":
        which = operation.sign.input.WhichOneof("input")
        data = getattr(operation.sign.input, which)
        name, context = scheme_name(operation.sign.scheme)
        words = f"sign {'a message' if which == 'message' else 'a precomputed digest'} of {len(data)} bytes with {name}"
        return "sign", field(b"sign") + field(which.encode()) + field(data) + field(name.encode()) + field(context), data, words
    if kind == "decrypt":
        d = operation.decrypt
        name = ENCRYPTION[d.scheme]
        return ("decrypt", field(b"decrypt") + field(d.ciphertext) + field(name.encode()) + field(d.aad), d.ciphertext,
                f"decrypt a ciphertext of {len(d.ciphertext)} bytes with {name}")
    if kind == "mac":
        name = HASHES[operation.mac.hash]
        return ("mac", field(b"mac") + field(operation.mac.data) + field(name.encode()), operation.mac.data,
                f"compute an HMAC-{name} of {len(operation.mac.data)} bytes")
    if kind in ("block", "unblock"):
        return kind, field(kind.encode()), None, f"{kind} the key"
    # update and set_policy follow the same spec; this short example leaves them to `redoubt approve`.
    raise Refused(f"this example does not check {kind} requests; use `redoubt approve --request`")


def parse_challenge(raw: bytes) -> dict:
    """The six fields of a challenge (docs/approval-challenge.md), strictly."""
    if not raw.startswith(PREFIX):
        raise Refused("the challenge does not start with redoubt-approval-v1")
    at, fields = len(PREFIX), []
    for _ in range(6):
        if at + 2 > len(raw):
            raise Refused("the challenge is cut short")
        (n,) = struct.unpack(">H", raw[at:at + 2])
        fields.append(raw[at + 2:at + 2 + n])
        at += 2 + n
    if at != len(raw):
        raise Refused("the challenge has bytes after the decision")
    names = ["request_id", "partition", "key_id", "operation", "digest", "decision"]
    return {k: (v if k == "digest" else v.decode()) for k, v in zip(names, fields)}


def check(request, data_file) -> str:
    """Checks that the approve challenge binds exactly the operation shown; returns it in words."""
    name, data, shown, words = canonical(request.operation)
    digest = hashlib.sha256(data).digest()
    c = parse_challenge(request.approve_challenge)
    problems = []
    if c["decision"] != "approve":
        problems.append("the approve challenge is not an approval")
    for key, value in (("request_id", request.id), ("partition", request.partition), ("key_id", request.key_id), ("operation", name)):
        if c[key] != value:
            problems.append(f"the challenge's {key} is {c[key]!r}, not {value!r}")
    if c["digest"] != digest:
        problems.append(f"the challenge's digest {c['digest'].hex()} is not the SHA-256 of the operation shown ({digest.hex()})")
    if request.operation_digest != digest:
        problems.append("operation_digest is not the SHA-256 of the operation shown")
    if data_file is not None:
        with open(data_file, "rb") as f:
            mine = f.read()
        if shown != mine:
            problems.append(f"the operation's data is not {data_file}")
    if problems:
        raise Refused("; ".join(problems))
    return f"{words} (key {request.key_id}, partition {request.partition}); digest {digest.hex()} checked"


def sign(challenge: bytes, key_pem: str) -> bytes:
    """The approver's signature of the challenge: Ed25519, or ECDSA P-256/SHA-256 (DER)."""
    described = subprocess.run(["openssl", "pkey", "-in", key_pem, "-noout", "-text"], capture_output=True, check=True).stdout
    with tempfile.NamedTemporaryFile() as message:
        message.write(challenge)
        message.flush()
        if described.startswith(b"ED25519"):
            command = ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key_pem, "-in", message.name]
        else:
            command = ["openssl", "dgst", "-sha256", "-sign", key_pem, message.name]
        return subprocess.run(command, capture_output=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("credentials", nargs="?")
    parser.add_argument("request_id", nargs="?")
    parser.add_argument("approver", nargs="?")
    parser.add_argument("key", nargs="?")
    parser.add_argument("--data")
    parser.add_argument("--request-file")
    args = parser.parse_args()

    if args.request_file:
        request = common_pb2.ApprovalRequest()
        with open(args.request_file, "rb") as f:
            request.ParseFromString(f.read())
        try:
            print(check(request, args.data))
        except Refused as refusal:
            print(f"refusing to sign: {refusal}", file=sys.stderr)
            return 2
        return 0

    import grpc
    from redoubt.v1 import approval_pb2, approval_pb2_grpc, session_pb2, session_pb2_grpc

    with open(args.credentials, encoding="utf-8") as f:
        creds = json.load(f)
    with grpc.insecure_channel(creds["endpoint"]) as channel:
        opened = session_pb2_grpc.SessionServiceStub(channel).OpenSession(
            session_pb2.OpenSessionRequest(partition_id=creds["partition"]),
            metadata=[("authorization", "Bearer " + creds["security_officer_api_key"])], timeout=30)
        auth = [("authorization", "Bearer " + opened.token)]
        approvals = approval_pb2_grpc.ApprovalServiceStub(channel)
        request = approvals.GetRequest(approval_pb2.GetRequestRequest(request_id=args.request_id), metadata=auth, timeout=30).request
        try:
            print(check(request, args.data))
        except Refused as refusal:
            print(f"refusing to sign: {refusal}", file=sys.stderr)
            return 2
        signature = sign(request.approve_challenge, args.key)
        decided = approvals.ApproveRequest(
            approval_pb2.DecideRequestRequest(request_id=request.id, approver=args.approver, signature=signature),
            metadata=auth, timeout=30)
        print(f"approved by {args.approver}: request {request.id} is {common_pb2.ApprovalStatus.Name(decided.request.status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
