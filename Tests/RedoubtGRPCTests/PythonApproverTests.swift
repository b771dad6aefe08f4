import Foundation
import Redoubt
import RedoubtBroker
@testable import RedoubtClient
import RedoubtProto
@testable import RedoubtTesting
import SwiftProtobuf
import Testing

/// `Examples/python/approve.py`, an approver written from docs/approval-challenge.md alone: it
/// approves an honest request through a real broker, and refuses one whose challenge binds data
/// other than the data shown.
@Suite("the Python approver example (process)")
struct PythonApproverTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/python/approve.py")

    /// Runs the example with the Python scripts/test keeps (grpcio, protobuf), else python3.
    static func python(_ arguments: [String]) async throws -> CLIOverAnyHSMTests.Run {
        let python = ProcessInfo.processInfo.environment["REDOUBT_PYTHON"] ?? "/usr/bin/python3"
        return try await CLIOverAnyHSMTests.run(python, [example.path] + arguments)
    }

    @Test("approve.py checks the digest from the spec, signs with openssl and the request runs; a lying request is refused")
    func approves() async throws {
        let dir = try ServeProcessTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let configuration = RedoubtServer.Configuration(
            broker: BrokerConfiguration(listen: "127.0.0.1:0"), backend: .development(directory: dir.path))
        try await withBroker(configuration: configuration) { listening in
            let credentials = try #require(listening.devCredentials)
            try await withRemoteHSM(configuration: .init(endpoint: "\(listening.endpoint)")) { hsm in
                let officer = try await hsm.openSession(partition: "dev", credential: .apiKey(credentials.securityOfficerAPIKey)).token
                let user = try await hsm.openSession(partition: "dev", credential: .apiKey(credentials.apiKey)).token
                // The approver's key, as `redoubt approver-key generate` writes it.
                let approverKey = try PrivateKey.generate(.ed25519)
                let keyFile = dir.appendingPathComponent("ann.pem")
                let der = try approverKey.pkcs8Representation().exportedBytes()
                let pem = "-----BEGIN PRIVATE KEY-----\n\(der.base64EncodedString(options: [.lineLength64Characters]))\n-----END PRIVATE KEY-----\n"
                try Data(pem.utf8).write(to: keyFile)
                _ = try await hsm.registerApprover(officer, name: "ann", publicKey: approverKey.publicKey)
                let policy = KeyPolicy(use: ApprovalRule(tokens: [ApprovalToken(groups: [ApproverGroup(approvers: ["ann"], quorum: 1)], timeout: 3600)]))
                let key = try await hsm.generateKey(officer, spec: KeySpec(algorithm: .ed25519, label: "treasury", policy: policy))
                let payment = Data("pay 100 EUR to ACME".utf8)
                let paymentFile = dir.appendingPathComponent("payment.txt")
                try payment.write(to: paymentFile)
                let pending = try await hsm.submitRequest(user, key: key.id, operation: .sign(input: .message(payment), scheme: .ed25519))

                let approved = try await Self.python([
                    dir.appendingPathComponent("dev-credentials.json").path, pending.id, "ann", keyFile.path, "--data", paymentFile.path,
                ])
                #expect(approved.status == 0, "\(approved.stderr)")
                #expect(approved.stdout.contains("sign a message of 19 bytes with ED25519"), "\(approved.stdout)")
                #expect(approved.stdout.contains("APPROVAL_STATUS_EXECUTED"), "\(approved.stdout)")
                let done = try await hsm.getRequest(user, id: pending.id)
                #expect(done.status == .executed)
                let signature = try #require(done.result?.data)
                #expect(try VerifyingKey(try #require(key.publicKey)).isValidSignature(signature, for: .message(payment), scheme: .ed25519))

                // A request that shows this payment while its challenge binds another: refused offline.
                let second = try await hsm.submitRequest(user, key: key.id, operation: .sign(input: .message(payment), scheme: .ed25519))
                var lying = second.proto
                lying.operation.sign.input.message = Data("pay 100000 EUR to MALLORY".utf8)
                let file = dir.appendingPathComponent("lying.bin")
                try Data(try lying.serializedBytes() as [UInt8]).write(to: file)
                let refused = try await Self.python(["--request-file", file.path])
                #expect(refused.status == 2, "\(refused)")
                #expect(refused.stderr.contains("is not the SHA-256 of the operation shown"), "\(refused.stderr)")
                // The honest one checks offline too, and --data must be the approver's own copy.
                let honestFile = dir.appendingPathComponent("honest.bin")
                try Data(try second.proto.serializedBytes() as [UInt8]).write(to: honestFile)
                #expect(try await Self.python(["--request-file", honestFile.path, "--data", paymentFile.path]).status == 0)
                try Data("pay 900 EUR to ACME".utf8).write(to: paymentFile)
                let wrongData = try await Self.python(["--request-file", honestFile.path, "--data", paymentFile.path])
                #expect(wrongData.status == 2 && wrongData.stderr.contains("data is not"), "\(wrongData.stderr)")
            }
        }
    }
}
