import Foundation
@testable import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// LocalHSM across restarts, and several LocalHSMs (nodes) over one store.
@Suite("LocalHSM persistence and nodes")
struct LocalHSMPersistenceTests {
    let passphrase = LocalHSMSupport.passphrase

    @Test("after a restart keys, sessions, users and the audit chain are all still there")
    func restart() async throws {
        let directory = try StoreDirectory()
        defer { directory.remove() }
        let configuration = LocalHSMSupport.configuration()
        let store = try directory.open()
        let created = try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: configuration)
        let before = try await HSMFixture.make(created.hsm, operatorAPIKey: created.operatorAPIKey)
        let user = before.alpha.user.token
        let signer = try await before.generate(KeySpec(algorithm: .p256, label: "signer"))
        let aes = try await before.generate(KeySpec(algorithm: .aes256, label: "aes"))
        _ = try await created.hsm.rotateKey(before.alpha.officer.token, id: aes.id)
        let ephemeral = try await before.generate(KeySpec(algorithm: .aes128, label: "ephemeral", persistent: false))
        let signature = try await created.hsm.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        let sealed = try await created.hsm.encrypt(user, key: aes.id, plaintext: message, scheme: .aesGCM, aad: Data())
        let auditBefore = try await before.auditLog()
        try await created.hsm.close()
        try await store.close()

        let reopenedStore = try directory.open()
        let reopened = try await LocalHSM.open(store: reopenedStore, unseal: .passphrase(passphrase), configuration: configuration)
        let after = before.on(reopened)
        // The old session tokens still work.
        #expect(
            try await reopened.verify(
                user, key: signer.id, input: .message(message), signature: signature.signature,
                scheme: .ecdsa(.sha256), version: 1))
        #expect(try await reopened.decrypt(user, key: aes.id, ciphertext: sealed, scheme: .aesGCM, aad: Data()) == message)
        let again = try await reopened.sign(user, key: signer.id, input: .message(message), scheme: .ecdsa(.sha256))
        #expect(try VerifyingKey(try #require(signer.publicKey)).isValidSignature(again.signature, for: .message(message), scheme: .ecdsa(.sha256)))
        #expect(try await reopened.getKey(user, id: aes.id).latestVersion == 2)
        #expect(try await after.listedIDs() == [signer.id, aes.id])
        #expect(try await reopened.listPartitions(before.operatorToken).count == 2)
        // Session objects lived in memory only.
        await expectHSMError(.notFound) { try await reopened.getKey(user, id: ephemeral.id) }
        // Credentials, including passwords, still open sessions.
        _ = try await reopened.openSession(partition: "alpha", credential: .password(user: HSMFixture.userName, password: HSMFixture.userPassword))
        _ = try await reopened.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        // The audit chain goes on from where it was.
        let auditAfter = try await after.auditLog()
        #expect(Array(auditAfter.prefix(auditBefore.count)) == auditBefore)
        #expect(auditAfter.contains { $0.operation == "key.encrypt" && $0.object == aes.id })
        #expect(try await reopened.verifyAudit(before.alpha.auditor.token).isValid)
        try await reopened.close()
        try await reopenedStore.close()
    }

    @Test("unsealing needs the right passphrase and an initialised store; a store initialises once")
    func unsealing() async throws {
        let configuration = LocalHSMSupport.configuration()
        let store = try SQLiteStore.temporary()
        do {
            try await unsealing(store, configuration)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    func unsealing(_ store: SQLiteStore, _ configuration: LocalHSM.Configuration) async throws {
        await expectHSMError(.failedPrecondition, "not initialised") {
            try await LocalHSM.open(store: store, unseal: .passphrase(passphrase), configuration: configuration)
        }
        await expectHSMError(.invalidArgument) {
            try await LocalHSM.initialize(store: store, passphrase: "too short", configuration: configuration)
        }
        var outOfRange = configuration
        outOfRange.passphraseScrypt = ScryptParameters(n: 3)
        await expectHSMError(.invalidArgument, "scrypt N must be a power of two") {
            try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: outOfRange)
        }
        // Refused without a trace: the store initialises afterwards, with the configured cost.
        let created = try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: configuration)
        try await created.hsm.close()
        let envelope = try RecordCoding.decode(MasterKeyEnvelope.self, try #require(await store.get(LocalHSM.envelopeKey)).data)
        #expect(envelope.passphrase?.scrypt == configuration.passphraseScrypt)
        #expect(configuration.passphraseScrypt != .defaults, "the tests' cheap cost, not the default")
        await expectHSMError(.alreadyExists) {
            try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: configuration)
        }
        for wrong in [passphrase + "!", "another passphrase entirely", ""] {
            await expectHSMError(.unauthenticated) {
                try await LocalHSM.open(store: store, unseal: .passphrase(wrong), configuration: configuration)
            }
        }
        let reopened = try await LocalHSM.open(store: store, unseal: .passphrase(passphrase), configuration: configuration)
        _ = try await reopened.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        try await reopened.close()
    }

    /// Two nodes over one store, with one clock the test moves past the cache refresh interval.
    func withTwoNodes(_ body: (HSMFixture, LocalHSM, LocalHSM, TestClock) async throws -> Void) async throws {
        let clock = TestClock()
        let configuration = LocalHSMSupport.configuration(clock: clock)
        let store = try SQLiteStore.temporary()
        do {
            let created = try await LocalHSM.initialize(store: store, passphrase: passphrase, configuration: configuration)
            let second = try await LocalHSM.open(store: store, unseal: .passphrase(passphrase), configuration: configuration)
            let fixture = try await HSMFixture.make(created.hsm, operatorAPIKey: created.operatorAPIKey)
            try await body(fixture, created.hsm, second, clock)
            try await created.hsm.close()
            try await second.close()
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    @Test("a change on one node is seen on another within the refresh interval")
    func nodesSeeChanges() async throws {
        try await withTwoNodes { f, first, second, clock in
            let user = f.alpha.user.token
            let key = try await f.generate(KeySpec(algorithm: .p256, label: "shared"))
            // The second node has the key and the session cached before the changes.
            _ = try await second.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
            let closing = try await f.newSession(f.alpha.user)
            _ = try await second.random(closing, count: 1)

            _ = try await first.blockKey(f.alpha.officer.token, id: key.id)
            try await first.closeSession(closing)
            try await first.removeUser(f.alpha.officer.token, id: f.alpha.auditor.user.id)
            clock.advance(by: 1)
            await expectHSMError(.failedPrecondition, "blocked") {
                try await second.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
            }
            await expectHSMError(.unauthenticated) { try await second.random(closing, count: 1) }
            await expectHSMError(.unauthenticated) { try await second.verifyAudit(f.alpha.auditor.token) }
            // And the other way round.
            _ = try await second.unblockKey(f.alpha.officer.token, id: key.id)
            clock.advance(by: 1)
            _ = try await first.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
    }

    @Test("a key quota holds across nodes, and a node counts keys again only when others' changes may reach it")
    func quotaAcrossNodes() async throws {
        try await withTwoNodes { f, first, second, clock in
            try await f.updateSettings { $0.maximumObjects = 4 }
            let officer = f.alpha.officer.token
            let spec = KeySpec(algorithm: .p256, label: "quota")
            _ = try await second.generateKey(officer, spec: spec)
            _ = try await first.generateKey(officer, spec: spec)
            _ = try await first.generateKey(officer, spec: spec)
            // The second node learns of the first's two keys: perhaps new, so 1 + 1 (own) + 2 bounds
            // the count; under the quota, no count.
            clock.advance(by: 1)
            _ = try await second.generateKey(officer, spec: spec)
            #expect(second.state.withLock { ($0.keyCounts["alpha"], $0.keyCountSlack["alpha"]) } == (2, 2))
            // At the bound: counted (4), and refused.
            await expectHSMError(.resourceExhausted, "maximum of 4 keys") { try await second.generateKey(officer, spec: spec) }
            #expect(second.state.withLock { ($0.keyCounts["alpha"], $0.keyCountSlack["alpha"]) } == (4, nil))
            clock.advance(by: 1)
            await expectHSMError(.resourceExhausted, "maximum of 4 keys") { try await first.generateKey(officer, spec: spec) }
            #expect(try await f.listedIDs(f.alpha.officer).count == 4)
        }
    }

    /// Each node keeps the last use in memory and stores it only when a gap exceeds a quarter of
    /// the idle timeout; a session used steadily on one node must not look idle to another.
    @Test("a session used steadily on one node stays valid on another")
    func steadySessionOnTwoNodes() async throws {
        try await withTwoNodes { f, first, second, clock in
            let token = f.alpha.user.token
            let idle = PartitionSettings.defaults.sessionIdleTimeout
            for _ in 0..<5 {
                clock.advance(by: idle / 5)
                let bytes = try await first.random(token, count: 1)
                #expect(bytes.count == 1)
            }
            clock.advance(by: 1)
            let bytes = try await second.random(token, count: 1)
            #expect(bytes.count == 1)
        }
    }

    /// A node drops from its caches only what the store's change log says other nodes changed:
    /// their audit flushes and unrelated keys leave its cached keys in place.
    @Test("another node's audit flushes and new keys drop nothing from a node's caches; a change drops only what it changed")
    func targetedInvalidation() async throws {
        try await withTwoNodes { f, first, second, clock in
            let user = f.alpha.user.token
            let kept = try await f.generate(KeySpec(algorithm: .p256, label: "kept"))
            let blocked = try await f.generate(KeySpec(algorithm: .p256, label: "blocked"))
            func cached(_ key: KeyInfo) -> Bool { second.state.withLock { $0.keys[LocalHSM.cacheKey("alpha", key.id)] != nil } }
            func refresh() async throws {
                clock.advance(by: 1)
                try await second.refreshIfStale()
            }
            // The second node catches up with the fixture's commits, then reads both keys.
            try await refresh()
            for key in [kept, blocked] {
                _ = try await second.sign(user, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
            }
            #expect(cached(kept) && cached(blocked), "the second node did not cache the keys it read")

            // The first node signs (its key-use records commit without touching an object) and makes a key.
            for _ in 0..<3 { _ = try await first.sign(user, key: kept.id, input: .message(message), scheme: .ecdsa(.sha256)) }
            try await first.flushAudit(force: true)
            _ = try await first.generateKey(f.alpha.officer.token, spec: KeySpec(algorithm: .ed25519, label: "new"))
            try await refresh()
            #expect(cached(kept) && cached(blocked), "audit flushes or an unrelated key emptied the second node's key cache")
            #expect(second.state.withLock { $0.knownChangeCounter } == (try await second.store.changeCounter()))

            // A block drops that key, and only it; the second node then refuses it.
            _ = try await first.blockKey(f.alpha.officer.token, id: blocked.id)
            try await refresh()
            #expect(!cached(blocked) && cached(kept))
            await expectHSMError(.failedPrecondition, "blocked") {
                try await second.sign(user, key: blocked.id, input: .message(message), scheme: .ecdsa(.sha256))
            }
            _ = try await second.sign(user, key: kept.id, input: .message(message), scheme: .ecdsa(.sha256))
        }
    }
}
