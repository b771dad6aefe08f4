import Foundation
import Logging
import Redoubt
@testable import RedoubtTesting
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtStore
import Testing

/// Scheduled backups (the broker's `backupSchedule`) and the restore drill: a new store brought
/// up from the latest scheduled backup holds every key, and every key still works.
@Suite("Scheduled backups and restore drill")
struct BackupScheduleTests {
    static let passphrase = "scheduled backup passphrase"

    /// A LocalHSM on a temporary store, with the behaviour fixture's partitions and users.
    static func node() async throws -> (hsm: LocalHSM, store: SQLiteStore, fixture: HSMFixture) {
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.passphraseScrypt = ScryptParameters(n: 1 << 10)
        let store = try SQLiteStore.temporary()
        let created = try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: configuration)
        let fixture = try await HSMFixture.make(created.hsm, operatorAPIKey: created.operatorAPIKey)
        return (created.hsm, store, fixture)
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "redoubt-scheduled-\(UUID().uuidString)"
        return path
    }

    @Test("runs keep the newest N whole files, count in metrics, and a failed run deletes nothing")
    func retentionAndMetrics() async throws {
        let (hsm, store, _) = try await Self.node()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let metrics = BrokerMetrics()
        let scheduler = BackupScheduler(
            writer: hsm, schedule: BackupSchedule(directory: directory, interval: 1, retain: 2),
            metrics: metrics, logger: Logger(label: "test"))
        var written: [String] = []
        for _ in 0..<3 { written.append(try await scheduler.runOnce()) }
        let kept = try BackupScheduler.backups(in: directory)
        #expect(kept.count == 2)
        #expect(kept.map { (directory as NSString).appendingPathComponent($0) } == Array(written.suffix(2)))
        #expect(try BackupScheduler.latest(in: directory) == written.last)
        #expect(!FileManager.default.fileExists(atPath: written[0]))
        // Nothing half-written is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).allSatisfy { !$0.hasPrefix(".partial-") })
        let text = metrics.prometheusText()
        #expect(text.contains(#"redoubt_backups_total{result="ok"} 3"#))
        #expect(text.contains("redoubt_backup_last_success_timestamp_seconds"))

        // A target that cannot be written: the run fails, is counted, and older backups survive.
        let blocked = BackupScheduler(
            writer: hsm, schedule: BackupSchedule(directory: written[1] + "/inside-a-file", interval: 1, retain: 1),
            metrics: metrics, logger: Logger(label: "test"))
        await #expect(throws: (any Error).self) { try await blocked.runOnce() }
        #expect(metrics.prometheusText().contains(#"redoubt_backups_total{result="error"} 1"#))
        #expect(try BackupScheduler.backups(in: directory).count == 2)
        try await hsm.close()
        try await store.close()
    }

    @Test("a scheduler removes what killed runs left: old .partial- files and writers' unlocked spools, nothing else")
    func leftovers() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func file(_ name: String, age: TimeInterval) throws {
            let path = (directory as NSString).appendingPathComponent(name)
            try Data("x".utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: path)
        }
        let partial = ".partial-redoubt-20261201T000000Z.rbk"
        let spool = "..partial-redoubt-20261201T000000Z.rbk.spool-\(UUID().uuidString)"
        let fresh = ".partial-redoubt-20261202T000000Z.rbk"
        let kept = "redoubt-20261130T000000Z.rbk"
        try file(partial, age: 3600)
        try file(spool, age: 3600)
        try file(fresh, age: 0)
        try file(kept, age: 3600)
        let scheduler = BackupScheduler(
            writer: NoWriter(), schedule: BackupSchedule(directory: directory, interval: 3600, retain: 2), metrics: nil,
            logger: Logger(label: "test"))
        #expect(Set(scheduler.removeLeftovers()) == [partial, spool])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory)) == [fresh, kept])
    }

    @Test("the schedule runs by itself at its interval", .timeLimit(.minutes(5)))
    func runsOnItsOwn() async throws {
        let (hsm, store, _) = try await Self.node()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // An hour-long interval on a clock the test moves: each run happens when the test says.
        let clock = ManualClock()
        let epoch = Date(timeIntervalSince1970: 1_700_000_000)
        let scheduler = BackupScheduler(
            writer: hsm, schedule: BackupSchedule(directory: directory, interval: 3600, retain: 5),
            metrics: nil, logger: Logger(label: "test"),
            clock: clock, date: { epoch.addingTimeInterval(ManualClock.zero.duration(to: clock.now) / .seconds(1)) })
        func backups() -> [String] { (try? BackupScheduler.backups(in: directory)) ?? [] }
        let running = Task { await scheduler.run() }
        defer { running.cancel() }

        // It waits for its interval first; a second short of it, nothing has run.
        try await clock.waitForSleepers(1)
        clock.advance(by: .seconds(3599))
        #expect(clock.sleepers == 1)
        #expect(backups().isEmpty)
        // At the interval it writes a backup, named by its date, then waits for the next one.
        clock.advance(by: .seconds(1))
        try await clock.waitForSleepers(1)
        #expect(backups() == [BackupScheduler.fileName(at: epoch.addingTimeInterval(3600))])
        clock.advance(by: .seconds(3600))
        try await clock.waitForSleepers(1)
        #expect(backups() == [3600.0, 7200].map { BackupScheduler.fileName(at: epoch.addingTimeInterval($0)) })

        // Cancelled while it waits, it stops at once.
        running.cancel()
        await running.value
        #expect(clock.sleepers == 0)
        #expect(backups().count == 2)
        try await hsm.close()
        try await store.close()
    }

    @Test("restore drill: a new store from the latest scheduled backup has every key, and each works")
    func restoreDrill() async throws {
        let (hsm, store, fixture) = try await Self.node()
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let user = fixture.alpha.user.token
        var keys: [KeyInfo] = []
        for algorithm in [KeyAlgorithm.p256, .ed25519, .secp256k1, .aes256, .genericSecret] {
            for n in 0..<3 { keys.append(try await hsm.generateKey(user, spec: KeySpec(algorithm: algorithm, label: "drill-\(algorithm)-\(n)"))) }
        }
        let rotated = try await hsm.rotateKey(fixture.alpha.officer.token, id: keys[0].id)
        keys[0] = rotated
        let betaKey = try await hsm.generateKey(fixture.beta.user.token, spec: KeySpec(algorithm: .p256, label: "beta"))
        let scheduler = BackupScheduler(
            writer: hsm, schedule: BackupSchedule(directory: directory, interval: 1, retain: 3),
            metrics: nil, logger: Logger(label: "test"))
        try await scheduler.runOnce()
        let latest = try await scheduler.runOnce()
        // Made after the latest backup: the restore is a point in time, so this one is absent.
        let late = try await hsm.generateKey(user, spec: KeySpec(algorithm: .p256, label: "after-backup"))

        #expect(try BackupScheduler.latest(in: directory) == latest)
        let restoredStore = try SQLiteStore.temporary()
        var configuration = LocalHSM.Configuration.defaults
        configuration.passwordCostLog2 = 10
        configuration.passphraseScrypt = ScryptParameters(n: 1 << 10)
        let restored = try await LocalHSM.restore(
            from: latest, into: restoredStore, unseal: .passphrase(Self.passphrase),
            configuration: configuration)
        // The same users log in to the restored store with their API keys.
        let again = try await restored.openSession(partition: "alpha", credential: .apiKey(fixture.alpha.user.apiKey)).token
        let restoredKeys = try await restored.listKeys(again, filter: KeyFilter(limit: 1000))
        let originalKeys = try await hsm.listKeys(user, filter: KeyFilter(limit: 1000))
        #expect(Set(restoredKeys.map(\.id)) == Set(originalKeys.map(\.id)).subtracting([late.id]))
        #expect(!restoredKeys.contains { $0.id == late.id })
        for key in keys {
            let copy = try #require(restoredKeys.first { $0.id == key.id })
            let stored = try #require(originalKeys.first { $0.id == key.id })
            #expect(copy == stored, "key \(key.id) metadata differs after restore")
            #expect(copy == key, "key \(key.id) differs from what its creation returned")
            try await Self.expectSameKey(key, original: (hsm, user), restored: (restored, again))
        }
        let betaSession = try await restored.openSession(partition: "beta", credential: .apiKey(fixture.beta.user.apiKey)).token
        #expect(try await restored.getKey(betaSession, id: betaKey.id) == betaKey)
        // The restored audit chains verify.
        let auditor = try await restored.openSession(partition: "alpha", credential: .apiKey(fixture.alpha.auditor.apiKey)).token
        #expect(try await restored.verifyAudit(auditor).isValid)

        try await restored.close()
        try await restoredStore.close()
        try await hsm.close()
        try await store.close()
    }

    /// Proves the restored key holds the same secret: what one side makes, the other checks.
    static func expectSameKey(_ key: KeyInfo, original: (HSM, SessionToken), restored: (HSM, SessionToken)) async throws {
        let data = Data("restore drill \(key.id)".utf8)
        switch key.algorithm {
        case .p256, .secp256k1:
            let signature = try await restored.0.sign(restored.1, key: key.id, input: .message(data), scheme: .ecdsa(.sha256))
            #expect(
                try await original.0.verify(
                    original.1, key: key.id, input: .message(data), signature: signature.signature,
                    scheme: .ecdsa(.sha256), version: nil))
        case .ed25519:
            let signature = try await restored.0.sign(restored.1, key: key.id, input: .message(data), scheme: .ed25519)
            #expect(
                try await original.0.verify(
                    original.1, key: key.id, input: .message(data), signature: signature.signature,
                    scheme: .ed25519, version: nil))
        case .aes256:
            let sealed = try await original.0.encrypt(original.1, key: key.id, plaintext: data, scheme: .aesGCM, aad: Data())
            #expect(try await restored.0.decrypt(restored.1, key: key.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == data)
        default:
            let a = try await original.0.mac(original.1, key: key.id, data: data, hash: .sha256)
            let b = try await restored.0.mac(restored.1, key: key.id, data: data, hash: .sha256)
            #expect(a == b)
        }
    }
}

/// A writer for schedulers that never write.
private struct NoWriter: ScheduledBackupWriter {
    func scheduledBackup(to path: String, overwrite: Bool) async throws -> BackupSummary {
        throw HSMError(.unavailable, "this test writes no backup")
    }
}
