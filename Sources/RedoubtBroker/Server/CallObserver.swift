import Foundation
import GRPCCore
import Logging
import Metrics
import RedoubtCrypto

/// The broker's one server interceptor: rate limits each principal, then counts, times and
/// logs every call by method and outcome. Health checks pass unlimited.
///
/// The principal is the session id of the call's bearer token (`rds1.<id>.…`), the credential
/// id of an API key opening a session (`rdk1.<id>.…`), or else the caller's address. Secrets in
/// tokens are never logged or used as metric labels. A token's bucket is keyed by a digest of the
/// whole token too, so a forged token that names someone else's session or credential id spends
/// nothing of their budget.
///
/// Latency is measured on the limiter's clock (`ContinuousClock` but in tests), read once at the
/// start of a call for both.
struct CallObserver<C: Clock>: ServerInterceptor where C.Duration == Duration {
    let limiter: RateLimiter<C>
    let metrics: BrokerMetrics
    let logger: Logger

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor.fullyQualifiedMethod
        let isHealth = context.descriptor.service.fullyQualifiedService == "grpc.health.v1.Health"
        let start = limiter.clock.now
        if !isHealth {
            let (principal, bucket) = Self.principal(request.metadata, peer: context.remotePeer)
            guard limiter.allow(bucket, at: start) else {
                metrics.record(method: method, code: .resourceExhausted, duration: .zero)
                logger.notice("rate limit reached", metadata: ["rpc.method": "\(method)", "redoubt.principal": "\(principal)"])
                throw RPCError(
                    code: .resourceExhausted,
                    message: "rate limit reached for this session: slow down, or batch operations (SignBatch and friends count as one call)")
            }
        }
        let response: StreamingServerResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            finish(method, context: context, start: start, error: error)
            throw error
        }
        switch response.accepted {
        case .failure(let error):
            finish(method, context: context, start: start, error: error)
            return response
        case .success(var contents):
            // Streaming (and unary) bodies run in the producer: observe its end.
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await producer(writer)
                    finish(method, context: context, start: start, error: nil)
                    return trailers
                } catch {
                    finish(method, context: context, start: start, error: error)
                    throw error
                }
            }
            return StreamingServerResponse(accepted: .success(contents))
        }
    }

    private func finish(_ method: String, context: ServerContext, start: C.Instant, error: (any Error)?) {
        let code: Status.Code
        switch error {
        case nil: code = .ok
        case let rpc as RPCError where Self.isUndecodableRequest(rpc):
            // The client's bytes, not a fault of ours: counted and logged as what they almost
            // always are, a message over the size limit.
            code = .resourceExhausted
        case let rpc as RPCError: code = Status.Code(rpc.code)
        case let convertible as any RPCErrorConvertible: code = Status.Code(convertible.rpcErrorCode)
        case is CancellationError: code = .cancelled
        default: code = .unknown
        }
        let elapsed = start.duration(to: limiter.clock.now)
        metrics.record(method: method, code: code, duration: elapsed)
        if code == .ok {
            logger.debug("call", metadata: ["rpc.method": "\(method)", "rpc.ms": "\(Self.milliseconds(elapsed))"])
        } else {
            let level: Logger.Level = (code == .internalError || code == .unknown || code == .dataLoss) ? .error : .info
            logger.log(
                level: level, "call failed",
                metadata: [
                    "rpc.method": "\(method)", "rpc.code": "\(code)", "rpc.ms": "\(Self.milliseconds(elapsed))",
                    "net.peer": "\(context.remotePeer)",
                ])
        }
    }

    /// Whether `error` is the transport refusing a request's bytes before any handler ran: a
    /// message over ``BrokerConfiguration/Limits/maximumMessageBytes`` (or, rarer, bad gRPC
    /// framing such as an unknown compression). grpc-swift's HTTP/2 transport reports each as
    /// INTERNAL "Failed to decode message" to the server and resets the stream (RST_STREAM
    /// CANCEL), so the client never gets a status; the broker counts it as RESOURCE_EXHAUSTED
    /// and logs it at info level — never as an internal error.
    static func isUndecodableRequest(_ error: RPCError) -> Bool {
        error.code == .internalError && error.message == "Failed to decode message"
    }

    private static func milliseconds(_ d: Duration) -> String {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        return String(format: "%.3f", ms)
    }

    /// The principal of a call: `name` for logs, never the secret part of a token; `bucket`, the
    /// rate limiter's key: for a token, its id and a digest of the whole token (whose id alone
    /// anyone who saw it in an audit record or a log could put on a forged token).
    static func principal(_ metadata: Metadata, peer: String) -> (name: String, bucket: String) {
        for value in metadata[stringValues: "authorization"] {
            let token = value.hasPrefix("Bearer ") ? value.dropFirst(7) : Substring(value)
            let parts = token.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3, parts[0] == "rds1" || parts[0] == "rdk1", (1...64).contains(parts[1].utf8.count) {
                let name = "\(parts[0]):\(parts[1])"
                return (name, name + ":" + Hashing.digest(Data(token.utf8), .sha256).prefix(16).base64EncodedString())
            }
            break
        }
        let name = "peer:\(BrokerCore.sourceAddress(peer) ?? peer)"
        return (name, name)
    }
}
