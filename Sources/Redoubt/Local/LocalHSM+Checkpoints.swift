import Foundation
import RedoubtStore

/// What this node knows of the partitions' signed checkpoints.
struct CheckpointBook: Sendable {
    /// The newest checkpoint this node signed or read, per partition: a stored one older than it
    /// was rolled back, and a missing one was removed.
    var newest: [String: AuditCheckpoint] = [:]
    /// Partitions with records this node committed since it last signed their head.
    var dirty: Set<String> = []
    /// Per dirty partition, this node's first record not known to be under a signed checkpoint,
    /// and since when this node has known of it.
    var uncovered: [String: (sequence: Int64, since: Date)] = [:]
    /// The last sequence this node appended per partition: a checkpoint at or past it covers
    /// every record this node wrote there.
    var ownHead: [String: Int64] = [:]
    /// The sequence of the last checkpoint this node signed per partition: a stored checkpoint
    /// there is its own, not another node's that is signing the chain.
    var signedHere: [String: Int64] = [:]
    /// When this node last signed each partition's head.
    var lastSigned: [String: Date] = [:]
    /// Per partition, the newest point of the chain this node knows to be authentic: reached by a
    /// walk checked against a signed checkpoint, then extended by hashing the records this node
    /// commits itself when they directly follow it. Signing it needs no re-reading of those records.
    var verified: [String: ChainPoint] = [:]
    /// Per partition and first sequence, records this node committed that do not follow the
    /// verified point yet: concurrent commits report back in any order, and the one before them in
    /// the chain has not, or another node's records lie between. Extended over when the point
    /// reaches them (``extend(_:with:)``); `parkedLimit` segments at most.
    var parked: [String: [Int64: Parked]] = [:]
    /// With another node writing the same partition, every one of its records holds back this
    /// node's later segments until the next head is signed (each second): a busy node commits
    /// about twenty segments a second.
    static let parkedLimit = 64
    /// One of this node's audit records: its sequence, its payload and the link the store reported
    /// (the hash it follows and its own; `nil` from a store that does not report it).
    typealias Record = (sequence: Int64, payload: Data, link: AuditLink?)
    /// Partitions whose chain this node found altered: their heads are no longer signed in the
    /// background (each try would walk the chain again and log again) until an export or a
    /// verify finds the chain intact.
    var altered: Set<String> = []

    /// A parked segment: the records as they came, or, when the store linked each to the one
    /// before it (one commit: consecutive sequences), only where the segment ends, the hash its
    /// first record follows and the last one's: the point can take it whole, and it holds no payload.
    enum Parked: Sendable {
        case records([Record])
        case linked(last: Int64, previous: Data, hash: Data)

        init(_ records: [Record]) {
            if let first = records.first?.link, let last = records.last, let lastLink = last.link,
                records.indices.dropFirst().allSatisfy({ i in
                    records[i].sequence == records[i - 1].sequence + 1 && records[i].link != nil
                        && records[i].link?.previous == records[i - 1].link?.hash
                })
            {
                self = .linked(last: last.sequence, previous: first.previous, hash: lastLink.hash)
            } else {
                self = .records(records)
            }
        }
    }
}

extension CheckpointBook {
    /// Extends `partition`'s verified point over `records` (this node's, in chain order) if they
    /// directly follow it, then over parked records that now do; parks them if they lie ahead.
    /// With no records, only the parked ones are looked at (after a walk moved the point).
    mutating func extend(_ partition: String, with records: [Record]) {
        guard var point = verified[partition] else { return }
        if let first = records.first?.sequence, first > point.sequence + 1 {
            if parked[partition, default: [:]].count < Self.parkedLimit { parked[partition, default: [:]][first] = Parked(records) }
            return
        }
        var next = Parked.records(records)
        while true {
            switch next {
            case .records(let records):
                for record in records where record.sequence > point.sequence {
                    guard record.sequence == point.sequence + 1 else { break }
                    // The store hashed the record in this process from the hash it read before it:
                    // when that is the point's own, its result is what hashing here would give.
                    let hash =
                        if let link = record.link, link.previous == point.hash { link.hash } else {
                            AuditEntry.chainHash(previousHash: point.hash, sequence: record.sequence, payload: record.payload)
                        }
                    point = ChainPoint(sequence: record.sequence, hash: hash)
                }
            case .linked(let last, let previous, let hash):
                // Taken only from the point's own hash (it follows the point: its key said so);
                // otherwise it is dropped, and the next walk reads those records.
                if previous == point.hash { point = ChainPoint(sequence: last, hash: hash) }
            }
            guard let more = parked[partition]?.removeValue(forKey: point.sequence + 1) else { break }
            next = more
        }
        verified[partition] = point
        forgetParked(partition, through: point.sequence)
    }

    /// Moves `partition`'s verified point to a walk's `head` if that lies ahead of it, then over
    /// parked records that follow it.
    mutating func advance(_ partition: String, to head: ChainPoint) {
        guard (verified[partition]?.sequence ?? -1) < head.sequence else { return }
        verified[partition] = head
        extend(partition, with: [])
    }

    /// The first sequence of the earliest parked segment of `partition` after `sequence`.
    func firstParked(_ partition: String, after sequence: Int64) -> Int64? {
        parked[partition]?.keys.filter { $0 > sequence + 1 }.min()
    }

    /// Drops parked records the verified point has passed.
    private mutating func forgetParked(_ partition: String, through sequence: Int64) {
        guard let waiting = parked[partition] else { return }
        let kept = waiting.filter { $0.key > sequence }
        parked[partition] = kept.isEmpty ? nil : kept
    }
}

/// A position in an audit chain and the chain hash there.
struct ChainPoint: Sendable, Equatable {
    var sequence: Int64
    var hash: Data
}

/// The audit log does not extend what a signed checkpoint vouches for, or a record's MAC is wrong.
struct AuditTampering: Error, CustomStringConvertible {
    var description: String
}

/// A checkpoint as stored (the public key is the cluster's, so it is not kept).
private struct CheckpointRecord: Codable {
    var partition: String
    var sequence: Int64
    var hash: Data
    var timeMilliseconds: Int64
    var signedFrom: Int64
    var signature: Data
}

/// A walk over a chain: where it ends and what it found.
struct ChainWalk {
    /// The last record walked (the starting point when nothing follows it).
    var head: ChainPoint?
    /// Records walked.
    var records: Int64 = 0
    /// The first sequence from which every record carries a valid MAC.
    var signedFrom: Int64
    /// The chain hash at each sequence asked for.
    var hashes: [Int64: Data] = [:]
    var failure: String?
}

extension LocalHSM {
    static func checkpointKey(_ partition: String) -> ObjectKey {
        ObjectKey(partition: partition, kind: ObjectKind.auditCheckpoint, id: "head")
    }

    // MARK: The commit path

    /// Signs every record of `batch`. Returns the partitions written to.
    func signAuditRecords(_ batch: inout WriteBatch) -> Set<String> {
        var partitions: Set<String> = []
        for index in batch.operations.indices {
            guard case .appendAudit(let partition, let payload) = batch.operations[index] else { continue }
            batch.operations[index] = .appendAudit(partition: partition, payload: auditSigner.signed(payload, partition: partition))
            partitions.insert(partition)
        }
        return partitions
    }

    /// Before a commit that appends signed records to `partitions`: makes sure each has a
    /// checkpoint first (so a partition whose records are signed always has one: a missing one
    /// was removed).
    func ensureCheckpoints(_ partitions: Set<String>) async throws {
        for partition in partitions where checkpoints.withLock({ $0.newest[partition] == nil && !$0.altered.contains(partition) }) {
            do { try await advanceCheckpoint(partition) } catch let tampering as AuditTampering {
                logTampering(partition, tampering)
            }
        }
    }

    /// After a commit: extends each partition's verified point over the records this node just
    /// appended right after it (their hashes computed here, as the store did), or over them once
    /// the commit before them in the chain reports back.
    func extendVerified(_ batch: WriteBatch, _ result: CommitResult) {
        let now = self.now
        var appended: [String: [CheckpointBook.Record]] = [:]
        var index = 0
        for operation in batch.operations {
            guard case .appendAudit(let partition, let payload) = operation else { continue }
            defer { index += 1 }
            guard index < result.auditSequences.count else { break }
            let link = index < result.auditLinks.count ? result.auditLinks[index] : nil
            appended[partition, default: []].append((result.auditSequences[index], payload, link))
        }
        checkpoints.withLock { book in
            for (partition, records) in appended {
                if let first = records.first?.sequence, book.uncovered[partition] == nil { book.uncovered[partition] = (first, now) }
                if let last = records.last?.sequence { book.ownHead[partition] = max(book.ownHead[partition] ?? 0, last) }
                book.extend(partition, with: records)
            }
        }
    }

    /// After a commit: notes the partitions written to, whose heads ``run()`` signs when due
    /// (never the caller's commit: a checkpoint costs a store commit of its own).
    func noteAudited(_ partitions: Set<String>) {
        checkpoints.withLock { $0.dirty.formUnion(partitions) }
    }

    /// Signs the head of every partition this node wrote to, at most every
    /// ``Configuration/auditCheckpointInterval`` each unless `force`.
    func signDueCheckpoints(force: Bool) async {
        let now = self.now
        let due = checkpoints.withLock { book -> [String] in
            book.dirty.subtracting(book.altered).filter {
                force || now.timeIntervalSince(book.lastSigned[$0] ?? .distantPast) >= configuration.auditCheckpointInterval
            }
        }
        for partition in due.sorted() {
            do { try await advanceCheckpoint(partition, leavingToOthers: !force) } catch let tampering as AuditTampering {
                logTampering(partition, tampering)
            } catch {
                logger.warning(
                    "audit checkpoint not signed; will retry",
                    metadata: ["partition": "\(partition)", "redoubt.error": "\(error)"])
            }
        }
    }

    private func logTampering(_ partition: String, _ tampering: AuditTampering) {
        checkpoints.withLock { _ = $0.altered.insert(partition) }
        logger.error(
            "the audit log was altered behind the HSM: its head is not signed until `redoubt audit verify` is clean",
            metadata: ["partition": "\(partition)", "reason": "\(tampering.description)"])
    }

    // MARK: Signing the head

    /// Signs the chain's head after checking that every record since the stored checkpoint
    /// links to it and carries a valid MAC; stores and returns the new checkpoint.
    ///
    /// - Throws: ``AuditTampering`` when the chain does not extend the stored checkpoint (nothing
    ///   is signed then), or a store error.
    ///
    /// With `leavingToOthers` (the background signing), a stored checkpoint another node signed
    /// may do instead (``leftToOthers(_:_:)``): then nothing is read or signed.
    @discardableResult
    func advanceCheckpoint(_ partition: String, leavingToOthers: Bool = false) async throws -> AuditCheckpoint {
        for _ in 0..<4 {
            let stored = try await storedCheckpoint(partition)
            if leavingToOthers, let (checkpoint, _) = stored, leftToOthers(partition, checkpoint) {
                return checkpoint
            }
            if let (checkpoint, _) = stored {
                let head = try await Self.storeCall { try await store.auditHead(partition: partition) }
                let length = head?.sequence ?? 0
                guard length >= checkpoint.sequence else {
                    throw AuditTampering(description: removedMessage(length, checkpoint, "the HSM's latest signed checkpoint"))
                }
                if length == checkpoint.sequence {
                    guard (head?.hash ?? AuditEntry.genesisHash) == checkpoint.hash else {
                        throw AuditTampering(description: rewrittenMessage(checkpoint, "the HSM's latest signed checkpoint"))
                    }
                    markSigned(partition)
                    return checkpoint
                }
            }
            // Walk from the newest authentic point known: this node's verified point (its own
            // records need no re-reading), or the stored checkpoint when that is newer.
            var start = stored.map { ChainPoint(sequence: $0.0.sequence, hash: $0.0.hash) }
            if let from = start, let point = checkpoints.withLock({ $0.verified[partition] }), point.sequence > from.sequence {
                start = point
            }
            // This node's records that wait behind others' (parked) are not read again: each walk
            // stops before the next of them, and the point extends over them from there.
            var walk = try await walkChain(
                partition, after: start, signedFrom: stored?.0.signedFrom, through: parkedBefore(partition, after: start))
            var head: ChainPoint
            while true {
                if let failure = walk.failure { throw AuditTampering(description: failure) }
                head = walk.head ?? ChainPoint(sequence: 0, hash: AuditEntry.genesisHash)
                let reached = checkpoints.withLock { book in
                    book.advance(partition, to: head)
                    return book.verified[partition]
                }
                guard let reached, reached.sequence > head.sequence else { break }
                walk = try await walkChain(
                    partition, after: reached, signedFrom: walk.signedFrom, through: parkedBefore(partition, after: reached))
            }
            if let (checkpoint, _) = stored, head.sequence == checkpoint.sequence {
                markSigned(partition)
                return checkpoint
            }
            let signed = try auditSigner.checkpoint(
                partition: partition, head: (head.sequence, head.hash), signedFrom: walk.signedFrom, time: now)
            let record = CheckpointRecord(
                partition: partition, sequence: signed.sequence, hash: signed.hash,
                timeMilliseconds: signed.timeMilliseconds, signedFrom: signed.signedFrom, signature: signed.signature)
            let data = try RecordCoding.encode(record)
            let key = Self.checkpointKey(partition)
            let write: WriteOperation =
                if let (_, revision) = stored { .update(key, expectedRevision: revision, label: nil, data: data) } else {
                    .insert(key, label: nil, data: data)
                }
            do {
                try await commit([write])
            } catch let error as HSMError where error.code == .aborted || error.code == .alreadyExists {
                continue  // another node signed first: check again from its checkpoint
            }
            remember(signed)
            markSigned(partition)
            checkpoints.withLock { $0.signedHere[partition] = signed.sequence }
            return signed
        }
        throw HSMError(.aborted, "the audit checkpoint kept changing concurrently; retry")
    }

    /// Whether `partition`'s head can go unsigned by this node, `checkpoint` being the stored one:
    /// - it covers every record this node appended there (another node signed past them): the
    ///   partition is clean, and the verified point moves to it;
    /// - or another node signed it less than two intervals ago (it is signing that chain) and
    ///   either covers some of this node's records not covered before (then this node's records
    ///   after it count as new) or this node's first record not covered is less than two intervals
    ///   old: that node's next checkpoint will cover it, so the partition stays dirty.
    ///
    /// Otherwise this node walks what others appended since and signs. Without this, a node making
    /// a few records a second in a partition another node fills read that node's records back every
    /// interval (tens of thousands a second) to sign a head the other node signs anyway. A record
    /// of this node's is under a signed checkpoint within about three intervals at most.
    private func leftToOthers(_ partition: String, _ checkpoint: AuditCheckpoint) -> Bool {
        let now = self.now
        let interval = configuration.auditCheckpointInterval
        let point = ChainPoint(sequence: checkpoint.sequence, hash: checkpoint.hash)
        let covered = checkpoints.withLock { book -> Bool? in
            guard let own = book.ownHead[partition], let first = book.uncovered[partition] else { return nil }
            if checkpoint.sequence >= own {
                book.advance(partition, to: point)
                return true
            }
            guard book.signedHere[partition] != checkpoint.sequence, now.timeIntervalSince(checkpoint.time) < 2 * interval else {
                return nil
            }
            if checkpoint.sequence >= first.sequence {
                book.advance(partition, to: point)
                book.uncovered[partition] = (checkpoint.sequence + 1, now)
                return false
            }
            return now.timeIntervalSince(first.since) < 2 * interval ? false : nil
        }
        if covered == true { markSigned(partition) }
        return covered != nil
    }

    /// The sequence before the first of this node's parked records after `point`: where a walk
    /// from `point` can stop (`nil`: none is parked, walk to the head).
    private func parkedBefore(_ partition: String, after point: ChainPoint?) -> Int64? {
        checkpoints.withLock { $0.firstParked(partition, after: point?.sequence ?? 0) }.map { $0 - 1 }
    }

    private func markSigned(_ partition: String) {
        let now = self.now
        checkpoints.withLock {
            $0.altered.remove(partition)
            $0.dirty.remove(partition)
            $0.uncovered[partition] = nil
            $0.lastSigned[partition] = now
        }
    }

    private func remember(_ checkpoint: AuditCheckpoint) {
        checkpoints.withLock { book in
            if (book.newest[checkpoint.partition]?.sequence ?? -1) < checkpoint.sequence {
                book.newest[checkpoint.partition] = checkpoint
            }
        }
    }

    /// The stored checkpoint and its revision, after checking its signature and that it is not
    /// older than one this node has seen.
    func storedCheckpoint(_ partition: String) async throws -> (AuditCheckpoint, Int64)? {
        let seen = checkpoints.withLock { $0.newest[partition] }
        guard let object = try await Self.storeCall({ try await store.get(Self.checkpointKey(partition)) }) else {
            if let seen {
                throw AuditTampering(
                    description: "the signed checkpoint of sequence \(seen.sequence) was removed from the store")
            }
            return nil
        }
        guard let record = try? RecordCoding.decode(CheckpointRecord.self, object.data), record.partition == partition else {
            throw AuditTampering(description: "the stored audit checkpoint is damaged")
        }
        let checkpoint = AuditCheckpoint(
            partition: partition, sequence: record.sequence, hash: record.hash,
            time: Date(timeIntervalSince1970: Double(record.timeMilliseconds) / 1000), signedFrom: record.signedFrom,
            publicKey: auditSigner.publicKey, signature: record.signature)
        guard checkpoint.isSignatureValid() else {
            throw AuditTampering(description: "the stored audit checkpoint is not signed by this cluster's audit key")
        }
        if let seen, seen.sequence > checkpoint.sequence {
            throw AuditTampering(
                description:
                    "the stored checkpoint (sequence \(checkpoint.sequence)) is older than one this node signed or read "
                    + "(sequence \(seen.sequence)): it was rolled back")
        }
        remember(checkpoint)
        return (checkpoint, object.revision)
    }

    // MARK: Walking the chain

    /// Walks `partition`'s chain after `start` (from the beginning when `nil`), checking every
    /// link and record MAC: records from `signedFrom` on must carry a valid one (`nil`: from the
    /// first record that carries one), and no record may carry a wrong one.
    func walkChain(
        _ partition: String, after start: ChainPoint?, signedFrom: Int64?, through last: Int64? = nil,
        recording marks: Set<Int64> = []
    ) async throws -> ChainWalk {
        var previous: AuditEntry? =
            if let start, start.sequence > 0 {
                AuditEntry(partition: partition, sequence: start.sequence, payload: Data(), hash: start.hash)
            } else { nil }
        var walk = ChainWalk(head: start, signedFrom: signedFrom ?? Int64.max)
        var next = (start?.sequence ?? 0) + 1
        while last.map({ next <= $0 }) ?? true {
            let limit = last.map { Int(min(1000, $0 - next + 1)) } ?? 1000
            let page = try await Self.storeCall { try await store.audit(partition: partition, from: next, limit: limit) }
            if page.isEmpty { break }
            if case .broken(let at, let reason) = verifyAuditChain(page, previous: previous) {
                walk.failure = "record \(at): \(reason)"
                return walk
            }
            for entry in page {
                switch auditSigner.check(entry.payload, partition: partition) {
                case .valid:
                    if signedFrom == nil, walk.signedFrom == Int64.max { walk.signedFrom = entry.sequence }
                case .invalid:
                    walk.failure = "record \(entry.sequence): its MAC does not match its content: it was altered"
                    return walk
                case .absent where entry.sequence >= walk.signedFrom:
                    walk.failure =
                        "record \(entry.sequence) carries no MAC, but every record from \(walk.signedFrom) on is signed: "
                        + "it was forged or altered"
                    return walk
                case .absent: break
                }
                if marks.contains(entry.sequence) { walk.hashes[entry.sequence] = entry.hash }
            }
            walk.records += Int64(page.count)
            previous = page.last
            walk.head = page.last.map { ChainPoint(sequence: $0.sequence, hash: $0.hash) }
            next = (page.last?.sequence ?? next) + 1
        }
        if walk.signedFrom == Int64.max { walk.signedFrom = (walk.head?.sequence ?? 0) + 1 }
        return walk
    }

    // MARK: Verifying

    /// Verifies `partition`'s whole chain: links, record MACs, the stored checkpoint and
    /// `external` (a checkpoint kept outside the HSM); when all hold, signs the head.
    func verifyChain(_ partition: String, against external: AuditCheckpoint?) async throws -> AuditVerification {
        let stored: AuditCheckpoint?
        do { stored = try await storedCheckpoint(partition)?.0 } catch let tampering as AuditTampering {
            return AuditVerification(records: 0, failure: tampering.description)
        }
        let anchors: [(name: String, checkpoint: AuditCheckpoint)] =
            (stored.map { [("the HSM's latest signed checkpoint", $0)] } ?? [])
            + (external.map { [("the checkpoint handed in", $0)] } ?? [])
        let walk = try await walkChain(
            partition, after: nil, signedFrom: stored?.signedFrom, recording: Set(anchors.map(\.checkpoint.sequence)))
        if let failure = walk.failure { return AuditVerification(records: walk.records, failure: failure) }
        let length = walk.head?.sequence ?? 0
        if let head = try await Self.storeCall({ try await store.auditHead(partition: partition) }), head.sequence != length {
            return AuditVerification(records: walk.records, failure: "the chain ends at \(length) but the head is \(head.sequence)")
        }
        if stored == nil, walk.signedFrom <= length {
            return AuditVerification(
                records: walk.records,
                failure: "records are signed but the store holds no signed checkpoint of them: it was removed")
        }
        var anchored: Int64 = 0
        for (name, checkpoint) in anchors {
            guard checkpoint.partition == partition else {
                return AuditVerification(
                    records: walk.records,
                    failure: "\(name) is of partition \"\(checkpoint.partition)\", not \"\(partition)\"")
            }
            guard checkpoint.isSignatureValid(pinned: auditSigner.publicKey) else {
                return AuditVerification(records: walk.records, failure: "\(name) is not signed by this cluster's audit key")
            }
            guard length >= checkpoint.sequence else {
                return AuditVerification(records: walk.records, failure: removedMessage(length, checkpoint, name))
            }
            let hash = checkpoint.sequence == 0 ? AuditEntry.genesisHash : walk.hashes[checkpoint.sequence]
            guard hash == checkpoint.hash else {
                return AuditVerification(records: walk.records, failure: rewrittenMessage(checkpoint, name))
            }
            anchored = max(anchored, checkpoint.sequence)
        }
        if let signed = try? await advanceCheckpoint(partition) { anchored = max(anchored, signed.sequence) }
        return AuditVerification(records: walk.records, failure: nil, anchoredThrough: anchored)
    }

    private func removedMessage(_ length: Int64, _ checkpoint: AuditCheckpoint, _ name: String) -> String {
        "the chain ends at \(length) but \(name) (signed \(checkpoint.time.formatted(.iso8601))) covers "
            + "\(checkpoint.sequence) records: records were removed"
    }

    private func rewrittenMessage(_ checkpoint: AuditCheckpoint, _ name: String) -> String {
        "record \(checkpoint.sequence) does not match \(name) (signed \(checkpoint.time.formatted(.iso8601))): "
            + "the chain before it was rewritten"
    }

    // MARK: The API

    public func verifyAudit(_ session: SessionToken, against checkpoint: AuditCheckpoint?) async throws -> AuditVerification {
        let caller = try await authorize(session, [.auditor, .securityOfficer, .operator], "verifying the audit log")
        try await flushAudit(force: true)
        return try await verifyChain(caller.partition, against: checkpoint)
    }

    public func auditCheckpoint(_ session: SessionToken) async throws -> AuditCheckpoint {
        let caller = try await authorize(session, [.auditor, .securityOfficer, .operator], "exporting an audit checkpoint")
        try await flushAudit(force: true)
        do {
            return try await advanceCheckpoint(caller.partition)
        } catch let tampering as AuditTampering {
            throw HSMError(
                .failedPrecondition,
                "the audit log does not extend its last signed checkpoint (\(tampering.description)); "
                    + "nothing was signed: run `redoubt audit verify`")
        }
    }
}
