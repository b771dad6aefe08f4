/// A deliberately small, independent DER reader/writer for the fuzz targets:
/// ECDSA signature conversions (checked against the engine's own) and seed building.
public enum MiniDER {
    /// Tag-length-value with a minimal (DER) length.
    public static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    /// A DER length.
    public static func length(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        var bytes: [UInt8] = []
        var v = n
        while v > 0 {
            bytes.insert(UInt8(v & 0xff), at: 0)
            v >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    /// `SEQUENCE { … }`.
    public static func sequence(_ parts: [UInt8]...) -> [UInt8] { tlv(0x30, parts.flatMap { $0 }) }

    /// A non-negative INTEGER from big-endian magnitude bytes.
    public static func unsignedInteger(_ magnitude: some Collection<UInt8>) -> [UInt8] {
        var v = Array(magnitude.drop(while: { $0 == 0 }))
        if v.isEmpty { v = [0] } else if v[0] & 0x80 != 0 { v.insert(0, at: 0) }
        return tlv(0x02, v)
    }

    /// Reads one TLV at `offset` strictly (definite, minimal lengths); returns tag, content range and end.
    public static func read(_ bytes: [UInt8], at offset: Int) -> (tag: UInt8, content: Range<Int>, end: Int)? {
        guard offset + 2 <= bytes.count else { return nil }
        let tag = bytes[offset]
        let first = bytes[offset + 1]
        var cursor = offset + 2
        var len = 0
        if first < 0x80 {
            len = Int(first)
        } else {
            let n = Int(first & 0x7f)
            guard n >= 1, n <= 3, cursor + n <= bytes.count, bytes[cursor] != 0 else { return nil }
            for _ in 0..<n {
                len = len << 8 | Int(bytes[cursor])
                cursor += 1
            }
            guard len >= 0x80 else { return nil }
        }
        guard cursor + len <= bytes.count else { return nil }
        return (tag, cursor..<cursor + len, cursor + len)
    }

    /// ECDSA `SEQUENCE { r INTEGER, s INTEGER }` → fixed-width `r ‖ s`; nil unless strict DER of positive values that fit.
    public static func ecdsaRaw(fromDER der: [UInt8], fieldBytes: Int) -> [UInt8]? {
        guard let seq = read(der, at: 0), seq.tag == 0x30, seq.end == der.count else { return nil }
        guard let r = read(der, at: seq.content.lowerBound), r.tag == 0x02,
            let s = read(der, at: r.end), s.tag == 0x02, s.end == seq.content.upperBound
        else { return nil }
        func fixed(_ range: Range<Int>) -> [UInt8]? {
            let v = Array(der[range])
            guard let first = v.first, first & 0x80 == 0 else { return nil }  // empty or negative
            if v.count > 1, first == 0, v[1] & 0x80 == 0 { return nil }  // non-minimal
            let trimmed = Array(v.drop(while: { $0 == 0 }))
            guard trimmed.count <= fieldBytes else { return nil }
            return [UInt8](repeating: 0, count: fieldBytes - trimmed.count) + trimmed
        }
        guard let rr = fixed(r.content), let ss = fixed(s.content) else { return nil }
        return rr + ss
    }

    /// Fixed-width `r ‖ s` → DER.
    public static func ecdsaDER(fromRaw raw: [UInt8]) -> [UInt8] {
        let half = raw.count / 2
        return sequence(unsignedInteger(raw[0..<half]), unsignedInteger(raw[half...]))
    }
}
