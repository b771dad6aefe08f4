import Foundation

/// How a broker listens, secures its connections, and bounds what callers may ask of it.
///
/// The same settings come from `redoubt serve` flags or from a JSON config file
/// (`redoubt serve --config FILE`), whose keys are the property names below:
///
/// ```json
/// {
///   "listen": "0.0.0.0:8443",
///   "httpListen": "0.0.0.0:8444",
///   "tls": { "certificateChain": "/etc/redoubt/server.pem", "privateKey": "/etc/redoubt/server.key",
///            "clientCA": "/etc/redoubt/clients-ca.pem" },
///   "metrics": "127.0.0.1:9464",
///   "limits": { "maximumMessageBytes": 4194304, "requestsPerSecond": 20000, "burst": 40000 },
///   "backupSchedule": { "directory": "/mnt/dr/redoubt", "interval": 3600, "retain": 48 }
/// }
/// ```
public struct BrokerConfiguration: Sendable, Codable, Hashable {
    /// Certificate and key files (PEM) for TLS, and a CA for client certificates (mutual TLS).
    public struct TLSFiles: Sendable, Codable, Hashable {
        /// The server's certificate chain, leaf first (PEM).
        public var certificateChain: String
        /// The server's private key (PEM).
        public var privateKey: String
        /// CA certificates (PEM) that client certificates must chain to. Set: every client must
        /// present a certificate (mutual TLS). Unset: server-side TLS only.
        public var clientCA: String?

        /// TLS files.
        public init(certificateChain: String, privateKey: String, clientCA: String? = nil) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.clientCA = clientCA
        }
    }

    /// What one caller may ask of the broker.
    public struct Limits: Sendable, Codable, Hashable {
        /// The largest request message, in bytes. Larger: the transport refuses it before any
        /// handler runs, by resetting the stream (clients see UNAVAILABLE "Stream unexpectedly
        /// closed: received RST_STREAM", not RESOURCE_EXHAUSTED; grpc-swift-nio-transport does not
        /// send the status its decoder raises).
        public var maximumMessageBytes: Int = 4 << 20
        /// The most items in one batch request (more: INVALID_ARGUMENT).
        public var maximumBatchItems: Int = 1000
        /// The largest data field in a request (plaintext, message, ciphertext…), in bytes.
        public var maximumPayloadBytes: Int = 1 << 20
        /// The most sign requests in flight on one SignStream.
        public var maximumStreamInFlight: Int = 256
        /// Sustained calls per second allowed per principal (a session, or the source address
        /// for calls without one); every call counts one, whatever its size. 0: unlimited.
        public var requestsPerSecond: Double = 50_000
        /// How many calls a principal may make at once (the size of its token bucket), at least 1.
        /// `nil`, the default: twice ``requestsPerSecond``, so that setting the rate alone (the
        /// `--rate` flag, or `requestsPerSecond` in a config file) limits as it says.
        public var burst: Double?

        /// The bucket size in force: ``burst``, or twice ``requestsPerSecond`` (at least 1).
        public var effectiveBurst: Double { burst ?? max(1, 2 * requestsPerSecond) }
        /// The most concurrent calls (HTTP/2 streams) on one connection.
        public var maximumConcurrentStreams: Int = 1024
        /// How long a connection may sit without calls before the broker closes it, in seconds.
        public var connectionIdleTimeout: Double = 300

        /// The defaults: 4 MiB messages, 1000-item batches, 1 MiB payloads, 50,000 calls/s per
        /// principal with bursts of twice that, 1024 streams per connection, 5 minutes idle.
        public static var defaults: Limits { Limits() }

        /// Limits with the defaults.
        public init() {}

        /// Decodes limits from a config file; missing keys keep their defaults.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Limits()
            maximumMessageBytes = try c.decodeIfPresent(Int.self, forKey: .maximumMessageBytes) ?? d.maximumMessageBytes
            maximumBatchItems = try c.decodeIfPresent(Int.self, forKey: .maximumBatchItems) ?? d.maximumBatchItems
            maximumPayloadBytes = try c.decodeIfPresent(Int.self, forKey: .maximumPayloadBytes) ?? d.maximumPayloadBytes
            maximumStreamInFlight = try c.decodeIfPresent(Int.self, forKey: .maximumStreamInFlight) ?? d.maximumStreamInFlight
            requestsPerSecond = try c.decodeIfPresent(Double.self, forKey: .requestsPerSecond) ?? d.requestsPerSecond
            burst = try c.decodeIfPresent(Double.self, forKey: .burst)
            maximumConcurrentStreams = try c.decodeIfPresent(Int.self, forKey: .maximumConcurrentStreams) ?? d.maximumConcurrentStreams
            connectionIdleTimeout = try c.decodeIfPresent(Double.self, forKey: .connectionIdleTimeout) ?? d.connectionIdleTimeout
        }

        private enum CodingKeys: String, CodingKey {
            case maximumMessageBytes, maximumBatchItems, maximumPayloadBytes, maximumStreamInFlight
            case requestsPerSecond, burst, maximumConcurrentStreams, connectionIdleTimeout
        }

        /// The limits the services enforce (batch, payload, stream).
        public var serviceLimits: BrokerLimits {
            BrokerLimits(
                maximumBatchItems: maximumBatchItems, maximumPayloadBytes: maximumPayloadBytes,
                maximumStreamInFlight: maximumStreamInFlight)
        }

        /// Checks the limits are usable; the message says which one is not.
        public func validate() throws(BrokerConfigurationError) {
            guard (1024...(64 << 20)).contains(maximumMessageBytes) else { throw .init("limits.maximumMessageBytes must be 1 KiB to 64 MiB") }
            guard (1...100_000).contains(maximumBatchItems) else { throw .init("limits.maximumBatchItems must be 1 to 100000") }
            guard (1...maximumMessageBytes).contains(maximumPayloadBytes) else {
                throw .init("limits.maximumPayloadBytes must be 1 to limits.maximumMessageBytes")
            }
            guard (1...65_536).contains(maximumStreamInFlight) else { throw .init("limits.maximumStreamInFlight must be 1 to 65536") }
            guard requestsPerSecond >= 0, requestsPerSecond.isFinite, (burst ?? 1) >= 1, (burst ?? 1).isFinite else {
                throw .init("limits.requestsPerSecond must be 0 (unlimited) or more and limits.burst at least 1")
            }
            guard (1...100_000).contains(maximumConcurrentStreams) else { throw .init("limits.maximumConcurrentStreams must be 1 to 100000") }
            guard connectionIdleTimeout >= 1, connectionIdleTimeout.isFinite else { throw .init("limits.connectionIdleTimeout must be at least 1 second") }
        }
    }

    /// `HOST:PORT` to listen on (`[::1]:8443` for IPv6); port 0 picks a free one.
    public var listen: String
    /// `HOST:PORT` for the HTTP/JSON API (every unary and server-streaming RPC as
    /// `POST /redoubt.v1.<Service>/<Method>` with a JSON body, and `GET /openapi.json`), with the
    /// same TLS as ``listen``; unset: no HTTP/JSON API.
    public var httpListen: String?
    /// TLS (of ``listen`` and ``httpListen``); unset: plaintext, allowed only on loopback addresses.
    public var tls: TLSFiles?
    /// `HOST:PORT` for the Prometheus metrics endpoint (`GET /metrics`); unset: none.
    public var metrics: String?
    /// Limits.
    public var limits: Limits
    /// Backups the broker writes by itself (a broker over a local store only); unset: none.
    public var backupSchedule: BackupSchedule?

    /// A configuration.
    public init(
        listen: String, httpListen: String? = nil, tls: TLSFiles? = nil, metrics: String? = nil, limits: Limits = .defaults,
        backupSchedule: BackupSchedule? = nil
    ) {
        self.listen = listen
        self.httpListen = httpListen
        self.tls = tls
        self.metrics = metrics
        self.limits = limits
        self.backupSchedule = backupSchedule
    }

    /// Decodes a config file; only `listen` is required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        listen = try c.decode(String.self, forKey: .listen)
        httpListen = try c.decodeIfPresent(String.self, forKey: .httpListen)
        tls = try c.decodeIfPresent(TLSFiles.self, forKey: .tls)
        metrics = try c.decodeIfPresent(String.self, forKey: .metrics)
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? .defaults
        backupSchedule = try c.decodeIfPresent(BackupSchedule.self, forKey: .backupSchedule)
    }

    private enum CodingKeys: String, CodingKey { case listen, httpListen, tls, metrics, limits, backupSchedule }

    /// Reads a JSON config file; the error names the file and what is wrong.
    public static func load(path: String) throws(BrokerConfigurationError) -> BrokerConfiguration {
        try JSONSettingsFile.decode(BrokerConfiguration.self, path: path, kind: "config file", what: "a broker configuration")
    }

    /// The address to listen on, checked: a non-loopback address needs TLS (and so does a
    /// non-loopback ``httpListen``).
    public func validatedAddress() throws(BrokerConfigurationError) -> HostAndPort {
        let address = try HostAndPort(parsing: listen, what: "listen")
        if tls == nil, !address.isLoopback {
            throw .init(
                "refusing to listen on \(listen) without TLS: plaintext is allowed only on a loopback address (127.0.0.1, ::1, localhost); give --tls-cert and --tls-key"
            )
        }
        _ = try validatedHTTPAddress()
        try limits.validate()
        try backupSchedule?.validate()
        return address
    }

    /// The base URL of an HTTP/JSON endpoint of this broker (`https://10.0.0.5:8444`; `http://`
    /// without TLS).
    public func httpBaseURL(_ endpoint: HostAndPort) -> String {
        "\(tls == nil ? "http" : "https")://\(endpoint)"
    }

    /// ``httpListen`` checked as ``listen`` is; `nil` when unset.
    public func validatedHTTPAddress() throws(BrokerConfigurationError) -> HostAndPort? {
        guard let httpListen else { return nil }
        let address = try HostAndPort(parsing: httpListen, what: "http-listen")
        if tls == nil, !address.isLoopback {
            throw .init(
                "refusing to serve HTTP on \(httpListen) without TLS: plaintext is allowed only on a loopback address (127.0.0.1, ::1, localhost); give --tls-cert and --tls-key"
            )
        }
        return address
    }
}
