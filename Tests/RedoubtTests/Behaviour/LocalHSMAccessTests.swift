import Crypto
import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// Source-address restrictions and client-certificate credentials: facts only the transport
/// knows, so these are LocalHSM tests with the call context set by hand (as the broker does).
@Suite("LocalHSM access: sources and certificates")
struct LocalHSMAccessTests {
    @Test("settings refuse malformed CIDR blocks, naming the entry")
    func malformedBlocks() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration()) { f, hsm in
            for bad in ["10.0.0.1/8", "10.0.0.0/33", "not-an-address", "::1/129", "10.0.0.0/", "", "1.2.3.4/-1"] {
                var settings = PartitionSettings.defaults
                settings.allowedSources = ["127.0.0.0/8", bad]
                let error = await #expect(throws: HSMError.self) {
                    _ = try await hsm.updatePartition(f.operatorToken, id: "alpha", settings: settings)
                }
                #expect(error?.code == .invalidArgument, "\(bad)")
                #expect(error?.message.contains("allowed_sources[1]") == true, "\(bad): \(error?.message ?? "")")
            }
            let unchanged = try await hsm.listPartitions(f.operatorToken).first { $0.id == "alpha" }
            #expect(unchanged?.settings.allowedSources == [])
        }
    }

    @Test("a partition with allowed sources refuses sessions and calls from elsewhere")
    func sourceRestriction() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration()) { f, hsm in
            var settings = PartitionSettings.defaults
            settings.allowedSources = ["10.1.0.0/16", "2001:db8::/32"]
            _ = try await hsm.updatePartition(f.operatorToken, id: "alpha", settings: settings)

            // Opening from an allowed address works, from elsewhere fails.
            let allowed = try await HSMCallContext.$sourceAddress.withValue("10.1.200.3") {
                try await hsm.openSession(partition: "alpha", credential: .apiKey(f.alpha.user.apiKey))
            }
            let denied = await #expect(throws: HSMError.self) {
                try await HSMCallContext.$sourceAddress.withValue("10.2.0.1") {
                    _ = try await hsm.openSession(partition: "alpha", credential: .apiKey(f.alpha.user.apiKey))
                }
            }
            #expect(denied?.code == .permissionDenied)
            #expect(denied?.message.contains("10.2.0.1") == true)

            // A token from an allowed address is refused when replayed from another one.
            let key = try await HSMCallContext.$sourceAddress.withValue("2001:db8:1::9") {
                try await hsm.generateKey(allowed.token, spec: KeySpec(algorithm: .p256, label: "src"))
            }
            let replay = await #expect(throws: HSMError.self) {
                try await HSMCallContext.$sourceAddress.withValue("192.0.2.1") {
                    _ = try await hsm.getKey(allowed.token, id: key.id)
                }
            }
            #expect(replay?.code == .permissionDenied)
            // IPv4-mapped IPv6 counts as IPv4.
            let mapped = try await HSMCallContext.$sourceAddress.withValue("::ffff:10.1.0.7") {
                try await hsm.getKey(allowed.token, id: key.id)
            }
            #expect(mapped.id == key.id)
            // Another partition without restrictions is unaffected.
            let other = try await HSMCallContext.$sourceAddress.withValue("192.0.2.1") {
                try await hsm.generateKey(f.beta.user.token, spec: KeySpec(algorithm: .p256, label: "free"))
            }
            #expect(other.label == "free")
        }
    }

    @Test("a registered client certificate opens a session for its user, and only it")
    func clientCertificate() async throws {
        try await LocalHSMSupport.withFixture(LocalHSMSupport.configuration()) { f, hsm in
            let certificate = Data("a DER certificate would go here".utf8)
            let fingerprint = Data(SHA256.hash(data: certificate))
            let new = try await hsm.addUser(
                f.alpha.officer.token, name: "svc", role: .cryptoUser, password: nil,
                clientCertificateSHA256: fingerprint)
            #expect(new.user.hasClientCertificate)
            let session = try await hsm.openSession(partition: "alpha", credential: .clientCertificate(sha256: fingerprint))
            #expect(session.user == new.user.id)
            #expect(session.role == .cryptoUser)

            // Another certificate, the right one on another partition, a wrong length: all coarse.
            for (partition, fp) in [("alpha", Data(SHA256.hash(data: Data("other".utf8)))), ("beta", fingerprint), ("alpha", Data([1, 2, 3]))] {
                let error = await #expect(throws: HSMError.self) {
                    _ = try await hsm.openSession(partition: partition, credential: .clientCertificate(sha256: fp))
                }
                #expect(error?.code == .unauthenticated)
                #expect(error?.message == "invalid credentials")
            }
            // One certificate, one user per partition.
            let duplicate = await #expect(throws: HSMError.self) {
                _ = try await hsm.addUser(
                    f.alpha.officer.token, name: "svc2", role: .cryptoUser, password: nil,
                    clientCertificateSHA256: fingerprint)
            }
            #expect(duplicate?.code == .alreadyExists)
            let badLength = await #expect(throws: HSMError.self) {
                _ = try await hsm.addUser(
                    f.alpha.officer.token, name: "svc3", role: .cryptoUser, password: nil,
                    clientCertificateSHA256: Data(count: 20))
            }
            #expect(badLength?.code == .invalidArgument)
            #expect(try await hsm.listUsers(f.alpha.officer.token).contains { $0.name == "svc3" } == false)

            // Removing the user removes the certificate credential.
            try await hsm.removeUser(f.alpha.officer.token, id: new.user.id)
            let gone = await #expect(throws: HSMError.self) {
                _ = try await hsm.openSession(partition: "alpha", credential: .clientCertificate(sha256: fingerprint))
            }
            #expect(gone?.code == .unauthenticated)
        }
    }
}
