import Foundation
internal import PostgresNIO

/// A parsed `postgres://user:password@host:port/database?sslmode=…` URL.
///
/// The password is kept only to hand to PostgresNIO; ``redacted`` and every
/// error thrown here leave it out.
struct PostgresURL: Sendable {
    /// How the connection uses TLS (libpq's `sslmode` names).
    enum SSLMode: String, Sendable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var sslMode: SSLMode
    /// PEM file of the CA certificates that verify the server (`sslrootcert`); system roots when nil.
    var rootCertificatePath: String?

    /// Parses `text`; throws ``StoreError/Code/invalidArgument`` with a message that never holds the password.
    init(parsing text: String) throws {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw StoreError.invalidArgument("a PostgreSQL store URL looks like postgres://user:password@host:5432/database?sslmode=require")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.invalidArgument("the PostgreSQL URL has no host")
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else {
            throw StoreError.invalidArgument("the PostgreSQL URL has an invalid port")
        }
        self.port = port
        guard let user = components.user, !user.isEmpty else {
            throw StoreError.invalidArgument("the PostgreSQL URL has no user name")
        }
        username = user
        password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.contains("/") else {
            throw StoreError.invalidArgument("the PostgreSQL URL's path must be one database name")
        }
        database = path.isEmpty ? user : path
        sslMode = .prefer
        rootCertificatePath = nil
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    let allowed = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw StoreError.invalidArgument("sslmode must be one of \(allowed)")
                }
                sslMode = mode
            case "sslrootcert":
                rootCertificatePath = item.value
            default:
                throw StoreError.invalidArgument("unsupported PostgreSQL URL parameter \"\(item.name)\" (supported: sslmode, sslrootcert)")
            }
        }
    }

    /// The URL without its password, for messages and logs.
    var redacted: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)@\(hostPart):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// This URL naming another database on the same server (tests create throw-away databases).
    func with(database: String) -> PostgresURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The TLS settings NIOSSL gets for ``sslMode``.
    func tlsConfiguration() -> TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return nil
        case .prefer, .require:
            // libpq's require: encrypted, but the certificate is not checked.
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let rootCertificatePath {
            tls.trustRoots = .file(rootCertificatePath)
        }
        return tls
    }

    /// The configuration of the connection pool.
    func clientConfiguration(connectTimeout: Duration, maximumConnections: Int) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch (sslMode, tlsConfiguration()) {
            case (.disable, _), (_, nil): .disable
            case (.prefer, let tls?): .prefer(tls)
            case (_, let tls?): .require(tls)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = connectTimeout
        configuration.options.maximumConnections = maximumConnections
        configuration.options.additionalStartupParameters = [("application_name", "redoubt")]
        return configuration
    }

    /// The configuration of a single connection outside the pool (exports hold one for their snapshot).
    func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        var tls = PostgresConnection.Configuration.TLS.disable
        if let tlsConfiguration = tlsConfiguration() {
            let context: NIOSSLContext
            do {
                context = try NIOSSLContext(configuration: tlsConfiguration)
            } catch {
                throw StoreError.invalidArgument("cannot set up TLS for PostgreSQL (\(type(of: error)))")
            }
            tls = sslMode == .prefer ? .prefer(context) : .require(context)
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = TimeAmount.nanoseconds(
            Int64(connectTimeout.components.seconds) * 1_000_000_000
                + connectTimeout.components.attoseconds / 1_000_000_000)
        configuration.options.additionalStartupParameters = [("application_name", "redoubt")]
        return configuration
    }
}
