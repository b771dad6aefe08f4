import CPKCS11
import Crypto
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("C_WrapKey and C_UnwrapKey: AES key wrap with and without padding, checked by swift-crypto")
    struct Wrapping {
        static let kekBytes = Data((0..<32).map { UInt8(0x10 &+ $0) })
        static let targetBytes = Data((0..<32).map { UInt8(0xf0 &- $0) })
        static let kekID: [UInt8] = [0x77, 0x01], targetID: [UInt8] = [0x77, 0x02], lockedID: [UInt8] = [0x77, 0x03]

        static func session() async throws -> (Fixture, Cryptoki, CK_SESSION_HANDLE) {
            let fx = try await Fixture.make()
            try await fx.importSecrets([(.aes256, kekBytes, id: kekID, usage: [.wrap, .unwrap, .encrypt])])
            try await fx.importSecrets([(.aes256, targetBytes, id: targetID, usage: [.encrypt, .decrypt])], extractable: true)
            try await fx.importSecrets([(.aes256, Data(repeating: 9, count: 32), id: lockedID, usage: [.encrypt, .decrypt])])
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            return (fx, p11, try p11.userSession(fx))
        }

        /// C_WrapKey with a size query first.
        static func wrap(_ p11: Cryptoki, _ s: CK_SESSION_HANDLE, _ type: UInt, kek: CK_OBJECT_HANDLE, key: CK_OBJECT_HANDLE) -> (CK_RV, [UInt8]) {
            var m = mechanism(type)
            var length: CK_ULONG = 0
            let sized = p11.f.C_WrapKey!(s, &m, kek, key, nil, &length)
            guard sized == CKR_OK else { return (sized, []) }
            var out = [UInt8](repeating: 0, count: Int(length))
            let rv = p11.f.C_WrapKey!(s, &m, kek, key, &out, &length)
            return (rv, Array(out.prefix(Int(length))))
        }

        static func unwrap(_ p11: Cryptoki, _ s: CK_SESSION_HANDLE, _ type: UInt, kek: CK_OBJECT_HANDLE, _ wrapped: [UInt8], _ template: AttributeTemplate)
            -> (CK_RV, CK_OBJECT_HANDLE)
        {
            var m = mechanism(type)
            var bytes = wrapped
            var handle: CK_OBJECT_HANDLE = 0
            let rv = template.with { p11.f.C_UnwrapKey!(s, &m, kek, &bytes, CK_ULONG(bytes.count), $0, $1, &handle) }
            return (rv, handle)
        }

        static var aesTemplate: AttributeTemplate {
            AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_AES)).bool(UInt(CKA_ENCRYPT), true)
                .bool(UInt(CKA_DECRYPT), true)
        }

        @Test("CKM_AES_KEY_WRAP gives swift-crypto's RFC 3394 bytes; CKM_AES_KEY_WRAP_PAD (RFC 5649) round-trips; the unwrapped key encrypts as the original")
        func wrapAndUnwrap() async throws {
            let (fx, p11, s) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let kek = try p11.secretKey(s, id: Self.kekID), target = try p11.secretKey(s, id: Self.targetID)
            let (rv, kw) = Self.wrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, key: target)
            try requireRV(rv, CKR_OK, "C_WrapKey(CKM_AES_KEY_WRAP)")
            let expected = try AES.KeyWrap.wrap(SymmetricKey(data: Self.targetBytes), using: SymmetricKey(data: Self.kekBytes))
            #expect(Data(kw) == expected, "RFC 3394 output differs from swift-crypto's")

            let (rvPad, kwp) = Self.wrap(p11, s, UInt(CKM_AES_KEY_WRAP_PAD), kek: kek, key: target)
            try requireRV(rvPad, CKR_OK, "C_WrapKey(CKM_AES_KEY_WRAP_PAD)")
            #expect(kwp.count == 40 && kwp != kw)
            for (type, wrapped) in [(UInt(CKM_AES_KEY_WRAP), kw), (UInt(CKM_AES_KEY_WRAP_PAD), kwp)] {
                let (unwrapRV, handle) = Self.unwrap(p11, s, type, kek: kek, wrapped, Self.aesTemplate)
                try requireRV(unwrapRV, CKR_OK, "C_UnwrapKey(0x\(String(type, radix: 16)))")
                #expect(p11.attribute(s, handle, UInt(CKA_VALUE_LEN)).value == ulongBytes(32))
                // The unwrapped key is the original: AES-CBC-PAD under it equals swift-crypto's.
                var iv = [UInt8](repeating: 0x11, count: 16)
                let sealed = iv.withUnsafeMutableBytes { raw -> (rv: CK_RV, out: [UInt8]) in
                    var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_AES_CBC_PAD), pParameter: raw.baseAddress, ulParameterLen: 16)
                    return p11.crypt(s, encrypt: true, &m, handle, Array("same key?".utf8))
                }
                let reference = try AES._CBC.encrypt(Array("same key?".utf8), using: SymmetricKey(data: Self.targetBytes), iv: try AES._CBC.IV(ivBytes: iv))
                #expect(sealed.rv == CKR_OK && Data(sealed.out) == reference)
            }

            // A short buffer keeps the wrapped key for the next call.
            var m = mechanism(UInt(CKM_AES_KEY_WRAP))
            var small = [UInt8](repeating: 0, count: 8)
            var length = CK_ULONG(small.count)
            expectRV(p11.f.C_WrapKey!(s, &m, kek, target, &small, &length), CKR_BUFFER_TOO_SMALL, "C_WrapKey into 8 bytes")
            #expect(length == 40)
            var out = [UInt8](repeating: 0, count: 40)
            expectRV(p11.f.C_WrapKey!(s, &m, kek, target, &out, &length), CKR_OK, "C_WrapKey after CKR_BUFFER_TOO_SMALL")
            #expect(Data(out) == expected)
        }

        @Test(
            "wrapping refuses non-extractable keys, keys without CKA_WRAP, other key types and IVs; unwrapping refuses altered bytes, bad lengths and templates"
        )
        func refusals() async throws {
            let (fx, p11, s) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let kek = try p11.secretKey(s, id: Self.kekID), target = try p11.secretKey(s, id: Self.targetID)
            let locked = try p11.secretKey(s, id: Self.lockedID)
            expectRV(Self.wrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, key: locked).0, CKR_KEY_UNEXTRACTABLE, "a non-extractable key")
            expectRV(Self.wrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: target, key: target).0, CKR_KEY_FUNCTION_NOT_PERMITTED, "a wrapping key without CKA_WRAP")
            expectRV(Self.wrap(p11, s, UInt(CKM_AES_GCM), kek: kek, key: target).0, CKR_MECHANISM_INVALID, "CKM_AES_GCM")
            var iv: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
            let withIV = iv.withUnsafeMutableBytes { raw -> CK_RV in
                var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_AES_KEY_WRAP), pParameter: raw.baseAddress, ulParameterLen: 8)
                var length: CK_ULONG = 0
                return p11.f.C_WrapKey!(s, &m, kek, target, nil, &length)
            }
            expectRV(withIV, CKR_MECHANISM_PARAM_INVALID, "a non-default IV")

            let (_, wrapped) = Self.wrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, key: target)
            var altered = wrapped
            altered[9] ^= 0x40
            expectRV(Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, altered, Self.aesTemplate).0, CKR_WRAPPED_KEY_INVALID, "altered bytes")
            expectRV(
                Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, Array(wrapped.prefix(20)), Self.aesTemplate).0, CKR_WRAPPED_KEY_LEN_RANGE, "20 bytes")
            let privateTemplate = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_EC))
            expectRV(
                Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, wrapped, privateTemplate).0, CKR_TEMPLATE_INCOMPLETE,
                "a private EC key template without CKA_EC_PARAMS")
            let dsaTemplate = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_ML_DSA))
            expectRV(
                Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, wrapped, dsaTemplate).0, CKR_TEMPLATE_INCOMPLETE, "ML-DSA without CKA_PARAMETER_SET")
            let certificateTemplate = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_CERTIFICATE))
            expectRV(
                Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, wrapped, certificateTemplate).0, CKR_TEMPLATE_INCONSISTENT, "a certificate template")
            // An AES key's 32 bytes are no PKCS #8 private key.
            let p256Private = privateTemplate.bytes(UInt(CKA_EC_PARAMS), p256Parameters)
            let notPKCS8 = Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, wrapped, p256Private).0
            expectRV(notPKCS8, CKR_WRAPPED_KEY_INVALID, "32 AES bytes as a P-256 key")
            let noType = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY))
            expectRV(Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, wrapped, noType).0, CKR_TEMPLATE_INCOMPLETE, "no CKA_KEY_TYPE")
            expectRV(
                Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: target, wrapped, Self.aesTemplate).0, CKR_KEY_FUNCTION_NOT_PERMITTED,
                "a key without CKA_UNWRAP")
        }

        @Test(
            "private keys unwrap: a P-256 key the token wrapped (RFC 5649) signs for its public key; an Ed25519 PKCS #8 wrapped by swift-crypto (RFC 3394) signs, verified by swift-crypto"
        )
        func privateKeys() async throws {
            let (fx, p11, s) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let kek = try p11.secretKey(s, id: Self.kekID)
            let pubTemplate = AttributeTemplate().bool(UInt(CKA_TOKEN), false).bool(UInt(CKA_VERIFY), true).bytes(UInt(CKA_EC_PARAMS), p256Parameters)
            let privTemplate = AttributeTemplate().bool(UInt(CKA_TOKEN), false).bool(UInt(CKA_SIGN), true).bool(UInt(CKA_EXTRACTABLE), true)
            let pair = p11.generateKeyPair(s, UInt(CKM_EC_KEY_PAIR_GEN), pub: pubTemplate, priv: privTemplate)
            try requireRV(pair.rv, CKR_OK, "C_GenerateKeyPair(P-256, extractable)")
            let (wrapRV, wrapped) = Self.wrap(p11, s, UInt(CKM_AES_KEY_WRAP_PAD), kek: kek, key: pair.priv)
            try requireRV(wrapRV, CKR_OK, "C_WrapKey(CKM_AES_KEY_WRAP_PAD) of a P-256 private key")
            let ecTemplate = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_EC))
                .bytes(UInt(CKA_EC_PARAMS), p256Parameters).bool(UInt(CKA_SIGN), true).bytes(UInt(CKA_ID), [0x77, 0x0e])
            let (unwrapRV, unwrappedEC) = Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP_PAD), kek: kek, wrapped, ecTemplate)
            try requireRV(unwrapRV, CKR_OK, "C_UnwrapKey into a P-256 private key")
            #expect(p11.attribute(s, unwrappedEC, UInt(CKA_CLASS)).value == ulongBytes(UInt(CKO_PRIVATE_KEY)))
            #expect(p11.attribute(s, unwrappedEC, UInt(CKA_ID)).value == [0x77, 0x0e])
            expectRV(p11.attribute(s, unwrappedEC, UInt(CKA_VALUE)).rv, CKR_ATTRIBUTE_SENSITIVE, "CKA_VALUE of the unwrapped private key")
            let digest = Array(SHA256.hash(data: Data("unwrapped".utf8)))
            var ecdsa = mechanism(UInt(CKM_ECDSA))
            let signature = try p11.sign(s, &ecdsa, unwrappedEC, digest)
            expectRV(try p11.verify(s, &ecdsa, pair.pub, digest, signature), CKR_OK, "the original public key verifies the unwrapped key's signature")
            // The same bytes as another curve: the HSM finds they are P-256 and refuses.
            let p384Template = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_EC))
                .bytes(UInt(CKA_EC_PARAMS), [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22])
            let mismatch = Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP_PAD), kek: kek, wrapped, p384Template).0
            expectRV(mismatch, CKR_TEMPLATE_INCONSISTENT, "a P-256 key as P-384")

            // Ed25519 from outside: RFC 8410 PKCS #8 (48 bytes) under RFC 3394 by swift-crypto.
            let outside = Curve25519.Signing.PrivateKey()
            let pkcs8 = Data([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]) + outside.rawRepresentation
            let outsideWrapped = try AES.KeyWrap.wrap(SymmetricKey(data: pkcs8), using: SymmetricKey(data: Self.kekBytes))
            let edTemplate = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_EC_EDWARDS))
                .bool(UInt(CKA_SIGN), true)
            let (edRV, unwrappedEd) = Self.unwrap(p11, s, UInt(CKM_AES_KEY_WRAP), kek: kek, Array(outsideWrapped), edTemplate)
            try requireRV(edRV, CKR_OK, "C_UnwrapKey into an Ed25519 private key")
            var eddsa = mechanism(UInt(CKM_EDDSA))
            let message = Array("signed by an unwrapped key".utf8)
            let edSignature = try p11.sign(s, &eddsa, unwrappedEd, message)
            #expect(outside.publicKey.isValidSignature(edSignature, for: message), "swift-crypto does not verify the unwrapped key's signature")
        }
    }
}
