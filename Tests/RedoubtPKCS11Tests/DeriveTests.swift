import CPKCS11
import Crypto
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("C_DeriveKey: ECDH with CKD_NULL and HKDF, checked by swift-crypto")
    struct Derive {
        static var aes256Template: AttributeTemplate {
            AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_AES)).ulong(UInt(CKA_VALUE_LEN), 32)
                .bool(UInt(CKA_ENCRYPT), true)
        }

        /// AES-CBC-PAD of a fixed message under `key` through the module.
        static func cbc(_ p11: Cryptoki, _ s: CK_SESSION_HANDLE, _ key: CK_OBJECT_HANDLE) -> (rv: CK_RV, out: [UInt8]) {
            var iv = [UInt8](repeating: 0x42, count: 16)
            return iv.withUnsafeMutableBytes { raw in
                var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_AES_CBC_PAD), pParameter: raw.baseAddress, ulParameterLen: 16)
                return p11.crypt(s, encrypt: true, &m, key, Array("derived".utf8))
            }
        }

        static func reference(_ key: SymmetricKey) throws -> [UInt8] {
            Array(try AES._CBC.encrypt(Array("derived".utf8), using: key, iv: try AES._CBC.IV(ivBytes: [UInt8](repeating: 0x42, count: 16))))
        }

        /// C_DeriveKey with CKM_ECDH1_DERIVE over `publicData`.
        static func ecdh(
            _ p11: Cryptoki, _ s: CK_SESSION_HANDLE, _ base: CK_OBJECT_HANDLE, kdf: UInt = UInt(CKD_NULL), _ publicData: [UInt8], _ template: AttributeTemplate
        ) -> (CK_RV, CK_OBJECT_HANDLE) {
            var point = publicData
            return point.withUnsafeMutableBufferPointer { buffer in
                let params = CK_ECDH1_DERIVE_PARAMS(
                    kdf: ck_ec_kdf_t(kdf), ulSharedDataLen: 0, pSharedData: nil, ulPublicDataLen: CK_ULONG(buffer.count), pPublicData: buffer.baseAddress)
                var handle: CK_OBJECT_HANDLE = 0
                let rv = withMechanism(UInt(CKM_ECDH1_DERIVE), parameter: params) { m in
                    template.with { p11.f.C_DeriveKey!(s, m, base, $0, $1, &handle) }
                }
                return (rv, handle)
            }
        }

        @Test(
            "CKM_ECDH1_DERIVE with CKD_NULL: the new AES key is swift-crypto's shared secret (raw or DER point); other KDFs, bad points and lengths are refused"
        )
        func ecdh() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let key = try p11.generateP256(s, label: "ecdh", id: [0xec, 0xd1])
            let point = try #require(ecPointContents(try p11.requireAttribute(s, key.pub, UInt(CKA_EC_POINT), "CKA_EC_POINT")))
            let peer = P256.KeyAgreement.PrivateKey()
            let shared = try peer.sharedSecretFromKeyAgreement(with: try P256.KeyAgreement.PublicKey(x963Representation: point))
            let expected = try Self.reference(SymmetricKey(data: shared.withUnsafeBytes { Data($0) }))
            let peerPoint = Array(peer.publicKey.x963Representation)
            for publicData in [peerPoint, [0x04, 0x41] + peerPoint] {
                let (rv, derived) = Self.ecdh(p11, s, key.priv, publicData, Self.aes256Template)
                try requireRV(rv, CKR_OK, "C_DeriveKey(CKM_ECDH1_DERIVE)")
                #expect(p11.attribute(s, derived, UInt(CKA_KEY_TYPE)).value == ulongBytes(UInt(CKK_AES)))
                let sealed = Self.cbc(p11, s, derived)
                #expect(sealed.rv == CKR_OK && sealed.out == expected, "the derived key is not the shared secret")
            }
            // A non-sensitive, extractable result can be read (CKA_VALUE, an audited export); a sensitive one cannot.
            let readable = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_GENERIC_SECRET))
                .bool(UInt(CKA_SENSITIVE), false).bool(UInt(CKA_EXTRACTABLE), true)
            let (readRV, open) = Self.ecdh(p11, s, key.priv, peerPoint, readable)
            try requireRV(readRV, CKR_OK, "C_DeriveKey into a readable generic secret")
            #expect(p11.attribute(s, open, UInt(CKA_VALUE)).value == Array(shared.withUnsafeBytes { Data($0) }))
            let (_, closed) = Self.ecdh(p11, s, key.priv, peerPoint, Self.aes256Template)
            expectRV(p11.attribute(s, closed, UInt(CKA_VALUE)).rv, CKR_ATTRIBUTE_SENSITIVE, "CKA_VALUE of a sensitive key")
            expectRV(Self.ecdh(p11, s, key.priv, kdf: UInt(CKD_SHA256_KDF), peerPoint, Self.aes256Template).0, CKR_MECHANISM_PARAM_INVALID, "CKD_SHA256_KDF")
            var offCurve = peerPoint
            offCurve[40] ^= 0x01
            expectRV(Self.ecdh(p11, s, key.priv, offCurve, Self.aes256Template).0, CKR_MECHANISM_PARAM_INVALID, "a point off the curve")
            let aes128 = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_AES)).ulong(
                UInt(CKA_VALUE_LEN), 16)
            expectRV(Self.ecdh(p11, s, key.priv, peerPoint, aes128).0, CKR_TEMPLATE_INCONSISTENT, "16 bytes of a 32-byte secret")
            expectRV(Self.ecdh(p11, s, key.pub, peerPoint, Self.aes256Template).0, CKR_KEY_TYPE_INCONSISTENT, "the public key object")
        }

        @Test("CKM_HKDF_DERIVE over a generic secret: swift-crypto's HKDF; expand-only, salt keys and a missing length are refused")
        func hkdf() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let secret = Data((0..<32).map { UInt8(0x30 + $0) })
            try await fx.importSecrets([(.genericSecret, secret, id: [0x4b, 0x01], usage: [.derive])])
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let base = try p11.secretKey(s, id: [0x4b, 0x01])
            var salt = Array("salt".utf8), info = Array("context".utf8)
            func derive(extract: UInt8 = 1, expand: UInt8 = 1, saltType: UInt = 2, _ template: AttributeTemplate) -> (CK_RV, CK_OBJECT_HANDLE) {
                salt.withUnsafeMutableBytes { saltRaw in
                    info.withUnsafeMutableBytes { infoRaw in
                        // CK_HKDF_PARAMS: bExtract, bExpand, prfHashMechanism, ulSaltType, pSalt, ulSaltLen, hSaltKey, pInfo, ulInfoLen.
                        var words = [UInt](repeating: 0, count: 8)
                        words[1] = UInt(CKM_SHA256)
                        words[2] = saltType
                        words[3] = UInt(bitPattern: saltRaw.baseAddress)
                        words[4] = UInt(saltRaw.count)
                        words[6] = UInt(bitPattern: infoRaw.baseAddress)
                        words[7] = UInt(infoRaw.count)
                        return words.withUnsafeMutableBytes { raw in
                            raw[0] = extract
                            raw[1] = expand
                            var m = CK_MECHANISM(mechanism: 0x402a, pParameter: raw.baseAddress, ulParameterLen: CK_ULONG(raw.count))
                            var handle: CK_OBJECT_HANDLE = 0
                            let rv = template.with { p11.f.C_DeriveKey!(s, &m, base, $0, $1, &handle) }
                            return (rv, handle)
                        }
                    }
                }
            }
            let (rv, derived) = derive(Self.aes256Template)
            try requireRV(rv, CKR_OK, "C_DeriveKey(CKM_HKDF_DERIVE)")
            let expected = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: salt, info: info, outputByteCount: 32)
            let sealed = Self.cbc(p11, s, derived)
            let reference = try Self.reference(expected)
            #expect(sealed.rv == CKR_OK && sealed.out == reference)
            expectRV(derive(extract: 0, Self.aes256Template).0, CKR_MECHANISM_PARAM_INVALID, "expand only")
            expectRV(derive(saltType: 4, Self.aes256Template).0, CKR_MECHANISM_PARAM_INVALID, "a salt key")
            let generic = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_GENERIC_SECRET))
            expectRV(derive(generic).0, CKR_TEMPLATE_INCOMPLETE, "a generic secret without CKA_VALUE_LEN")
        }
    }
}

extension RedoubtPKCS11Tests {
    @Suite("CKM_RSA_PKCS_OAEP with a label (CKZ_DATA_SPECIFIED)")
    struct OAEPLabel {
        @Test("the module encrypts with the label and decrypts in the HSM with it; another label fails; a label on a wrap is refused")
        func label() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let (pubT, privT) = Cryptoki.signingTemplates(ecParameters: nil, label: "oaep", id: [0x0a, 0xe1])
            pubT.ulong(UInt(CKA_MODULUS_BITS), 2048).bool(UInt(CKA_ENCRYPT), true)
            privT.bool(UInt(CKA_DECRYPT), true)
            let key = p11.generateKeyPair(s, UInt(CKM_RSA_PKCS_KEY_PAIR_GEN), pub: pubT, priv: privT)
            try requireRV(key.rv, CKR_OK, "C_GenerateKeyPair(RSA-2048)")
            func oaep<R>(_ label: [UInt8], _ body: (UnsafeMutablePointer<CK_MECHANISM>) throws -> R) rethrows -> R {
                var bytes = label
                return try bytes.withUnsafeMutableBytes { raw in
                    let params = CK_RSA_PKCS_OAEP_PARAMS(
                        hashAlg: CK_MECHANISM_TYPE(CKM_SHA256), mgf: CK_RSA_PKCS_MGF_TYPE(CKG_MGF1_SHA256),
                        source: CK_RSA_PKCS_OAEP_SOURCE_TYPE(CKZ_DATA_SPECIFIED), pSourceData: raw.baseAddress, ulSourceDataLen: CK_ULONG(raw.count))
                    return try withMechanism(UInt(CKM_RSA_PKCS_OAEP), parameter: params, body)
                }
            }
            let plaintext = Array("a labelled secret".utf8), label = Array("context".utf8)
            let sealed = oaep(label) { p11.crypt(s, encrypt: true, $0, key.pub, plaintext) }
            try requireRV(sealed.rv, CKR_OK, "C_Encrypt(CKM_RSA_PKCS_OAEP, label)")
            let opened = oaep(label) { p11.crypt(s, encrypt: false, $0, key.priv, sealed.out) }
            #expect(opened.rv == CKR_OK && opened.out == plaintext)
            expectRV(oaep(Array("other".utf8)) { p11.crypt(s, encrypt: false, $0, key.priv, sealed.out).rv }, CKR_ENCRYPTED_DATA_INVALID, "another label")
            expectRV(oaep([]) { p11.crypt(s, encrypt: false, $0, key.priv, sealed.out).rv }, CKR_ENCRYPTED_DATA_INVALID, "no label")
        }
    }
}
