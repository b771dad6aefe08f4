import ArgumentParser
import Foundation
import RedoubtStore

/// Where the durable state lives: the SQLite file in the data directory, or
/// a PostgreSQL database. The one place a store argument becomes an ``ObjectStore``.
enum StoreLocation: Equatable, CustomStringConvertible {
    /// The embedded store, `DATA/redoubt.sqlite`.
    case sqlite(path: String)
    /// A PostgreSQL database (several nodes may share it).
    case postgres(url: String)

    /// Reads `--store` (or `REDOUBT_STORE`): nil or empty selects `DIRECTORY/redoubt.sqlite`,
    /// `postgres://…` / `postgresql://…` a PostgreSQL database.
    init(argument: String?, directory: String) throws {
        guard let argument, !argument.isEmpty else {
            self = .sqlite(path: directory + "/redoubt.sqlite")
            return
        }
        let scheme = argument.prefix { $0 != ":" }.lowercased()
        guard scheme == "postgres" || scheme == "postgresql", argument.dropFirst(scheme.count).hasPrefix("://") else {
            throw ValidationError(
                "--store takes a postgres://user:password@host:port/database?sslmode=… URL; omit it for DATA/redoubt.sqlite")
        }
        self = .postgres(url: argument)
    }

    /// For messages: the path, or the URL without its password.
    var description: String {
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

    /// Whether a store is known to exist here without opening it (PostgreSQL: always assumed).
    var mayExist: Bool {
        switch self {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }

    /// Opens the store (creating the SQLite file, or migrating the PostgreSQL schema, if needed).
    func open() async throws -> any ObjectStore {
        switch self {
        case .sqlite(let path):
            return try SQLiteStore(path: path)
        case .postgres(let url):
            return try await PostgresStore.connect(url: url)
        }
    }
}
