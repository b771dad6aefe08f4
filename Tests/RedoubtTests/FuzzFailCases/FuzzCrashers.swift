import Foundation
import Testing

// Fuzz crashers as ordinary unit tests. `Crashers/<Target>/<name>` is a byte-for-byte copy of
// `Fuzz/FailCases/<Target>/<name>` (which `Fuzz/run` keeps replaying through the fuzz target);
// each test reads the input the way the target does (its header comment gives the layout) and
// feeds it to the production API the crasher once broke, asserting the specific outcome.

/// The bytes of the bundled crasher `Crashers/<target>/<name>`.
func fuzzCrasher(_ target: String, _ name: String) throws -> [UInt8] {
    let folder = try #require(Bundle.module.url(forResource: "Crashers", withExtension: nil), "no Crashers resource folder")
    let url = folder.appendingPathComponent(target).appendingPathComponent(name)
    return [UInt8](try Data(contentsOf: url))
}

/// Reads a crasher the way the fuzz targets carve their input (`FuzzInput` of `Fuzz/Sources/FuzzSupport`):
/// every read succeeds, yielding zeros and empty fields past the end.
struct FuzzCrasherReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// How many bytes are left.
    var remaining: Int { bytes.count - position }

    /// The next byte, or 0 at the end.
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A big-endian integer of `T`'s width.
    mutating func integer<T: FixedWidthInteger>(_ type: T.Type = T.self) -> T {
        var value: T = 0
        for _ in 0..<MemoryLayout<T>.size { value = value << 8 | T(byte()) }
        return value
    }

    /// Up to `count` next bytes (fewer at the end).
    mutating func take(_ count: Int) -> [UInt8] {
        let n = max(0, min(count, remaining))
        defer { position += n }
        return Array(bytes[position..<position + n])
    }

    /// A field preceded by a one-byte length.
    mutating func shortField() -> [UInt8] { take(Int(byte())) }

    /// A field preceded by a two-byte big-endian length.
    mutating func field() -> [UInt8] { take(Int(integer(UInt16.self))) }

    /// Everything left.
    mutating func rest() -> [UInt8] { take(remaining) }
}
