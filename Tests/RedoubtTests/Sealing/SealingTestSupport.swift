import Foundation
import Redoubt
import Testing

/// Cheap scrypt parameters so passphrase tests stay fast (production default is 2^15).
let fastScrypt = ScryptParameters(n: 1 << 10, r: 8, p: 1)

/// A passphrase long enough to be accepted.
let testPassphrase = "correct horse battery staple"

/// A fresh directory removed when the value goes away.
final class ScratchDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("redoubt-seal-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Runs `body`, expecting a ``SealingError`` with `code`; returns it for further checks.
@discardableResult
func expectSealingError<R>(
    _ code: SealingError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> R
) -> SealingError? {
    do {
        _ = try body()
        Issue.record("expected SealingError \(code), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as SealingError {
        #expect(error.code == code, "got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected SealingError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Printable encodings of `bytes` that must never appear in descriptions or stored text.
func printableForms(of bytes: Data) -> [String] {
    let hex = bytes.map { String(format: "%02x", $0) }.joined()
    let base64 = bytes.base64EncodedString()
    let base64URL = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
    // Prefixes catch partial leaks too; 12 hex digits / 8 base64 characters are never a coincidence.
    return [hex, hex.uppercased(), String(hex.prefix(12)), base64, String(base64.prefix(8)), String(base64URL.prefix(8))]
}

/// Whether `text` contains any printable form of `bytes`.
func leaks(_ bytes: Data, in text: String) -> Bool {
    printableForms(of: bytes).contains { text.contains($0) }
}

/// The master key bytes, rebuilt from its shares (test-only route to the secret).
func masterBytes(from shares: [MasterKeyShare]) throws -> Data {
    try Shamir.combine(shares.map { (index: $0.index, bytes: $0.bytes) }).exportedBytes()
}

/// The share text form built by hand from parts, with a correct checksum.
func shareText(keyID: String, index: Int, threshold: Int, bytes: Data) -> String {
    let b64 = bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    let body = "redoubt-share-1-\(keyID)-\(index)-\(threshold)-\(b64)"
    let checksum = Hashing.digest(Data(body.utf8), .sha256).prefix(4).map { String(format: "%02x", $0) }.joined()
    return body + "-" + checksum
}
