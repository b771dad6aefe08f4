import Foundation

/// Shamir secret sharing over GF(2^8), byte by byte.
///
/// Each byte of the secret is the constant term of its own random polynomial
/// of degree `threshold − 1`; share *i* holds the polynomials evaluated at
/// x = *i* (1…`count`). Any `threshold` shares give the secret back by Lagrange
/// interpolation at 0; fewer reveal nothing about it. Coefficients come from the
/// system CSPRNG, and the arithmetic runs in constant time.
///
/// ```swift
/// let shares = try Shamir.split(secret, threshold: 3, count: 5)
/// let back = try Shamir.combine([shares[0], shares[2], shares[4]])   // == secret
/// ```
///
/// ``MasterKey`` uses this for its M-of-N unseal; ``MasterKeyShare`` adds the
/// key id, a check value and a printable form.
public enum Shamir {
    /// The largest secret one call splits (64 KiB).
    public static let maximumSecretByteCount = 1 << 16

    /// Splits `secret` into `count` shares, any `threshold` of which recover it.
    ///
    /// - Parameters:
    ///   - secret: 1 byte to ``maximumSecretByteCount`` bytes.
    ///   - threshold: How many shares recover the secret: 2 to `count`. A
    ///     threshold of 1 is refused, as every share would be the secret itself.
    ///   - count: How many shares to make: up to 255.
    /// - Returns: The shares with their x-coordinates 1…`count`, each as long as the secret.
    /// - Throws: ``SealingError/Code/invalidArgument`` for out-of-range parameters.
    public static func split(_ secret: SecretBytes, threshold: Int, count: Int) throws -> [(index: UInt8, bytes: SecretBytes)] {
        guard threshold >= 2 else {
            throw SealingError.invalidArgument(
                "a Shamir threshold must be at least 2, got \(threshold): a threshold of 1 would make every share the secret itself")
        }
        guard count >= threshold, count <= 255 else {
            throw SealingError.invalidArgument("a Shamir share count must be between the threshold (\(threshold)) and 255, got \(count)")
        }
        guard secret.count >= 1, secret.count <= maximumSecretByteCount else {
            throw SealingError.invalidArgument("a Shamir secret must be 1 to \(maximumSecretByteCount) bytes, got \(secret.count)")
        }
        let length = secret.count
        // Coefficients 1…threshold−1 of every byte's polynomial, from the CSPRNG.
        let random: SecretBytes
        do {
            random = try SecretBytes.random(count: (threshold - 1) * length)
        } catch {
            throw SealingError.internalFailure("the system random generator failed")
        }
        var shares: [(index: UInt8, bytes: SecretBytes)] = []
        shares.reserveCapacity(count)
        var y = [UInt8](repeating: 0, count: length)
        defer { Bytes.zeroize(&y) }
        secret.withUnsafeBytes { s in
            random.withUnsafeBytes { r in
                for x in 1...count {
                    let xb = UInt8(x)
                    for byte in 0..<length {
                        // Horner: ((c_{t-1}·x + c_{t-2})·x + … + c_1)·x + c_0.
                        var acc: UInt8 = 0
                        for degree in stride(from: threshold - 1, through: 1, by: -1) {
                            acc = GF256.multiply(acc, xb) ^ r[(degree - 1) * length + byte]
                        }
                        y[byte] = GF256.multiply(acc, xb) ^ s[byte]
                    }
                    shares.append((index: xb, bytes: SecretBytes(y)))
                }
            }
        }
        return shares
    }

    /// Recovers the secret from shares made by ``split(_:threshold:count:)``.
    ///
    /// Give at least the threshold number of distinct shares: with fewer, the
    /// result is a value unrelated to the secret (the scheme cannot tell).
    /// Callers that must know check the result, as ``MasterKey`` does with its
    /// key-check value.
    ///
    /// - Throws: ``SealingError/Code/invalidShare`` when there are no shares, an
    ///   index is 0 or repeated, or the shares differ in length.
    public static func combine(_ shares: [(index: UInt8, bytes: SecretBytes)]) throws -> SecretBytes {
        guard let length = shares.first?.bytes.count else {
            throw SealingError.invalidShare("no shares given")
        }
        guard shares.allSatisfy({ $0.bytes.count == length }) else {
            throw SealingError.invalidShare("shares differ in length: they do not belong to one secret")
        }
        var seen = Set<UInt8>()
        for share in shares {
            guard share.index != 0 else { throw SealingError.invalidShare("share index 0 is not valid: indices start at 1") }
            guard seen.insert(share.index).inserted else {
                throw SealingError.invalidShare("share \(share.index) is given twice: pass each share once")
            }
        }
        // Lagrange basis at 0: l_i = Π_{j≠i} x_j / (x_j − x_i); in GF(2^8) subtraction is XOR.
        let xs = shares.map(\.index)
        var basis: [UInt8] = []
        for (i, xi) in xs.enumerated() {
            var numerator: UInt8 = 1
            var denominator: UInt8 = 1
            for (j, xj) in xs.enumerated() where j != i {
                numerator = GF256.multiply(numerator, xj)
                denominator = GF256.multiply(denominator, xj ^ xi)
            }
            basis.append(GF256.multiply(numerator, GF256.inverse(denominator)))
        }
        var secret = [UInt8](repeating: 0, count: length)
        defer { Bytes.zeroize(&secret) }
        for (i, share) in shares.enumerated() {
            share.bytes.withUnsafeBytes { y in
                for byte in 0..<length {
                    secret[byte] ^= GF256.multiply(y[byte], basis[i])
                }
            }
        }
        return SecretBytes(secret)
    }
}
