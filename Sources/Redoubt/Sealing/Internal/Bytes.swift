import Foundation
import RedoubtCore

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Byte helpers shared by sealing and backup: zeroizing, hex, base64url, big-endian integers.
enum Bytes {
    /// Overwrites `buffer` with zeros in a way the optimizer keeps.
    static func zeroize(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        #if canImport(Darwin)
        _ = memset_s(base, buffer.count, 0, buffer.count)
        #else
        explicit_bzero(base, buffer.count)
        #endif
    }

    /// Zeroizes the bytes of `data` (keeping its length).
    static func zeroize(_ data: inout Data) {
        data.withUnsafeMutableBytes { zeroize($0) }
    }

    /// Zeroizes the bytes of `array` (keeping its length).
    static func zeroize(_ array: inout [UInt8]) {
        array.withUnsafeMutableBytes { zeroize($0) }
    }

    /// Whether `text` is exactly `byteCount` bytes of lowercase hex.
    static func isLowercaseHex(_ text: String, byteCount: Int) -> Bool {
        text.utf8.count == byteCount * 2
            && text.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            }
    }

    /// Base64url without padding (RFC 4648 §5).
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url without padding; `nil` for any character outside the alphabet.
    static func fromBase64URL(_ text: some StringProtocol) -> Data? {
        let allowed = text.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
        }
        guard allowed, text.utf8.count % 4 != 1 else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard)
    }

    /// Appends `value` big-endian.
    static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.bigEndian) { data.append(contentsOf: $0) }
    }

    /// Appends a UInt32 big-endian length followed by the UTF-8 bytes of `field`.
    static func appendLengthPrefixed(_ field: String, to data: inout Data) {
        let utf8 = Array(field.utf8)
        append(UInt32(truncatingIfNeeded: utf8.count), to: &data)
        data.append(contentsOf: utf8)
    }

    /// Reads a big-endian integer from the first bytes of `bytes` (which must be long enough).
    static func readBigEndian<T: FixedWidthInteger>(_ type: T.Type, from bytes: some Collection<UInt8>) -> T {
        var value: T = 0
        for byte in bytes.prefix(MemoryLayout<T>.size) {
            value = value << 8 | T(byte)
        }
        return value
    }
}
