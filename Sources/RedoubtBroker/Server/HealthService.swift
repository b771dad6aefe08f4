import Foundation
import GRPCCore
import RedoubtProto
import Synchronization

/// Whether the broker takes calls, as the standard `grpc.health.v1.Health` service reports it
/// for the server as a whole (`""`) and for each `redoubt.v1` service.
public final class HealthStatus: Sendable {
    private struct State {
        var serving = false
        var watchers: [UInt64: AsyncStream<Bool>.Continuation] = [:]
        var nextWatcher: UInt64 = 0
    }

    private let state = Mutex(State())
    /// The service names that answer SERVING or NOT_SERVING; others are unknown.
    let services: Set<String>

    init(services: Set<String>) {
        self.services = services.union([""])
    }

    /// Whether the broker is serving now.
    public var isServing: Bool { state.withLock { $0.serving } }

    /// Changes the status; watchers hear of it.
    public func setServing(_ serving: Bool) {
        let watchers = state.withLock { s -> [AsyncStream<Bool>.Continuation] in
            guard s.serving != serving else { return [] }
            s.serving = serving
            return Array(s.watchers.values)
        }
        for w in watchers { w.yield(serving) }
    }

    /// The current status, then every change, until the stream is dropped.
    func watch() -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { s -> UInt64 in
            let id = s.nextWatcher
            s.nextWatcher += 1
            s.watchers[id] = continuation
            continuation.yield(s.serving)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every watch (at shutdown).
    func finishWatches() {
        let watchers = state.withLock { s -> [AsyncStream<Bool>.Continuation] in
            defer { s.watchers = [:] }
            return Array(s.watchers.values)
        }
        for w in watchers { w.finish() }
    }
}

/// `grpc.health.v1.Health`: needs no credentials.
struct HealthService: Grpc_Health_V1_Health.ServiceProtocol {
    let status: HealthStatus

    private static func response(_ serving: Bool) -> Grpc_Health_V1_HealthCheckResponse {
        var r = Grpc_Health_V1_HealthCheckResponse()
        r.status = serving ? .serving : .notServing
        return r
    }

    func check(request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext) async throws
        -> ServerResponse<Grpc_Health_V1_HealthCheckResponse>
    {
        let name = request.message.service
        guard status.services.contains(name) else {
            throw RPCError(code: .notFound, message: "service '\(name.prefix(200))' is not served here; ask for \"\" or a redoubt.v1 service")
        }
        return ServerResponse(message: Self.response(status.isServing))
    }

    func watch(request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext) async throws
        -> StreamingServerResponse<Grpc_Health_V1_HealthCheckResponse>
    {
        let name = request.message.service
        guard status.services.contains(name) else {
            return StreamingServerResponse { writer in
                var r = Grpc_Health_V1_HealthCheckResponse()
                r.status = .serviceUnknown
                try await writer.write(r)
                // Per the protocol, the call stays open; it ends when the client cancels.
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                return [:]
            }
        }
        let updates = status.watch()
        return StreamingServerResponse { writer in
            for await serving in updates {
                try await writer.write(Self.response(serving))
            }
            return [:]
        }
    }
}
