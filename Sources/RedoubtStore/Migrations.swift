/// One named step of the store schema, written once for each backend.
///
/// The list in ``Migrations/all`` is append-only: never edit or reorder a step
/// that has shipped; add `v2-…` instead. Both backends record the names they
/// applied and refuse a store holding a name this build does not know (it was
/// written by a newer version of Redoubt).
struct Migration: Sendable {
    /// The name recorded in the store once the step is applied.
    var name: String
    /// The step for ``SQLiteStore`` (applied through GRDB's migrator).
    var sqlite: String
    /// The step for ``PostgresStore`` (applied in one transaction under an advisory lock).
    var postgres: String
}

/// The migrations shared by every backend, in order.
enum Migrations {
    static let all: [Migration] = [
        Migration(
            name: "v1-objects-audit-requests",
            // Statements are idempotent so that two processes racing to migrate the
            // same new SQLite file cannot fail on "table already exists".
            sqlite: """
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
                """,
            // COLLATE "C": ids, labels and partitions sort bytewise (UTF-8), as in SQLite.
            postgres: """
                CREATE TABLE objects (
                    partition TEXT COLLATE "C" NOT NULL,
                    kind TEXT COLLATE "C" NOT NULL,
                    id TEXT COLLATE "C" NOT NULL,
                    label TEXT COLLATE "C",
                    revision BIGINT NOT NULL CHECK (revision >= 1),
                    data BYTEA NOT NULL,
                    PRIMARY KEY (partition, kind, id)
                );
                CREATE INDEX objects_by_label ON objects (partition, kind, label, id);
                CREATE TABLE audit (
                    partition TEXT COLLATE "C" NOT NULL,
                    seq BIGINT NOT NULL CHECK (seq >= 1),
                    payload BYTEA NOT NULL,
                    hash BYTEA NOT NULL,
                    PRIMARY KEY (partition, seq)
                );
                CREATE TABLE request_ids (
                    partition TEXT COLLATE "C" NOT NULL,
                    request_id TEXT COLLATE "C" NOT NULL,
                    obj_partition TEXT COLLATE "C" NOT NULL,
                    obj_kind TEXT COLLATE "C" NOT NULL,
                    obj_id TEXT COLLATE "C" NOT NULL,
                    PRIMARY KEY (partition, request_id)
                );
                CREATE TABLE meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    change_counter BIGINT NOT NULL
                );
                INSERT INTO meta (id, change_counter) VALUES (1, 0);
                """),
        Migration(
            name: "v2-change-log",
            // One row per commit (the counter it produced, the objects it changed), the latest
            // ChangeLog.retained kept: nodes drop only the cache entries others changed.
            sqlite: """
                CREATE TABLE IF NOT EXISTS changes (
                    counter INTEGER PRIMARY KEY,
                    objects BLOB NOT NULL
                ) STRICT;
                """,
            postgres: """
                CREATE TABLE changes (
                    counter BIGINT PRIMARY KEY,
                    objects BYTEA NOT NULL
                );
                """),
    ]
}
