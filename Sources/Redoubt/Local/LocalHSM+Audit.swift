import Foundation
import ServiceLifecycle
import RedoubtStore

/// A key use waiting for its group commit; encoded only when committed, off the caller's path.
struct PendingUse: Sendable {
    var partition: String
    var actor: String
    var role: Role
    var session: String
    /// The operation's name as written (``AuditOperation/rawValue``): a record put back after a
    /// failed commit comes from its payload.
    var operation: String
    var object: String
    var result: String
    var time: Date
}

/// Key-use audit records waiting for their group commit.
struct AuditBuffer: Sendable {
    var pending: [PendingUse] = []
    var oldest: Date?
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
    private func auditPayload(
        actor: String, role: String, session: String, operationName: String, object: String,
        result: String, time: Date? = nil
    ) -> Data {
        let ms = Int64(((time ?? now).timeIntervalSince1970 * 1000).rounded())
        var out: [UInt8] = []
        out.reserveCapacity(160 + actor.utf8.count + object.utf8.count)
        func field(_ name: StaticString, _ value: String, first: Bool = false) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            Self.appendJSONString(value, to: &out)
        }
        field("actor", actor, first: true)
        field("object", object)
        field("operation", operationName)
        field("result", result)
        field("role", role)
        field("session", session)
        out.append(contentsOf: Array(",\"time\":\(ms)}".utf8))
        return Data(out)
    }

    func auditPayload(_ caller: Caller, _ operation: AuditOperation, object: String, result: String) -> Data {
        auditPayload(
            actor: caller.user, role: caller.role.rawValue, session: caller.session, operation: operation,
            object: object, result: result)
    }

    static func appendJSONString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
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

    /// Queues a key-use record. The queue is committed by ``run()`` every
    /// ``Configuration/auditMaxDelay``; without it, by the call that finds the queue full or old.
    nonisolated(nonsending) func recordUse(_ caller: Caller, _ operation: AuditOperation, key: String, result: String) async throws {
        let now = self.now
        let use = PendingUse(
            partition: caller.partition, actor: caller.user, role: caller.role, session: caller.session,
            operation: operation.rawValue, object: key, result: result, time: now)
        let limit = runningFlusher ? configuration.auditBatchSize * 64 : configuration.auditBatchSize
        let maxDelay = runningFlusher ? configuration.auditMaxDelay * 10 : configuration.auditMaxDelay
        let due = auditBuffer.withLock { b -> Bool in
            b.pending.append(use)
            if b.oldest == nil { b.oldest = now }
            return b.pending.count >= limit || now.timeIntervalSince(b.oldest ?? now) >= maxDelay
        }
        if due { try await flushAudit(force: true) }
    }

    /// Takes the queued records (to commit them in a batch of the caller's own).
    func takePendingAudit() -> [WriteOperation] {
        let uses = auditBuffer.withLock { b -> [PendingUse] in
            defer {
                b.pending.removeAll(keepingCapacity: true)
                b.oldest = nil
            }
            return b.pending
        }
        return uses.map {
            .appendAudit(
                partition: $0.partition,
                payload: auditPayload(
                    actor: $0.actor, role: $0.role.rawValue, session: $0.session,
                    operationName: $0.operation, object: $0.object,
                    result: $0.result, time: $0.time))
        }
    }

    /// Puts records back in front of the queue after a failed commit, so nothing is lost.
    func requeue(_ ops: some Sequence<WriteOperation>) {
        let back = ops.compactMap { op -> PendingUse? in
            guard case .appendAudit(let partition, let payload) = op,
                let p = try? JSONDecoder().decode(AuditPayload.self, from: payload)
            else { return nil }
            return PendingUse(
                partition: partition, actor: p.actor, role: Role(rawValue: p.role) ?? .cryptoUser, session: p.session,
                operation: p.operation, object: p.object, result: p.result,
                time: Date(timeIntervalSince1970: Double(p.time) / 1000))
        }
        guard !back.isEmpty else { return }
        auditBuffer.withLock { b in
            b.pending.insert(contentsOf: back, at: 0)
            if b.oldest == nil { b.oldest = now }
        }
    }

    /// Commits queued key-use records.
    func flushAudit(force: Bool) async throws {
        let ops = takePendingAudit()
        guard !ops.isEmpty else { return }
        do {
            try await commit(WriteBatch(ops))
        } catch {
            // Put them back in front so nothing is lost; the next flush retries.
            requeue(ops)
            throw error
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
        var ops = takePendingAudit()
        let queuedCount = ops.count
        ops.append(contentsOf: operations)
        do {
            return try await commit(WriteBatch(ops))
        } catch {
            // The change failed; the queued key-use records must not be lost with it.
            requeue(ops.prefix(queuedCount))
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
                sequence: entry.sequence, time: Date(timeIntervalSince1970: Double(p.time) / 1000), actor: p.actor,
                role: p.role, session: p.session, operation: p.operation, object: p.object, result: p.result)
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
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            } catch {
                break
            }
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

/// The JSON form of an audit payload.
struct AuditPayload: Decodable {
    var actor, object, operation, result, role, session: String
    var time: Int64
}

extension LocalHSM: Service {}
