import Crypto
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An ``HSM`` that routes every call to one of several HSMs sharing one store — nodes in one
/// or more sites, usually `RemoteHSM`s — health-checks them, takes failing ones out of
/// rotation, and retries a call on another node where that is safe.
///
/// Sessions and keys live in the shared store, so a session token from one node is valid on
/// every node; the router only picks an endpoint for each attempt and passes the call through.
///
/// ```swift
/// let hsm = try FailoverHSM(endpoints: [
///     FailoverEndpoint(name: "fra-1", site: "fra", priority: 0, hsm: fra1, probe: fra1),
///     FailoverEndpoint(name: "fra-2", site: "fra", priority: 0, hsm: fra2, probe: fra2),
///     FailoverEndpoint(name: "ams-1", site: "ams", priority: 1, hsm: ams1, probe: ams1),
/// ], configuration: .init(mode: .priority))
/// // A swift-service-lifecycle Service: its run() polls the probes until graceful shutdown.
/// let group = ServiceGroup(services: [hsm], logger: logger)
/// // … or, without a service group: hsm.start() polls in the background until hsm.close().
/// let session = try await hsm.openSession(partition: "payments", credential: .apiKey(apiKey))
/// let signature = try await hsm.sign(session.token, key: keyID, input: .message(data), scheme: .ecdsa(.sha256))
/// ```
///
/// **Choosing an endpoint** (``Mode``): `random` spreads calls over the endpoints in rotation;
/// `priority` uses the lowest priority number (ties at random, a site not yet tried first) and
/// fails over in that order; `latency` prefers the lowest moving average of successful calls'
/// latency, exploring now and then so that a recovered node is measured again. A session that
/// owns session objects (keys made with `persistent: false`, which live in one node's memory)
/// sticks to the endpoint that made them while it is in rotation.
///
/// **Health**: after ``start()``, every probe is polled each ``Configuration/healthCheckInterval``;
/// an endpoint whose probe says it is not serving is skipped. Passive outlier detection ejects
/// an endpoint after ``Configuration/ejectAfterConsecutiveFailures`` transport failures in a row
/// (UNAVAILABLE, or no answer in time) for ``Configuration/ejectionBaseDuration``, doubling with
/// each ejection up to ``Configuration/maxEjection``; after it, the endpoint is re-admitted once
/// its probe says it serves (or, without a probe or polling, on trial: one success re-admits it,
/// one failure ejects it again). With every endpoint out of rotation, the least bad is still tried.
///
/// **Retries** go to another endpoint, only after a transport failure (UNAVAILABLE, or the
/// attempt's timeout; never after an answer such as NOT_FOUND or PERMISSION_DENIED), only for
/// operations that are safe to repeat, and only while the retry budget
/// (``Configuration/retryBudgetRatio``) lasts:
/// - without side effects: `getKey`, `listKeys`, `listPartitions`, `listUsers`, `exportPublicKey`,
///   `exportWrapped`, `exportPlaintext`, `sign`, `verify`, `encrypt`, `decrypt`, `mac`,
///   `verifyMAC`, `random`, `auditRecords`, `verifyAudit`, `auditCheckpoint` (a repeat at most adds an audit record or
///   signs the same head again);
/// - `openSession` (an orphaned session is harmless and expires);
/// - `generateKey`, `importKey`, `deriveKey` and `decapsulate` when the spec carries a
///   ``KeySpec/requestID`` and is persistent: the store de-duplicates, so a retry returns the key
///   the first attempt made.
///
/// Everything else is attempted once and its error surfaces as it is: `closeSession`,
/// `createPartition`, `updatePartition`, `addUser`, `removeUser`, `updateKey`, `rotateKey`,
/// `blockKey`, `unblockKey`, `destroyKey`, `restoreKey`, `purgeKey`, `encapsulate`, and creates
/// without a request id.
///
/// **Deadlines**: each call has an overall deadline — ``Configuration/callTimeout``, or the
/// caller's ``HSMCallContext/deadline`` if sooner. No attempt starts after it; each attempt runs
/// with ``HSMCallContext/deadline`` set to what is left (less if ``Configuration/attemptTimeout``
/// says so), which a `RemoteHSM` sends on as its gRPC timeout. Past the deadline the call fails
/// with ``HSMError/Code/deadlineExceeded``.
///
/// Logs (info) ejections, re-admissions and health changes, naming endpoints only.
public final class FailoverHSM: HSM, Sendable {
    /// How the endpoint of an attempt is chosen.
    public enum Mode: String, Sendable, CaseIterable, Codable {
        /// At random among the endpoints in rotation.
        case random
        /// The lowest priority number in rotation (ties at random, another site first); the next
        /// priority on failure.
        case priority
        /// The lowest moving average of successful calls' latency, with a little exploration.
        case latency
    }

    /// Tunables; plain values with defaults.
    public struct Configuration: Sendable {
        /// How the endpoint of each attempt is chosen.
        public var mode: Mode
        /// How often every endpoint's probe is polled (after ``FailoverHSM/start()``).
        public var healthCheckInterval: Duration
        /// How long one probe may take before it counts as not serving.
        public var healthCheckTimeout: Duration
        /// Transport failures in a row that eject an endpoint.
        public var ejectAfterConsecutiveFailures: Int
        /// The first ejection's length; each further ejection doubles it…
        public var ejectionBaseDuration: Duration
        /// …up to this.
        public var maxEjection: Duration
        /// Retries allowed, as a share of recent requests (over a 10-second window)…
        public var retryBudgetRatio: Double
        /// …plus this many per second, so that a quiet client can still retry.
        public var minRetriesPerSecond: Double
        /// Attempts per call at most, on distinct endpoints (never more than there are endpoints).
        public var maxAttempts: Int
        /// The overall deadline of a call, all attempts included (a shorter
        /// ``HSMCallContext/deadline`` of the caller wins).
        public var callTimeout: Duration
        /// How long one attempt may take before the next endpoint is tried; `nil`: all that is
        /// left of the call's deadline.
        public var attemptTimeout: Duration?
        /// In ``Mode/latency``, the share of calls sent to a random endpoint in rotation instead of
        /// the fastest, so that every endpoint's latency stays measured.
        public var latencyExploration: Double
        /// The clock of ejection and re-admission, the retry budget and measured latency: `Date()`
        /// unless a test gives a manual one. Deadlines (``HSMCallContext/deadline``, ``callTimeout``)
        /// are always on the wall clock.
        public var clock: @Sendable () -> Date = { Date() }

        /// A configuration; the defaults are those of ``defaults``.
        public init(
            mode: Mode = .random, healthCheckInterval: Duration = .milliseconds(500),
            healthCheckTimeout: Duration = .seconds(1), ejectAfterConsecutiveFailures: Int = 3,
            ejectionBaseDuration: Duration = .seconds(1), maxEjection: Duration = .seconds(30),
            retryBudgetRatio: Double = 0.2, minRetriesPerSecond: Double = 10, maxAttempts: Int = 3,
            callTimeout: Duration = .seconds(10), attemptTimeout: Duration? = nil, latencyExploration: Double = 0.05
        ) {
            self.mode = mode
            self.healthCheckInterval = healthCheckInterval
            self.healthCheckTimeout = healthCheckTimeout
            self.ejectAfterConsecutiveFailures = ejectAfterConsecutiveFailures
            self.ejectionBaseDuration = ejectionBaseDuration
            self.maxEjection = maxEjection
            self.retryBudgetRatio = retryBudgetRatio
            self.minRetriesPerSecond = minRetriesPerSecond
            self.maxAttempts = maxAttempts
            self.callTimeout = callTimeout
            self.attemptTimeout = attemptTimeout
            self.latencyExploration = latencyExploration
        }

        /// Random mode; probes every 0.5 s (1 s timeout); ejection after 3 transport failures in a
        /// row for 1 s, doubling up to 30 s; retries up to 20 % of requests plus 10 per second;
        /// at most 3 attempts; 10 s per call; 5 % exploration in latency mode.
        public static var defaults: Configuration { Configuration() }

        /// INVALID_ARGUMENT naming the first unusable setting.
        func validate() throws {
            func positive(_ d: Duration, _ name: String) throws {
                guard d > .zero else { throw HSMError(.invalidArgument, "\(name) must be longer than zero") }
            }
            try positive(healthCheckInterval, "healthCheckInterval")
            try positive(healthCheckTimeout, "healthCheckTimeout")
            try positive(ejectionBaseDuration, "ejectionBaseDuration")
            try positive(callTimeout, "callTimeout")
            if let attemptTimeout { try positive(attemptTimeout, "attemptTimeout") }
            guard maxEjection >= ejectionBaseDuration else {
                throw HSMError(.invalidArgument, "maxEjection must be at least ejectionBaseDuration")
            }
            guard ejectAfterConsecutiveFailures >= 1 else { throw HSMError(.invalidArgument, "ejectAfterConsecutiveFailures must be at least 1") }
            guard maxAttempts >= 1 else { throw HSMError(.invalidArgument, "maxAttempts must be at least 1") }
            guard retryBudgetRatio.isFinite, retryBudgetRatio >= 0 else { throw HSMError(.invalidArgument, "retryBudgetRatio must be 0 or more") }
            guard minRetriesPerSecond.isFinite, minRetriesPerSecond >= 0 else {
                throw HSMError(.invalidArgument, "minRetriesPerSecond must be 0 or more")
            }
            guard latencyExploration.isFinite, (0...1).contains(latencyExploration) else {
                throw HSMError(.invalidArgument, "latencyExploration must be 0 to 1")
            }
        }
    }

    /// The endpoints, in the order given.
    public let endpoints: [FailoverEndpoint]
    /// The settings it was made with.
    public let configuration: Configuration
    package let logger: Logger
    package let state: Mutex<FailoverState>
    private let poller = Mutex<(task: Task<Void, Never>?, closed: Bool)>((nil, false))

    /// A router over `endpoints`. Call ``start()`` to begin health polling and ``close()`` when done.
    ///
    /// - Throws: ``HSMError`` INVALID_ARGUMENT for no endpoints, an empty or repeated name, or an
    ///   unusable setting (named).
    public init(
        endpoints: [FailoverEndpoint], configuration: Configuration = .defaults,
        logger: Logger = Logger(label: "redoubt.failover")
    ) throws {
        guard !endpoints.isEmpty else { throw HSMError(.invalidArgument, "a FailoverHSM needs at least one endpoint") }
        var names = Set<String>()
        for e in endpoints {
            guard !e.name.isEmpty else { throw HSMError(.invalidArgument, "every endpoint needs a name") }
            guard names.insert(e.name).inserted else {
                throw HSMError(.invalidArgument, "endpoint names must be unique; '\(e.name)' appears twice")
            }
        }
        try configuration.validate()
        self.endpoints = endpoints
        self.configuration = configuration
        self.logger = logger
        let policy = FailoverState.Policy(
            ejectAfter: configuration.ejectAfterConsecutiveFailures,
            ejectionBase: configuration.ejectionBaseDuration.timeInterval,
            ejectionMax: configuration.maxEjection.timeInterval,
            exploration: configuration.latencyExploration)
        state = Mutex(
            FailoverState(
                endpoints: endpoints.map { .init(name: $0.name, site: $0.site, priority: $0.priority, hasProbe: $0.probe != nil) },
                policy: policy,
                budget: RetryBudget(ratio: configuration.retryBudgetRatio, minPerSecond: configuration.minRetriesPerSecond)))
    }

    deinit {
        poller.withLock { $0.task?.cancel() }
    }

    // MARK: Health polling

    /// Begins polling every endpoint's probe in the background, every
    /// ``Configuration/healthCheckInterval``. Calling it again, or after ``close()``, does nothing.
    public func start() {
        poller.withLock { p in
            guard p.task == nil, !p.closed else { return }
            p.task = Task { [self] in await self.run() }
        }
    }

    /// Polls the probes until the task is cancelled or a graceful shutdown of its service group
    /// begins: what ``start()`` runs in the background, for callers that run it in their own task
    /// group or service group (``FailoverHSM`` is a swift-service-lifecycle `Service`).
    public func run() async {
        state.withLock { $0.pollers += 1 }
        defer { state.withLock { $0.pollers -= 1 } }
        let interval = configuration.healthCheckInterval
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await pollOnce()
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { break }
        }
    }

    /// Stops health polling (waiting for the poller to end). Calls still work, relying on passive
    /// outlier detection only; the endpoints themselves are not closed.
    public func close() async {
        let task = poller.withLock { p -> Task<Void, Never>? in
            p.closed = true
            defer { p.task = nil }
            return p.task
        }
        task?.cancel()
        await task?.value
    }

    /// Asks every probe once, at the same time, and applies the answers.
    package func pollOnce() async {
        let timeout = configuration.healthCheckTimeout
        let answers = await withTaskGroup(of: (Int, Bool).self, returning: [(Int, Bool)].self) { group in
            for (index, endpoint) in endpoints.enumerated() {
                guard let probe = endpoint.probe else { continue }
                group.addTask {
                    let serving = await Self.race(timeout: timeout) { await probe.isServing() }
                    return (index, serving ?? false)
                }
            }
            var all: [(Int, Bool)] = []
            for await answer in group { all.append(answer) }
            return all
        }
        guard !Task.isCancelled else { return }
        let now = configuration.clock()
        let events = state.withLock { s in answers.flatMap { s.probed($0.0, serving: $0.1, now: now) } }
        log(events)
    }

    // MARK: Status

    /// What the router knows about each endpoint now, in the order given.
    public func endpointStatus() -> [FailoverEndpointStatus] {
        let now = configuration.clock()
        return state.withLock { $0.status(now) }
    }

    // MARK: Logging

    package func log(_ events: [FailoverState.Event]) {
        for event in events {
            switch event {
            case .ejected(let index, let seconds):
                logger.info("failover.endpoint.ejected", metadata: metadata(index, ["redoubt.ejection_seconds": "\(seconds)"]))
            case .readmitted(let index):
                logger.info("failover.endpoint.readmitted", metadata: metadata(index))
            case .healthChanged(let index, let serving):
                logger.info(serving ? "failover.endpoint.serving" : "failover.endpoint.not_serving", metadata: metadata(index))
            }
        }
    }

    private func metadata(_ index: Int, _ more: Logger.Metadata = [:]) -> Logger.Metadata {
        var m: Logger.Metadata = ["redoubt.endpoint": "\(endpoints[index].name)", "redoubt.site": "\(endpoints[index].site)"]
        m.merge(more) { $1 }
        return m
    }

    // MARK: Session affinity

    /// The key under which a session's affinity is kept: a digest, so no token stays in memory here.
    package static func affinityKey(_ session: SessionToken) -> Data {
        Data(SHA256.hash(data: Data(session.value.utf8)))
    }
}

extension Duration {
    /// In seconds, as a `TimeInterval`.
    package var timeInterval: TimeInterval {
        let (s, attos) = components
        return TimeInterval(s) + TimeInterval(attos) / 1e18
    }
}

extension FailoverHSM: Service {}
