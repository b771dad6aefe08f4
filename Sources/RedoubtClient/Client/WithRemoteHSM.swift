import NIOCore
import RedoubtCore

/// Runs `body` with a ``RemoteHSM`` whose connections run for exactly as long as `body` does:
/// the scoped form of ``RemoteHSM/run()`` for tests and apps without a service group.
///
/// ```swift
/// let signature = try await withRemoteHSM(configuration: .init(endpoint: "127.0.0.1:8443")) { hsm in
///     let session = try await hsm.openSession(partition: "dev", credential: .apiKey(apiKey))
///     return try await hsm.sign(session.token, key: keyID, input: .message(data), scheme: .ecdsa(.sha256))
/// }
/// ```
///
/// When `body` returns or throws, calls in flight finish and the connection closes before this
/// returns.
/// - Parameters:
///   - eventLoopGroup: the NIO threads for its connections (default: NIO's shared group).
///   - body: what to do with the client; its result is returned.
/// - Throws: ``HSMError`` INVALID_ARGUMENT for an unusable configuration (see
///   ``RemoteHSM/init(configuration:eventLoopGroup:)``), or what `body` throws.
@discardableResult
public func withRemoteHSM<Result: Sendable>(
    configuration: RemoteHSMConfiguration,
    eventLoopGroup: (any EventLoopGroup)? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RemoteHSM) async throws -> Result
) async throws -> Result {
    let hsm = try RemoteHSM(configuration: configuration, eventLoopGroup: eventLoopGroup)
    return try await withThrowingTaskGroup(of: Void.self, returning: Result.self, isolation: isolation) { group in
        // Marked running before the task starts, so that a call failing at once is not taken
        // for a call on a client nobody runs.
        if hsm.beginRunning() { group.addTask { try await hsm.runConnections() } }
        let result: Swift.Result<Result, any Error>
        do { result = .success(try await body(hsm)) } catch { result = .failure(error) }
        await hsm.close()
        try await group.waitForAll()
        return try result.get()
    }
}
