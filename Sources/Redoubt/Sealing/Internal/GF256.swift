/// Arithmetic in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B).
///
/// Multiplication and inversion run in constant time (no table lookups, no
/// branches on operands), so share bytes never steer memory access or timing.
enum GF256 {
    /// The product of `a` and `b`.
    @inline(__always)
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a
        var b = b
        var product: UInt8 = 0
        for _ in 0..<8 {
            product ^= a & (0 &- (b & 1))
            let carry = a >> 7
            a = (a << 1) ^ (0x1B & (0 &- carry))
            b >>= 1
        }
        return product
    }

    /// The multiplicative inverse of `a` (a^254); the inverse of 0 is 0.
    static func inverse(_ a: UInt8) -> UInt8 {
        // 254 = 2 + 4 + 8 + 16 + 32 + 64 + 128.
        var power = multiply(a, a)  // a^2
        var result = power
        for _ in 0..<6 {
            power = multiply(power, power)
            result = multiply(result, power)
        }
        return result
    }
}
