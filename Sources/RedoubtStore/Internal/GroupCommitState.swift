/// A batch waiting for the group-commit writer, with the caller to resume.
struct PendingCommit: Sendable {
    var batch: WriteBatch
    var continuation: CheckedContinuation<CommitResult, any Error>
}

/// The state of a store's group commit (``SQLiteStore``, ``PostgresStore``), kept in a `Mutex`; `Item`
/// is a ``PendingCommit`` in the store (generic so tests need no continuations).
///
/// A value type with `mutating` transitions that return what the caller must
/// do, so it can be tested without I/O. At most one drain runs at a time:
/// the caller that finds the writer idle schedules it, and the drain stops
/// itself once it finds nothing pending.
struct GroupCommitState<Item: Sendable>: Sendable {
    /// What ``enqueue(_:)`` asks the caller to do.
    enum EnqueueAction: Equatable {
        /// The writer was idle: schedule a drain.
        case startDrain
        /// A drain is running and will pick the batch up.
        case queued
        /// The store is closed: fail the caller.
        case rejected
    }

    private(set) var pending: [Item] = []
    private(set) var isDraining = false
    private(set) var isOpen = true
    /// Statistics, for tests and diagnostics.
    private(set) var transactions = 0
    private(set) var batches = 0

    /// Adds a batch unless the store is closed.
    mutating func enqueue(_ item: Item) -> EnqueueAction {
        guard isOpen else {
            return .rejected
        }
        pending.append(item)
        if isDraining {
            return .queued
        }
        isDraining = true
        return .startDrain
    }

    /// Takes up to `limit` pending batches in arrival order. An empty result
    /// means the drain must stop: the writer is marked idle.
    mutating func takeGroup(limit: Int) -> [Item] {
        guard !pending.isEmpty else {
            isDraining = false
            return []
        }
        let count = min(max(limit, 1), pending.count)
        let group = Array(pending.prefix(count))
        pending.removeFirst(count)
        return group
    }

    /// Records a committed transaction holding `batchCount` batches.
    mutating func recordTransaction(batchCount: Int) {
        transactions += 1
        batches += batchCount
    }

    /// Stops accepting batches; returns whether the store was open. Batches
    /// already pending are still committed.
    mutating func close() -> Bool {
        defer { isOpen = false }
        return isOpen
    }
}
