import Foundation
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// Two nodes (LocalHSMs) over two ``PostgresStore``s on one database, as on two machines.
@Suite(
    "LocalHSM nodes over PostgreSQL",
    .enabled(if: PostgresTestDatabases.isConfigured, "set REDOUBT_TEST_POSTGRES_URL (scripts/with-postgres)"))
struct LocalHSMPostgresNodesTests {
    @Test("a key made on one node is usable at once on the other, a block is honoured within 1 s, sessions are shared")
    func twoNodes() async throws {
        try await PostgresTestDatabases.with { databases in
            let url = try await databases.makeDatabase()
            let storeA = try await PostgresStore.connect(url: url)
            let storeB = try await PostgresStore.connect(url: url)
            // The real clock: node B notices changes through its 250 ms counter poll.
            let configuration = LocalHSMSupport.configuration()
            let created = try await LocalHSM.initialize(
                store: storeA, passphrase: LocalHSMSupport.passphrase, configuration: configuration)
            let nodeA = created.hsm
            let nodeB = try await LocalHSM.open(
                store: storeB, unseal: .passphrase(LocalHSMSupport.passphrase), configuration: configuration)
            let f = try await HSMFixture.make(nodeA, operatorAPIKey: created.operatorAPIKey)

            // A session opened on A is valid on B.
            let session = try await nodeA.openSession(
                partition: "alpha", credential: .password(user: HSMFixture.userName, password: HSMFixture.userPassword))
            #expect(try await nodeB.random(session.token, count: 8).count == 8)

            // A key generated through A signs through B at once.
            let key = try await f.generate(KeySpec(algorithm: .p256, label: "shared"))
            let signed = try await nodeB.sign(session.token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
            #expect(
                try VerifyingKey(try #require(key.publicKey))
                    .isValidSignature(signed.signature, for: .message(message), scheme: .ecdsa(.sha256)))

            // Blocked through A: B refuses it within 1 s.
            _ = try await nodeA.blockKey(f.alpha.officer.token, id: key.id)
            let blocked = ContinuousClock.now
            var refusal: HSMError?
            while refusal == nil, ContinuousClock.now - blocked < .seconds(2) {
                refusal = await signingError(nodeB, session.token, key.id)
                if refusal == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let delay = ContinuousClock.now - blocked
            print("LocalHSM over PostgreSQL: a block on node A was honoured by node B after \(delay)")
            #expect(refusal?.code == .failedPrecondition)
            #expect(delay < .seconds(1))

            try await nodeA.close()
            try await nodeB.close()
            try await storeA.close()
            try await storeB.close()
        }
    }

    /// The error of a signature through `node`, or nil if it signed.
    private func signingError(_ node: LocalHSM, _ token: SessionToken, _ key: String) async -> HSMError? {
        do {
            _ = try await node.sign(token, key: key, input: .message(message), scheme: .ecdsa(.sha256))
            return nil
        } catch {
            return error as? HSMError ?? HSMError(.internalError, "\(type(of: error))")
        }
    }
}
