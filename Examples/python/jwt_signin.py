#!/usr/bin/env python3
"""Redoubt from Python with a JWT: sign in with a token from your identity provider, sign a message.

    python3 jwt_signin.py PATH/TO/dev-credentials.json PATH/TO/token.jwt

A workload gets its JWT from its identity provider (an OIDC ID token, a Kubernetes projected
service-account token, a CI job's token) and presents it as `authorization: Bearer <jwt>` on
OpenSession. The partition's security officer must first have bound that issuer:

    redoubt issuers bind corp --issuer https://login.example.com --audience redoubt --discovery

The session belongs to the partition's user that the token's user claim (default `sub`) names,
and ends no later than the token does. Reads the endpoint and partition from the credentials
file that `redoubt serve --dev` writes. Exit status 0 when the signature verifies.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from redoubt.v1 import common_pb2, crypto_pb2, crypto_pb2_grpc, key_pb2, key_pb2_grpc  # noqa: E402
from redoubt.v1 import session_pb2, session_pb2_grpc  # noqa: E402


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        creds = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        jwt = f.read().strip()

    with grpc.insecure_channel(creds["endpoint"]) as channel:
        sessions = session_pb2_grpc.SessionServiceStub(channel)
        # 1. Open a session: the JWT is the bearer of OpenSession, as an API key would be.
        opened = sessions.OpenSession(
            session_pb2.OpenSessionRequest(partition_id=creds["partition"]),
            metadata=[("authorization", "Bearer " + jwt)],
            timeout=10,
        )
        print(f"signed in as user {opened.user_id}; session ends {opened.expire_time.ToJsonString()}")
        auth = [("authorization", "Bearer " + opened.token)]

        # 2. Create a key and sign with it, as with any other session.
        key_id = key_pb2_grpc.KeyServiceStub(channel).CreateKey(
            key_pb2.CreateKeyRequest(spec=common_pb2.KeySpec(algorithm=common_pb2.KEY_ALGORITHM_ED25519, label="jwt-example")),
            metadata=auth,
            timeout=10,
        ).key.id
        crypto = crypto_pb2_grpc.CryptoServiceStub(channel)
        scheme = common_pb2.SignatureScheme(ed25519=common_pb2.SignatureScheme.Ed25519())
        message = b"release build 42"
        signature = crypto.Sign(
            crypto_pb2.SignRequest(key_id=key_id, input=common_pb2.SigningInput(message=message), scheme=scheme),
            metadata=auth,
            timeout=10,
        ).signature
        valid = crypto.Verify(
            crypto_pb2.VerifyRequest(
                key_id=key_id, input=common_pb2.SigningInput(message=message), signature=signature, scheme=scheme
            ),
            metadata=auth,
            timeout=10,
        ).valid
        print(f"signed with {key_id}: verified {valid}")

        # 3. A token that does not verify is refused like any wrong credential.
        header, claims, sig = jwt.split(".")
        forged = ".".join([header, claims, sig[::-1]])
        try:
            sessions.OpenSession(
                session_pb2.OpenSessionRequest(partition_id=creds["partition"]),
                metadata=[("authorization", "Bearer " + forged)],
                timeout=10,
            )
            print("forged token: accepted")
        except grpc.RpcError as e:
            print(f"forged token: {e.code().name}")

        sessions.CloseSession(session_pb2.CloseSessionRequest(), metadata=auth, timeout=10)
        return 0 if valid else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        print(f"redoubt call failed: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(2)
    except (OSError, KeyError, ValueError) as e:
        print(f"cannot read the credentials or the token: {e}", file=sys.stderr)
        sys.exit(2)
