import Foundation
import Redoubt
@testable import RedoubtTesting
import Testing

/// `redoubt approver-key generate` and `redoubt approve` as an approver runs them, offline.
@Suite("redoubt approve (process)")
struct ApproveCommandTests {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], stdin: Data? = nil) async throws -> Output {
        let process = ChildProcess()
        process.executableURL = try ServeProcessTests.executable()
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        await process.exited()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("a generated key file signs a challenge that the printed public key verifies; decisions must match", arguments: ["ed25519", "p256", "ml-dsa-65"])
    func generateAndApprove(algorithm: String) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-approve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyFile = dir.appendingPathComponent("approver.pem").path
        let generated = try await Self.run(["approver-key", "generate", "--out", keyFile, "--algorithm", algorithm])
        #expect(generated.status == 0, "\(generated.stderr)")
        let approver = Approver(name: "ann", publicKey: try PublicKey(pem: generated.stdout))
        let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try await Self.run(["approver-key", "generate", "--out", keyFile]).status != 0, "an existing key file is never overwritten")

        let challenge = ApprovalChallenge(
            requestID: "r" + String(repeating: "1f", count: 16), partition: "payments",
            keyID: "k" + String(repeating: "2e", count: 16), operation: .sign,
            operationDigest: Data(repeating: 9, count: 32), decision: .approve)
        let challengeFile = dir.appendingPathComponent("challenge.bin")
        try challenge.bytes.write(to: challengeFile)
        let signed = try await Self.run(["approve", "--key-file", keyFile, "--challenge", challengeFile.path, "--skip-operation-check"])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.stderr.contains(challenge.requestID) && signed.stderr.contains("payments"))
        let signature = try #require(Data(base64Encoded: signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(approver.isValidSignature(signature, for: challenge.bytes))

        // Base64 on standard input works too; --reject needs a reject challenge.
        var reject = challenge
        reject.decision = .reject
        let rejected = try await Self.run(
            ["approve", "--key-file", keyFile, "--challenge", "-", "--reject", "--skip-operation-check"],
            stdin: Data(reject.bytes.base64EncodedString().utf8))
        #expect(rejected.status == 0, "\(rejected.stderr)")
        let rejection = try #require(Data(base64Encoded: rejected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(approver.isValidSignature(rejection, for: reject.bytes))
        #expect(!approver.isValidSignature(rejection, for: challenge.bytes))
        let mismatch = try await Self.run(["approve", "--key-file", keyFile, "--challenge", challengeFile.path, "--reject", "--skip-operation-check"])
        #expect(mismatch.status != 0)
        #expect(mismatch.stdout.isEmpty)
        let garbage = try await Self.run(["approve", "--key-file", keyFile, "--challenge", "-", "--skip-operation-check"], stdin: Data("not a challenge".utf8))
        #expect(garbage.status != 0)
        #expect(garbage.stderr.contains("challenge"))
    }

    /// A request file as `redoubt requests get --json` writes it, for `operation` on key `keyID`,
    /// whose challenges bind `bound` (the operation itself unless a test makes them lie).
    static func requestFile(_ operation: ApprovalOperation, bound: ApprovalOperation? = nil) throws -> (json: Data, challenge: ApprovalChallenge) {
        let requestID = "r" + String(repeating: "3c", count: 16)
        let keyID = "k" + String(repeating: "4d", count: 16)
        let digest = (bound ?? operation).digest
        let challenge = ApprovalChallenge(
            requestID: requestID, partition: "payments", keyID: keyID, operation: (bound ?? operation).kind, operationDigest: digest,
            decision: .approve)
        var reject = challenge
        reject.decision = .reject
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dataEncodingStrategy = .base64
        let operationJSON = try JSONSerialization.jsonObject(with: try encoder.encode(operation))
        let object: [String: Any] = [
            "id": requestID, "partition": "payments", "key_id": keyID, "operation": operation.kind.rawValue,
            "operation_digest": digest.map { String(format: "%02x", $0) }.joined(), "operation_data": operationJSON,
            "approve_challenge": challenge.bytes.base64EncodedString(), "reject_challenge": reject.bytes.base64EncodedString(),
        ]
        return (try JSONSerialization.data(withJSONObject: object), challenge)
    }

    @Test("approve --request rebuilds the digest from the operation shown and refuses a challenge bound to other data")
    func refusesAnotherOperation() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-approve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyFile = dir.appendingPathComponent("ann.pem").path
        let generated = try await Self.run(["approver-key", "generate", "--out", keyFile])
        let approver = Approver(name: "ann", publicKey: try PublicKey(pem: generated.stdout))
        let payment = Data("pay 100 EUR to ACME".utf8)
        let paymentFile = dir.appendingPathComponent("payment.txt")
        try payment.write(to: paymentFile)
        let shown = ApprovalOperation.sign(input: .message(payment), scheme: .ed25519)

        // Honest: the challenge binds the operation shown; the signature verifies.
        let (honest, challenge) = try Self.requestFile(shown)
        let signed = try await Self.run(["approve", "--key-file", keyFile, "--request", "-", "--data", paymentFile.path], stdin: honest)
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.stderr.contains("sign a message of 19 bytes") && signed.stderr.contains("ED25519"), "\(signed.stderr)")
        let signature = try #require(Data(base64Encoded: signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(approver.isValidSignature(signature, for: challenge.bytes))

        // A broker that shows this payment but collects approvals for another: refused, nothing signed.
        let other = ApprovalOperation.sign(input: .message(Data("pay 100000 EUR to MALLORY".utf8)), scheme: .ed25519)
        let (lying, _) = try Self.requestFile(shown, bound: other)
        let refused = try await Self.run(["approve", "--key-file", keyFile, "--request", "-"], stdin: lying)
        #expect(refused.status != 0 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderr.contains("is not the SHA-256 of the operation shown"), "\(refused.stderr)")

        // Data that is not the approver's own copy: refused.
        try Data("pay 900 EUR to ACME".utf8).write(to: paymentFile)
        let wrongData = try await Self.run(["approve", "--key-file", keyFile, "--request", "-", "--data", paymentFile.path], stdin: honest)
        #expect(wrongData.status != 0 && wrongData.stdout.isEmpty && wrongData.stderr.contains("is not your --data"), "\(wrongData.stderr)")

        // A bare challenge is only signed when the approver says it skips the check.
        let bare = try await Self.run(["approve", "--key-file", keyFile, "--challenge", "-"], stdin: Data(challenge.bytes.base64EncodedString().utf8))
        #expect(bare.status != 0 && bare.stdout.isEmpty && bare.stderr.contains("--request"), "\(bare.stderr)")
    }
}
