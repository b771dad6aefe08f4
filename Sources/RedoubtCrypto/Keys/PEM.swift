import Foundation

/// PEM (RFC 7468) armour.
enum PEM {
    /// Decodes a single PEM block with the given label; strict base64, nothing else but whitespace around it.
    static func decode(_ text: String, label: String) throws -> [UInt8] {
        guard text.utf8.count <= 64 * 1024 else { throw CryptoError.invalidKey("PEM text larger than 64 KiB") }
        let begin = "-----BEGIN \(label)-----", end = "-----END \(label)-----"
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix(begin), trimmed.hasSuffix(end), trimmed.count >= begin.count + end.count else {
            throw CryptoError.invalidKey("expected one PEM block labelled \"\(label)\"")
        }
        let body = trimmed.dropFirst(begin.count).dropLast(end.count)
        let base64 = body.filter { !$0.isWhitespace }
        guard !base64.contains("-"), let der = Data(base64Encoded: String(base64)), !der.isEmpty else {
            throw CryptoError.invalidKey("PEM body is not valid base64")
        }
        return Array(der)
    }

    /// Encodes DER as a PEM block with 64-character lines.
    static func encode(_ der: some DataProtocol, label: String) -> String {
        let b64 = Data(der).base64EncodedString()
        var lines: [Substring] = []
        var rest = Substring(b64)
        while !rest.isEmpty {
            lines.append(rest.prefix(64))
            rest = rest.dropFirst(64)
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }
}
