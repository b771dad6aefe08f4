import Foundation
import RedoubtCrypto

/// Keys that are the same in every fuzz run, so committed seeds (signatures,
/// ciphertexts, sealed blobs) stay valid against them and mutations explore
/// the neighbourhood of real values. Fuzzing keys only: never use them elsewhere.
public enum FixedKeys {
    /// Deterministic bytes for `label`: SHA-512 in counter mode.
    public static func bytes(_ label: String, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var counter = 0
        while out.count < count {
            out += Hashing.digest(Data("redoubt-fuzz/\(label)/\(counter)".utf8), .sha512)
            counter += 1
        }
        return Array(out.prefix(count))
    }

    /// The raw private value of the fixed key of `algorithm` (nil for RSA and secret keys).
    public static func rawPrivate(_ algorithm: KeyAlgorithm) -> [UInt8]? {
        var b: [UInt8]
        switch algorithm {
        case .p256, .secp256k1, .ed25519, .x25519, .mldsa65, .mldsa87: b = bytes(algorithm.rawValue, count: 32)
        case .brainpoolP256r1:
            b = bytes(algorithm.rawValue, count: 32)
            b[0] &= 0x7f
        case .p384: b = bytes(algorithm.rawValue, count: 48)
        case .brainpoolP384r1:
            b = bytes(algorithm.rawValue, count: 48)
            b[0] &= 0x7f
        case .p521:
            b = bytes(algorithm.rawValue, count: 66)
            b[0] &= 0x01
        case .mlkem768, .mlkem1024: b = bytes(algorithm.rawValue, count: 64)
        default: return nil
        }
        return b
    }

    /// The fixed private key of `algorithm` (RSA: the 2048-bit fixture below; 3072/4096 are not fixed).
    public static func privateKey(_ algorithm: KeyAlgorithm) -> PrivateKey {
        do {
            if algorithm == .rsa2048 { return try PrivateKey(pkcs8PEM: rsa2048PKCS8PEM) }
            guard let raw = rawPrivate(algorithm) else { fuzzFail("no fixed key for \(algorithm)") }
            return try PrivateKey(rawRepresentation: raw, algorithm: algorithm)
        } catch {
            fuzzFail("fixed \(algorithm) key does not import: \(error)")
        }
    }

    /// A fixed secret key of `algorithm` (generic secrets: `byteCount` bytes).
    public static func secretKey(_ algorithm: KeyAlgorithm, byteCount: Int = 32) -> SecretKey {
        let count = algorithm == .genericSecret ? byteCount : algorithm.bitSize / 8
        do {
            return try SecretKey(algorithm: algorithm, material: SecretBytes(bytes("secret/\(algorithm.rawValue)/\(count)", count: count)))
        } catch {
            fuzzFail("fixed \(algorithm) secret key: \(error)")
        }
    }

    /// Every asymmetric algorithm with a fixed key (RSA only at 2048 bits: key generation is slow).
    public static let asymmetric: [KeyAlgorithm] = [
        .p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1,
        .ed25519, .x25519, .rsa2048, .mldsa65, .mldsa87, .mlkem768, .mlkem1024,
    ]

    /// Generated once with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`.
    public static let rsa2048PKCS8PEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDfbQMNbEZsAXHv
        Inu+qDnYWoKaQ0uRELQ0W8KjXF4HmlK+DZEiWtAWqP6dpljYlmOYfuXBpJq35FX6
        ZLHGRD38SXsB6nRp0vBRsfT09a2vgMChp5ranDvZ5qK0QReoK5+pUOkg/Ka1NzXk
        4bIvPMRlLBYVEuNwGs24abgtUceVOonCE4H31ZbILtSm4n1EO33re35gD1GZN3Xk
        4pBMJYbyDvg6HM5RjlGaeE5HirPJ7PC2Ky5Q6fVf/hQ/ZwSBFWbd3tRRFL/4zmnd
        6xSAp6yVCm1KH8uswQeLxaO7ujL3IvWL0BMwtFVA+riDaT/VkRvE60ly07CpPBWl
        eD5v4KBRAgMBAAECggEAGKq86Qj4t2jrbsbkWZbSGBhaDfT7DU+GTbeJxCZo/Tbl
        BrWRvfS/v5i1z6rzaSolYcs0y43ERSQw992RIP4cx9NHAN2lL5/Jx4M5s6fCHru8
        yLwr5RHVq8eCVBtRpM/4JyXXLzylnSE00om2de+kETVuVLJKqPBUoRUO7/X07n0c
        mrEmn2OyZIBAPOLmhKOgYW2sSWG48DoNnOKKo+V/MuonXfo2qfpdEZOwO2pzntVW
        1MMrfIJXQu6/gKh4SIrM8LZpb8sF+wDBwqdopZuKH5r5Yz1ChJqwzK3TDGWieAlj
        ujyYyvJ3AAO8ssPWMlqOUzGRVVmAzQMzm28idgPrPwKBgQD+YAAs329ctYtsx4P7
        ifBxEHfhSPnJhNhIbB4yWf5oQhjGkla6g3p5LxbbJrDAujr6pkhwUzmDu8PfurwO
        3yA2fAc7IqwOlaih6exGXxI5+ujNPGjOMWJtj4sOPWJ+eGNjt0zLcbMLjNpTBioO
        uHZ90Km+NqA92d5zZcUNP2PZ/wKBgQDg2mXLbQ4VIMAS3VRxt2MFLQaPcuXTlawe
        mJ9N66NJV6fZqGzpdvff/j0RJ4Oizo9aRoOceo4maV7cvbQAXtGzzgr3aV978XWu
        EzILSW8ao7dXMkIeBQew88S0KT6bXlOYSF/c27Uq1Za0DYwlqUHds7mFMBs+Eu0H
        eCjfmGNlrwKBgH16TZvU+9H3m7clE+3YtUqQnRH8NXs6lJXk/2BHFD/Jmv8Y4L9Q
        a/GrUNL52ua29rD9pW4DH7Pjw1NxgaK0XeeCdu6sw8LOAEkeYvaznwIKyxuyWOCd
        a7gvvqBfl15bdGuT18XjaDaiXG/n8ocgZxLZA2JY/+KCvkCeSv2l71NxAoGBAIto
        vT5gEiAlWxEXKvkKY5lc7jlYWohRvxKFPBf6phWeBFKd61Dg0xSMs94D6sixWw30
        tDr7fVDxecBQ2d50632YnRICwhG9hmH0Qs3erMUOhmjIn1evdLJQoT+2Zru7wwai
        sNTlX7D8FmDyGVdsVosXmEmspudYop9D78uZ1t6/AoGAe0mf+hpvx/YFeY8Kyokj
        1gop3j4Lmg3UfLePfimLyoXPgHa3x3JRSPiPRA54Db7XLz9w+SLYTaAJLDBIpAtJ
        aPeiQqMAkrFr9wpMwwmsi1p6IQzwgapspnNUZMQQHTHwpsQsPSY0tChR5Jgv6yyf
        zW9zAJ2qGASdcWiCtMccIFM=
        -----END PRIVATE KEY-----
        """
}
