import GRPCCore

/// A gRPC server transport whose calls come from the HTTP/JSON door rather than from a socket.
///
/// The broker runs a second `GRPCServer` on it, with the same services and the same interceptor
/// as the gRPC listener: every HTTP/JSON call therefore goes through the same authentication,
/// limits, rate limiter, metrics, logs and audit as a gRPC call. The door turns a request into
/// one inbound stream (its headers as metadata, its body as one binary message) and reads the
/// response parts back (``call(_:metadata:message:remotePeer:)``).
final class HTTPCallTransport: ServerTransport, Sendable {
    typealias Bytes = [UInt8]

    private struct Call: Sendable {
        let stream: RPCStream<Inbound, Outbound>
        let remotePeer: String
        let client: ClientCertificate?
    }

    /// What a call's context carries (`ServerContext.transportSpecific`) when the HTTP client
    /// presented a certificate over mutual TLS: its fingerprint, as `BrokerCore` reads it.
    struct ClientCertificate: ServerContext.TransportSpecific {
        /// The SHA-256 of the certificate's DER encoding.
        let sha256: [UInt8]
    }

    private let calls: AsyncStream<Call>
    private let callsContinuation: AsyncStream<Call>.Continuation
    private let localPeer: String

    /// - Parameter localPeer: Where the HTTP door listens, as a gRPC peer (`ipv4:127.0.0.1:8080`).
    init(localPeer: String) {
        (calls, callsContinuation) = AsyncStream.makeStream()
        self.localPeer = localPeer
    }

    func listen(streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void) async throws {
        await withDiscardingTaskGroup { group in
            for await call in calls {
                group.addTask {
                    await withServerContextRPCCancellationHandle { handle in
                        var context = ServerContext(
                            descriptor: call.stream.descriptor, remotePeer: call.remotePeer, localPeer: self.localPeer,
                            cancellation: handle)
                        context.transportSpecific = call.client
                        await streamHandler(call.stream, context)
                    }
                }
            }
        }
    }

    /// New calls are refused (UNAVAILABLE); calls in flight finish.
    func beginGracefulShutdown() {
        callsContinuation.finish()
    }

    /// A gRPC peer description (`ipv4:10.0.0.7:51234`, `ipv6:[::1]:51234`), as the HTTP/2
    /// transport writes them and `BrokerCore.sourceAddress` reads them.
    static func peer(host: String, port: Int, isIPv6: Bool) -> String {
        isIPv6 ? "ipv6:[\(host)]:\(port)" : "ipv4:\(host):\(port)"
    }

    /// Makes one call of `method` with `metadata` and one request `message`, and returns the
    /// response parts as the server sends them (metadata, messages, then the status).
    ///
    /// - Parameters:
    ///   - remotePeer: The HTTP client, as a gRPC peer (`ipv4:10.0.0.7:51234`): the rate limiter and
    ///     the HSM's source-address checks see it as they would a gRPC client.
    ///   - client: The client's certificate, over mutual TLS.
    func call(
        _ method: MethodDescriptor, metadata: Metadata, message: [UInt8], remotePeer: String, client: ClientCertificate?
    ) -> AsyncStream<RPCResponsePart<[UInt8]>> {
        let (inbound, inboundContinuation) = AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.makeStream()
        inboundContinuation.yield(.metadata(metadata))
        inboundContinuation.yield(.message(message))
        inboundContinuation.finish()
        let (parts, partsContinuation) = AsyncStream<RPCResponsePart<[UInt8]>>.makeStream()
        let stream = RPCStream(
            descriptor: method, inbound: RPCAsyncSequence(wrapping: inbound),
            outbound: RPCWriter.Closable(wrapping: ResponseWriter(continuation: partsContinuation)))
        // After beginGracefulShutdown() the stream is finished, and yielding to it fails.
        if !callsContinuation.yield(Call(stream: stream, remotePeer: remotePeer, client: client)).isEnqueued {
            partsContinuation.yield(.status(Status(code: .unavailable, message: "the broker is shutting down"), [:]))
            partsContinuation.finish()
        }
        return parts
    }
}

extension AsyncStream.Continuation.YieldResult {
    fileprivate var isEnqueued: Bool {
        if case .enqueued = self { return true }
        return false
    }
}

/// Hands the server's response parts to the HTTP door.
private struct ResponseWriter: ClosableRPCWriterProtocol {
    let continuation: AsyncStream<RPCResponsePart<[UInt8]>>.Continuation

    func write(_ element: RPCResponsePart<[UInt8]>) async throws {
        continuation.yield(element)
    }

    func write(contentsOf elements: some Sequence<RPCResponsePart<[UInt8]>>) async throws {
        for element in elements { continuation.yield(element) }
    }

    func finish() async {
        continuation.finish()
    }

    func finish(throwing error: any Error) async {
        continuation.finish()
    }
}
