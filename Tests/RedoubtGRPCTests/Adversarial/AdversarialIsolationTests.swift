import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import Testing

/// Tenant isolation and role escalation, attacked over the deployed broker: a principal of
/// partition A goes after partition B's keys, sessions, request ids, users and audit log, and
/// every partition role reaches past its role. Every refusal of something foreign must read
/// exactly like the refusal of something that does not exist.
@Suite("Adversarial: tenant isolation and roles")
struct AdversarialIsolationTests {
    typealias A = AdversarialArena

    /// B's keys by what the probes aim at.
    static func victimKeys(_ arena: A, _ b: A.Tenant) async throws -> [KeyProbe.KeyRole: KeyInfo] {
        [
            .signing: try await arena.key(b.user, .ed25519),
            .cipher: try await arena.key(b.user, .aes256),
            .exportable: try await arena.key(b.user, .aes256, extractable: true, sensitive: false),
            .mac: try await arena.key(b.user, .genericSecret),
            .agreement: try await arena.key(b.user, .x25519),
            .kem: try await arena.key(b.user, .mlkem768),
        ]
    }

    static func ownKeys(_ arena: A, _ a: A.Tenant) async throws -> KeyProbe.Own {
        let agreement = try await arena.key(a.user, .x25519)
        return KeyProbe.Own(
            wrapping: try await arena.key(a.user, .aes256).id,
            exportable: try await arena.key(a.user, .aes256, extractable: true).id,
            agreement: try #require(agreement.publicKey))
    }

    @Test("A's user and officer aimed at B's keys through every key RPC, batch and SignStream: refused exactly as for a key that does not exist; B unchanged")
    func foreignKeysLookAbsent() async throws {
        try await A.run { arena in
            let op = try await arena.operatorSession()
            let a = try await arena.tenant("tenant-a", operator: op)
            let b = try await arena.tenant("tenant-b", operator: op)
            let victims = try await Self.victimKeys(arena, b)
            let own = try await Self.ownKeys(arena, a)
            let before = try await arena.snapshot(b)

            for probe in KeyProbe.all(own: own) {
                let victim = try #require(victims[probe.target])
                var reachedLookup = false
                for attacker in [a.user, a.officer] {
                    let phantom = phantomKeyID()
                    let what = "\(probe.rpc) by A's \(attacker.session.role)"
                    guard let foreign = await refusal("\(what) on B's key", { try await probe.call(arena.grpc, attacker.metadata, victim.id) }),
                        let absent = await refusal("\(what) on no key", { try await probe.call(arena.grpc, attacker.metadata, phantom) })
                    else { continue }
                    #expect([.notFound, .permissionDenied].contains(foreign.code), "\(what): \(foreign)")
                    #expect(
                        foreign.shape(hiding: [victim.id]) == absent.shape(hiding: [phantom]),
                        "\(what): B's key is told apart from no key: \(foreign) vs \(absent)")
                    #expect(!foreign.message.contains(b.partition), "\(what) names B: \(foreign)")
                    reachedLookup = reachedLookup || foreign.code == .notFound
                }
                #expect(reachedLookup, "\(probe.rpc): no attacker got past the role check, so the lookup went untested")
            }

            // Guessed ids near B's: case, partition prefixes, path tricks, padding.
            let id = try #require(victims[.signing]).id
            let guesses = [
                id.uppercased(), "tenant-b/\(id)", "../tenant-b/\(id)", "\(id) ", " \(id)", "\(id)\0", String(id.dropLast()) + "0",
                String(id.dropLast()), id + "0", "tenant-b", "*", "%", "",
            ]
            for guess in guesses where guess != id {
                let r = await refusal("GetKey '\(guess)'") { _ = try await arena.keys.getKey(.init(keyID: guess), metadata: a.user.metadata) }
                #expect([.notFound, .invalidArgument].contains(r?.code), "GetKey '\(guess)': \(r.map(\.description) ?? "")")
                let s = await refusal("Sign '\(guess)'") {
                    _ = try await arena.crypto.sign(Redoubt_V1_SignRequest(key: guess, input: .message(Data([1])), scheme: .ed25519), metadata: a.user.metadata)
                }
                #expect([.notFound, .invalidArgument].contains(s?.code), "Sign '\(guess)': \(s.map(\.description) ?? "")")
            }

            // A's listings never show B's keys.
            var list = Redoubt_V1_ListKeysRequest()
            list.pageSize = 1000
            list.includeDestroyed = true
            for person in [a.user, a.officer, a.auditor] {
                let listed = Set(try await arena.keys.listKeys(list, metadata: person.metadata).keys.map(\.id))
                #expect(listed.isDisjoint(with: victims.values.map(\.id)), "A's \(person.session.role) lists B's keys")
            }

            // B is untouched, its audit log never saw A; A's own log keeps the trace of the probing.
            let after = try await arena.snapshot(b)
            #expect(after == before)
            let aIDs = Set(a.everyone.flatMap { [$0.userID, $0.session.sessionID] })
            #expect(!after.audit.contains { aIDs.contains($0.actor) || aIDs.contains($0.session) })
            let aLog = try await arena.hsm.auditRecords(SessionToken(a.officer.token), from: 1, limit: 1000)
            #expect(aLog.contains { $0.operation == "key.sign" && $0.object == id && $0.result != "ok" }, "the probe of B's key left no trace in A's log")
        }
    }

    @Test("B's sessions, credentials, request ids, users and audit log are out of A's reach, indistinguishably from nothing")
    func foreignSessionsUsersAndRequests() async throws {
        try await A.run { arena in
            let op = try await arena.operatorSession()
            let a = try await arena.tenant("tenant-a", operator: op)
            let b = try await arena.tenant("tenant-b", operator: op)
            let bKey = try await arena.key(b.user, .ed25519, requestID: "order-42")
            let before = try await arena.snapshot(b)

            // Credentials of one partition open nothing in the other, exactly like a made-up credential.
            let bogusKey = "rdk1.c\(String(repeating: "ab", count: 12)).secretsecretsecret"
            let bogus = await refusal("a made-up API key") { _ = try await arena.open("tenant-b", apiKey: bogusKey) }
            #expect(bogus?.code == .unauthenticated)
            for (what, partition, credential) in [
                ("A's user API key in B", "tenant-b", a.user.apiKey),
                ("B's officer API key in A", "tenant-a", b.officer.apiKey),
                ("A's session token as a credential for B", "tenant-b", a.user.token),
                ("B's session token as a credential for B", "tenant-b", b.user.token),
            ] {
                let r = await refusal(what) { _ = try await arena.open(partition, apiKey: credential) }
                #expect(r == bogus, "\(what): \(r.map(\.description) ?? "") vs \(bogus.map(\.description) ?? "")")
            }

            // A forged token: B's session id with A's session secret, or with nothing.
            let aSecret = String(a.user.token.split(separator: ".")[2])
            let bSession = b.user.session.sessionID
            let noSession = await refusal("a token of no session") {
                _ = try await arena.keys.getKey(.init(keyID: bKey.id), metadata: A.bearer("rds1.s\(String(repeating: "0", count: 24)).\(aSecret)"))
            }
            #expect(noSession?.code == .unauthenticated)
            for forged in ["rds1.\(bSession).\(aSecret)", "rds1.\(bSession).", "rds1.\(bSession)", "rds1.\(bSession).\(aSecret).x"] {
                let r = await refusal("forged token \(forged)") { _ = try await arena.keys.getKey(.init(keyID: bKey.id), metadata: A.bearer(forged)) }
                #expect(r == noSession, "forged token '\(forged)': \(r.map(\.description) ?? "")")
            }

            // Requests that carry a partition id: A's officer names B, or a partition that does not exist.
            for (what, call) in [
                (
                    "UpdatePartition",
                    { @Sendable (id: String) in
                        _ = try await arena.partitions.updatePartition(
                            Redoubt_V1_UpdatePartitionRequest(id: id, settings: .defaults), metadata: a.officer.metadata)
                    }
                ),
                (
                    "CreatePartition",
                    { @Sendable (id: String) in
                        _ = try await arena.partitions.createPartition(
                            Redoubt_V1_CreatePartitionRequest(id: id, settings: .defaults), metadata: a.officer.metadata)
                    }
                ),
                (
                    "CreateBackup",
                    { @Sendable (id: String) in
                        try await arena.backups.createBackup(
                            Redoubt_V1_CreateBackupRequest(path: "steal-\(id).rdbk", partition: id, overwrite: true),
                            metadata: a.officer.metadata, onResponse: { for try await _ in $0.messages {} })
                    }
                ),
            ] as [(String, @Sendable (String) async throws -> Void)] {
                let foreign = await refusal("\(what) naming B") { try await call("tenant-b") }
                let absent = await refusal("\(what) naming nothing") { try await call("tenant-z") }
                #expect(foreign?.code == .permissionDenied, "\(what): \(foreign.map(\.description) ?? "")")
                #expect(foreign?.shape(hiding: ["tenant-b"]) == absent?.shape(hiding: ["tenant-z"]), "\(what) tells B apart from nothing")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: arena.backupDirectory.path).isEmpty)

            // B's users: A's officer neither lists nor removes them.
            let aUsers = try await arena.users.listUsers(Redoubt_V1_ListUsersRequest(pageSize: 100, pageToken: ""), metadata: a.officer.metadata)
            #expect(Set(aUsers.users.map(\.id)).isDisjoint(with: b.everyone.map(\.userID)))
            #expect(aUsers.users.allSatisfy { $0.partitionID == "tenant-a" })
            let foreignUser = await refusal("RemoveUser of B's user") {
                _ = try await arena.users.removeUser(Redoubt_V1_RemoveUserRequest(id: b.user.userID), metadata: a.officer.metadata)
            }
            let phantomUser = "u_" + String(phantomKeyID().dropFirst())
            let absentUser = await refusal("RemoveUser of no user") {
                _ = try await arena.users.removeUser(Redoubt_V1_RemoveUserRequest(id: phantomUser), metadata: a.officer.metadata)
            }
            #expect(foreignUser?.code == .notFound)
            #expect(foreignUser?.shape(hiding: [b.user.userID]) == absentUser?.shape(hiding: [phantomUser]))

            // B's audit log: A's auditor reads A's log only.
            let log = try await arena.audit.listAuditRecords(Redoubt_V1_ListAuditRecordsRequest(from: 1, limit: 1000), metadata: a.auditor.metadata)
            let bIDs = Set(b.everyone.flatMap { [$0.userID, $0.session.sessionID] } + [bKey.id])
            #expect(!log.records.isEmpty)
            #expect(!log.records.contains { bIDs.contains($0.actor) || bIDs.contains($0.sessionID) || bIDs.contains($0.object) })
            #expect(try await arena.audit.verifyAudit(Redoubt_V1_VerifyAuditRequest(), metadata: a.auditor.metadata).valid)

            // B's request id: A gets a key of its own, never B's; retrying returns A's.
            let mine = try await arena.key(a.user, .ed25519, requestID: "order-42")
            #expect(mine.id != bKey.id)
            #expect(try await arena.key(a.user, .ed25519, requestID: "order-42").id == mine.id)
            #expect(try await arena.key(b.user, .ed25519, requestID: "order-42").id == bKey.id)
            let aList = try await arena.hsm.listKeys(SessionToken(a.officer.token), filter: KeyFilter())
            #expect(aList.map(\.id) == [mine.id])

            // B is untouched; its audit log only gained the refused sign-ins A tried there (a
            // partition's auditor sees every attempt on it, known credential or not).
            let after = try await arena.snapshot(b)
            #expect(after.keys == before.keys && after.users == before.users)
            #expect(Array(after.audit.prefix(before.audit.count)) == before.audit)
            let added = after.audit.dropFirst(before.audit.count)
            #expect(!added.isEmpty && added.allSatisfy { $0.operation == "session.open" && $0.result == "invalid_credentials" }, "\(added)")
        }
    }

    @Test("every role reaching past itself is PERMISSION_DENIED and changes nothing")
    func roleEscalation() async throws {
        try await A.run { arena in
            let op = try await arena.operatorSession()
            let a = try await arena.tenant("tenant-a", operator: op)
            let mine = try await Self.victimKeys(arena, a)
            let own = try await Self.ownKeys(arena, a)
            let partitionsBefore = try await arena.partitions.listPartitions(Redoubt_V1_ListPartitionsRequest(pageSize: 100, pageToken: ""), metadata: op)
            let before = try await arena.snapshot(a)

            // A crypto user (and the officer, for what only the operator does) reaching for administration.
            let add = { @Sendable (role: Role) in
                Redoubt_V1_AddUserRequest(name: "mole-\(role.rawValue.lowercased())", role: role, password: nil, clientCertificateSHA256: nil)
            }
            let denied: [(String, A.Tenant.Person, @Sendable (A.Tenant.Person) async throws -> Void)] = [
                ("AddUser(SECURITY_OFFICER)", a.user, { _ = try await arena.users.addUser(add(.securityOfficer), metadata: $0.metadata) }),
                ("AddUser(CRYPTO_USER)", a.user, { _ = try await arena.users.addUser(add(.cryptoUser), metadata: $0.metadata) }),
                ("AddUser(AUDITOR)", a.approver, { _ = try await arena.users.addUser(add(.auditor), metadata: $0.metadata) }),
                ("AddUser(OPERATOR)", a.officer, { _ = try await arena.users.addUser(add(.operator), metadata: $0.metadata) }),
                (
                    "UpdatePartition", a.user,
                    {
                        var s = PartitionSettings.defaults
                        s.allowedSources = ["0.0.0.0/0"]
                        _ = try await arena.partitions.updatePartition(Redoubt_V1_UpdatePartitionRequest(id: "tenant-a", settings: s), metadata: $0.metadata)
                    }
                ),
                (
                    "CreatePartition", a.user,
                    {
                        _ = try await arena.partitions.createPartition(
                            Redoubt_V1_CreatePartitionRequest(id: "mine", settings: .defaults), metadata: $0.metadata)
                    }
                ),
                (
                    "ListPartitions", a.officer,
                    {
                        _ = try await arena.partitions.listPartitions(Redoubt_V1_ListPartitionsRequest(pageSize: 10, pageToken: ""), metadata: $0.metadata)
                    }
                ),
                ("ListUsers", a.user, { _ = try await arena.users.listUsers(Redoubt_V1_ListUsersRequest(pageSize: 10, pageToken: ""), metadata: $0.metadata) }),
                (
                    "RemoveUser(officer)", a.user,
                    {
                        _ = try await arena.users.removeUser(Redoubt_V1_RemoveUserRequest(id: a.officer.userID), metadata: $0.metadata)
                    }
                ),
                (
                    "ListAuditRecords", a.user,
                    {
                        _ = try await arena.audit.listAuditRecords(Redoubt_V1_ListAuditRecordsRequest(from: 1, limit: 10), metadata: $0.metadata)
                    }
                ),
                ("VerifyAudit", a.approver, { _ = try await arena.audit.verifyAudit(Redoubt_V1_VerifyAuditRequest(), metadata: $0.metadata) }),
                (
                    "CreateBackup", a.officer,
                    {
                        try await arena.backups.createBackup(
                            Redoubt_V1_CreateBackupRequest(path: "mine.rdbk", partition: nil, overwrite: true),
                            metadata: $0.metadata, onResponse: { for try await _ in $0.messages {} })
                    }
                ),
                (
                    "CreateKey", a.auditor,
                    { _ = try await arena.keys.createKey(Redoubt_V1_CreateKeyRequest(spec: KeySpec(algorithm: .p256, label: "x")), metadata: $0.metadata) }
                ),
                (
                    "CreateKey", a.approver,
                    { _ = try await arena.keys.createKey(Redoubt_V1_CreateKeyRequest(spec: KeySpec(algorithm: .p256, label: "x")), metadata: $0.metadata) }
                ),
                ("Random", a.auditor, { _ = try await arena.crypto.random(Redoubt_V1_RandomRequest(count: 32), metadata: $0.metadata) }),
            ]
            for (rpc, person, call) in denied {
                let r = await refusal("\(rpc) by \(person.session.role)") { try await call(person) }
                #expect(r?.code == .permissionDenied, "\(rpc) by \(person.session.role): \(r.map(\.description) ?? "")")
            }

            // The auditor (which may read key metadata, nothing more), the approver, and the
            // officer (who manages keys but does not use them) on every key RPC, on A's own keys.
            let officerManages: Set<String> = [
                "GetKey", "UpdateKey", "RotateKey", "BlockKey", "UnblockKey", "DestroyKey", "RestoreKey", "PurgeKey",
                "ExportPublicKey", "ImportKey(wrapped under)", "Unwrap",
            ]
            for probe in KeyProbe.all(own: own) {
                let key = try #require(mine[probe.target])
                for person in [a.auditor, a.approver, a.officer] {
                    if person.session.role == .auditor && probe.rpc == "GetKey" { continue }
                    if person.session.role == .securityOfficer && officerManages.contains(probe.rpc) { continue }
                    let r = await refusal("\(probe.rpc) by \(person.session.role)") { try await probe.call(arena.grpc, person.metadata, key.id) }
                    #expect(r?.code == .permissionDenied, "\(probe.rpc) by \(person.session.role): \(r.map(\.description) ?? "")")
                }
            }

            let after = try await arena.snapshot(a)
            #expect(after.keys == before.keys)
            #expect(after.users == before.users)
            #expect(try await arena.partitions.listPartitions(Redoubt_V1_ListPartitionsRequest(pageSize: 100, pageToken: ""), metadata: op) == partitionsBefore)
            #expect(try FileManager.default.contentsOfDirectory(atPath: arena.backupDirectory.path).isEmpty)
            // The crypto user still works: the refusals took nothing from it.
            _ = try await arena.crypto.sign(
                Redoubt_V1_SignRequest(key: try #require(mine[.signing]).id, input: .message(Data([1])), scheme: .ed25519),
                metadata: a.user.metadata)
        }
    }
}
