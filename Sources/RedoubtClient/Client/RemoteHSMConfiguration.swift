import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import RedoubtCore

/// Where a ``RemoteHSM`` finds its broker and how it secures the connection.
///
/// ```swift
/// // TLS, the broker's certificate checked against a private CA:
/// let config = RemoteHSMConfiguration(endpoint: "hsm.example.net:8443",
///                                     tls: .init(trustRoots: .file("/etc/redoubt/ca.pem")))
/// // Mutual TLS: the client certificate can also open sessions (Credential.clientCertificate).
/// let mutual = RemoteHSMConfiguration(endpoint: "10.0.0.5:8443", tls: .init(
///     trustRoots: .file("/etc/redoubt/ca.pem"),
///     clientIdentity: .init(certificateChain: .file("/etc/app/client.pem"), privateKey: .file("/etc/app/client.key")),
///     serverHostname: "hsm.example.net"))
/// // Plaintext, only to a loopback address:
/// let local = RemoteHSMConfiguration(endpoint: "127.0.0.1:8443")
/// ```
public struct RemoteHSMConfiguration: Sendable {
    /// PEM text, from a file or from memory.
    public enum PEM: Sendable, CustomStringConvertible {
        /// A PEM file.
        case file(String)
        /// PEM bytes.
        case bytes(Data)

        /// The path, or the byte count (never the bytes: they may be a private key).
        public var description: String {
            switch self {
            case .file(let path): return "PEM file \(path)"
            case .bytes(let data): return "PEM (\(data.count) bytes)"
            }
        }
    }

    /// A client certificate chain and its private key, for mutual TLS.
    public struct ClientIdentity: Sendable {
        /// The certificate chain, leaf first.
        public var certificateChain: PEM
        /// The leaf certificate's private key.
        public var privateKey: PEM

        /// A client identity.
        public init(certificateChain: PEM, privateKey: PEM) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    /// TLS settings.
    public struct TLS: Sendable {
        /// CA certificates the broker's certificate must chain to; `nil`: the system's trust store.
        public var trustRoots: PEM?
        /// A client certificate and key to present (mutual TLS); `nil`: none.
        public var clientIdentity: ClientIdentity?
        /// The name to check the broker's certificate against (and send as SNI and `:authority`),
        /// when it differs from the endpoint's host, e.g. when connecting by IP address.
        public var serverHostname: String?

        /// TLS settings.
        public init(trustRoots: PEM? = nil, clientIdentity: ClientIdentity? = nil, serverHostname: String? = nil) {
            self.trustRoots = trustRoots
            self.clientIdentity = clientIdentity
            self.serverHostname = serverHostname
        }
    }

    /// The broker's `HOST:PORT` (`hsm.example.net:8443`, `10.0.0.5:8443`, `[::1]:8443`).
    public var endpoint: String
    /// TLS; `nil`: plaintext, allowed only to a loopback address (127.0.0.0/8, ::1, localhost).
    public var tls: TLS?
    /// How long each call may take before it fails with UNAVAILABLE "deadline exceeded" (a call
    /// made with a sooner ``HSMCallContext/deadline`` gets only what is left of that, and
    /// fails with DEADLINE_EXCEEDED past it).
    public var callTimeout: Duration
    /// The most items one batch RPC carries (`signBatch` and the others split larger batches, and
    /// also keep each RPC's data under 2 MiB). At most the broker's `limits.maximumBatchItems`
    /// (1000 unless configured). 500 by default.
    public var batchItems: Int = 500
    /// Whether concurrent single calls go together; see ``Coalescing``. Off by default.
    public var coalescing: Coalescing = .off

    /// Coalescing of concurrent `sign`, `verify`, `encrypt`, `decrypt` and `mac` calls: many
    /// callers sharing one session cost the broker one batch RPC instead of one RPC each.
    ///
    /// With `.after(inFlight: n)`, up to `n` calls of one kind and session travel at once as
    /// they always do (a caller alone never waits). Further calls wait; whenever one in flight
    /// finishes, every waiting call (up to ``RemoteHSMConfiguration/batchItems``) goes in one
    /// batch RPC. Each caller gets the outcome its own call would have had, errors included. A
    /// call made with an ``HSMCallContext/deadline`` is never held back. A caller cancelled while
    /// it waits stops waiting (CANCELLED "the call was cancelled") and its item is not sent; once
    /// its batch is sent, the item is signed (or encrypted…) whatever happens to the caller.
    public enum Coalescing: Sendable, Hashable {
        /// Every call is its own RPC.
        case off
        /// Calls beyond `inFlight` in flight (per kind and session, at least 1) wait and go in batches.
        case after(inFlight: Int)
    }

    /// A configuration; calls time out after 30 seconds unless told otherwise.
    public init(endpoint: String, tls: TLS? = nil, callTimeout: Duration = .seconds(30)) {
        self.endpoint = endpoint
        self.tls = tls
        self.callTimeout = callTimeout
    }

    /// The transport these settings describe; INVALID_ARGUMENT naming the setting that is unusable.
    func makeTransport(eventLoopGroup: (any EventLoopGroup)? = nil) throws -> HTTP2ClientTransport.Posix {
        let address: HostAndPort
        do {
            address = try HostAndPort(parsing: endpoint, what: "endpoint")
        } catch {
            throw HSMError(.invalidArgument, error.message)
        }
        guard address.port > 0 else { throw HSMError(.invalidArgument, "endpoint needs a port of 1 to 65535; got '\(endpoint)'") }
        guard callTimeout > .zero else { throw HSMError(.invalidArgument, "callTimeout must be longer than zero") }
        guard (1...100_000).contains(batchItems) else { throw HSMError(.invalidArgument, "batchItems must be 1 to 100000; got \(batchItems)") }
        if case .after(let inFlight) = coalescing, inFlight < 1 {
            throw HSMError(.invalidArgument, "coalescing needs at least 1 call in flight; got \(inFlight)")
        }
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        var config = HTTP2ClientTransport.Posix.Config.defaults
        if let tls {
            security = .tls(try Self.tlsConfig(tls))
            if let name = tls.serverHostname {
                guard !name.isEmpty, name.utf8.count <= 253 else { throw HSMError(.invalidArgument, "tls.serverHostname must be 1 to 253 characters") }
                config.http2.authority = name
            }
        } else {
            guard address.isLoopback else {
                throw HSMError(
                    .invalidArgument,
                    "refusing to connect to \(endpoint) without TLS: plaintext is allowed only to a loopback address (127.0.0.1, ::1, localhost); set tls")
            }
            security = .plaintext
        }
        let target: any ResolvableTarget
        if address.isIPv6 {
            target = .ipv6(address: address.host, port: address.port)
        } else if Self.isIPv4(address.host) {
            target = .ipv4(address: address.host, port: address.port)
        } else {
            target = .dns(host: address.host, port: address.port)
        }
        do {
            if let eventLoopGroup {
                return try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config, eventLoopGroup: eventLoopGroup)
            }
            return try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config)
        } catch {
            // The TLS context is built here: unreadable or mismatched certificates and keys.
            throw HSMError(
                .invalidArgument,
                "tls: cannot use the certificates or key given (\(tls.map(Self.describe) ?? "plaintext")); check they are PEM and that the key matches the certificate"
            )
        }
    }

    private static func tlsConfig(_ tls: TLS) throws -> HTTP2ClientTransport.Posix.TransportSecurity.TLS {
        var config = HTTP2ClientTransport.Posix.TransportSecurity.TLS.defaults
        if let roots = tls.trustRoots {
            config.trustRoots = .certificates([try certificate(roots, "tls.trustRoots")])
        }
        if let identity = tls.clientIdentity {
            config.certificateChain = [try certificate(identity.certificateChain, "tls.clientIdentity.certificateChain")]
            switch identity.privateKey {
            case .file(let path):
                try checkReadable(path, "tls.clientIdentity.privateKey")
                config.privateKey = .file(path: path, format: .pem)
            case .bytes(let data):
                config.privateKey = .bytes(Array(data), format: .pem)
            }
        }
        return config
    }

    private static func certificate(_ pem: PEM, _ what: String) throws -> TLSConfig.CertificateSource {
        switch pem {
        case .file(let path):
            try checkReadable(path, what)
            return .file(path: path, format: .pem)
        case .bytes(let data):
            return .bytes(Array(data), format: .pem)
        }
    }

    private static func checkReadable(_ path: String, _ what: String) throws {
        guard FileManager.default.isReadableFile(atPath: path) else { throw HSMError(.invalidArgument, "\(what): cannot read \(path)") }
    }

    private static func describe(_ tls: TLS) -> String {
        var parts = ["trust roots: \(tls.trustRoots.map(\.description) ?? "system")"]
        if let identity = tls.clientIdentity { parts.append("client certificate: \(identity.certificateChain)") }
        return parts.joined(separator: ", ")
    }

    /// Whether `host` is a dotted-quad IPv4 address.
    private static func isIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) && UInt8($0) != nil }
    }
}
