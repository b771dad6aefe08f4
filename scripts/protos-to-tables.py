#!/usr/bin/python3
"""Tables generated from the protos' descriptors (run by scripts/generate-protos).

    protos-to-tables.py DESCRIPTOR_SET OUT_DIR

reads a FileDescriptorSet (protoc --include_imports --include_source_info) and writes into OUT_DIR:
- redoubt_http.swift: every method of every redoubt.v1 service, with its descriptor, its
  streaming kind and its message types, for the broker's HTTP/JSON door (one uniform mapping:
  POST /<package>.<Service>/<Method>, the body the request message in proto3 JSON);
- openapi.json: an OpenAPI 3.0 document of that mapping, with a JSON schema per message
  (proto3's canonical JSON mapping) and the protos' comments as descriptions; the Swift file
  holds it too (RedoubtHTTPMethods.openAPIDocument), which the broker serves at /openapi.json;
- redoubt_descriptors.swift: every file's serialized FileDescriptorProto (comments included),
  the files each imports, and the file defining each symbol (service, method, message, enum,
  enum value), for the broker's gRPC server reflection service.

Deterministic: the same protos give the same bytes. Needs Debian's python3-protobuf.
"""
import json
import sys

from google.protobuf import descriptor_pb2

PACKAGE = "redoubt.v1"
FD = descriptor_pb2.FieldDescriptorProto

# The standard mapping of gRPC codes to HTTP statuses (google/rpc/code.proto).
ERROR_STATUSES = {
    "400": "INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE; also a body that is not the request message in proto3 JSON, or not `application/json` (INVALID_ARGUMENT)",
    "401": "UNAUTHENTICATED: no, or no valid, `Authorization: Bearer <session token>`",
    "403": "PERMISSION_DENIED",
    "404": "NOT_FOUND",
    "409": "ALREADY_EXISTS or ABORTED",
    "429": "RESOURCE_EXHAUSTED: rate limit, quota, or a body larger than the broker's message limit",
    "500": "INTERNAL, UNKNOWN or DATA_LOSS",
    "501": "UNIMPLEMENTED: no such method, a GET, or an RPC that streams requests (gRPC-only)",
    "503": "UNAVAILABLE",
    "504": "DEADLINE_EXCEEDED",
}


def swift_type(full_name):
    """`.redoubt.v1.Outer.Inner` -> `Redoubt_V1_Outer.Inner` (swift-protobuf's naming)."""
    parts = full_name.lstrip(".").split(".")
    package = [p for p in parts if p and p[0].islower()]
    types = parts[len(package):]
    prefix = "_".join(p[0].upper() + p[1:] for p in package)
    return prefix + "_" + ".".join(types)


def comments(file):
    """Leading comments by the path of the element they describe."""
    found = {}
    for location in file.source_code_info.location:
        text = location.leading_comments.strip()
        if text:
            found[tuple(location.path)] = "\n".join(line.strip() for line in text.splitlines())
    return found


class Schemas:
    def __init__(self, files):
        self.messages = {}
        self.enums = {}
        self.docs = {}
        for file in files:
            notes = comments(file)
            prefix = "." + file.package if file.package else ""
            for index, message in enumerate(file.message_type):
                self._message(prefix, message, (4, index), notes)
            for index, enum in enumerate(file.enum_type):
                self._enum(prefix, enum, (5, index), notes)

    def _message(self, prefix, message, path, notes):
        name = prefix + "." + message.name
        self.messages[name] = message
        self.docs[name] = notes.get(path, "")
        for index, field in enumerate(message.field):
            self.docs[name + "#" + field.name] = notes.get(path + (2, index), "")
        for index, nested in enumerate(message.nested_type):
            self._message(name, nested, path + (3, index), notes)
        for index, enum in enumerate(message.enum_type):
            self._enum(name, enum, path + (4, index), notes)

    def _enum(self, prefix, enum, path, notes):
        name = prefix + "." + enum.name
        self.enums[name] = enum
        self.docs[name] = notes.get(path, "")

    @staticmethod
    def ref(full_name):
        return {"$ref": "#/components/schemas/" + full_name.lstrip(".")}

    def field_schema(self, field):
        scalar = {
            FD.TYPE_DOUBLE: {"type": "number", "format": "double"},
            FD.TYPE_FLOAT: {"type": "number", "format": "float"},
            FD.TYPE_INT32: {"type": "integer", "format": "int32"},
            FD.TYPE_SINT32: {"type": "integer", "format": "int32"},
            FD.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
            FD.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
            FD.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
            # proto3 JSON writes 64-bit integers as decimal strings (and reads numbers too).
            FD.TYPE_INT64: {"type": "string", "format": "int64"},
            FD.TYPE_SINT64: {"type": "string", "format": "int64"},
            FD.TYPE_SFIXED64: {"type": "string", "format": "int64"},
            FD.TYPE_UINT64: {"type": "string", "format": "uint64"},
            FD.TYPE_FIXED64: {"type": "string", "format": "uint64"},
            FD.TYPE_BOOL: {"type": "boolean"},
            FD.TYPE_STRING: {"type": "string"},
            FD.TYPE_BYTES: {"type": "string", "format": "byte"},
        }
        if field.type in scalar:
            return dict(scalar[field.type])
        # An enum or a message: its own schema.
        return self.ref(field.type_name)

    def is_map(self, field):
        if field.type != FD.TYPE_MESSAGE or field.label != FD.LABEL_REPEATED:
            return False
        entry = self.messages.get(field.type_name)
        return entry is not None and entry.options.map_entry

    def message_schema(self, name):
        well_known = {
            ".google.protobuf.Timestamp": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC (`2026-01-02T03:04:05Z`)."},
            ".google.protobuf.Duration": {"type": "string", "description": "Seconds with an `s` suffix (`1.5s`)."},
            ".google.protobuf.Empty": {"type": "object"},
            ".google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}, "additionalProperties": True},
        }
        if name in well_known:
            return well_known[name]
        message = self.messages[name]
        properties = {}
        for field in message.field:
            if self.is_map(field):
                entry = self.messages[field.type_name]
                schema = {"type": "object", "additionalProperties": self.field_schema(entry.field[1])}
            elif field.label == FD.LABEL_REPEATED:
                schema = {"type": "array", "items": self.field_schema(field)}
            else:
                schema = self.field_schema(field)
            doc = self.docs.get(name + "#" + field.name, "")
            if field.HasField("oneof_index") and not field.proto3_optional:
                group = message.oneof_decl[field.oneof_index].name
                doc = (doc + "\n\n" if doc else "") + "One of `" + group + "`: set at most one of its fields."
            if doc:
                if "$ref" in schema:
                    schema = {"allOf": [schema], "description": doc}
                else:
                    schema["description"] = doc
            properties[field.json_name] = schema
        result = {"type": "object", "properties": properties}
        if self.docs.get(name):
            result["description"] = self.docs[name]
        return result

    def enum_schema(self, name):
        enum = self.enums[name]
        result = {"type": "string", "enum": [value.name for value in enum.value]}
        if self.docs.get(name):
            result["description"] = self.docs[name] + "\n\n(The value's number is accepted too.)"
        return result

    def closure(self, roots):
        """Every message and enum the roots reach, by full name."""
        seen, stack = set(), list(roots)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            message = self.messages.get(name)
            if message is None or name.startswith(".google.protobuf."):
                continue
            for field in message.field:
                if field.type in (FD.TYPE_MESSAGE, FD.TYPE_ENUM):
                    stack.append(field.type_name)
        return seen


def main():
    descriptor_set, out_dir = sys.argv[1], sys.argv[2]
    files = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set, "rb") as f:
        files.ParseFromString(f.read())
    schemas = Schemas(files.file)

    methods = []
    for file in sorted(files.file, key=lambda f: f.name):
        if file.package != PACKAGE:
            continue
        notes = comments(file)
        for s_index, service in enumerate(file.service):
            for m_index, method in enumerate(service.method):
                if method.client_streaming and method.server_streaming:
                    kind = "bidirectionalStreaming"
                elif method.client_streaming:
                    kind = "clientStreaming"
                elif method.server_streaming:
                    kind = "serverStreaming"
                else:
                    kind = "unary"
                methods.append({
                    "service": service.name, "method": method.name, "kind": kind,
                    "input": method.input_type, "output": method.output_type,
                    "doc": notes.get((6, s_index, 2, m_index), ""),
                    "service_doc": notes.get((6, s_index), ""),
                })

    write_descriptors(files, out_dir + "/redoubt_descriptors.swift")
    document = openapi(methods, schemas)
    with open(out_dir + "/openapi.json", "w") as f:
        json.dump(document, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    write_swift(methods, json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")), out_dir + "/redoubt_http.swift")


def symbols(file):
    """Every fully qualified symbol a file defines."""
    prefix = file.package + "." if file.package else ""
    found = []

    def enum(scope, e):
        found.append(scope + e.name)
        # Enum values are scoped beside their enum, as in C++.
        found.extend(scope + value.name for value in e.value)

    def message(scope, m):
        name = scope + m.name
        found.append(name)
        for nested in m.nested_type:
            message(name + ".", nested)
        for e in m.enum_type:
            enum(name + ".", e)

    for m in file.message_type:
        message(prefix, m)
    for e in file.enum_type:
        enum(prefix, e)
    for service in file.service:
        found.append(prefix + service.name)
        found.extend(prefix + service.name + "." + method.name for method in service.method)
    return found


def write_descriptors(files, path):
    import base64
    lines = [
        "// DO NOT EDIT.",
        "// swift-format-ignore-file",
        "// Generated by scripts/generate-protos (scripts/protos-to-tables.py) from Protos/.",
        "",
        "/// The descriptors of every proto file the broker serves (and of the files they import), for",
        "/// gRPC server reflection.",
        "public enum RedoubtDescriptors {",
        "    /// One file: its name, its serialized `google.protobuf.FileDescriptorProto` (base64), the",
        "    /// files it imports, and the fully qualified symbols it defines.",
        "    public struct File: Sendable {",
        "        public let name: String",
        "        public let descriptorBase64: String",
        "        public let dependencies: [String]",
        "        public let symbols: [String]",
        "    }",
        "",
        "    /// Every file, imports before the files that import them.",
        "    public static let files: [File] = [",
    ]
    for file in files.file:
        encoded = base64.b64encode(file.SerializeToString(deterministic=True)).decode()
        lines.append("        File(")
        lines.append('            name: "%s",' % file.name)
        lines.append('            descriptorBase64: "%s",' % encoded)
        lines.append("            dependencies: [%s]," % ", ".join('"%s"' % d for d in file.dependency))
        lines.append("            symbols: [%s]" % ", ".join('"%s"' % n for n in symbols(file)))
        lines.append("        ),")
    lines += ["    ]", "}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_swift(methods, document, path):
    assert '"##' not in document
    lines = [
        "// DO NOT EDIT.",
        "// swift-format-ignore-file",
        "// Generated by scripts/generate-protos (scripts/protos-to-tables.py) from Protos/redoubt/v1/*.proto.",
        "",
        "public import GRPCCore",
        "public import SwiftProtobuf",
        "",
        "/// Every `redoubt.v1` RPC, for the broker's HTTP/JSON door: its descriptor, whether and how it",
        "/// streams, and its request and response message types.",
        "public enum RedoubtHTTPMethods {",
        "    /// How an RPC streams.",
        "    public enum Kind: String, Sendable {",
        "        case unary, serverStreaming, clientStreaming, bidirectionalStreaming",
        "    }",
        "",
        "    /// One RPC.",
        "    public struct Method: Sendable {",
        "        public let descriptor: MethodDescriptor",
        "        public let kind: Kind",
        "        public let input: any SwiftProtobuf.Message.Type",
        "        public let output: any SwiftProtobuf.Message.Type",
        "    }",
        "",
        "    /// Every RPC of every `redoubt.v1` service, in the order of the protos.",
        "    public static let all: [Method] = [",
    ]
    for m in methods:
        service = "Redoubt_V1_" + m["service"]
        lines.append(
            "        Method(descriptor: %s.Method.%s.descriptor, kind: .%s, input: %s.self, output: %s.self),"
            % (service, m["method"], m["kind"], swift_type(m["input"]), swift_type(m["output"])))
    lines += [
        "    ]",
        "",
        "    /// The OpenAPI 3 document of the HTTP/JSON door (also in `openapi.json` beside this file).",
        '    public static let openAPIDocument = ##"' + document + '"##',
        "}",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def openapi(methods, schemas):
    paths = {}
    roots = [".redoubt.v1.ErrorDetail"]
    gRPC_only = []
    for m in methods:
        route = "/%s.%s/%s" % (PACKAGE, m["service"], m["method"])
        if m["kind"] in ("clientStreaming", "bidirectionalStreaming"):
            gRPC_only.append("`%s.%s/%s`" % (PACKAGE, m["service"], m["method"]))
            continue
        roots += [m["input"], m["output"]]
        output = schemas.ref(m["output"])
        if m["kind"] == "serverStreaming":
            content = {"application/x-ndjson": {"schema": output}}
            answer = "One response message per line (newline-delimited JSON), as the stream sends them."
        else:
            content = {"application/json": {"schema": output}}
            answer = "The response message."
        operation = {
            "operationId": "%s_%s" % (m["service"], m["method"]),
            "tags": [m["service"]],
            "summary": m["doc"].split("\n\n")[0].replace("\n", " ")[:200] if m["doc"] else m["method"],
            "description": m["doc"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": schemas.ref(m["input"])}}},
            "responses": {"200": {"description": answer, "content": content}},
        }
        for status, text in ERROR_STATUSES.items():
            operation["responses"][status] = {"$ref": "#/components/responses/Error%s" % status}
        if not (m["service"] == "SessionService" and m["method"] == "OpenSession"):
            operation["security"] = [{"sessionToken": []}]
        else:
            operation["security"] = []
        paths[route] = {"post": operation}

    components = {}
    for name in sorted(schemas.closure(roots)):
        if name in schemas.enums:
            components[name.lstrip(".")] = schemas.enum_schema(name)
        else:
            components[name.lstrip(".")] = schemas.message_schema(name)
    components["Status"] = {
        "type": "object",
        "description": "An error: the gRPC status of the same call, as JSON.",
        "required": ["code", "status", "message"],
        "properties": {
            "code": {"type": "integer", "description": "The gRPC status code (16 for UNAUTHENTICATED, …)."},
            "status": {"type": "string", "description": "The gRPC status code's name (`UNAUTHENTICATED`, …)."},
            "message": {"type": "string", "description": "What went wrong, for a person; never holds secrets."},
        },
    }
    responses = {
        "Error" + status: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}
        for status, text in ERROR_STATUSES.items()
    }
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": "Redoubt HTTP/JSON API",
            "version": "v1",
            "description": (
                "Every `redoubt.v1` RPC over HTTP/JSON, with the semantics of the gRPC API: "
                "`POST /redoubt.v1.<Service>/<Method>` with the request message as the body in proto3's canonical JSON "
                "(`Content-Type: application/json`), and `Authorization: Bearer <session token>` from "
                "`SessionService/OpenSession`. The answer is the response message (in proto3 JSON, a field at its default value - false, 0, an empty string or list - is left out), or a `Status` object with the gRPC "
                "code, its name and the message, under the HTTP status of the standard gRPC-to-HTTP mapping. "
                "gRPC-only (client or bidirectional streams): " + ", ".join(gRPC_only) + "."),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": responses,
            "securitySchemes": {"sessionToken": {"type": "http", "scheme": "bearer", "description": "A session token from SessionService/OpenSession."}},
        },
    }
    return document


if __name__ == "__main__":
    main()
