import Foundation
import RedoubtCore
import RedoubtCrypto
import RedoubtProto

// Signature schemes, signing inputs and key derivations, both directions.

extension SignatureScheme {
    /// The scheme of a request; exactly one member of the oneof is required, and a hash where
    /// the scheme has one. An unset ECDSA encoding means DER, an unset low-S policy STANDARD.
    package init(proto: Redoubt_V1_SignatureScheme, isSet: Bool = true, at path: FieldPath) throws {
        guard isSet, let scheme = proto.scheme else {
            throw path.invalid("is unset; choose one of ecdsa, ed25519, rsa_pss, rsa_pkcs1v15, rsa_pkcs1v15_raw, ml_dsa to fit the key")
        }
        switch scheme {
        case .ecdsa(let e):
            self = .ecdsa(
                try HashAlgorithm.protoMapping.model(e.hash, at: path + "ecdsa.hash"),
                encoding: try ECDSASignatureEncoding.protoMapping.model(e.encoding, at: path + "ecdsa.encoding", default: .der),
                lowS: try LowSPolicy.protoMapping.model(e.lowS, at: path + "ecdsa.low_s", default: .standard))
        case .ed25519:
            self = .ed25519
        case .rsaPss(let r):
            self = .rsaPSS(try HashAlgorithm.protoMapping.model(r.hash, at: path + "rsa_pss.hash"))
        case .rsaPkcs1V15(let r):
            self = .rsaPKCS1v15(try HashAlgorithm.protoMapping.model(r.hash, at: path + "rsa_pkcs1v15.hash"))
        case .mlDsa(let m):
            self = .mldsa(context: m.context)
        case .rsaPkcs1V15Raw:
            self = .rsaPKCS1v15Raw
        }
    }

    /// The proto scheme, every parameter explicit.
    package var proto: Redoubt_V1_SignatureScheme {
        var p = Redoubt_V1_SignatureScheme()
        switch self {
        case .ecdsa(let hash, let encoding, let lowS):
            var e = Redoubt_V1_SignatureScheme.Ecdsa()
            e.hash = HashAlgorithm.protoMapping.proto(hash)
            e.encoding = ECDSASignatureEncoding.protoMapping.proto(encoding)
            e.lowS = LowSPolicy.protoMapping.proto(lowS)
            p.ecdsa = e
        case .ed25519:
            p.ed25519 = Redoubt_V1_SignatureScheme.Ed25519()
        case .rsaPSS(let hash):
            var r = Redoubt_V1_SignatureScheme.RsaPss()
            r.hash = HashAlgorithm.protoMapping.proto(hash)
            p.rsaPss = r
        case .rsaPKCS1v15(let hash):
            var r = Redoubt_V1_SignatureScheme.RsaPkcs1v15()
            r.hash = HashAlgorithm.protoMapping.proto(hash)
            p.rsaPkcs1V15 = r
        case .rsaPKCS1v15Raw:
            p.rsaPkcs1V15Raw = Redoubt_V1_SignatureScheme.RsaPkcs1v15Raw()
        case .mldsa(let context):
            var m = Redoubt_V1_SignatureScheme.MlDsa()
            m.context = context
            p.mlDsa = m
        }
        return p
    }
}

extension SigningInput {
    /// The input of a request; exactly one of message and digest is required, at most `limit` bytes.
    package init(proto: Redoubt_V1_SigningInput, isSet: Bool = true, at path: FieldPath, limit: Int) throws {
        guard isSet, let input = proto.input else { throw path.invalid("is unset; send the message or its digest") }
        switch input {
        case .message(let data):
            try (path + "message").checkSize(data, limit: limit)
            self = .message(data)
        case .digest(let data):
            try (path + "digest").checkSize(data, limit: limit)
            self = .digest(data)
        }
    }

    /// The proto input.
    package var proto: Redoubt_V1_SigningInput {
        var p = Redoubt_V1_SigningInput()
        switch self {
        case .message(let data): p.message = data
        case .digest(let data): p.digest = data
        }
        return p
    }

    /// The bytes, whichever kind.
    package var bytes: Data {
        switch self {
        case .message(let data), .digest(let data): return data
        }
    }
}

extension Redoubt_V1_SigningInput {
    /// Refuses message or digest bytes over `limit`.
    package func checkSize(at path: FieldPath, limit: Int) throws {
        switch input {
        case .message(let data): try (path + "message").checkSize(data, limit: limit)
        case .digest(let data): try (path + "digest").checkSize(data, limit: limit)
        case nil: break
        }
    }
}

extension KeyDerivation {
    /// The KDF of a request; exactly one function is required (HKDF today), with its hash.
    package init(proto: Redoubt_V1_KeyDerivation, isSet: Bool, at path: FieldPath, limit: Int) throws {
        guard isSet, let function = proto.function else { throw path.invalid("is unset; choose hkdf or identity") }
        switch function {
        case .identity(let i):
            guard i.outputLengthBytes <= 1024 else {
                throw (path + "identity.output_length_bytes").invalid("is \(i.outputLengthBytes); a shared secret is at most 66 bytes")
            }
            self = .identity(outputByteCount: Int(i.outputLengthBytes))
        case .hkdf(let h):
            try (path + "hkdf.salt").checkSize(h.salt, limit: limit)
            try (path + "hkdf.info").checkSize(h.info, limit: limit)
            self = .hkdf(
                try HashAlgorithm.protoMapping.model(h.hash, at: path + "hkdf.hash"),
                salt: h.salt, info: h.info, outputByteCount: Int(h.outputLengthBytes))
        }
    }

    /// The proto KDF.
    package var proto: Redoubt_V1_KeyDerivation {
        var p = Redoubt_V1_KeyDerivation()
        if isIdentity {
            var i = Redoubt_V1_KeyDerivation.Identity()
            i.outputLengthBytes = UInt32(clamping: outputByteCount)
            p.identity = i
            return p
        }
        var h = Redoubt_V1_KeyDerivation.Hkdf()
        h.hash = HashAlgorithm.protoMapping.proto(hash)
        h.salt = salt
        h.info = info
        h.outputLengthBytes = UInt32(clamping: outputByteCount)
        p.hkdf = h
        return p
    }
}
