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
        let process = Process()
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
        let signed = try await Self.run(["approve", "--key-file", keyFile, "--challenge", challengeFile.path])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.stderr.contains(challenge.requestID) && signed.stderr.contains("payments"))
        let signature = try #require(Data(base64Encoded: signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(approver.isValidSignature(signature, for: challenge.bytes))

        // Base64 on standard input works too; --reject needs a reject challenge.
        var reject = challenge
        reject.decision = .reject
        let rejected = try await Self.run(
            ["approve", "--key-file", keyFile, "--challenge", "-", "--reject"],
            stdin: Data(reject.bytes.base64EncodedString().utf8))
        #expect(rejected.status == 0, "\(rejected.stderr)")
        let rejection = try #require(Data(base64Encoded: rejected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(approver.isValidSignature(rejection, for: reject.bytes))
        #expect(!approver.isValidSignature(rejection, for: challenge.bytes))
        let mismatch = try await Self.run(["approve", "--key-file", keyFile, "--challenge", challengeFile.path, "--reject"])
        #expect(mismatch.status != 0)
        #expect(mismatch.stdout.isEmpty)
        let garbage = try await Self.run(["approve", "--key-file", keyFile, "--challenge", "-"], stdin: Data("not a challenge".utf8))
        #expect(garbage.status != 0)
        #expect(garbage.stderr.contains("challenge"))
    }
}
