import Foundation
@testable import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// Flushes of key-use records: committed in chunks of `auditBatchSize × 8`, so other nodes'
/// commits wait for one chunk at most, and in the background when a caller finds the queue full,
/// so callers never wait for a commit unless the queue is four times over; the chain keeps every
/// record, in order.
@Suite("LocalHSM audit flushes")
struct AuditFlushTests {
    /// Runs `body` on a new LocalHSM over a `HookedStore`, with `auditBatchSize` as given and the
    /// HSM counting a flusher as running (the limits it sets apply; no timer ever flushes), and the
    /// fixture's partitions made.
    func withFlushingHSM(
        auditBatchSize: Int, _ body: (LocalHSM, HookedStore, HSMFixture) async throws -> Void
    ) async throws {
        let store = HookedStore(try SQLiteStore.temporary())
        let configuration = LocalHSMSupport.configuration(clock: TestClock()) { $0.auditBatchSize = auditBatchSize }
        try await LocalHSMSupport.withFixture(configuration, store: store) { f, hsm in
            // As while run() goes: uses queue up to auditBatchSize × 64 before a flush starts.
            hsm.flusherRunning.withLock { $0 += 1 }
            try await body(hsm, store, f)
        }
    }

    func encrypt(_ hsm: LocalHSM, _ f: HSMFixture, key: String, _ index: Int) async throws {
        _ = try await hsm.encrypt(f.alpha.user.token, key: key, plaintext: Data("use \(index)".utf8), scheme: .aesGCM, aad: Data())
    }

    @Test("100 queued records with auditBatchSize 4 commit as 32, 32, 32 and 4, in order, and the chain verifies")
    func chunks() async throws {
        try await withFlushingHSM(auditBatchSize: 4) { hsm, store, f in
            let aes = try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .aes256, label: "chunks"))
            let start = try await f.auditLog().count
            store.commitSizes.withLock { $0 = [] }
            for index in 0..<100 { try await encrypt(hsm, f, key: aes.id, index) }
            #expect(store.commitSizes.withLock { $0 } == [], "nothing is committed before the flush")
            let records = Array(try await f.auditLog().dropFirst(start))
            #expect(store.commitSizes.withLock { $0 }.prefix(4) == [32, 32, 32, 4])
            #expect(records.count == 100)
            #expect(records.allSatisfy { $0.operation == AuditOperation.keyEncrypt.rawValue && $0.object == aes.id && $0.result == "ok" })
            #expect(records.map(\.sequence) == Array(records.first!.sequence...records.last!.sequence))
            #expect(try await hsm.verifyAudit(f.alpha.auditor.token).isValid)
        }
    }

    // A caller that waited for its flush would never finish: the time limit ends the test then.
    @Test(
        "with the flusher running, a caller that fills the queue goes on while its flush commits; a read of the log waits for it",
        .timeLimit(.minutes(1)))
    func backgroundFlush() async throws {
        // auditBatchSize 2: a background flush at 128 queued, callers wait at 512.
        try await withFlushingHSM(auditBatchSize: 2) { hsm, store, f in
            let gate = Gate()
            let aes = try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .aes256, label: "background"))
            let start = try await f.auditLog().count
            // Every commit now waits at the gate.
            store.beforeCommit.withLock { $0 = { await gate.wait() } }
            let uses = Task { for index in 0..<300 { try await encrypt(hsm, f, key: aes.id, index) } }
            // The uses finish while the flush they started is held at the gate.
            let finished = (try? await uses.value) != nil
            #expect(finished, "300 uses finished while their flush was held")
            // The flush the uses started has reached the store and waits there.
            await gate.arrival()
            #expect(await gate.waiters > 0, "a background flush is waiting to commit")
            store.beforeCommit.withLock { $0 = nil }
            await gate.open()  // (the helper's close would wait for a flush held here forever)
            let records = Array(try await f.auditLog().dropFirst(start))
            #expect(records.count == 300)
            #expect(records.map(\.sequence) == Array(records.first!.sequence...records.last!.sequence))
            #expect(try await hsm.verifyAudit(f.alpha.auditor.token).isValid)
        }
    }
}

/// The audit payload's string encoding: plain strings are copied whole, others escaped; both
/// read back as what was written.
@Suite("LocalHSM audit JSON strings")
struct AuditJSONStringTests {
    @Test(
        "strings round-trip through the payload encoding",
        arguments: ["", "plain-id_42", "a \"quoted\" name", "back\\slash", "tab\tand\nnewline\u{1}", "é ü 鍵 🔑", "\"", "\\"])
    func roundTrip(_ value: String) throws {
        var out: [UInt8] = []
        LocalHSM.appendJSONString(value, to: &out)
        #expect(try JSONDecoder().decode(String.self, from: Data(out)) == value)
        let needsEscape = value.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        #expect((out == [UInt8(ascii: "\"")] + Array(value.utf8) + [UInt8(ascii: "\"")]) == !needsEscape)
    }
}

/// Holds every caller of ``wait()`` until ``open()``; ``arrival()`` returns once one is held.
actor Gate {
    private var isOpen = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var watchers: [CheckedContinuation<Void, Never>] = []
    var waiters: Int { held.count }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { continuation in
            held.append(continuation)
            watchers.forEach { $0.resume() }
            watchers = []
        }
    }

    func arrival() async {
        if !held.isEmpty || isOpen { return }
        await withCheckedContinuation { watchers.append($0) }
    }

    func open() {
        isOpen = true
        held.forEach { $0.resume() }
        held = []
        watchers.forEach { $0.resume() }
        watchers = []
    }
}
