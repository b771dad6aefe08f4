import Dispatch
internal import GRDB
import Synchronization

extension SQLiteStore {
    /// Loads a backup into this empty store in one transaction.
    ///
    /// Records stream into a single write transaction held by the writer, in
    /// chunks, with back-pressure: the backup never needs to fit in memory.
    /// Concurrent commits wait until the import ends. Audit entries are
    /// re-verified: a broken chain fails with ``StoreError/Code/corrupt``. An
    /// error thrown by `records` is rethrown unchanged, after rolling back.
    ///
    /// Do not make `records` depend on commits to this same store: they wait
    /// for the import, which waits for `records`.
    public func importAll(_ records: some AsyncSequence<StoreRecord, Error> & Sendable) async throws {
        try checkOpen()
        let channel = ImportChannel()
        pool.asyncWriteWithoutTransaction { db in
            Importer.run(db, channel: channel)
        }
        do {
            var chunk: [StoreRecord] = []
            chunk.reserveCapacity(Importer.chunkSize)
            for try await record in records {
                chunk.append(record)
                if chunk.count == Importer.chunkSize {
                    try await channel.send(.records(chunk))
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            if !chunk.isEmpty {
                try await channel.send(.records(chunk))
            }
            try await channel.send(.finish)
        } catch {
            // Roll back (a no-op if the writer already ended), then report.
            try? await channel.send(.abort)
            throw error
        }
    }
}

/// Hands records from the importing task to the writer thread, one message
/// at a time; the sender waits for the writer's reply.
///
/// The writer blocks on a semaphore between messages: it runs on GRDB's
/// writer dispatch queue, never on the Swift concurrency pool.
final class ImportChannel: Sendable {
    enum Message: Sendable {
        case records([StoreRecord])
        case finish
        case abort
    }

    private struct Delivery: Sendable {
        var message: Message
        var reply: CheckedContinuation<Void, any Error>
    }

    private enum WriterState: Sendable {
        case running
        case ended(StoreError?)
    }

    private struct State: Sendable {
        var mailbox: Delivery?
        var writer = WriterState.running
    }

    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)

    /// Sends `message` and waits until the writer handled it.
    func send(_ message: Message) async throws {
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Void, any Error>) in
            let ended: WriterState? = state.withLock { state in
                guard case .running = state.writer else {
                    return state.writer
                }
                state.mailbox = Delivery(message: message, reply: reply)
                return nil
            }
            switch ended {
            case nil:
                available.signal()
            case .ended(let failure?):
                reply.resume(throwing: failure)
            case .ended(nil), .running:
                reply.resume()
            }
        }
    }

    /// Called by the writer: blocks until a message arrives.
    func receive() -> (Message, CheckedContinuation<Void, any Error>) {
        while true {
            available.wait()
            if let delivery = state.withLock({ state in
                defer { state.mailbox = nil }
                return state.mailbox
            }) {
                return (delivery.message, delivery.reply)
            }
        }
    }

    /// Called by the writer when it stops: later sends get `failure` (or
    /// succeed if nil), and a message not yet received is answered now.
    func end(failure: StoreError?) {
        let unanswered = state.withLock { state in
            state.writer = .ended(failure)
            defer { state.mailbox = nil }
            return state.mailbox
        }
        if let unanswered {
            if let failure {
                unanswered.reply.resume(throwing: failure)
            } else {
                unanswered.reply.resume()
            }
        }
    }
}

/// The writer side of an import: one transaction, validated record by record.
struct Importer {
    static let chunkSize = 256

    private var validator = ImportValidator()

    /// Runs the whole import on the writer connection.
    static func run(_ db: Database, channel: ImportChannel) {
        var reply: CheckedContinuation<Void, any Error>?
        do {
            try db.inTransaction(.immediate) {
                guard try Queries.isEmpty(db) else {
                    throw ImportValidator.notEmpty
                }
                var importer = Importer()
                while true {
                    let (message, messageReply) = channel.receive()
                    reply = messageReply
                    switch message {
                    case .records(let records):
                        try importer.insert(records, in: db)
                        reply = nil
                        messageReply.resume()
                    case .finish:
                        _ = try BatchWriter.incrementChangeCounter(in: db)
                        return .commit
                    case .abort:
                        return .rollback
                    }
                }
            }
            channel.end(failure: nil)
            reply?.resume()
        } catch {
            let failure = StoreError.storeError(error)
            channel.end(failure: failure)
            reply?.resume(throwing: failure)
        }
    }

    private mutating func insert(_ records: [StoreRecord], in db: Database) throws {
        for record in records {
            try validator.check(record)
            switch record {
            case .object(let object):
                do {
                    try BatchWriter.insert(
                        object.key, label: object.label, revision: object.revision, data: object.data, in: db)
                } catch let error as StoreError where error.code == .conflict {
                    throw ImportValidator.duplicateObject(object.key)
                }
            case .audit(let entry):
                try BatchWriter.insertAudit(entry, in: db)
            case .requestClaim(let partition, let requestID, let object):
                do {
                    try BatchWriter.claim(partition: partition, requestID: requestID, object: object, in: db)
                } catch let error as StoreError where error.code == .duplicateRequest {
                    throw ImportValidator.duplicateClaim(partition: partition, requestID: requestID)
                }
            }
        }
    }
}
