"""Calls a Redoubt broker with no proto file and no generated code, as grpcurl does.

    python reflect.py redoubt-data/dev-credentials.json

Asks the broker's gRPC server reflection service (grpc.reflection.v1alpha, through
grpcio-reflection) for its services and their descriptors, builds the message classes from them,
opens a session with the dev crypto user's API key, creates a P-256 key and lists the keys. Then
asks the same of grpc.reflection.v1 on a raw stream. Needs grpcio, protobuf and grpcio-reflection
(Examples/python/requirements.txt); the broker must be plaintext on loopback (`serve --dev`).
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def main():
    with open(sys.argv[1]) as f:
        credentials = json.load(f)
    channel = grpc.insecure_channel(credentials["endpoint"])

    # grpcurl list
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    print("services:", " ".join(services))

    # grpcurl describe
    pool = descriptor_pool.DescriptorPool(database)
    sign = pool.FindServiceByName("redoubt.v1.CryptoService").FindMethodByName("Sign")
    print("describe: rpc Sign(%s) returns (%s)" % (sign.input_type.full_name, sign.output_type.full_name))
    print("SignRequest fields:", " ".join(field.name for field in sign.input_type.fields))

    # grpcurl call, with classes made from the descriptors
    def call(service, method, request_fields, token):
        descriptor = pool.FindServiceByName(service).FindMethodByName(method)
        request_class = message_factory.GetMessageClass(descriptor.input_type)
        response_class = message_factory.GetMessageClass(descriptor.output_type)
        stub = channel.unary_unary(
            "/%s/%s" % (service, method),
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        return stub(request_class(**request_fields), metadata=[("authorization", "Bearer " + token)])

    session = call("redoubt.v1.SessionService", "OpenSession", {"partition_id": credentials["partition"]}, credentials["api_key"])
    print("session opened:", session.session_id)
    algorithm = pool.FindEnumTypeByName("redoubt.v1.KeyAlgorithm").values_by_name["KEY_ALGORITHM_EC_P256"].number
    spec_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("redoubt.v1.KeySpec"))
    created = call("redoubt.v1.KeyService", "CreateKey", {"spec": spec_class(algorithm=algorithm, label="reflected")}, session.token)
    listed = call("redoubt.v1.KeyService", "ListKeys", {}, session.token)
    print("created key:", created.key.id, "listed:", [key.id for key in listed.keys] == [created.key.id])

    # The same protocol under grpc.reflection.v1 (its messages are v1alpha's, on the wire).
    stream = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    answers = list(stream(iter([
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="redoubt.v1.KeyService.CreateKey"),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="redoubt.v1.NoSuchThing"),
    ])))
    print("v1 services:", " ".join(sorted(s.name for s in answers[0].list_services_response.service)))
    print("v1 files for KeyService.CreateKey:", len(answers[1].file_descriptor_response.file_descriptor_proto))
    print("v1 unknown symbol: error %d" % answers[2].error_response.error_code)


if __name__ == "__main__":
    main()
