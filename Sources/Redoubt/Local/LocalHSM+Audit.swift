import Foundation
import ServiceLifecycle
import RedoubtStore

/// A key use waiting for its group commit; encoded only when committed, off the caller's path.
/// In a partition that aggregates key uses, one entry stands for `count` uses from `first` to `time`.
struct PendingUse: Sendable {
    var partition: String
    var actor: String
    var role: Role
    var session: String
    /// The operation's name as written (``AuditOperation/rawValue``).
    var operation: String
    var object: String
    var result: String
    var time: Date
    var count = 1
    var first: Date?

    /// What aggregated uses have in common: the session (which fixes the partition, the user and
    /// the role), the operation and the key. (Only successful uses are aggregated.)
    struct Group: Hashable, Sendable {
        var session, operation, object: String
    }

    var group: Group { Group(session: session, operation: operation, object: object) }
}

/// Key-use audit records waiting for their group commit.
struct AuditBuffer: Sendable {
    var pending: [PendingUse] = []
    var oldest: Date?
    /// Where each aggregated group's entry is in `pending` (successful uses in aggregating partitions).
    var aggregates: [PendingUse.Group: Int] = [:]

    /// Adds a use: a new entry, or one more on its group's entry when `aggregate`.
    mutating func add(_ use: PendingUse, aggregate: Bool) {
        if oldest == nil { oldest = use.time }
        guard aggregate else {
            pending.append(use)
            return
        }
        let group = use.group
        if let i = aggregates[group] {
            pending[i].count += 1
            pending[i].time = use.time
        } else {
            aggregates[group] = pending.count
            var first = use
            first.first = use.time
            pending.append(first)
        }
    }

    /// Takes every entry, leaving the buffer empty.
    mutating func take() -> [PendingUse] {
        defer {
            pending.removeAll(keepingCapacity: true)
            aggregates.removeAll(keepingCapacity: true)
            oldest = nil
        }
        return pending
    }
}

extension LocalHSM {
    /// One audit record as canonical JSON (fixed key order).
    func auditPayload(
        actor: String, role: String, session: String, operation: AuditOperation, object: String, result: String,
        time: Date? = nil
    ) -> Data {
        auditPayload(
            actor: actor, role: role, session: session, operationName: operation.rawValue, object: object,
            result: result, time: time)
    }

    /// One audit record as canonical JSON (fixed key order), built byte by byte: thousands are
    /// encoded per group commit. `operationName` is an ``AuditOperation/rawValue`` (a queued record keeps it so).
    /// An aggregated record (`count` > 1) adds `count` and `first` (milliseconds), in key order.
    private func auditPayload(
        actor: String, role: String, session: String, operationName: String, object: String,
        result: String, time: Date? = nil, count: Int = 1, first: Date? = nil
    ) -> Data {
        Data(
            auditPayloadBytes(
                actor: actor, role: role, session: session, operationName: operationName, object: object,
                result: result, time: time, count: count, first: first))
    }

    /// ``auditPayload(actor:role:session:operationName:object:result:time:count:first:)`` as bytes,
    /// with room for the MAC field ``AuditSigner`` appends.
    private func auditPayloadBytes(
        actor: String, role: String, session: String, operationName: String, object: String,
        result: String, time: Date?, count: Int, first: Date?
    ) -> [UInt8] {
        func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        let ms = milliseconds(time ?? now)
        var out: [UInt8] = []
        out.reserveCapacity(240 + actor.utf8.count + object.utf8.count + session.utf8.count)
        func field(_ name: StaticString, _ value: String, first: Bool = false) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            Self.appendJSONString(value, to: &out)
        }
        field("actor", actor, first: true)
        if count > 1, let first {
            out.append(contentsOf: Array(",\"count\":\(count),\"first\":\(milliseconds(first))".utf8))
        }
        field("object", object)
        field("operation", operationName)
        field("result", result)
        field("role", role)
        field("session", session)
        out.append(contentsOf: Array(",\"time\":\(ms)}".utf8))
        return out
    }

    /// The signed record of a queued use (a flush's, and ``commitAudited(_:)``'s).
    private func signedRecord(_ use: PendingUse) -> WriteOperation {
        let payload = auditPayloadBytes(
            actor: use.actor, role: use.role.rawValue, session: use.session, operationName: use.operation,
            object: use.object, result: use.result, time: use.time, count: use.count, first: use.first)
        return .appendAudit(partition: use.partition, payload: auditSigner.signed(payload, partition: use.partition))
    }

    func auditPayload(_ caller: Caller, _ operation: AuditOperation, object: String, result: String) -> Data {
        auditPayload(
            actor: caller.user, role: caller.role.rawValue, session: caller.session, operation: operation,
            object: object, result: result)
    }

    static func appendJSONString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Ids, names and results rarely need escaping: copy them whole.
        let copied =
            value.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                    return false
                }
                out.append(contentsOf: bytes)
                return true
            } ?? false
        if copied {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0..<0x20:
                let hex = Hex.digits
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hex[Int(byte >> 4)], hex[Int(byte & 0xf)],
                ])
            default: out.append(byte)  // UTF-8 passes through: JSON is UTF-8
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Queues a key-use record (or counts it on its aggregated record, in a partition whose
    /// ``PartitionSettings/keyUseAudit`` is ``KeyUseAudit/aggregated`` and for a use that
    /// succeeded). The queue is committed by ``run()`` every ``Configuration/auditMaxDelay``;
    /// without it, by the call that finds the queue full or old.
    nonisolated(nonsending) func recordUse(_ caller: Caller, _ operation: AuditOperation, key: String, result: String) async throws {
        let now = self.now
        var aggregate = false
        if result == "ok" {
            // The cached setting alone (copying the partition record costs more than the use's audit).
            if let mode = state.withLock({ $0.partitions[caller.partition]?.record.settings.keyUseAudit }) {
                aggregate = mode == .aggregated
            } else if let (partition, _) = try? await partitionRecord(caller.partition) {
                aggregate = partition.settings.keyUseAudit == .aggregated
            }
        }
        switch queueUse(caller, operation, key: key, result: result, aggregate: aggregate, now: now) {
        case .queued: return
        // Committing takes a while: a caller that waited for it would leave the HSM idle.
        case .flushInBackground: startBackgroundFlush()
        case .flushNow: try await flushAudit(force: true)
        }
    }

    /// What the audit queue needs once a record is queued.
    enum AuditQueueing { case queued, flushInBackground, flushNow }

    /// Queues a key-use record (``recordUse(_:_:key:result:)`` without its waiting).
    func queueUse(_ caller: Caller, _ operation: AuditOperation, key: String, result: String, aggregate: Bool, now: Date) -> AuditQueueing {
        let use = PendingUse(
            partition: caller.partition, actor: caller.user, role: caller.role, session: caller.session,
            operation: operation.rawValue, object: key, result: result, time: now)
        let (limit, maxDelay, flusher) = auditQueueLimits
        let (due, pending) = auditBuffer.withLock { b -> (Bool, Int) in
            b.add(use, aggregate: aggregate)
            return (b.pending.count >= limit || now.timeIntervalSince(b.oldest ?? now) >= maxDelay, b.pending.count)
        }
        guard due else { return .queued }
        return flusher && pending < limit * 4 ? .flushInBackground : .flushNow
    }

    /// Whether one more record can be queued without its caller waiting for a commit
    /// (``queueUse(_:_:key:result:aggregate:now:)`` answering `.flushNow`).
    func auditQueueTakesOneMore(now: Date) -> Bool {
        let (limit, maxDelay, flusher) = auditQueueLimits
        return auditBuffer.withLock { b in
            let count = b.pending.count + 1
            return flusher ? count < limit * 4 : count < limit && now.timeIntervalSince(b.oldest ?? now) < maxDelay
        }
    }

    /// The queue's size and age at which it is committed: larger with ``run()`` committing it.
    private var auditQueueLimits: (limit: Int, maxDelay: TimeInterval, flusher: Bool) {
        let flusher = runningFlusher
        return (
            flusher ? configuration.auditBatchSize * 64 : configuration.auditBatchSize,
            flusher ? configuration.auditMaxDelay * 10 : configuration.auditMaxDelay, flusher
        )
    }

    /// Commits the queue in a task of its own, unless such a flush is running already;
    /// ``flushAudit(force:)`` waits for it.
    func startBackgroundFlush() {
        backgroundFlush.withLock { running in
            guard running == nil else { return }
            running = Task {
                do { try await commitQueuedAudit() } catch {
                    logger.error("audit flush failed; will retry", metadata: ["redoubt.error": "\(error)"])
                }
                backgroundFlush.withLock { $0 = nil }
            }
        }
    }

    /// Puts queued uses back in front of the queue after a failed commit, so nothing is lost.
    private func requeue(_ back: some Collection<PendingUse>) {
        guard !back.isEmpty else { return }
        auditBuffer.withLock { b in
            b.pending.insert(contentsOf: back, at: 0)
            // Later uses start new aggregated records behind the ones put back.
            b.aggregates.removeAll()
            if b.oldest == nil { b.oldest = now }
        }
    }

    /// Commits queued key-use records (after any background flush), at most `auditBatchSize × 8`
    /// per commit: a store serialises commits (SQLite's one writer, PostgreSQL's change-counter row
    /// lock), so other nodes' commits wait for one chunk, never for a whole second of a busy
    /// node's records.
    func flushAudit(force: Bool) async throws {
        // Records a background flush took are committed before this returns.
        if let running = backgroundFlush.withLock({ $0 }) {
            await running.value
        }
        try await commitQueuedAudit()
    }

    /// ``flushAudit(force:)`` without waiting for a background flush (it is one). A chunk's
    /// records are encoded and signed while the store commits the chunk before them: the two
    /// halves of a flush cost about the same, and run on two cores.
    private func commitQueuedAudit() async throws {
        let uses = auditBuffer.withLock { $0.take() }
        guard !uses.isEmpty else { return }
        let chunk = max(1, configuration.auditBatchSize * 8)
        func signedChunk(from start: Int) -> (batch: WriteBatch, partitions: Set<String>) {
            var operations: [WriteOperation] = []
            operations.reserveCapacity(min(chunk, uses.count - start))
            var partitions: Set<String> = []
            var last: String?
            for use in uses[start..<min(start + chunk, uses.count)] {
                operations.append(signedRecord(use))
                if use.partition != last {
                    partitions.insert(use.partition)
                    last = use.partition
                }
            }
            return (WriteBatch(operations), partitions)
        }
        var start = 0
        var current = signedChunk(from: 0)
        while true {
            let (batch, partitions) = current
            let end = start + batch.operations.count
            async let committed = commitSigned(batch, audited: partitions)
            let next = end < uses.count ? signedChunk(from: end) : nil
            do {
                _ = try await committed
            } catch {
                // Put the rest back in front so nothing is lost; the next flush retries.
                requeue(uses[start...])
                throw error
            }
            guard let next else { return }
            current = next
            start = end
        }
    }

    /// Commits a management change together with its audit record and any queued key-use records
    /// (so the chain keeps their order).
    @discardableResult
    func commitManaged(
        _ operations: [WriteOperation], audit caller: Caller, _ operation: AuditOperation,
        object: String
    ) async throws -> CommitResult {
        try await commitAudited(
            operations + [
                .appendAudit(partition: caller.partition, payload: auditPayload(caller, operation, object: object, result: "ok"))
            ])
    }

    /// Commits operations that carry their own audit records, behind the queued key-use records
    /// (so the chain keeps the order things happened in).
    @discardableResult
    func commitAudited(_ operations: [WriteOperation]) async throws -> CommitResult {
        let uses = auditBuffer.withLock { $0.take() }
        var batch = WriteBatch(operations)
        let audited = signAuditRecords(&batch).union(uses.lazy.map(\.partition))
        do {
            return try await commitSigned(WriteBatch(uses.map(signedRecord) + batch.operations), audited: audited)
        } catch {
            // The change failed; the queued key-use records must not be lost with it.
            requeue(uses)
            throw error
        }
    }

    public func auditRecords(_ session: SessionToken, from sequence: Int64, limit: Int) async throws -> [AuditRecord] {
        let caller = try await authorize(session, [.auditor, .securityOfficer, .operator], "reading the audit log")
        try HSMArgumentChecks.auditRead(from: sequence, limit: limit)
        try await flushAudit(force: true)
        let entries = try await Self.storeCall { try await store.audit(partition: caller.partition, from: sequence, limit: limit) }
        return try entries.map { entry in
            guard let p = try? JSONDecoder().decode(AuditPayload.self, from: entry.payload) else {
                throw HSMError(.internalError, "audit record \(entry.sequence) is damaged")
            }
            return AuditRecord(
                sequence: entry.sequence, time: p.date, actor: p.actor,
                role: p.role, session: p.session, operation: p.operation, object: p.object, result: p.result,
                count: p.count ?? 1, firstTime: p.firstDate)
        }
    }

    /// Commits queued key-use audit records every ``Configuration/auditMaxDelay`` until cancelled,
    /// so callers never wait for them. Run it beside the HSM (a task group or a service group);
    /// without it, callers commit the queue themselves when it fills.
    ///
    /// `LocalHSM` is a swift-service-lifecycle `Service`: in a service group, a graceful shutdown
    /// ends the loop too, after a last flush.
    public func run() async throws {
        flusherRunning.withLock { $0 += 1 }
        defer { flusherRunning.withLock { $0 -= 1 } }
        let delay = Duration.milliseconds(Int(configuration.auditMaxDelay * 1000))
        // Flushes start every `delay`, not `delay` after the last one ended: a flush of a busy
        // second's records takes a while, and callers would fill the queue meanwhile.
        var next = ContinuousClock.now + delay
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let wake = next
                try await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: .continuous) }
            } catch {
                break
            }
            next = max(next + delay, .now)
            do { try await flushAudit(force: true) } catch {
                logger.error("audit flush failed; will retry", metadata: ["redoubt.error": "\(error)"])
            }
            await signDueCheckpoints(force: false)
        }
        try await flushAudit(force: true)
        await signDueCheckpoints(force: true)
    }

    var runningFlusher: Bool { flusherRunning.withLock { $0 > 0 } }
}

/// The JSON form of an audit payload; `count` and `first` only in aggregated records.
struct AuditPayload: Decodable {
    var actor, object, operation, result, role, session: String
    var time: Int64
    var count: Int?
    var first: Int64?

    /// `time` and `first`, written in milliseconds.
    var date: Date { Date(timeIntervalSince1970: Double(time) / 1000) }
    var firstDate: Date? { first.map { Date(timeIntervalSince1970: Double($0) / 1000) } }
}

extension LocalHSM: Service {}
