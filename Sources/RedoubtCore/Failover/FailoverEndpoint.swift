import Foundation

/// Answers whether an endpoint of a ``FailoverHSM`` takes calls now.
///
/// `RemoteHSM` (RedoubtClient) conforms with the standard `grpc.health.v1.Health/Check`; any
/// other check (a load balancer's, a process supervisor's) fits as well. A probe never throws:
/// every failure to learn the answer is `false`.
public protocol HSMHealthProbe: Sendable {
    /// Whether the endpoint is serving; `false` on any error. Should answer within about a second.
    ///
    /// It must return promptly once its task is cancelled: the router cancels a probe that
    /// outlives ``FailoverHSM/Configuration/healthCheckTimeout`` (its answer counts as `false`),
    /// and its round of health checks, which is structured, ends only when every probe has
    /// returned. A probe that ignores cancellation (a blocking call, say) delays every endpoint's
    /// next check until it returns.
    func isServing() async -> Bool
}

/// One ``HSM`` a ``FailoverHSM`` routes to: where it is and how much it is preferred.
///
/// ```swift
/// let primary = FailoverEndpoint(name: "fra-1", site: "fra", priority: 0, hsm: fra1, probe: fra1)
/// let standby = FailoverEndpoint(name: "ams-1", site: "ams", priority: 1, hsm: ams1, probe: ams1)
/// ```
public struct FailoverEndpoint: Sendable {
    /// A unique name, used in logs and ``FailoverEndpointStatus``.
    public var name: String
    /// The site (data centre) it runs in; in ``FailoverHSM/Mode/priority`` mode, ties of priority
    /// fail over to a site not yet tried first.
    public var site: String
    /// Lower numbers are preferred in ``FailoverHSM/Mode/priority`` mode.
    public var priority: Int
    /// The HSM calls go to.
    public var hsm: any HSM
    /// The active health check, polled every ``FailoverHSM/Configuration/healthCheckInterval``
    /// once ``FailoverHSM/start()`` ran; `nil`: only passive outlier detection.
    public var probe: (any HSMHealthProbe)?

    /// An endpoint.
    public init(name: String, site: String, priority: Int = 0, hsm: any HSM, probe: (any HSMHealthProbe)? = nil) {
        self.name = name
        self.site = site
        self.priority = priority
        self.hsm = hsm
        self.probe = probe
    }
}

/// What a ``FailoverHSM`` knows about one endpoint now (``FailoverHSM/endpointStatus()``).
public struct FailoverEndpointStatus: Sendable, Hashable {
    /// The endpoint's name.
    public var name: String
    /// Its site.
    public var site: String
    /// Its priority (lower is preferred).
    public var priority: Int
    /// What the last health probe said (`true` without a probe or before the first poll).
    public var healthy: Bool
    /// Whether passive outlier detection has taken it out of rotation.
    public var ejected: Bool
    /// When an ejection ends (then it is re-admitted once a probe says it serves, or on trial
    /// without a probe); `nil` if not ejected.
    public var ejectedUntil: Date?
    /// Transport failures in a row (UNAVAILABLE, or no answer in time) since its last answer.
    public var consecutiveFailures: Int
    /// Exponentially weighted moving average of the latency of its successful calls; `nil`
    /// until one succeeded (and again after a re-admission, so that it is measured afresh).
    public var latency: Duration?
    /// Attempts sent to it.
    public var requests: Int
    /// Attempts that failed at the transport (UNAVAILABLE, or no answer in time).
    public var failures: Int

    /// A status value (for tests and implementations of dashboards).
    public init(
        name: String, site: String, priority: Int, healthy: Bool, ejected: Bool, ejectedUntil: Date?,
        consecutiveFailures: Int, latency: Duration?, requests: Int, failures: Int
    ) {
        self.name = name
        self.site = site
        self.priority = priority
        self.healthy = healthy
        self.ejected = ejected
        self.ejectedUntil = ejectedUntil
        self.consecutiveFailures = consecutiveFailures
        self.latency = latency
        self.requests = requests
        self.failures = failures
    }
}
