import Foundation
import GRPCCore
import Logging
import RedoubtStore
import Redoubt
import ServiceLifecycle
import Synchronization

/// A whole broker as `redoubt serve` runs it, in your process: the store opened (or initialised,
/// in development mode) and unsealed, or a router over nodes; ``BrokerServices`` and the
/// ``Broker`` over it; scheduled backups and router metrics — all from one ``Configuration``.
///
/// It is a swift-service-lifecycle `Service`: list it in your `ServiceGroup`, or use
/// ``withBroker(configuration:logger:clock:isolation:_:)`` to run one around a closure. Creating
/// one starts nothing; ``run()`` does everything and ends with the graceful shutdown of the
/// group it runs in, once calls in flight have finished and the store is closed.
///
/// ```swift
/// let server = RedoubtServer(
///     configuration: .init(
///         broker: BrokerConfiguration(listen: "127.0.0.1:8443"),
///         backend: .store(.sqlite(path: "/var/lib/redoubt/redoubt.sqlite"), unseal: .passphrase(passphrase)),
///         backupDirectory: "/var/lib/redoubt/backups"),
///     logger: logger)
/// let group = ServiceGroup(services: [server, /* your services */], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// ``listening()`` tells, once the broker listens, where it does — and in development mode the
/// credentials it made.
///
/// Inside ``run()``, one service group runs, in this order (and shuts down in reverse: the broker
/// first, so that calls in flight finish before anything they use stops):
/// - over a store: the `LocalHSM` (its audit flusher), the ``BackupScheduler`` when
///   ``BrokerConfiguration/backupSchedule`` is set, the ``Broker``;
/// - in router mode: a `RemoteHSM` per node, the `FailoverHSM` over them, the ``Broker`` (whose
///   ``BrokerMetrics`` read the node states at every scrape).
public final class RedoubtServer: Service, Sendable {
    /// The settings it runs with.
    public let configuration: Configuration
    let logger: Logger
    let clock: any Clock<Duration>
    /// Makes the ``Broker`` on `clock` (whose concrete type only the initialiser knows).
    let makeBroker: @Sendable ([any RegistrableRPCService], BrokerConfiguration) throws(BrokerConfigurationError) -> Broker
    private let started = Mutex(false)
    private let listened = Settlement<Listening>()

    /// Where a running server listens, and what a development-mode server made.
    public struct Listening: Sendable, Hashable {
        /// The gRPC endpoint: the host of ``BrokerConfiguration/listen`` and the port bound (the
        /// free one picked for port 0). `"\(endpoint)"` is what a `RemoteHSMConfiguration` takes.
        public var endpoint: HostAndPort
        /// The HTTP/JSON endpoint, when ``BrokerConfiguration/httpListen`` is set: its host and
        /// the port bound.
        public var httpEndpoint: HostAndPort?
        /// The port of the Prometheus endpoint, when ``BrokerConfiguration/metrics`` is set.
        public var metricsPort: Int?
        /// In development mode, the credentials it made (or found), with ``DevCredentials/endpoint``
        /// filled in and written to ``DevCredentials/path``; otherwise `nil`.
        public var devCredentials: DevCredentials?

        /// The gRPC port bound.
        public var port: Int { endpoint.port }

        /// A description of where a server listens.
        public init(endpoint: HostAndPort, httpEndpoint: HostAndPort? = nil, metricsPort: Int? = nil, devCredentials: DevCredentials? = nil) {
            self.endpoint = endpoint
            self.httpEndpoint = httpEndpoint
            self.metricsPort = metricsPort
            self.devCredentials = devCredentials
        }
    }

    /// Prepares a server; nothing is opened, listens or runs until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: What to serve, where, and how.
    ///   - logger: Where the broker logs (the `LocalHSM` logs warnings as `redoubt.hsm`, the router
    ///     as `redoubt.router` at this logger's level).
    ///   - clock: The clock the ``BackupScheduler`` waits on and the broker's rate limiter refills
    ///     on; `ContinuousClock` unless a test passes one it moves by hand (`RedoubtTesting.ManualClock`).
    public init(configuration: Configuration, logger: Logger, clock: some Clock<Duration> = ContinuousClock()) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.makeBroker = { (services, broker) throws(BrokerConfigurationError) in
            try Broker(services: services, configuration: broker, logger: logger, clock: clock)
        }
    }

    /// Opens the store (initialising it in development mode), or prepares the router, then serves
    /// until the graceful shutdown of the service group it runs in (or the cancellation of its
    /// task); then closes the HSM and the store. It runs once: a second call throws.
    ///
    /// - Throws: ``BrokerConfigurationError`` naming the flag or setting for a configuration
    ///   problem (checked before the store is touched where it can be: a plaintext address off
    ///   loopback, limits, the schedule); `HSMError` when the store cannot be unsealed; the
    ///   store's or the transport's error when they fail.
    public func run() async throws {
        try started.withLock { (started) throws(BrokerConfigurationError) in
            guard !started else { throw BrokerConfigurationError("a RedoubtServer runs once") }
            started = true
        }
        do {
            try configuration.validate()
            switch configuration.backend {
            case .store(let location, let unseal):
                try await runStore(location: location, development: nil, unseal: unseal)
            case .development(let directory, let store):
                try await runStore(
                    location: store ?? .sqlite(path: directory + "/redoubt.sqlite"), development: directory,
                    unseal: .devKeyFile(directory + "/dev-unseal.key"))
            case .router(let nodes):
                try await runRouter(nodes)
            }
        } catch {
            finish(error)
            throw error
        }
        finish(nil)
    }

    /// Where it listens, once it does: waits until then.
    ///
    /// - Throws: the error ``run()`` failed with before listening; `CancellationError` when the
    ///   calling task is cancelled, or when the server has stopped (or stops before listening)
    ///   without an error.
    public func listening() async throws -> Listening {
        try await listened.value()
    }

    /// Records that it listens, and tells whoever waits.
    func published(_ listening: Listening) {
        listened.settle(.success(listening))
    }

    /// Records that ``run()`` has ended, and tells whoever still waits.
    private func finish(_ error: (any Error)?) {
        listened.replace(with: .failure(error ?? CancellationError()))
    }
}
