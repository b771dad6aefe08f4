import Logging
import ServiceLifecycle

/// Runs `body` with a broker running in this process for exactly as long as `body` does: the
/// scoped form of ``RedoubtServer`` for tests and apps without a service group.
///
/// It starts a ``RedoubtServer`` with `configuration`, waits until it listens, runs `body` with
/// where it listens, then shuts it down gracefully (no new calls, calls in flight finish, the
/// store is closed) and returns once it has ended.
///
/// ```swift
/// let configuration = RedoubtServer.Configuration(
///     broker: BrokerConfiguration(listen: "127.0.0.1:0"), backend: .development(directory: dir))
/// let signature = try await withBroker(configuration: configuration) { listening in
///     let credentials = listening.devCredentials!
///     return try await withRemoteHSM(configuration: .init(endpoint: "\(listening.endpoint)")) { hsm in
///         let session = try await hsm.openSession(partition: credentials.partition, credential: .apiKey(credentials.apiKey))
///         let key = try await hsm.generateKey(session.token, spec: KeySpec(algorithm: .p256, label: "signer"))
///         return try await hsm.sign(session.token, key: key.id, input: .message(data), scheme: .ecdsa(.sha256))
///     }
/// }
/// ```
///
/// - Parameters:
///   - configuration: What to serve, where, and how.
///   - logger: Where the broker logs.
///   - clock: The clock scheduled backups wait on and the rate limiter refills on (see
///     ``RedoubtServer/init(configuration:logger:clock:)``).
///   - body: What to do while the broker runs; its result is returned.
/// - Throws: what ``RedoubtServer/run()`` throws if the broker fails to start or fails while
///   `body` runs (``BrokerConfigurationError`` for a configuration problem), else what `body` throws.
@discardableResult
public func withBroker<Result: Sendable>(
    configuration: RedoubtServer.Configuration,
    logger: Logger = Logger(label: "redoubt.broker"),
    clock: some Clock<Duration> = ContinuousClock(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RedoubtServer.Listening) async throws -> Result
) async throws -> Result {
    let server = RedoubtServer(configuration: configuration, logger: logger, clock: clock)
    let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self, returning: Result.self, isolation: isolation) { tasks in
        tasks.addTask { try await group.run() }
        let result: Swift.Result<Result, any Error>
        do {
            result = .success(try await body(try await server.listening()))
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        do {
            try await tasks.waitForAll()
        } catch {
            // The server's own failure, unless `body` failed first (with it, if it stopped before listening).
            if case .success = result { throw error }
        }
        return try result.get()
    }
}
