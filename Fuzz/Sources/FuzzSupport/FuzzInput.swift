/// A cursor that carves typed values out of a fuzzer's bytes.
///
/// Every read succeeds: past the end it yields zeros and empty slices, so a
/// target never branches on "enough input" and libFuzzer's mutations of any
/// byte map to one decision. Reads are little helpers, not a format: targets
/// document their own layout next to their entry point.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var position = 0

    /// Copies the fuzzer's buffer.
    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        self.bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Wraps bytes already in hand.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// How many bytes are left.
    public var remaining: Int { bytes.count - position }

    /// The next byte, or 0 at the end.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// The next byte as a boolean (its lowest bit).
    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A big-endian UInt16 from the next two bytes.
    public mutating func uint16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    /// A big-endian integer of `T`'s width.
    public mutating func integer<T: FixedWidthInteger>(_ type: T.Type = T.self) -> T {
        var value: T = 0
        for _ in 0..<MemoryLayout<T>.size { value = value << 8 | T(byte()) }
        return value
    }

    /// An element of `choices` picked by the next byte (modulo their count).
    public mutating func pick<C: Collection>(_ choices: C) -> C.Element where C.Index == Int {
        let index = Int(byte()) % choices.count
        return choices[choices.startIndex + index]
    }

    /// Up to `count` next bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let n = max(0, min(count, remaining))
        defer { position += n }
        return Array(bytes[position..<position + n])
    }

    /// A field preceded by a one-byte length.
    public mutating func shortField() -> [UInt8] { take(Int(byte())) }

    /// A field preceded by a two-byte big-endian length.
    public mutating func field() -> [UInt8] { take(Int(uint16())) }

    /// Everything left.
    public mutating func rest() -> [UInt8] { take(remaining) }
}
