internal import PostgresNIO

extension PostgresStore {
    /// Loads a backup into this empty store in one transaction.
    ///
    /// The transaction first locks the `meta` row, so commits of every node
    /// wait until the import ends; records are then validated (audit chains
    /// re-verified) and inserted as they arrive, so the backup never needs to
    /// fit in memory. Any failure rolls everything back: a store holding data
    /// gives ``StoreError/Code/notEmpty``, an inconsistent backup
    /// ``StoreError/Code/corrupt``, and an error thrown by `records` is
    /// rethrown unchanged. After it, the store asks PostgreSQL to analyse the tables (statistics
    /// for its planner) rather than leave that to autovacuum's next round.
    public func importAll(_ records: some AsyncSequence<StoreRecord, Error> & Sendable) async throws {
        do {
            // Not bounded by the operation timeout: a large backup may take longer.
            let counter = try await core.inTransaction(bounded: false) { connection in
                _ = try await connection.query(
                    "SELECT change_counter FROM meta WHERE id = 1 FOR UPDATE", logger: PostgresCore.quiet
                ).collect()
                guard try await PostgresQueries.isEmpty(on: connection) else {
                    throw ImportValidator.notEmpty
                }
                var validator = ImportValidator()
                var iterator = records.makeAsyncIterator()
                while let record = try await Self.next(&iterator) {
                    try validator.check(record)
                    try await Self.insert(record, on: connection)
                }
                return try await PostgresBatchWriter.incrementChangeCounter(on: connection)
            }
            core.observe(counter: counter)
            // Statistics for the planner now rather than at autovacuum's next round (see
            // PostgresCore.analyzeAfterInserts); a failure leaves them to autovacuum.
            _ = try? await core.withConnection {
                try await $0.query("ANALYZE objects, audit, request_ids", logger: PostgresCore.quiet)
            }
        } catch {
            throw ImportSourceFailure.unwrapped(error)
        }
    }

    /// The next record of the backup; its own errors are boxed so that they pass the store's mapping unchanged.
    private static func next<Iterator: AsyncIteratorProtocol>(
        _ iterator: inout Iterator
    ) async throws -> StoreRecord? where Iterator.Element == StoreRecord {
        do {
            return try await iterator.next()
        } catch {
            throw ImportSourceFailure(underlying: error)
        }
    }

    private static func insert(_ record: StoreRecord, on connection: PostgresConnection) async throws {
        switch record {
        case .object(let object):
            let inserted = try await PostgresBatchWriter.tryInsert(
                object.key, label: object.label, revision: object.revision, data: object.data, on: connection)
            guard inserted else {
                throw ImportValidator.duplicateObject(object.key)
            }
        case .audit(let entry):
            try await PostgresBatchWriter.insertAudit(entry, on: connection)
        case .requestClaim(let partition, let requestID, let object):
            let claimed = try await PostgresBatchWriter.tryClaim(
                partition: partition, requestID: requestID, object: object, on: connection)
            guard claimed else {
                throw ImportValidator.duplicateClaim(partition: partition, requestID: requestID)
            }
        }
    }
}

/// An error of the records passed to ``PostgresStore/importAll(_:)``, carried through the transaction.
struct ImportSourceFailure: Error {
    var underlying: any Error

    /// The source's own error if `error` carries one, else `error`.
    static func unwrapped(_ error: any Error) -> any Error {
        if let failure = error as? ImportSourceFailure {
            return failure.underlying
        }
        return error
    }
}
