import Synchronization

/// Where an export stands; each case carries the last key emitted.
enum ExportPhase: Sendable {
    case objects(after: ObjectKey?)
    case audit(afterPartition: String, sequence: Int64)
    case claims(after: ClaimPosition?)
    case done

    /// The last request claim emitted.
    struct ClaimPosition: Sendable {
        var partition: String
        var requestID: String
    }

    /// The rows a backend reads per page.
    static let pageSize = 256

    /// The phase after a page of `records` read in this phase: the same table
    /// after the last record while pages are full, else the next table.
    func following(_ records: [StoreRecord]) -> ExportPhase {
        let full = records.count == Self.pageSize
        switch (self, records.last) {
        case (.objects, .object(let last)?) where full:
            return .objects(after: last.key)
        case (.objects, _):
            return .audit(afterPartition: "", sequence: 0)
        case (.audit, .audit(let last)?) where full:
            return .audit(afterPartition: last.partition, sequence: last.sequence)
        case (.audit, _):
            return .claims(after: nil)
        case (.claims, .requestClaim(let partition, let requestID, _)?) where full:
            return .claims(after: ClaimPosition(partition: partition, requestID: requestID))
        case (.claims, _), (.done, _):
            return .done
        }
    }
}

/// A backend's side of an export: a snapshot held across pages, and pages read from it.
protocol ExportSource: Sendable {
    associatedtype Snapshot: Sendable
    /// Throws ``StoreError/Code/unavailable`` once the store is closed.
    func checkOpen() throws
    /// Starts one consistent snapshot.
    func openSnapshot() async throws -> Snapshot
    /// Reads the records of `phase` from `snapshot`, at most ``ExportPhase/pageSize`` of them.
    func page(_ snapshot: Snapshot, phase: ExportPhase) async throws -> [StoreRecord]
    /// Ends the snapshot (called once, when the export ends, fails or is dropped).
    func release(_ snapshot: Snapshot)
}

/// The pull-driven state behind every backend's ``ObjectStore/exportAll()``.
///
/// `AsyncThrowingStream(unfolding:)` calls ``next()`` once at a time; a page
/// is read only when the consumer has used the previous one, so a slow
/// consumer never makes the store buffer the whole database. The lock only
/// guards the hand-over of state between calls, never a database read.
final class PagedExporter<Source: ExportSource>: Sendable {
    private struct State: Sendable {
        var phase: ExportPhase = .objects(after: nil)
        var snapshot: Source.Snapshot?
        var buffer: [StoreRecord] = []
        var nextIndex = 0
    }

    private enum Step {
        case record(StoreRecord)
        case finished(Source.Snapshot?)
        case fetch(ExportPhase, Source.Snapshot?)
    }

    private let source: Source
    private let state = Mutex(State())

    init(source: Source) {
        self.source = source
    }

    deinit {
        // A stream dropped before its end still ends its snapshot.
        if let snapshot = state.withLock({ $0.snapshot }) {
            source.release(snapshot)
        }
    }

    /// The stream of ``ObjectStore/exportAll()``.
    static func stream(_ source: Source) -> AsyncThrowingStream<StoreRecord, Error> {
        let exporter = PagedExporter(source: source)
        return AsyncThrowingStream(unfolding: { try await exporter.next() })
    }

    func next() async throws -> StoreRecord? {
        while true {
            let step: Step = state.withLock { state in
                if state.nextIndex < state.buffer.count {
                    defer { state.nextIndex += 1 }
                    return .record(state.buffer[state.nextIndex])
                }
                if case .done = state.phase {
                    defer { state.snapshot = nil }
                    return .finished(state.snapshot)
                }
                return .fetch(state.phase, state.snapshot)
            }
            switch step {
            case .record(let record):
                return record
            case .finished(let snapshot):
                if let snapshot { source.release(snapshot) }
                return nil
            case .fetch(let phase, let existing):
                var opened: Source.Snapshot?
                do {
                    try source.checkOpen()
                    let snapshot: Source.Snapshot
                    if let existing {
                        snapshot = existing
                    } else {
                        snapshot = try await source.openSnapshot()
                        opened = snapshot
                    }
                    let records = try await source.page(snapshot, phase: phase)
                    state.withLock { state in
                        state.snapshot = snapshot
                        state.buffer = records
                        state.nextIndex = 0
                        state.phase = phase.following(records)
                    }
                } catch {
                    let held = state.withLock { state in
                        defer {
                            state.snapshot = nil
                            state.phase = .done
                            state.buffer = []
                        }
                        return state.snapshot
                    }
                    if let snapshot = held ?? opened { source.release(snapshot) }
                    throw error
                }
            }
        }
    }
}
