internal import GRDB

/// The versioned SQLite schema. Migrations are append-only: never edit one
/// that has shipped, add `v2-…` instead.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Statements are idempotent so that two processes racing to migrate the
        // same new file cannot fail on "table already exists".
        migrator.registerMigration("v1-objects-audit-requests") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS objects (
                    partition TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    id TEXT NOT NULL,
                    label TEXT,
                    revision INTEGER NOT NULL CHECK (revision >= 1),
                    data BLOB NOT NULL,
                    PRIMARY KEY (partition, kind, id)
                ) STRICT;
                CREATE INDEX IF NOT EXISTS objects_by_label ON objects (partition, kind, label, id);
                CREATE TABLE IF NOT EXISTS audit (
                    partition TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 1),
                    payload BLOB NOT NULL,
                    hash BLOB NOT NULL,
                    PRIMARY KEY (partition, seq)
                ) STRICT;
                CREATE TABLE IF NOT EXISTS request_ids (
                    partition TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    obj_partition TEXT NOT NULL,
                    obj_kind TEXT NOT NULL,
                    obj_id TEXT NOT NULL,
                    PRIMARY KEY (partition, request_id)
                ) STRICT;
                CREATE TABLE IF NOT EXISTS meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    change_counter INTEGER NOT NULL
                ) STRICT;
                INSERT OR IGNORE INTO meta (id, change_counter) VALUES (1, 0);
                """)
        }
        return migrator
    }

    /// Applies pending migrations, refusing a file written by newer software.
    static func migrate(_ pool: DatabasePool) throws {
        let migrator = migrator
        let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
        guard !superseded else {
            throw StoreError.unavailable("the store file was written by a newer version of Redoubt")
        }
        do {
            try migrator.migrate(pool)
        } catch {
            // Another process may have applied the same migration between our
            // check and our write; a second pass then finds nothing to do.
            try migrator.migrate(pool)
        }
    }
}
