import CPKCS11
import Crypto
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("Ed25519, RSA, ML-DSA, AES key generation and digests")
    struct Mechanisms {
        @Test("Ed25519: CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA, checked by swift-crypto")
        func ed25519() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let (pubT, privT) = Cryptoki.signingTemplates(ecParameters: ed25519Parameters, label: "ed", id: [0xed])
            let key = p11.generateKeyPair(s, UInt(CKM_EC_EDWARDS_KEY_PAIR_GEN), pub: pubT, priv: privT)
            try requireRV(key.rv, CKR_OK, "C_GenerateKeyPair(CKM_EC_EDWARDS_KEY_PAIR_GEN)")
            #expect(p11.attribute(s, key.priv, UInt(CKA_KEY_TYPE)).value == ulongBytes(UInt(CKK_EC_EDWARDS)))
            #expect(p11.attribute(s, key.pub, UInt(CKA_EC_PARAMS)).value == ed25519Parameters)
            let point = try p11.requireAttribute(s, key.pub, UInt(CKA_EC_POINT), "CKA_EC_POINT")
            #expect(point.count == 34 && Array(point.prefix(2)) == [0x04, 0x20], "CKA_EC_POINT \(hex(point))")
            let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: try #require(ecPointContents(point)))

            let data = Array("an Edwards message".utf8)
            var m = mechanism(UInt(CKM_EDDSA))
            let signature = try p11.sign(s, &m, key.priv, data)
            #expect(signature.count == 64)
            #expect(publicKey.isValidSignature(signature, for: data), "swift-crypto verifies the Ed25519 signature")
            m = mechanism(UInt(CKM_EDDSA))
            expectRV(try p11.verify(s, &m, key.pub, data, signature), CKR_OK, "C_Verify(CKM_EDDSA)")
            var flipped = signature
            flipped[3] ^= 0x80
            m = mechanism(UInt(CKM_EDDSA))
            expectRV(try p11.verify(s, &m, key.pub, data, flipped), CKR_SIGNATURE_INVALID, "C_Verify(CKM_EDDSA) of a changed signature")
        }

        @Test("RSA-2048: CKM_SHA256_RSA_PKCS_PSS with its parameters, a wrong salt length, CKM_RSA_PKCS over DigestInfos and raw bytes")
        func rsa() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let f = p11.f
            let s = try p11.userSession(fx)
            let (pubT, privT) = Cryptoki.signingTemplates(ecParameters: nil, label: "rsa", id: [0x45])
            pubT.ulong(UInt(CKA_MODULUS_BITS), 2048).bytes(UInt(CKA_PUBLIC_EXPONENT), [0x01, 0x00, 0x01])
            let key = p11.generateKeyPair(s, UInt(CKM_RSA_PKCS_KEY_PAIR_GEN), pub: pubT, priv: privT)
            try requireRV(key.rv, CKR_OK, "C_GenerateKeyPair(CKM_RSA_PKCS_KEY_PAIR_GEN, 2048)")
            #expect(p11.attribute(s, key.pub, UInt(CKA_KEY_TYPE)).value == ulongBytes(UInt(CKK_RSA)))
            #expect(p11.attribute(s, key.pub, UInt(CKA_MODULUS)).value?.count == 256)
            #expect(p11.attribute(s, key.pub, UInt(CKA_MODULUS_BITS)).value == ulongBytes(2048))
            #expect(p11.attribute(s, key.pub, UInt(CKA_PUBLIC_EXPONENT)).value == [0x01, 0x00, 0x01])
            expectRV(p11.attribute(s, key.priv, UInt(CKA_PRIVATE_EXPONENT)).rv, CKR_ATTRIBUTE_SENSITIVE, "CKA_PRIVATE_EXPONENT")

            let data = Array("an RSA message".utf8)
            let pss = CK_RSA_PKCS_PSS_PARAMS(hashAlg: CK_MECHANISM_TYPE(CKM_SHA256), mgf: CK_RSA_PKCS_MGF_TYPE(CKG_MGF1_SHA256), sLen: 32)
            let signature = try withMechanism(UInt(CKM_SHA256_RSA_PKCS_PSS), parameter: pss) { try p11.sign(s, $0, key.priv, data) }
            #expect(signature.count == 256)
            let verified = try withMechanism(UInt(CKM_SHA256_RSA_PKCS_PSS), parameter: pss) { try p11.verify(s, $0, key.pub, data, signature) }
            expectRV(verified, CKR_OK, "C_Verify(CKM_SHA256_RSA_PKCS_PSS)")
            var flipped = signature
            flipped[100] ^= 0x01
            let refused = try withMechanism(UInt(CKM_SHA256_RSA_PKCS_PSS), parameter: pss) { try p11.verify(s, $0, key.pub, data, flipped) }
            expectRV(refused, CKR_SIGNATURE_INVALID, "C_Verify(CKM_SHA256_RSA_PKCS_PSS) of a changed signature")

            var wrongSalt = pss
            wrongSalt.sLen = 20
            let saltRV = withMechanism(UInt(CKM_SHA256_RSA_PKCS_PSS), parameter: wrongSalt) { f.C_SignInit!(s, $0, key.priv) }
            expectRV(saltRV, CKR_MECHANISM_PARAM_INVALID, "C_SignInit(CKM_SHA256_RSA_PKCS_PSS, sLen 20)")
            var noParameter = mechanism(UInt(CKM_SHA256_RSA_PKCS_PSS))
            expectRV(f.C_SignInit!(s, &noParameter, key.priv), CKR_MECHANISM_PARAM_INVALID, "C_SignInit(CKM_SHA256_RSA_PKCS_PSS) without parameters")

            // PKCS #1 v1.5 is deterministic: CKM_RSA_PKCS over a SHA-256 DigestInfo equals CKM_SHA256_RSA_PKCS.
            let prefix: [UInt8] = [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
            let digestInfo = prefix + Array(SHA256.hash(data: data))
            var m = mechanism(UInt(CKM_RSA_PKCS))
            let overDigestInfo = try p11.sign(s, &m, key.priv, digestInfo)
            #expect(overDigestInfo.count == 256)
            m = mechanism(UInt(CKM_SHA256_RSA_PKCS))
            let hashed = try p11.sign(s, &m, key.priv, data)
            #expect(overDigestInfo == hashed, "CKM_RSA_PKCS(DigestInfo(SHA-256(data))) == CKM_SHA256_RSA_PKCS(data)")
            m = mechanism(UInt(CKM_RSA_PKCS))
            expectRV(try p11.verify(s, &m, key.pub, digestInfo, overDigestInfo), CKR_OK, "C_Verify(CKM_RSA_PKCS)")
            m = mechanism(UInt(CKM_SHA256_RSA_PKCS))
            expectRV(try p11.verify(s, &m, key.pub, data, overDigestInfo), CKR_OK, "C_Verify(CKM_SHA256_RSA_PKCS)")

            // Any other bytes, up to the modulus length − 11, are signed raw (a SHA-1 DigestInfo, as
            // `pkcs11-tool --test` sends, or anything else); one byte more is CKR_DATA_LEN_RANGE.
            let sha1DigestInfo: [UInt8] =
                [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14] + Array(repeating: 0xa5, count: 20)
            for raw in [sha1DigestInfo, Array(repeating: 0x42, count: 256 - 11), [0x00]] {
                m = mechanism(UInt(CKM_RSA_PKCS))
                let signature = try p11.sign(s, &m, key.priv, raw)
                #expect(signature.count == 256)
                m = mechanism(UInt(CKM_RSA_PKCS))
                expectRV(try p11.verify(s, &m, key.pub, raw, signature), CKR_OK, "C_Verify(CKM_RSA_PKCS) of \(raw.count) raw bytes")
                m = mechanism(UInt(CKM_RSA_PKCS))
                var other = raw
                other[other.count - 1] ^= 0x01
                expectRV(try p11.verify(s, &m, key.pub, other, signature), CKR_SIGNATURE_INVALID, "C_Verify(CKM_RSA_PKCS) of other bytes")
            }
            m = mechanism(UInt(CKM_RSA_PKCS))
            expectRV(f.C_SignInit!(s, &m, key.priv), CKR_OK, "C_SignInit(CKM_RSA_PKCS)")
            var tooLong = [UInt8](repeating: 0x42, count: 256 - 10)
            var length = CK_ULONG(256)
            var out = [UInt8](repeating: 0, count: 256)
            expectRV(f.C_Sign!(s, &tooLong, CK_ULONG(tooLong.count), &out, &length), CKR_DATA_LEN_RANGE, "C_Sign(CKM_RSA_PKCS) of 246 bytes")
        }

        @Test("ML-DSA-65: CKM_ML_DSA_KEY_PAIR_GEN with CKA_PARAMETER_SET, CKM_ML_DSA sign and verify")
        func mldsa() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let (pubT, privT) = Cryptoki.signingTemplates(ecParameters: nil, label: "mldsa", id: [0x65])
            pubT.ulong(UInt(CKA_PARAMETER_SET), 2)
            let key = p11.generateKeyPair(s, 0x1c, pub: pubT, priv: privT)
            try requireRV(key.rv, CKR_OK, "C_GenerateKeyPair(CKM_ML_DSA_KEY_PAIR_GEN, CKP_ML_DSA_65)")
            #expect(p11.attribute(s, key.priv, UInt(CKA_KEY_TYPE)).value == ulongBytes(0x4a), "CKA_KEY_TYPE CKK_ML_DSA")
            #expect(p11.attribute(s, key.pub, UInt(CKA_PARAMETER_SET)).value == ulongBytes(2), "CKA_PARAMETER_SET CKP_ML_DSA_65")
            #expect(p11.attribute(s, key.pub, UInt(CKA_VALUE)).value?.count == 1952, "the ML-DSA-65 public key is 1952 bytes")

            let data = Array("a post-quantum message".utf8)
            var m = mechanism(0x1d)
            let signature = try p11.sign(s, &m, key.priv, data)
            #expect(signature.count == 3309)
            m = mechanism(0x1d)
            expectRV(try p11.verify(s, &m, key.pub, data, signature), CKR_OK, "C_Verify(CKM_ML_DSA)")
            var flipped = signature
            flipped[1000] ^= 0x01
            m = mechanism(0x1d)
            expectRV(try p11.verify(s, &m, key.pub, data, flipped), CKR_SIGNATURE_INVALID, "C_Verify(CKM_ML_DSA) of a changed signature")
        }

        @Test("CKM_AES_KEY_GEN with CKA_VALUE_LEN 32: a secret key object whose CKA_VALUE is sensitive")
        func aes() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let template = AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).ulong(UInt(CKA_VALUE_LEN), 32)
                .bool(UInt(CKA_TOKEN), true).string(UInt(CKA_LABEL), "aes").bytes(UInt(CKA_ID), [0xae])
                .bool(UInt(CKA_ENCRYPT), true).bool(UInt(CKA_DECRYPT), true)
            var m = mechanism(UInt(CKM_AES_KEY_GEN))
            var handle: CK_OBJECT_HANDLE = 0
            try requireRV(template.with { p11.f.C_GenerateKey!(s, &m, $0, $1, &handle) }, CKR_OK, "C_GenerateKey(CKM_AES_KEY_GEN)")
            #expect(p11.attribute(s, handle, UInt(CKA_CLASS)).value == ulongBytes(UInt(CKO_SECRET_KEY)))
            #expect(p11.attribute(s, handle, UInt(CKA_KEY_TYPE)).value == ulongBytes(UInt(CKK_AES)))
            #expect(p11.attribute(s, handle, UInt(CKA_VALUE_LEN)).value == ulongBytes(32))
            #expect(p11.attribute(s, handle, UInt(CKA_SENSITIVE)).value == [1])
            #expect(p11.attribute(s, handle, UInt(CKA_KEY_GEN_MECHANISM)).value == ulongBytes(UInt(CKM_AES_KEY_GEN)))
            var value = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_VALUE), pValue: nil, ulValueLen: 0)
            expectRV(p11.f.C_GetAttributeValue!(s, handle, &value, 1), CKR_ATTRIBUTE_SENSITIVE, "secret key CKA_VALUE")
            #expect(value.ulValueLen == CK_ULONG.max)
            #expect(try p11.find(s, AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).bytes(UInt(CKA_ID), [0xae])) == [handle])

            let ro = try p11.openSession(readWrite: false)
            var m2 = mechanism(UInt(CKM_AES_KEY_GEN))
            var refused: CK_OBJECT_HANDLE = 0
            expectRV(
                template.with { p11.f.C_GenerateKey!(ro, &m2, $0, $1, &refused) }, CKR_SESSION_READ_ONLY, "C_GenerateKey(token key) in a read-only session")
            var bad = mechanism(UInt(CKM_AES_KEY_GEN))
            let odd = AttributeTemplate().ulong(UInt(CKA_VALUE_LEN), 20)
            expectRV(odd.with { p11.f.C_GenerateKey!(s, &bad, $0, $1, &handle) }, CKR_KEY_SIZE_RANGE, "C_GenerateKey(CKM_AES_KEY_GEN, 20 bytes)")
        }

        @Test("C_DigestInit(CKM_SHA256) + C_Digest, and the multi-part digest, equal swift-crypto's SHA-256")
        func digest() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let f = p11.f
            let s = try p11.openSession(readWrite: false)  // digests need no login
            var data = Array("digest me, please".utf8)
            let expected = Array(SHA256.hash(data: data))

            var m = mechanism(UInt(CKM_SHA256))
            try requireRV(f.C_DigestInit!(s, &m), CKR_OK, "C_DigestInit(CKM_SHA256)")
            expectRV(f.C_DigestInit!(s, &m), CKR_OPERATION_ACTIVE, "a second C_DigestInit")
            var length: CK_ULONG = 0
            expectRV(f.C_Digest!(s, &data, CK_ULONG(data.count), nil, &length), CKR_OK, "C_Digest (size query)")
            #expect(length == 32)
            var small = [UInt8](repeating: 0, count: 16)
            length = 16
            expectRV(f.C_Digest!(s, &data, CK_ULONG(data.count), &small, &length), CKR_BUFFER_TOO_SMALL, "C_Digest into 16 bytes")
            #expect(length == 32)
            var out = [UInt8](repeating: 0, count: 32)
            try requireRV(f.C_Digest!(s, &data, CK_ULONG(data.count), &out, &length), CKR_OK, "C_Digest")
            #expect(out == expected, "C_Digest \(hex(out)) != SHA-256 \(hex(expected))")
            expectRV(f.C_Digest!(s, &data, CK_ULONG(data.count), &out, &length), CKR_OPERATION_NOT_INITIALIZED, "C_Digest after a completed C_Digest")

            m = mechanism(UInt(CKM_SHA256))
            try requireRV(f.C_DigestInit!(s, &m), CKR_OK, "C_DigestInit (multi-part)")
            for var part in [Array("digest ".utf8), Array("me, ".utf8), Array("please".utf8)] {
                expectRV(f.C_DigestUpdate!(s, &part, CK_ULONG(part.count)), CKR_OK, "C_DigestUpdate")
            }
            var multi = [UInt8](repeating: 0, count: 32)
            length = 32
            expectRV(f.C_DigestFinal!(s, &multi, &length), CKR_OK, "C_DigestFinal")
            #expect(multi == expected)

            // A failed C_DigestUpdate ends the operation.
            m = mechanism(UInt(CKM_SHA256))
            try requireRV(f.C_DigestInit!(s, &m), CKR_OK, "C_DigestInit (a failing update)")
            expectRV(f.C_DigestUpdate!(s, nil, 5), CKR_ARGUMENTS_BAD, "C_DigestUpdate(NULL, 5)")
            length = 32
            expectRV(f.C_DigestFinal!(s, &multi, &length), CKR_OPERATION_NOT_INITIALIZED, "C_DigestFinal after a failed C_DigestUpdate")

            m = mechanism(UInt(CKM_MD5))
            expectRV(f.C_DigestInit!(s, &m), CKR_MECHANISM_INVALID, "C_DigestInit(CKM_MD5)")
        }
    }
}
