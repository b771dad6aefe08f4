import Foundation
import Testing

extension CLIOverAnyHSMTests {
    /// The auditor exports a checkpoint, verifies the log against it, and checks its signature
    /// offline with openssl over bytes built from docs/audit-checkpoints.md (not by Redoubt).
    static func checkpointRoundTrip(_ auditor: [String], in scratch: URL) async throws {
        let file = scratch.appendingPathComponent("checkpoint-\(UUID().uuidString).json")
        let exported = try await Self.succeed(["audit", "checkpoint", "--out", file.path] + auditor)
        #expect(exported.line.contains("written to \(file.path)"), "\(exported)")
        let again = try await Self.redoubt(["audit", "checkpoint", "--out", file.path] + auditor)
        #expect(again.status != 0 && again.stderr.contains("must not exist"), "\(again)")
        let verified = try await Self.succeed(
            ["audit", "verify", "--checkpoint", file.path, "--pin-key", file.path, "--json"] + auditor
        ).json()
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let sequence = try #require(fields["sequence"] as? Int64)
        #expect(verified["intact"] as? Bool == true, "\(verified)")
        #expect((verified["anchored_through"] as? Int64 ?? 0) >= sequence, "\(verified)")

        // Offline: rebuild the signed bytes from the spec and let openssl check the Ed25519 signature.
        func unhex(_ key: String) throws -> Data {
            let text = try #require(fields[key] as? String)
            return Data(
                stride(from: 0, to: text.count, by: 2).compactMap {
                    UInt8(text.dropFirst($0).prefix(2), radix: 16)
                })
        }
        func bigEndian<T: FixedWidthInteger>(_ value: T) -> Data { withUnsafeBytes(of: value.bigEndian) { Data($0) } }
        let partition = Data(try #require(fields["partition"] as? String).utf8)
        var signed = Data("redoubt/audit-checkpoint/v1".utf8) + Data([0])
        signed += bigEndian(UInt32(partition.count)) + partition + bigEndian(UInt64(sequence)) + (try unhex("hash"))
        signed += bigEndian(try #require(fields["time_ms"] as? Int64))
        signed += bigEndian(UInt64(try #require(fields["signed_from"] as? Int64)))
        let spki = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + (try unhex("public_key"))
        let message = scratch.appendingPathComponent("checkpoint.msg")
        let signature = scratch.appendingPathComponent("checkpoint.sig")
        let key = scratch.appendingPathComponent("checkpoint-key.der")
        try signed.write(to: message)
        try (try unhex("signature")).write(to: signature)
        try spki.write(to: key)
        let openssl = try await Self.run(
            "/usr/bin/openssl",
            [
                "pkeyutl", "-verify", "-pubin", "-inkey", key.path, "-keyform", "DER", "-rawin", "-in", message.path,
                "-sigfile", signature.path,
            ])
        #expect(openssl.status == 0 && openssl.stdout.contains("Signature Verified Successfully"), "\(openssl)")
        // One flipped byte of the sequence and openssl refuses it.
        var wrong = signed
        wrong[wrong.count - 60] ^= 1
        try wrong.write(to: message)
        let refused = try await Self.run(
            "/usr/bin/openssl",
            [
                "pkeyutl", "-verify", "-pubin", "-inkey", key.path, "-keyform", "DER", "-rawin", "-in", message.path,
                "-sigfile", signature.path,
            ])
        #expect(refused.status != 0, "\(refused)")
    }
}
