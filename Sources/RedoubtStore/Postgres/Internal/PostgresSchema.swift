internal import PostgresNIO

/// Applies ``Migrations/all`` to a PostgreSQL database.
///
/// Everything happens in one transaction holding a transaction-scoped
/// advisory lock, so nodes starting at once against a fresh database migrate
/// one after the other: the first applies, the others find nothing to do.
enum PostgresSchema {
    /// The advisory lock key ("Redoubt" and 1 in ASCII): one per database.
    static let lockKey: Int64 = 0x5265_646F_7562_7401

    /// The table recording applied migration names.
    static let appliedTable = "redoubt_migrations"

    /// Applies what is missing; refuses a database holding a migration this build does not know.
    static func migrate(on connection: PostgresConnection) async throws {
        // Ids and labels must round-trip any Unicode text and sort bytewise, as in SQLite.
        let encoding = try await connection.query("SHOW server_encoding", logger: PostgresCore.quiet).collect()
        guard try encoding.first?.decode(String.self) == "UTF8" else {
            throw StoreError.invalidArgument("the PostgreSQL database must use the UTF8 encoding (CREATE DATABASE … ENCODING 'UTF8')")
        }
        try await PostgresCore.transaction(on: connection, begin: "BEGIN") { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: PostgresCore.quiet)
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(appliedTable) (
                            name TEXT COLLATE "C" PRIMARY KEY,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                        )
                        """), logger: PostgresCore.quiet)
            var applied = Set<String>()
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT name FROM \(appliedTable)"), logger: PostgresCore.quiet)
            for try await name in rows.decode(String.self) {
                applied.insert(name)
            }
            let unknown = applied.subtracting(Migrations.all.map(\.name)).sorted()
            guard unknown.isEmpty else {
                throw StoreError.unavailable(
                    "the PostgreSQL database was written by a newer version of Redoubt "
                        + "(unknown migrations: \(unknown.joined(separator: ", ")))")
            }
            for migration in Migrations.all where !applied.contains(migration.name) {
                // One statement for the extended protocol: the step runs as a PL/pgSQL block.
                try await connection.query(
                    PostgresQuery(unsafeSQL: "DO $redoubt$ BEGIN \(migration.postgres) END $redoubt$"),
                    logger: PostgresCore.quiet)
                try await connection.query(
                    "INSERT INTO redoubt_migrations (name) VALUES (\(migration.name))", logger: PostgresCore.quiet)
            }
        }
    }
}
