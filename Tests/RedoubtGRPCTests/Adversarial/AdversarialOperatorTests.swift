import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import Testing

/// Operator separation: the operator runs the service — partitions, backups, health — and can
/// never create, read, list, use, export or destroy a subscriber's key.
@Suite("Adversarial: operator separation")
struct AdversarialOperatorTests {
    typealias A = AdversarialArena

    @Test("the operator runs partitions, backups and health, and every key RPC it tries on a subscriber's keys fails; nothing leaks")
    func operatorCannotTouchKeys() async throws {
        try await A.run { arena in
            let op = try await arena.operatorSession()
            // What the operator may do.
            let b = try await arena.tenant("tenant-b", operator: op)
            var settings = PartitionSettings.defaults
            settings.maximumObjects = 500
            let updated = try await arena.partitions.updatePartition(Redoubt_V1_UpdatePartitionRequest(id: "tenant-b", settings: settings), metadata: op)
            #expect(updated.partition.settings.maximumObjects == 500)
            let listed = try await arena.partitions.listPartitions(Redoubt_V1_ListPartitionsRequest(pageSize: 100, pageToken: ""), metadata: op)
            #expect(listed.partitions.map(\.id) == ["tenant-b"])
            var check = Grpc_Health_V1_HealthCheckRequest()
            check.service = "redoubt.v1.KeyService"
            #expect(try await A.health(arena.grpc).check(check).status == .serving)

            let victims = try await AdversarialIsolationTests.victimKeys(arena, b)
            let own = try await AdversarialIsolationTests.ownKeys(arena, b)  // the operator has no keys of its own: use B's
            // The plaintext of an exportable key, known to B: it must show up nowhere the operator can see.
            let exportable = try #require(victims[.exportable])
            let secret = try await arena.keys.exportPlaintext(.init(keyID: exportable.id), metadata: b.user.metadata).keyMaterial
            #expect(secret.count == 32)
            let before = try await arena.snapshot(b)

            // Every key RPC, aimed at B's real keys, from the operator's session.
            for probe in KeyProbe.all(own: own) {
                let key = try #require(victims[probe.target])
                let r = await refusal("\(probe.rpc) by the operator") { try await probe.call(arena.grpc, op, key.id) }
                #expect([.permissionDenied, .notFound].contains(r?.code), "\(probe.rpc) by the operator: \(r.map(\.description) ?? "")")
            }
            await expectRefused([.permissionDenied], "CreateKey by the operator") {
                _ = try await arena.keys.createKey(Redoubt_V1_CreateKeyRequest(spec: KeySpec(algorithm: .aes256, label: "mine")), metadata: op)
            }
            await expectRefused([.permissionDenied], "ImportKey by the operator") {
                _ = try await arena.keys.importKey(
                    Redoubt_V1_ImportKeyRequest(
                        spec: KeySpec(algorithm: .aes256, label: "mine"),
                        material: .secret(SecretBytes(Data(count: 32)))), metadata: op)
            }
            var list = Redoubt_V1_ListKeysRequest()
            list.pageSize = 100
            await expectRefused([.permissionDenied], "ListKeys by the operator") { _ = try await arena.keys.listKeys(list, metadata: op) }
            await expectRefused([.permissionDenied], "Random by the operator") {
                _ = try await arena.crypto.random(Redoubt_V1_RandomRequest(count: 16), metadata: op)
            }
            // Nor does it get into the partition some other way: its API key opens no session there,
            // and it cannot give itself a user in it.
            await expectRefused([.unauthenticated], "the operator's API key in B") { _ = try await arena.open("tenant-b", apiKey: arena.operatorAPIKey) }
            await expectRefused([.permissionDenied], "AddUser(CRYPTO_USER) by the operator") {
                _ = try await arena.users.addUser(
                    Redoubt_V1_AddUserRequest(name: "backdoor", role: .cryptoUser, password: nil, clientCertificateSHA256: nil), metadata: op)
            }
            // The operator's user listing and audit log are its own, not B's.
            let users = try await arena.users.listUsers(Redoubt_V1_ListUsersRequest(pageSize: 100, pageToken: ""), metadata: op)
            #expect(users.users.allSatisfy { $0.role == .operator })

            // A backup of B (the operator's job) holds no plaintext key material.
            let backup = Redoubt_V1_CreateBackupRequest(path: "tenant-b.rdbk", partition: "tenant-b", overwrite: false)
            let summary = try await arena.backups.createBackup(backup, metadata: op) { response in
                var last: Redoubt_V1_CreateBackupResponse?
                for try await message in response.messages { last = message }
                return last
            }
            #expect(summary?.summary.partitionID == "tenant-b")
            let file = try Data(contentsOf: arena.backupDirectory.appendingPathComponent("tenant-b.rdbk"))
            #expect(file.count > 0)
            #expect(file.range(of: secret) == nil, "the backup holds B's key in the clear")

            // B is untouched; B's log shows no successful operation of the operator, the
            // operator's own log no key operation that succeeded.
            let after = try await arena.snapshot(b)
            #expect(after.keys == before.keys)
            let operatorUser = try #require(users.users.first).id
            #expect(!after.audit.contains { $0.actor == operatorUser && $0.operation.hasPrefix("key.") && $0.result == "ok" })
            let opLog = try await arena.audit.listAuditRecords(Redoubt_V1_ListAuditRecordsRequest(from: 1, limit: 1000), metadata: op).records
            #expect(!opLog.isEmpty)
            #expect(!opLog.contains { $0.operation.hasPrefix("key.") && $0.result == "ok" }, "\(opLog.filter { $0.operation.hasPrefix("key.") })")
            let everything = try await arena.audit.listAuditRecords(Redoubt_V1_ListAuditRecordsRequest(from: 1, limit: 1000), metadata: op)
            for record in everything.records {
                #expect(!record.object.contains(secret.base64EncodedString()))
            }
        }
    }
}
