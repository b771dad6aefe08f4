internal import GRDB

/// The versioned SQLite schema: ``Migrations/all`` registered with GRDB under
/// their shared names, so files written before the list moved stay valid.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in Migrations.all {
            let sql = migration.sqlite
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: sql)
            }
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
