import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Redoubt
import RedoubtClient
import RedoubtCrypto
import SwiftASN1
import X509

/// What every service of the broker shares — the HSM, the limits, the logger — and the one
/// wrapper every handler runs in: it reads the session token, sets the caller's source address
/// and deadline for the HSM, and maps every thrown error to a status (``StatusMapping``).
struct BrokerCore: Sendable {
    /// The HSM served.
    let hsm: any HSM
    /// The broker's limits.
    let limits: BrokerLimits
    /// Where unexpected errors are logged.
    let logger: Logger

    /// The UNAUTHENTICATED message for a call without a usable session token.
    static let missingTokenMessage =
        "missing `authorization: Bearer <session token>` metadata; open a session with SessionService.OpenSession first"

    /// Runs `body` as the handler of the call in `context`: with the caller's source address
    /// (``HSMCallContext/sourceAddress``) and, if the call has a `grpc-timeout`, its deadline
    /// (``HSMCallContext/deadline``, which a FailoverHSM or RemoteHSM behind the broker passes
    /// on), every error mapped to a status.
    func run<T>(_ context: ServerContext, metadata: Metadata, _ body: () async throws -> T) async throws -> T {
        let deadline = Self.timeout(metadata).map { Date().addingTimeInterval($0) }
        do {
            return try await HSMCallContext.$sourceAddress.withValue(Self.sourceAddress(context.remotePeer)) {
                try await HSMCallContext.$deadline.withValue(deadline ?? HSMCallContext.deadline) {
                    try await body()
                }
            }
        } catch {
            throw StatusMapping.rpcError(for: error, method: context.descriptor.fullyQualifiedMethod, logger: logger)
        }
    }

    /// A unary handler that needs a session: `body` gets the message and the session token.
    func unary<Request: Sendable, Response: Sendable>(
        _ request: ServerRequest<Request>, _ context: ServerContext,
        _ body: (Request, SessionToken) async throws -> Response
    ) async throws -> ServerResponse<Response> {
        try await run(context, metadata: request.metadata) {
            let token = try Self.sessionToken(request.metadata)
            return ServerResponse(message: try await body(request.message, token))
        }
    }

    /// A unary handler of an operation that a key's policy may turn into a request (Sign,
    /// Decrypt, Mac, UpdateKey, BlockKey, UnblockKey): as ``unary(_:_:_:)``, except that a
    /// governed operation answers OK with only `pending_request` set (``StatusMapping/pendingAnswer(for:as:)``).
    func governedUnary<Request: Sendable, Response: PendingRequestCarrier>(
        _ request: ServerRequest<Request>, _ context: ServerContext,
        _ body: (Request, SessionToken) async throws -> Response
    ) async throws -> ServerResponse<Response> {
        try await unary(request, context) { message, token in
            do {
                return try await body(message, token)
            } catch {
                guard let answer = StatusMapping.pendingAnswer(for: error, as: Response.self) else { throw error }
                return answer
            }
        }
    }

    // MARK: Reading the call

    /// The call's `grpc-timeout` in seconds (1 to 8 digits and a unit: `H`, `M`, `S`, `m`, `u`,
    /// `n`), `nil` if absent or malformed. grpc-swift checks the same header to end the call;
    /// it does not expose the deadline to handlers, so it is read here.
    static func timeout(_ metadata: Metadata) -> TimeInterval? {
        guard let value = metadata[stringValues: "grpc-timeout"].first(where: { _ in true }) else { return nil }
        let digits = value.dropLast()
        guard (1...8).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), let amount = Double(digits),
            let unit = value.last
        else { return nil }
        switch unit {
        case "H": return amount * 3600
        case "M": return amount * 60
        case "S": return amount
        case "m": return amount / 1e3
        case "u": return amount / 1e6
        case "n": return amount / 1e9
        default: return nil
        }
    }

    /// The session token of `authorization: Bearer <token>`; UNAUTHENTICATED if missing or malformed.
    static func sessionToken(_ metadata: Metadata) throws -> SessionToken {
        guard let token = try bearer(metadata) else { throw HSMError(.unauthenticated, missingTokenMessage) }
        return SessionToken(token)
    }

    /// The bearer value of the `authorization` metadata, `nil` if there is none; UNAUTHENTICATED
    /// if it is not one `Bearer <value>`.
    static func bearer(_ metadata: Metadata) throws -> String? {
        var values = metadata[stringValues: "authorization"].makeIterator()
        guard let value = values.next() else { return nil }
        guard values.next() == nil else { throw HSMError(.unauthenticated, "send one `authorization` metadata entry, not several") }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw HSMError(.unauthenticated, missingTokenMessage) }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= TokenIssuer.maximumTokenBytes else { throw HSMError(.unauthenticated, missingTokenMessage) }
        return token
    }

    /// The IP address of a gRPC peer description (`ipv4:127.0.0.1:5000` → `127.0.0.1`,
    /// `ipv6:[::1]:5000` → `::1`); `nil` for in-process, Unix-socket or unknown peers.
    static func sourceAddress(_ remotePeer: String) -> String? {
        if remotePeer.hasPrefix("ipv4:") {
            let rest = remotePeer.dropFirst(5)
            guard let colon = rest.lastIndex(of: ":") else { return rest.isEmpty ? nil : String(rest) }
            let host = rest[..<colon]
            return host.isEmpty ? nil : String(host)
        }
        if remotePeer.hasPrefix("ipv6:") {
            let rest = remotePeer.dropFirst(5)
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else { return nil }
            let host = rest[rest.index(after: rest.startIndex)..<close]
            // A zone (`fe80::1%eth0`) does not take part in address matching.
            let address = host.split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
            return address.isEmpty ? nil : address
        }
        return nil
    }

    /// The SHA-256 of the DER encoding of the client certificate of a mutual-TLS connection (gRPC
    /// or the HTTP/JSON door), if any.
    static func clientCertificateSHA256(_ context: ServerContext) -> Data? {
        if let http = context.transportSpecific as? HTTPCallTransport.ClientCertificate { return Data(http.sha256) }
        guard let posix = context.transportSpecific as? HTTP2ServerTransport.Posix.Context,
            let certificate = posix.peerCertificate
        else { return nil }
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return nil }
        return Hashing.digest(serializer.serializedBytes, .sha256)
    }
}
