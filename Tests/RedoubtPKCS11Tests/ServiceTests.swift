import CPKCS11
import Foundation
import Redoubt
import RedoubtCrypto
import RedoubtStore
import Testing

extension RedoubtPKCS11Tests {
    @Suite("What a long-running host meets: approval policies, expired sessions, the log")
    struct Service {
        @Test("a key under an approval policy: C_Sign answers CKR_FUNCTION_REJECTED, the log names the pending request and holds no secret")
        func approvalPolicy() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            // The security officer registers an approver and makes a P-256 key whose use needs one approval.
            let store = try SQLiteStore(path: fx.storePath)
            let hsm = try await LocalHSM.open(store: store, unseal: .devKeyFile(fx.devKeyPath))
            let officer = try await hsm.openSession(partition: "p11", credential: .apiKey(fx.officerAPIKey))
            _ = try await hsm.registerApprover(officer.token, name: "ann", publicKey: try PrivateKey.generate(.ed25519).publicKey)
            let policy = KeyPolicy(
                use: ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: ["ann"], quorum: 1)], timelock: 0, timeout: 3600)]))
            _ = try await hsm.generateKey(
                officer.token, spec: KeySpec(algorithm: .p256, label: "governed", policy: policy, applicationID: Data([0x90, 0x01])))
            try await hsm.closeSession(officer.token)
            try await hsm.close()
            try await store.close()

            let log = fx.dir + "/module.log"
            let text = try fx.configuration().replacingOccurrences(of: "{\"slots\"", with: "{\"logFile\":\"\(log)\",\"slots\"")
            let config = try fx.writeConfig(text, name: "logged.json")
            let p11 = try Cryptoki.initialized(config: config)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            var privateClass = CK_OBJECT_CLASS(CKO_PRIVATE_KEY)
            let found = try p11.find(
                s, AttributeTemplate().bytes(UInt(CKA_ID), [0x90, 0x01]).bytes(UInt(CKA_CLASS), withUnsafeBytes(of: &privateClass) { Array($0) }))
            let key = try #require(found.first, "the governed key is not found")
            var m = mechanism(UInt(CKM_ECDSA_SHA256))
            try requireRV(p11.f.C_SignInit!(s, &m, key), CKR_OK, "C_SignInit")
            var data: [UInt8] = Array("pay 100".utf8)
            var signature = [UInt8](repeating: 0, count: 64)
            var length = CK_ULONG(64)
            expectRV(p11.f.C_Sign!(s, &data, CK_ULONG(data.count), &signature, &length), CKR_FUNCTION_REJECTED, "C_Sign with a governed key")
            let written = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(written.contains("C_Sign failed") && written.contains("CKR_FUNCTION_REJECTED"), "log: \(written)")
            #expect(written.range(of: #"approval request r[0-9a-f]+ is pending"#, options: .regularExpression) != nil, "log: \(written)")
            #expect(!written.contains(fx.userAPIKey) && !written.contains(fx.officerAPIKey), "the log holds an API key")
        }

        @Test("a Redoubt session that expired (idle timeout) is opened again without the application noticing")
        func expiredSessionReopens() async throws {
            var settings = PartitionSettings.defaults
            settings.sessionIdleTimeout = 10  // the shortest allowed
            let fx = try await Fixture.make(settings: settings)
            defer { fx.remove() }
            let log = fx.dir + "/module.log"
            let config = try fx.writeConfig(
                try fx.configuration().replacingOccurrences(of: "{\"slots\"", with: "{\"logFile\":\"\(log)\",\"slots\""), name: "logged.json")
            let p11 = try Cryptoki.initialized(config: config)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let key = try p11.generateP256(s, label: "long-lived", id: [0x91])
            var m = mechanism(UInt(CKM_ECDSA_SHA256))
            _ = try p11.sign(s, &m, key.priv, Array("before".utf8))
            // Past the idle timeout: the HSM has ended the module's session (only lateness matters here).
            try await Task.sleep(for: .seconds(11))
            let after = try p11.sign(s, &m, key.priv, Array("after".utf8))
            #expect(after.count == 64)
            #expect(try p11.sessionState(s) == UInt(CKS_RW_USER_FUNCTIONS))
            // It did expire, and the module opened another.
            let written = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(written.contains("the Redoubt session ended; opening another"), "log: \(written)")
        }
    }
}
