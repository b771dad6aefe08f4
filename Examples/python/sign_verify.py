#!/usr/bin/env python3
"""Redoubt from Python: open a session, create a P-256 key, sign a message, verify it.

    python3 sign_verify.py [PATH/TO/dev-credentials.json]

Reads the endpoint, partition and API key that `redoubt serve --dev` writes to
DATA/dev-credentials.json (default: redoubt-data/dev-credentials.json). The stubs in
redoubt/v1/ are generated from Protos/ by scripts/generate-python-protos. Needs grpcio and
protobuf (pip install -r requirements.txt). Exit status 0 when the signature verifies.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from redoubt.v1 import common_pb2, crypto_pb2, crypto_pb2_grpc, key_pb2, key_pb2_grpc  # noqa: E402
from redoubt.v1 import session_pb2, session_pb2_grpc  # noqa: E402


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "redoubt-data/dev-credentials.json"
    with open(path, encoding="utf-8") as f:
        creds = json.load(f)

    # The dev broker listens on loopback without TLS; a production broker needs
    # grpc.secure_channel(endpoint, grpc.ssl_channel_credentials(root_ca, key, cert)).
    with grpc.insecure_channel(creds["endpoint"]) as channel:
        # 1. Open a session: the API key goes in the metadata, never in the message.
        opened = session_pb2_grpc.SessionServiceStub(channel).OpenSession(
            session_pb2.OpenSessionRequest(partition_id=creds["partition"]),
            metadata=[("authorization", "Bearer " + creds["api_key"])],
            timeout=10,
        )
        auth = [("authorization", "Bearer " + opened.token)]

        # 2. Create a P-256 signing key.
        created = key_pb2_grpc.KeyServiceStub(channel).CreateKey(
            key_pb2.CreateKeyRequest(
                spec=common_pb2.KeySpec(algorithm=common_pb2.KEY_ALGORITHM_EC_P256, label="python-example")
            ),
            metadata=auth,
            timeout=10,
        )
        key_id = created.key.id
        print(f"created key {key_id} ({common_pb2.KeyAlgorithm.Name(created.key.algorithm)})")

        # 3. Sign a message (ECDSA with SHA-256, DER encoding).
        crypto = crypto_pb2_grpc.CryptoServiceStub(channel)
        scheme = common_pb2.SignatureScheme(
            ecdsa=common_pb2.SignatureScheme.Ecdsa(hash=common_pb2.HASH_ALGORITHM_SHA_256)
        )
        message = b"pay 100 EUR to alice"
        signed = crypto.Sign(
            crypto_pb2.SignRequest(key_id=key_id, input=common_pb2.SigningInput(message=message), scheme=scheme),
            metadata=auth,
            timeout=10,
        )
        print(f"signature: {len(signed.signature)} bytes, key version {signed.key_version}")

        # 4. Verify it, and check that a changed message does not verify.
        def verify(data: bytes) -> bool:
            return crypto.Verify(
                crypto_pb2.VerifyRequest(
                    key_id=key_id,
                    input=common_pb2.SigningInput(message=data),
                    signature=signed.signature,
                    scheme=scheme,
                ),
                metadata=auth,
                timeout=10,
            ).valid

        good, forged = verify(message), verify(b"pay 900 EUR to mallory")
        print(f"verified: {good}; altered message verified: {forged}")

        # 5. Close the session.
        session_pb2_grpc.SessionServiceStub(channel).CloseSession(
            session_pb2.CloseSessionRequest(), metadata=auth, timeout=10
        )
        return 0 if good and not forged else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        print(f"redoubt call failed: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(2)
    except (OSError, KeyError, ValueError) as e:
        print(f"cannot read the credentials file: {e}", file=sys.stderr)
        sys.exit(2)
