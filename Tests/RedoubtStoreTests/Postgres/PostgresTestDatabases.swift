import Foundation
import PostgresNIO
@testable import RedoubtStore
import Synchronization

/// Throw-away databases on the server named by `REDOUBT_TEST_POSTGRES_URL`
/// (`scripts/with-postgres` starts one), each dropped by ``dropAll()``.
///
/// Shared by RedoubtStoreTests and RedoubtTests (a symlink in the latter).
final class PostgresTestDatabases: Sendable {
    /// The server URL from the environment, or nil when PostgreSQL tests are off.
    static var serverURL: String? {
        guard let url = ProcessInfo.processInfo.environment["REDOUBT_TEST_POSTGRES_URL"], !url.isEmpty else {
            return nil
        }
        return url
    }

    /// Whether PostgreSQL tests run (for `.enabled(if:)`).
    static var isConfigured: Bool { serverURL != nil }

    /// Whether CI demands them (`REDOUBT_REQUIRE_POSTGRES=1`).
    static var isRequired: Bool {
        ProcessInfo.processInfo.environment["REDOUBT_REQUIRE_POSTGRES"] == "1"
    }

    private let server: String
    private let created = Mutex<[String]>([])

    init() throws {
        guard let server = Self.serverURL else {
            throw StoreError(code: .unavailable, message: "REDOUBT_TEST_POSTGRES_URL is not set")
        }
        self.server = server
    }

    /// The URL of a new, empty database.
    func makeDatabase() async throws -> String {
        let name = "redoubt_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await admin { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
        }
        created.withLock { $0.append(name) }
        guard var components = URLComponents(string: server) else {
            throw StoreError(code: .invalidArgument, message: "REDOUBT_TEST_POSTGRES_URL is not a URL")
        }
        components.path = "/" + name
        guard let url = components.string else {
            throw StoreError(code: .invalidArgument, message: "cannot build a database URL")
        }
        return url
    }

    /// A store on a new, empty database.
    func makeStore(options: PostgresStore.Options = .defaults) async throws -> PostgresStore {
        try await PostgresStore.connect(url: try await makeDatabase(), options: options)
    }

    /// Runs `body` on a connection to the database named by `url` (default: the server's own).
    @discardableResult
    func admin<T: Sendable>(
        url: String? = nil, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let parsed = try PostgresURL(parsing: url ?? server)
        let connection = try await PostgresConnection.connect(
            configuration: try parsed.connectionConfiguration(connectTimeout: .seconds(10)),
            id: 1, logger: Self.logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Drops every database made here (forcing out connections left open).
    func dropAll() async {
        let names = created.withLock { names in
            defer { names = [] }
            return names
        }
        for name in names {
            _ = try? await admin { connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger)
            }
        }
    }

    /// Runs `body` with new databases, dropping them afterwards.
    static func with<T>(_ body: (PostgresTestDatabases) async throws -> T) async throws -> T {
        let databases = try PostgresTestDatabases()
        do {
            let result = try await body(databases)
            await databases.dropAll()
            return result
        } catch {
            await databases.dropAll()
            throw error
        }
    }

    /// PostgresNIO's query logger for tests: errors only reach the test through thrown errors.
    static let logger: Logger = {
        var logger = Logger(label: "redoubt.tests.postgres")
        logger.logLevel = .critical
        return logger
    }()
}
