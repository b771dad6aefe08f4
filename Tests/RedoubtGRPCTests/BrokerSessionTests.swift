import Foundation
import GRPCCore
import RedoubtBroker
import RedoubtProto
@testable import RedoubtTesting
import Testing

/// Sessions over the deployed broker with mutual TLS: client-certificate principals, expiry,
/// and source-address restrictions, end to end over HTTP/2.
@Suite("Broker sessions over mutual TLS")
struct BrokerSessionTests {
    @Test("a registered client certificate opens a session without any other credential; an unregistered one does not")
    func certificatePrincipal() async throws {
        let tls = try TLSFixtures.make()
        defer { tls.remove() }
        try await BrokerHarness.run(tls: tls) { h in
            let t = try await h.tenant("certs")
            var open = Redoubt_V1_OpenSessionRequest()
            open.partitionID = "certs"
            // Nobody in the partition has this certificate yet.
            await expectStatus(.unauthenticated, "invalid credentials") { _ = try await h.sessions.openSession(open) }

            var add = Redoubt_V1_AddUserRequest()
            add.name = "payments-service"
            add.role = .cryptoUser
            add.clientCertificateSha256 = tls.client.sha256
            let added = try await h.users.addUser(add, metadata: t.officer)
            #expect(added.user.hasClientCertificate_p)

            let session = try await h.sessions.openSession(open)
            #expect(session.userID == added.user.id)
            #expect(session.role == .cryptoUser)
            // The session works like any other.
            var create = Redoubt_V1_CreateKeyRequest()
            create.spec.algorithm = .ecP256
            create.spec.label = "by-certificate"
            let key = try await h.keys.createKey(create, metadata: BrokerHarness.bearer(session.token))
            #expect(key.key.label == "by-certificate")
            // The same certificate means nothing in another partition.
            _ = try await h.tenant("other")
            open.partitionID = "other"
            await expectStatus(.unauthenticated, "invalid credentials") { _ = try await h.sessions.openSession(open) }
        }
    }

    @Test("an idle or expired session is refused with UNAUTHENTICATED, and a new one works")
    func expiredSessions() async throws {
        let tls = try TLSFixtures.make()
        defer { tls.remove() }
        let clock = TestClock()
        try await BrokerHarness.run(clock: clock, tls: tls) { h in
            let t = try await h.tenant("expiry")
            var list = Redoubt_V1_ListKeysRequest()
            list.pageSize = 10
            _ = try await h.keys.listKeys(list, metadata: t.user)
            clock.advance(by: 31 * 60)  // past the 30-minute idle timeout
            await expectStatus(.unauthenticated, "expired") { _ = try await h.keys.listKeys(list, metadata: t.user) }

            // A new session works; kept busy, it still ends at its maximum lifetime (12 hours).
            let op = BrokerHarness.bearer(try await h.openSession(partition: "", apiKey: h.operatorAPIKey))
            let partitions = Redoubt_V1_ListPartitionsRequest()
            for _ in 0..<24 {
                clock.advance(by: 29 * 60)
                _ = try await h.partitions.listPartitions(partitions, metadata: op)
            }
            clock.advance(by: 29 * 60)  // 12 h 6 min after opening
            await expectStatus(.unauthenticated, "expired") { _ = try await h.partitions.listPartitions(partitions, metadata: op) }
        }
    }

    @Test("a partition that allows only other source addresses refuses sessions from 127.0.0.1")
    func sourceRestriction() async throws {
        try await BrokerHarness.run { h in
            let t = try await h.tenant("walled")
            var update = Redoubt_V1_UpdatePartitionRequest()
            update.partitionID = "walled"
            update.settings.allowedSources.cidrs = ["10.0.0.0/8"]
            let updated = try await h.partitions.updatePartition(update, metadata: t.operatorMetadata)
            #expect(updated.partition.settings.allowedSources.cidrs == ["10.0.0.0/8"])
            // The running session is refused at once on this node, and no new one opens.
            var list = Redoubt_V1_ListKeysRequest()
            list.pageSize = 10
            await expectStatus(.permissionDenied, "127.0.0.1") { _ = try await h.keys.listKeys(list, metadata: t.user) }

            update.settings.allowedSources.cidrs = ["127.0.0.0/8", "::1/128"]
            _ = try await h.partitions.updatePartition(update, metadata: t.operatorMetadata)
            _ = try await h.keys.listKeys(list, metadata: t.user)
        }
    }
}
