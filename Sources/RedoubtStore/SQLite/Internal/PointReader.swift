import Foundation
internal import GRDB
import Synchronization

/// One read-only connection for point reads run on the caller's own thread.
///
/// A read through the pool hops twice to GRDB's dispatch queues and back (to take a reader, then
/// to run on it): on a loaded machine those four thread switches cost more than the indexed lookup
/// itself (a key read past the key cache took ~185 µs so, ~85 µs inline of which ~15 µs of CPU).
/// This connection runs a lookup inline instead, blocking the caller's thread for that long (or
/// for the disk, when the page is not cached). It never waits for the connection: when another
/// caller is using it, or SQLite reports the database busy (the connection does not retry),
/// ``read(_:)`` returns nil and the caller takes the pool, whose errors and busy handling are the
/// store's.
final class PointReader: Sendable {
    private let queue: DatabaseQueue
    private let inUse = Atomic<Bool>(false)

    init(path: String, label: String) throws {
        var configuration = Configuration()
        configuration.label = label
        configuration.readonly = true
        configuration.busyMode = .immediateError
        queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// `body`'s result, read in one transaction on this thread; nil when the connection is in use
    /// or the read failed (the caller reads through the pool instead).
    func read<T>(_ body: (Database) throws -> T) -> T? {
        guard inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return nil }
        defer { inUse.store(false, ordering: .releasing) }
        return try? queue.read(body)
    }

    func close() {
        try? queue.close()
    }
}
