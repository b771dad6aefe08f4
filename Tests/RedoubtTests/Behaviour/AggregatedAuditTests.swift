import Foundation
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// Aggregated key-use audit in LocalHSM, with the clock in hand: what is counted together, the
/// first and last times, the place in the chain, and nothing lost when a commit fails.
@Suite("LocalHSM aggregated key-use audit")
struct AggregatedAuditTests {
    let clock = TestClock()

    func aggregating(_ f: HSMFixture, _ hsm: LocalHSM) async throws -> KeyInfo {
        _ = try await f.updateSettings { $0.keyUseAudit = .aggregated }
        return try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .aes256, label: "aggregated"))
    }

    /// Audit times are whole milliseconds.
    func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    func encrypt(_ hsm: LocalHSM, _ token: SessionToken, _ key: String) async throws {
        _ = try await hsm.encrypt(token, key: key, plaintext: Data("data".utf8), scheme: .aesGCM, aad: Data())
    }

    @Test("uses in one window become one record per key, operation, session and outcome, with the count and the first and last time")
    func countsAndTimes() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let aes = try await aggregating(f, hsm)
            let signer = try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .p256, label: "signer"))
            let second = try await hsm.openSession(partition: "alpha", credential: .apiKey(f.alpha.user.apiKey))
            let start = try await f.auditLog().count
            let t0 = clock.now
            for _ in 0..<25 {
                try await encrypt(hsm, f.alpha.user.token, aes.id)
                clock.advance(by: 0.001)
            }
            for _ in 0..<7 {
                _ = try await hsm.sign(f.alpha.user.token, key: signer.id, input: .digest(Data(count: 32)), scheme: .ecdsa(.sha256))
            }
            try await encrypt(hsm, second.token, aes.id)
            await expectHSMError(.failedPrecondition) {
                try await hsm.sign(f.alpha.user.token, key: aes.id, input: .digest(Data(count: 32)), scheme: .ecdsa(.sha256))
            }
            let last = clock.now
            let records = Array(try await f.auditLog().dropFirst(start))
            let summary = records.map { "\($0.operation) \($0.session) \($0.result) ×\($0.count)" }
            #expect(records.count == 4, "\(summary)")
            let encrypts = try #require(records.first)
            #expect(encrypts.operation == "key.encrypt" && encrypts.session == f.alpha.user.session.id && encrypts.count == 25, "\(summary)")
            #expect(encrypts.firstTime.map(ms) == ms(t0) && ms(encrypts.time) == ms(t0) + 24, "first and last use, to the millisecond")
            #expect(records[1].operation == "key.sign" && records[1].count == 7 && records[1].object == signer.id, "\(summary)")
            #expect(records[2].session == second.id && records[2].count == 1 && records[2].firstTime == nil, "\(summary)")
            #expect(records[3].operation == "key.sign" && records[3].result != "ok" && records[3].count == 1, "\(summary)")
            #expect(ms(records[3].time) == ms(last))
            #expect(try await hsm.verifyAudit(f.alpha.auditor.token).isValid)
        }
    }

    @Test("a management change closes the window: uses before and after it are recorded on each side of it")
    func orderAroundManagement() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let aes = try await aggregating(f, hsm)
            let start = try await f.auditLog().count
            for _ in 0..<5 { try await encrypt(hsm, f.alpha.user.token, aes.id) }
            let other = try await hsm.generateKey(f.alpha.user.token, spec: KeySpec(algorithm: .aes256, label: "between"))
            for _ in 0..<3 { try await encrypt(hsm, f.alpha.user.token, aes.id) }
            let records = Array(try await f.auditLog().dropFirst(start))
            #expect(records.map(\.operation) == ["key.encrypt", "key.generate", "key.encrypt"], "\(records.map(\.operation))")
            #expect(records.map(\.count) == [5, 1, 3])
            #expect(records[1].object == other.id)
        }
    }

    @Test("a window ends after the audit delay: later uses start a new record")
    func windows() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock)) { f, hsm in
            let aes = try await aggregating(f, hsm)
            let start = try await f.auditLog().count
            for _ in 0..<4 { try await encrypt(hsm, f.alpha.user.token, aes.id) }
            clock.advance(by: 0.2)  // past auditMaxDelay (0.1 s): the next use commits the window
            for _ in 0..<6 { try await encrypt(hsm, f.alpha.user.token, aes.id) }
            let counts = try await f.auditLog().dropFirst(start).map(\.count)
            #expect(counts == [5, 5], "the use that found the window old is its last: \(counts)")
        }
    }

    @Test("aggregated records that fail to commit are put back with their counts, and nothing is lost")
    func failedCommit() async throws {
        let store = HookedStore(try SQLiteStore.temporary())
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration(clock: clock), store: store) { f, hsm in
            let aes = try await aggregating(f, hsm)
            let start = try await f.auditLog().count
            for _ in 0..<9 { try await encrypt(hsm, f.alpha.user.token, aes.id) }
            store.failNextCommit.withLock { $0 = true }
            await #expect(throws: (any Error).self) { try await f.auditLog() }
            for _ in 0..<2 { try await encrypt(hsm, f.alpha.user.token, aes.id) }
            let records = Array(try await f.auditLog().dropFirst(start))
            #expect(records.map(\.count) == [9, 2], "the failed window comes first, then the new one: \(records.map(\.count))")
            #expect(try await hsm.verifyAudit(f.alpha.auditor.token).isValid)
        }
    }
}
