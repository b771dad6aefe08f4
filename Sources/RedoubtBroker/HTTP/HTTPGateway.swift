import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import RedoubtCrypto
import RedoubtProto
import SwiftProtobuf

/// The broker's HTTP/JSON door: every `redoubt.v1` RPC of ``RedoubtHTTPMethods`` (generated from
/// the protos) by one uniform mapping, served with Hummingbird.
///
/// - `POST /redoubt.v1.<Service>/<Method>`, `Content-Type: application/json`, the body the request
///   message in proto3's canonical JSON (swift-protobuf's JSON), `Authorization: Bearer <token>`.
/// - The answer: `200` and the response message in JSON; for a server-streaming RPC
///   (`BackupService/CreateBackup`), `application/x-ndjson`, one message per line, and a last line
///   `{"error": Status}` if the stream failed after its first message.
/// - An error: the ``HTTPStatusJSON`` object (the gRPC code, its name, the message) under the HTTP
///   status of the standard gRPC→HTTP mapping.
/// - Client- and bidirectional-streaming RPCs (`CryptoService/SignStream`) are gRPC-only:
///   UNIMPLEMENTED.
/// - `GET /openapi.json`: the generated OpenAPI 3 document.
///
/// The body is decoded here; everything else happens in a `GRPCServer` over an
/// ``HTTPCallTransport`` with the broker's services and interceptor, as for a gRPC call.
struct HTTPGateway: Sendable {
    let transport: HTTPCallTransport
    /// The largest body accepted (the gRPC listener's message limit).
    let maximumBodyBytes: Int
    /// Whether connections are mutual TLS, so that a call carries its client's certificate
    /// (looking for one costs a hop to the connection's event loop).
    let readsClientCertificates: Bool

    /// The methods, by `redoubt.v1.<Service>/<Method>`.
    static let methods: [String: RedoubtHTTPMethods.Method] = Dictionary(
        RedoubtHTTPMethods.all.map { ($0.descriptor.fullyQualifiedMethod, $0) }, uniquingKeysWith: { first, _ in first })

    func router() -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.get("/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: RedoubtHTTPMethods.openAPIDocument)))
        }
        router.post("/{service}/{method}") { request, context in
            await self.respond(to: request, context: context)
        }
        router.get("/{service}/{method}") { _, _ in
            Self.error(.unimplemented, "call a method with POST and the request message as a JSON body")
        }
        return router
    }

    /// Answers one call; never throws (every failure is a status object).
    func respond(to request: Request, context: GatewayContext) async -> Response {
        let name = "\(context.parameters.get("service") ?? "")/\(context.parameters.get("method") ?? "")"
        guard let method = Self.methods[name] else {
            return Self.error(.unimplemented, "no such method: \(name.prefix(200)); see /openapi.json")
        }
        guard method.kind == .unary || method.kind == .serverStreaming else {
            return Self.error(.unimplemented, "\(name) streams requests: it is served over gRPC only")
        }
        guard Self.isJSON(request.headers[.contentType]) else {
            return Self.error(.invalidArgument, "send the request message as JSON, with `Content-Type: application/json`")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maximumBodyBytes)
        } catch {
            return Self.error(.resourceExhausted, "the request body is larger than the broker's limit of \(maximumBodyBytes) bytes")
        }
        let binary: [UInt8]
        do {
            let message = try method.input.init(jsonUTF8Bytes: Array(buffer: body), options: JSONDecodingOptions())
            binary = try message.serializedBytes()
        } catch {
            return Self.error(
                .invalidArgument, "the body is not a \(method.input.protoMessageName) in proto3 JSON: \(Self.describe(error))")
        }
        var metadata = Metadata()
        for value in request.headers[values: .authorization] { metadata.addString(value, forKey: "authorization") }
        if let timeout = request.headers[HTTPField.Name("grpc-timeout")!] { metadata.addString(timeout, forKey: "grpc-timeout") }
        if let agent = request.headers[.userAgent] { metadata.addString(agent, forKey: "user-agent") }

        var messages: [[UInt8]] = []
        var status = Status(code: .internalError, message: "the call ended without a status")
        let client = readsClientCertificates ? await context.clientCertificate() : nil
        for await part in transport.call(method.descriptor, metadata: metadata, message: binary, remotePeer: context.remotePeer, client: client) {
            switch part {
            case .metadata: break
            case .message(let bytes): messages.append(bytes)
            case .status(let final, _): status = final
            }
        }
        do {
            let json: [[UInt8]] = try messages.map { bytes in
                let message = try method.output.init(serializedBytes: bytes, extensions: nil, partial: false, options: BinaryDecodingOptions())
                return try message.jsonUTF8Bytes()
            }
            if method.kind == .unary {
                guard status.code == .ok else { return Self.error(status.code, status.message) }
                guard json.count == 1 else { return Self.error(.internalError, "the call answered \(json.count) messages") }
                return Self.response(.ok, json[0], type: "application/json")
            }
            if json.isEmpty && status.code != .ok { return Self.error(status.code, status.message) }
            var lines: [UInt8] = []
            for line in json { lines += line + [0x0A] }
            if status.code != .ok { lines += Array("{\"error\":".utf8) + HTTPStatusJSON(status.code, status.message).bytes + Array("}\n".utf8) }
            return Self.response(.ok, lines, type: "application/x-ndjson")
        } catch {
            return Self.error(.internalError, "the broker could not write its answer as JSON")
        }
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = contentType.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json"
    }

    /// What a decoding error says, without any of the body's values.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as JSONDecodingError:
            switch error {
            case .unknownField(let field): return "unknown field `\(field.prefix(100))`"
            case .malformedNumber: return "a malformed number"
            case .numberRange: return "a number out of range"
            case .malformedBool: return "a malformed boolean"
            case .malformedString: return "a malformed string"
            case .unrecognizedEnumValue: return "an unknown enum value"
            case .conflictingOneOf: return "two fields of one `oneof`"
            case .illegalNull: return "a null where a value is needed"
            case .truncated: return "the JSON ends too early"
            case .trailingGarbage: return "text after the JSON value"
            case .missingFieldNames: return "an object without field names"
            case .messageDepthLimit: return "objects nested too deeply"
            default: return "malformed JSON, or a value of the wrong type"
            }
        case is BinaryEncodingError: return "a value that cannot be encoded"
        default: return "malformed JSON, or a value of the wrong type"
        }
    }

    static func response(_ status: HTTPResponse.Status, _ bytes: [UInt8], type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ code: Status.Code, _ message: String) -> Response {
        response(.init(code: HTTPStatusJSON.httpStatus(code)), HTTPStatusJSON(code, message).bytes, type: "application/json")
    }
}

/// An error of the HTTP/JSON door: `{"code": 16, "status": "UNAUTHENTICATED", "message": "…"}` —
/// the gRPC status of the same call, under the HTTP status of the standard mapping
/// (`google/rpc/code.proto`).
struct HTTPStatusJSON: Sendable {
    let code: Status.Code
    let message: String

    init(_ code: Status.Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Each code: its name and HTTP status.
    static let table: [Status.Code: (name: String, http: Int)] = [
        .ok: ("OK", 200), .cancelled: ("CANCELLED", 499), .unknown: ("UNKNOWN", 500),
        .invalidArgument: ("INVALID_ARGUMENT", 400), .deadlineExceeded: ("DEADLINE_EXCEEDED", 504),
        .notFound: ("NOT_FOUND", 404), .alreadyExists: ("ALREADY_EXISTS", 409),
        .permissionDenied: ("PERMISSION_DENIED", 403), .resourceExhausted: ("RESOURCE_EXHAUSTED", 429),
        .failedPrecondition: ("FAILED_PRECONDITION", 400), .aborted: ("ABORTED", 409), .outOfRange: ("OUT_OF_RANGE", 400),
        .unimplemented: ("UNIMPLEMENTED", 501), .internalError: ("INTERNAL", 500), .unavailable: ("UNAVAILABLE", 503),
        .dataLoss: ("DATA_LOSS", 500), .unauthenticated: ("UNAUTHENTICATED", 401),
    ]

    static func httpStatus(_ code: Status.Code) -> Int { table[code]?.http ?? 500 }

    var bytes: [UInt8] {
        let object: [String: Any] = ["code": code.rawValue, "status": Self.table[code]?.name ?? "UNKNOWN", "message": message]
        return (try? Array(JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))) ?? Array("{}".utf8)
    }
}

/// The request context of the HTTP/JSON door: Hummingbird's, plus the client's address as a gRPC
/// peer and its connection (for the client certificate of mutual TLS).
struct GatewayContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// `ipv4:10.0.0.7:51234`, `ipv6:[::1]:51234`, or `unknown`.
    let remotePeer: String
    private let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        remotePeer = Self.peer(source.channel.remoteAddress)
    }

    /// The fingerprint of the certificate the client presented over TLS, if any.
    func clientCertificate() async -> HTTPCallTransport.ClientCertificate? {
        let channel = self.channel
        let der = try? await channel.eventLoop.submit { () -> [UInt8]? in
            guard let tls = try? channel.pipeline.syncOperations.handler(type: NIOSSLHandler.self) else { return nil }
            return try tls.peerCertificate?.toDERBytes()
        }.get()
        guard let der = der ?? nil else { return nil }
        return HTTPCallTransport.ClientCertificate(sha256: Array(Hashing.digest(Data(der), .sha256)))
    }

    static func peer(_ address: NIOCore.SocketAddress?) -> String {
        guard let address, let host = address.ipAddress, let port = address.port else { return "unknown" }
        if case .v6 = address { return HTTPCallTransport.peer(host: host, port: port, isIPv6: true) }
        return HTTPCallTransport.peer(host: host, port: port, isIPv6: false)
    }
}
