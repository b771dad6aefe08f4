import Foundation
import RedoubtStore

/// Where a broker's durable state lives: a SQLite file, or a PostgreSQL database that several
/// nodes may share. The one place a store argument (`redoubt serve --store`, `REDOUBT_STORE`)
/// becomes an `ObjectStore`.
///
/// Its ``description`` never shows a PostgreSQL password, so it is safe in messages and logs.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// The embedded store: one SQLite file (`DATA/redoubt.sqlite` for `redoubt serve`).
    case sqlite(path: String)
    /// A PostgreSQL database, `postgres://user:password@host:port/database?sslmode=…`.
    case postgres(url: String)

    /// Reads a store argument: `nil` or empty selects `DIRECTORY/redoubt.sqlite`,
    /// `postgres://…` or `postgresql://…` a PostgreSQL database.
    ///
    /// - Throws: ``BrokerConfigurationError`` naming `--store` for anything else (without echoing
    ///   the argument, which may hold a password).
    public init(argument: String?, directory: String) throws(BrokerConfigurationError) {
        guard let argument, !argument.isEmpty else {
            self = .sqlite(path: directory + "/redoubt.sqlite")
            return
        }
        let scheme = argument.prefix { $0 != ":" }.lowercased()
        guard scheme == "postgres" || scheme == "postgresql", argument.dropFirst(scheme.count).hasPrefix("://") else {
            throw BrokerConfigurationError(
                "--store takes a postgres://user:password@host:port/database?sslmode=… URL; omit it for DATA/redoubt.sqlite")
        }
        self = .postgres(url: argument)
    }

    /// For messages: the path, or the URL without its password and query.
    public var description: String {
        switch self {
        case .sqlite(let path):
            return path
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "a PostgreSQL database" }
            components.password = nil
            components.query = nil
            return components.string ?? "a PostgreSQL database"
        }
    }

    /// Whether a store may exist here, without opening it: the SQLite file exists, or it is a
    /// PostgreSQL database (always assumed to).
    public var mayExist: Bool {
        switch self {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }

    /// Opens the store, creating the SQLite file or migrating the PostgreSQL schema if needed.
    ///
    /// - Throws: the store's error when it cannot be opened or reached.
    public func open() async throws -> any ObjectStore {
        switch self {
        case .sqlite(let path):
            return try SQLiteStore(path: path)
        case .postgres(let url):
            return try await PostgresStore.connect(url: url)
        }
    }
}
