import Foundation

/// JSON Web Key (RFC 7517/7518/8037/8812) encoding of public keys.
/// ML-DSA and ML-KEM use the draft "AKP" key type (`alg` + `pub`).
extension PublicKey {
    private struct JWK: Codable {
        var kty: String
        var crv: String?
        var alg: String?
        var x: String?
        var y: String?
        var n: String?
        var e: String?
        var pub: String?
        var d: String?
    }

    private static func jwkCurve(_ algorithm: KeyAlgorithm) -> String? {
        switch algorithm {
        case .p256: return "P-256"
        case .p384: return "P-384"
        case .p521: return "P-521"
        case .secp256k1: return "secp256k1"
        case .brainpoolP256r1: return "brainpoolP256r1"
        case .brainpoolP384r1: return "brainpoolP384r1"
        case .ed25519: return "Ed25519"
        case .x25519: return "X25519"
        default: return nil
        }
    }

    /// The key as a public JWK (compact JSON, keys sorted).
    public func jwk() -> String {
        var j = JWK(kty: "")
        let raw = rawRepresentation
        switch algorithm {
        case .p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1:
            let field = algorithm.ecFieldBytes ?? 0
            j.kty = "EC"
            j.crv = Self.jwkCurve(algorithm)
            j.x = Base64URL.encode(raw.dropFirst().prefix(field))
            j.y = Base64URL.encode(raw.dropFirst(1 + field))
        case .ed25519, .x25519:
            j.kty = "OKP"
            j.crv = Self.jwkCurve(algorithm)
            j.x = Base64URL.encode(raw)
        case .rsa2048, .rsa3072, .rsa4096:
            j.kty = "RSA"
            if case .openssl(let k) = storage, let numbers = try? k.rsaPublicNumbers() {
                j.n = Base64URL.encode(numbers.n)
                j.e = Base64URL.encode(numbers.e)
            }
        case .mldsa65, .mldsa87, .mlkem768, .mlkem1024:
            j.kty = "AKP"
            j.alg = algorithm.rawValue
            j.pub = Base64URL.encode(raw)
        case .aes128, .aes192, .aes256, .genericSecret:
            break
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(j)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// Imports a public JWK. Private members (`d`) are refused.
    public init(jwk json: some DataProtocol) throws {
        let data = Data(json)
        guard data.count <= 64 * 1024 else { throw CryptoError.invalidKey("JWK larger than 64 KiB") }
        let j: JWK
        do { j = try JSONDecoder().decode(JWK.self, from: data) } catch {
            throw CryptoError.invalidKey("not a JSON Web Key (need at least \"kty\")")
        }
        guard j.d == nil else { throw CryptoError.invalidKey("JWK carries a private key (\"d\"); only public JWKs are accepted") }
        func member(_ name: String, _ value: String?) throws -> [UInt8] {
            guard let value else { throw CryptoError.invalidKey("JWK is missing \"\(name)\"") }
            guard let bytes = Base64URL.decode(value) else { throw CryptoError.invalidKey("JWK \"\(name)\" is not unpadded base64url") }
            return bytes
        }
        switch j.kty {
        case "EC":
            guard let crv = j.crv,
                let algorithm = [KeyAlgorithm.p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1]
                    .first(where: { Self.jwkCurve($0) == crv }), let field = algorithm.ecFieldBytes
            else { throw CryptoError.invalidKey("JWK EC curve \"\(j.crv ?? "")\" is not supported") }
            let x = try member("x", j.x), y = try member("y", j.y)
            guard x.count == field, y.count == field else {
                throw CryptoError.invalidKey("JWK \(crv) coordinates must be \(field) bytes each")
            }
            try self.init(rawRepresentation: [0x04] + x + y, algorithm: algorithm)
        case "OKP":
            guard let crv = j.crv, let algorithm = [KeyAlgorithm.ed25519, .x25519].first(where: { Self.jwkCurve($0) == crv }) else {
                throw CryptoError.invalidKey("JWK OKP curve \"\(j.crv ?? "")\" is not supported")
            }
            try self.init(rawRepresentation: try member("x", j.x), algorithm: algorithm)
        case "RSA":
            try self.init(rsaModulus: try member("n", j.n), exponent: try member("e", j.e))
        case "AKP":
            guard let alg = j.alg, let algorithm = KeyAlgorithm(rawValue: alg),
                [.mldsa65, .mldsa87, .mlkem768, .mlkem1024].contains(algorithm)
            else { throw CryptoError.invalidKey("JWK AKP algorithm \"\(j.alg ?? "")\" is not supported") }
            try self.init(rawRepresentation: try member("pub", j.pub), algorithm: algorithm)
        default:
            throw CryptoError.invalidKey("JWK key type \"\(j.kty)\" is not supported")
        }
    }
}

/// Unpadded base64url (RFC 4648 §5), strict.
enum Base64URL {
    static func encode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> [UInt8]? {
        guard !text.contains("="), !text.contains("+"), !text.contains("/"), text.count % 4 != 1 else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        s += String(repeating: "=", count: (4 - s.count % 4) % 4)
        guard let d = Data(base64Encoded: s) else { return nil }
        // Refuse non-canonical trailing bits: re-encoding must give the input back.
        guard encode(d) == text else { return nil }
        return Array(d)
    }
}
