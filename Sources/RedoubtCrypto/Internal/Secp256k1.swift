import CSecp256k1
import Crypto
import Foundation

/// libsecp256k1 behind a safe wrapper. One randomised context, shared:
/// libsecp256k1 contexts are safe for concurrent use by const functions.
final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()

    let pointer: OpaquePointer

    private init() {
        // SECP256K1_CONTEXT_NONE: every function is available in 0.2+.
        guard let ctx = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            // Only fails on an illegal flag, which a constant cannot be.
            preconditionFailure("libsecp256k1 refused a constant flag")
        }
        var seed = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<32 { seed[i] = UInt8.random(in: 0...255, using: &rng) }
        _ = secp256k1_context_randomize(ctx, seed)
        self.pointer = ctx
    }
}

enum Secp256k1 {
    static var ctx: OpaquePointer { Secp256k1Context.shared.pointer }

    /// Whether 32 bytes are a valid secret key (0 < k < n).
    static func isValidScalar(_ scalar: UnsafeRawBufferPointer) -> Bool {
        guard scalar.count == 32, let base = scalar.bindMemory(to: UInt8.self).baseAddress else { return false }
        return secp256k1_ec_seckey_verify(ctx, base) == 1
    }

    /// Calls `body` with a pointer to a 32-byte scalar.
    static func withScalar<R>(_ scalar: SecretBytes, _ body: (UnsafePointer<UInt8>) -> R) throws -> R {
        try scalar.withUnsafeBytes { s in
            guard s.count == 32, let base = s.bindMemory(to: UInt8.self).baseAddress else {
                throw CryptoError.invalidKey("secp256k1 private key must be 32 bytes")
            }
            return body(base)
        }
    }

    static func generateScalar() throws -> SecretBytes {
        for _ in 0..<64 {
            let candidate = try SecretBytes.random(count: 32)
            if candidate.withUnsafeBytes(isValidScalar) { return candidate }
        }
        throw CryptoError.internalFailure("secp256k1: no valid scalar from the CSPRNG")
    }

    /// Public key (parsed form) of a secret scalar.
    static func publicKey(of scalar: SecretBytes) throws -> secp256k1_pubkey {
        var pub = secp256k1_pubkey()
        let ok = try withScalar(scalar) { secp256k1_ec_pubkey_create(ctx, &pub, $0) == 1 }
        guard ok else { throw CryptoError.invalidKey("secp256k1 private key out of range") }
        return pub
    }

    static func parsePublicKey(_ bytes: [UInt8]) -> secp256k1_pubkey? {
        guard bytes.count == 33 || bytes.count == 65 else { return nil }
        var pub = secp256k1_pubkey()
        return secp256k1_ec_pubkey_parse(ctx, &pub, bytes, bytes.count) == 1 ? pub : nil
    }

    static func serialize(_ pub: secp256k1_pubkey, compressed: Bool = false) -> Data {
        var pubCopy = pub
        var out = [UInt8](repeating: 0, count: 65)
        var len = out.count
        _ = secp256k1_ec_pubkey_serialize(
            ctx, &out, &len, &pubCopy,
            UInt32(compressed ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED))
        return Data(out[0..<len])
    }

    /// bits2int for a 256-bit curve: the leftmost 32 bytes of the digest.
    static func message32(_ digest: [UInt8]) -> [UInt8] {
        digest.count >= 32 ? Array(digest[0..<32]) : [UInt8](repeating: 0, count: 32 - digest.count) + digest
    }

    /// RFC 6979 deterministic, low-S signature over a digest.
    static func sign(digest: [UInt8], scalar: SecretBytes, encoding: ECDSASignatureEncoding) throws -> Data {
        let msg = message32(digest)
        var sig = secp256k1_ecdsa_signature()
        let ok = try withScalar(scalar) { secp256k1_ecdsa_sign(ctx, &sig, msg, $0, nil, nil) == 1 }
        guard ok else { throw CryptoError.invalidKey("secp256k1 private key out of range") }
        switch encoding {
        case .raw:
            var out = [UInt8](repeating: 0, count: 64)
            _ = secp256k1_ecdsa_signature_serialize_compact(ctx, &out, &sig)
            return Data(out)
        case .der:
            var out = [UInt8](repeating: 0, count: 72)
            var len = out.count
            _ = secp256k1_ecdsa_signature_serialize_der(ctx, &out, &len, &sig)
            return Data(out[0..<len])
        }
    }

    /// Verifies over a digest. Malformed encodings throw; a wrong signature is `false`.
    static func verify(
        signature: [UInt8], digest: [UInt8], publicKey: secp256k1_pubkey,
        encoding: ECDSASignatureEncoding, lowS: LowSPolicy
    ) throws -> Bool {
        var sig = secp256k1_ecdsa_signature()
        switch encoding {
        case .raw:
            guard signature.count == 64 else {
                throw CryptoError.malformedSignature("secp256k1 raw signature must be 64 bytes, got \(signature.count)")
            }
            // Rejects r or s >= n.
            guard secp256k1_ecdsa_signature_parse_compact(ctx, &sig, signature) == 1 else { return false }
        case .der:
            // Strict DER. libsecp256k1 accepts out-of-range values here and fails them at verification.
            guard (try? DERCodec.ecdsaRaw(fromDER: signature, fieldBytes: 32)) != nil,
                secp256k1_ecdsa_signature_parse_der(ctx, &sig, signature, signature.count) == 1
            else {
                throw CryptoError.malformedSignature("secp256k1 signature is not strict DER")
            }
        }
        if lowS == .standard {
            var normalized = secp256k1_ecdsa_signature()
            _ = secp256k1_ecdsa_signature_normalize(ctx, &normalized, &sig)
            sig = normalized
        }
        var pub = publicKey
        return secp256k1_ecdsa_verify(ctx, &sig, message32(digest), &pub) == 1
    }
}
