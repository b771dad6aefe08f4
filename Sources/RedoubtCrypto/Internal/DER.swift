import Foundation
import SwiftASN1

/// Object identifiers for the algorithms the engine knows.
enum OID {
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    static let ed25519: ASN1ObjectIdentifier = [1, 3, 101, 112]
    static let x25519: ASN1ObjectIdentifier = [1, 3, 101, 110]
    static let mldsa65: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 3, 18]
    static let mldsa87: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 3, 19]
    static let mlkem768: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 4, 2]
    static let mlkem1024: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 4, 3]

    static let p256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]
    static let p384: ASN1ObjectIdentifier = [1, 3, 132, 0, 34]
    static let p521: ASN1ObjectIdentifier = [1, 3, 132, 0, 35]
    static let secp256k1: ASN1ObjectIdentifier = [1, 3, 132, 0, 10]
    static let brainpoolP256r1: ASN1ObjectIdentifier = [1, 3, 36, 3, 3, 2, 8, 1, 1, 7]
    static let brainpoolP384r1: ASN1ObjectIdentifier = [1, 3, 36, 3, 3, 2, 8, 1, 1, 11]

    static func curve(_ algorithm: KeyAlgorithm) -> ASN1ObjectIdentifier? {
        switch algorithm {
        case .p256: return p256
        case .p384: return p384
        case .p521: return p521
        case .secp256k1: return secp256k1
        case .brainpoolP256r1: return brainpoolP256r1
        case .brainpoolP384r1: return brainpoolP384r1
        default: return nil
        }
    }

    static func algorithm(forCurve oid: ASN1ObjectIdentifier) -> KeyAlgorithm? {
        for a in [KeyAlgorithm.p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1] where curve(a) == oid {
            return a
        }
        return nil
    }
}

/// An AlgorithmIdentifier: OID and its parameters, kept as the raw node.
struct AlgorithmIdentifier {
    var oid: ASN1ObjectIdentifier
    /// The parameters if present: `nil` when absent.
    var parameters: ASN1Node?

    init(oid: ASN1ObjectIdentifier, parameters: ASN1Node?) {
        self.oid = oid
        self.parameters = parameters
    }

    init(derEncoded node: ASN1Node) throws {
        self = try DER.sequence(node, identifier: .sequence) { nodes in
            let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let params = nodes.next()
            guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "extra AlgorithmIdentifier fields") }
            return AlgorithmIdentifier(oid: oid, parameters: params)
        }
    }

    /// The parameters as a named-curve OID, or nil if absent or not an OID.
    var namedCurve: ASN1ObjectIdentifier? {
        guard let parameters else { return nil }
        return try? ASN1ObjectIdentifier(derEncoded: parameters)
    }

    /// Whether the parameters are exactly an ASN.1 NULL.
    var parametersAreNull: Bool {
        guard let parameters else { return false }
        return (try? ASN1Null(derEncoded: parameters)) != nil
    }
}

enum DERCodec {
    /// Parses `SubjectPublicKeyInfo`; the BIT STRING must have no unused bits.
    static func parseSPKI(_ bytes: [UInt8]) throws -> (AlgorithmIdentifier, [UInt8]) {
        let root = try DER.parse(bytes)
        return try DER.sequence(root, identifier: .sequence) { nodes in
            guard let algNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no algorithm") }
            let alg = try AlgorithmIdentifier(derEncoded: algNode)
            let bits = try ASN1BitString(derEncoded: &nodes)
            guard bits.paddingBits == 0 else { throw ASN1Error.invalidASN1Object(reason: "padded key bits") }
            guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "extra SPKI fields") }
            return (alg, Array(bits.bytes))
        }
    }

    /// Encodes `SubjectPublicKeyInfo`.
    static func encodeSPKI(oid: ASN1ObjectIdentifier, curve: ASN1ObjectIdentifier?, nullParameters: Bool = false, key: [UInt8]) -> Data {
        var coder = DER.Serializer()
        // Serialising plain values into a fresh serializer cannot fail.
        try? coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(oid)
                if let curve { try coder.serialize(curve) }
                if nullParameters { try coder.serialize(ASN1Null()) }
            }
            try coder.serialize(ASN1BitString(bytes: key[...], paddingBits: 0))
        }
        return Data(coder.serializedBytes)
    }

    /// The `SubjectPublicKeyInfo` of an RSA public key (RFC 8017 `RSAPublicKey` in the BIT STRING).
    static func rsaSPKI(modulus: [UInt8], exponent: [UInt8]) -> Data {
        // The unsigned serializer adds the sign byte where needed.
        func integer(_ v: [UInt8]) -> ArraySlice<UInt8> {
            let trimmed = v.drop(while: { $0 == 0 })
            return trimmed.isEmpty ? [0][...] : trimmed
        }
        var coder = DER.Serializer()
        try? coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(integer(modulus))
            try coder.serialize(integer(exponent))
        }
        return encodeSPKI(oid: OID.rsaEncryption, curve: nil, nullParameters: true, key: coder.serializedBytes)
    }

    /// Parses PKCS#8 `PrivateKeyInfo` (v1) or `OneAsymmetricKey` (v2; the public key is returned too).
    static func parsePKCS8(_ bytes: [UInt8]) throws -> (AlgorithmIdentifier, [UInt8], [UInt8]?) {
        let root = try DER.parse(bytes)
        return try DER.sequence(root, identifier: .sequence) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard version == 0 || version == 1 else { throw ASN1Error.invalidASN1Object(reason: "PKCS#8 version") }
            guard let algNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no algorithm") }
            let alg = try AlgorithmIdentifier(derEncoded: algNode)
            let key = try ASN1OctetString(derEncoded: &nodes)
            var publicKey: [UInt8]?
            while let node = nodes.next() {
                // [0] attributes are skipped; [1] IMPLICIT BIT STRING public key (v2 only).
                if node.identifier == ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific) {
                    let bits = try ASN1BitString(derEncoded: node, withIdentifier: node.identifier)
                    publicKey = Array(bits.bytes)
                } else if node.identifier != ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                    throw ASN1Error.invalidASN1Object(reason: "unexpected PKCS#8 field")
                }
            }
            return (alg, Array(key.bytes), publicKey)
        }
    }

    /// Encodes PKCS#8 `PrivateKeyInfo` (v1).
    static func encodePKCS8(oid: ASN1ObjectIdentifier, curve: ASN1ObjectIdentifier?, privateKey: [UInt8]) -> [UInt8] {
        var coder = DER.Serializer()
        try? coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(0)
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(oid)
                if let curve { try coder.serialize(curve) }
            }
            try coder.serialize(ASN1OctetString(contentBytes: privateKey[...]))
        }
        return coder.serializedBytes
    }

    /// Parses SEC 1 `ECPrivateKey`: the scalar and, when present, the public point.
    static func parseECPrivateKey(_ bytes: [UInt8]) throws -> (scalar: [UInt8], curve: ASN1ObjectIdentifier?, publicKey: [UInt8]?) {
        let root = try DER.parse(bytes)
        return try DER.sequence(root, identifier: .sequence) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard version == 1 else { throw ASN1Error.invalidASN1Object(reason: "ECPrivateKey version") }
            let scalar = try ASN1OctetString(derEncoded: &nodes)
            let curve = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) {
                try ASN1ObjectIdentifier(derEncoded: $0)
            }
            let pub = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) {
                try ASN1BitString(derEncoded: $0)
            }
            guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "extra ECPrivateKey fields") }
            return (Array(scalar.bytes), curve, pub.map { Array($0.bytes) })
        }
    }

    /// Encodes SEC 1 `ECPrivateKey` with the public point (curve left to the PKCS#8 wrapper).
    static func encodeECPrivateKey(scalar: [UInt8], publicKey: [UInt8]?) -> [UInt8] {
        var coder = DER.Serializer()
        try? coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)
            try coder.serialize(ASN1OctetString(contentBytes: scalar[...]))
            if let publicKey {
                try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { coder in
                    try coder.serialize(ASN1BitString(bytes: publicKey[...], paddingBits: 0))
                }
            }
        }
        return coder.serializedBytes
    }

    /// Encodes a bare OCTET STRING (the inner key of Ed25519/X25519 PKCS#8).
    static func encodeOctetString(_ bytes: [UInt8]) -> [UInt8] {
        var coder = DER.Serializer()
        try? coder.serialize(ASN1OctetString(contentBytes: bytes[...]))
        return coder.serializedBytes
    }

    /// Parses a bare OCTET STRING.
    static func parseOctetString(_ bytes: [UInt8]) throws -> [UInt8] {
        Array(try ASN1OctetString(derEncoded: try DER.parse(bytes)).bytes)
    }

    /// Encodes an `[0] IMPLICIT OCTET STRING` (the seed form of ML-DSA/ML-KEM private keys).
    static func encodeSeed(_ seed: [UInt8]) -> [UInt8] {
        var coder = DER.Serializer()
        try? ASN1OctetString(contentBytes: seed[...]).serialize(into: &coder, withIdentifier: .init(tagWithNumber: 0, tagClass: .contextSpecific))
        return coder.serializedBytes
    }

    /// Parses the ML-DSA/ML-KEM private key CHOICE; only forms that carry the seed are accepted.
    static func parseSeed(_ bytes: [UInt8]) throws -> [UInt8] {
        let node = try DER.parse(bytes)
        let seedTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        if node.identifier == seedTag {
            return Array(try ASN1OctetString(derEncoded: node, withIdentifier: seedTag).bytes)
        }
        if node.identifier == .sequence {
            // both SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING }
            return try DER.sequence(node, identifier: .sequence) { nodes in
                let seed = try ASN1OctetString(derEncoded: &nodes)
                _ = try ASN1OctetString(derEncoded: &nodes)
                guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "extra fields") }
                return Array(seed.bytes)
            }
        }
        throw ASN1Error.invalidASN1Object(reason: "private key without seed")
    }

    /// ECDSA `SEQUENCE { r, s }` → fixed-width `r ‖ s`. Strict DER; r and s must be positive and fit.
    static func ecdsaRaw(fromDER bytes: [UInt8], fieldBytes: Int) throws -> [UInt8] {
        let root = try DER.parse(bytes)
        let (r, s) = try DER.sequence(root, identifier: .sequence) { nodes -> (ArraySlice<UInt8>, ArraySlice<UInt8>) in
            let r = try ArraySlice<UInt8>(derEncoded: &nodes)
            let s = try ArraySlice<UInt8>(derEncoded: &nodes)
            guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "extra fields") }
            return (r, s)
        }
        func fixed(_ v: ArraySlice<UInt8>) throws -> [UInt8] {
            // The unsigned parser already rejected negatives and stripped the sign byte.
            let trimmed = v.drop(while: { $0 == 0 })
            guard trimmed.count <= fieldBytes else { throw ASN1Error.invalidASN1Object(reason: "too large") }
            return [UInt8](repeating: 0, count: fieldBytes - trimmed.count) + trimmed
        }
        return try fixed(r) + fixed(s)
    }

    /// Fixed-width `r ‖ s` → DER `SEQUENCE { r, s }`.
    static func ecdsaDER(fromRaw raw: [UInt8]) -> [UInt8] {
        let half = raw.count / 2
        // The unsigned serializer adds the sign byte where needed.
        func integer(_ v: ArraySlice<UInt8>) -> ArraySlice<UInt8> { v.drop(while: { $0 == 0 }) }
        var coder = DER.Serializer()
        try? coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(integer(raw[0..<half]))
            try coder.serialize(integer(raw[half...]))
        }
        return coder.serializedBytes
    }
}
