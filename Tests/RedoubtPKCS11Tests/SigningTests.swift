import CPKCS11
import Crypto
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("ECDSA signing and verifying, and the operation-state rules")
    struct Signing {
        @Test("CKM_ECDSA_SHA256: active, size query, short buffer, success, ended; multi-part; swift-crypto and C_Verify agree")
        func ecdsa() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let f = p11.f
            let s = try p11.userSession(fx)
            let key = try p11.generateP256(s)
            let point = try p11.requireAttribute(s, key.pub, UInt(CKA_EC_POINT), "CKA_EC_POINT")
            let publicKey = try P256.Signing.PublicKey(x963Representation: try #require(ecPointContents(point), "CKA_EC_POINT \(hex(point))"))

            var data = Array("the message to sign".utf8)
            let dataLength = CK_ULONG(data.count)
            var m = mechanism(UInt(CKM_ECDSA_SHA256))
            var length: CK_ULONG = 0
            expectRV(f.C_Sign!(s, &data, dataLength, nil, &length), CKR_OPERATION_NOT_INITIALIZED, "C_Sign before C_SignInit")
            try requireRV(f.C_SignInit!(s, &m, key.priv), CKR_OK, "C_SignInit")
            expectRV(f.C_SignInit!(s, &m, key.priv), CKR_OPERATION_ACTIVE, "a second C_SignInit")

            // A size query keeps the operation.
            expectRV(f.C_Sign!(s, &data, dataLength, nil, &length), CKR_OK, "C_Sign(NULL signature)")
            #expect(length == 64)
            // So does a short buffer.
            var small = [UInt8](repeating: 0, count: 10)
            length = 10
            expectRV(f.C_Sign!(s, &data, dataLength, &small, &length), CKR_BUFFER_TOO_SMALL, "C_Sign into 10 bytes")
            #expect(length == 64, "CKR_BUFFER_TOO_SMALL sets the length needed, got \(length)")
            var signature = [UInt8](repeating: 0, count: 80)
            length = 80
            try requireRV(f.C_Sign!(s, &data, dataLength, &signature, &length), CKR_OK, "C_Sign after the size query and the short buffer")
            #expect(length == 64)
            signature = Array(signature.prefix(Int(length)))
            // A successful C_Sign ends the operation.
            length = 64
            var again = [UInt8](repeating: 0, count: 64)
            expectRV(f.C_Sign!(s, &data, dataLength, &again, &length), CKR_OPERATION_NOT_INITIALIZED, "C_Sign after a completed C_Sign")
            let single = try P256.Signing.ECDSASignature(rawRepresentation: signature)
            #expect(publicKey.isValidSignature(single, for: SHA256.hash(data: data)), "swift-crypto verifies C_Sign's signature")

            // Multi-part: three C_SignUpdate and C_SignFinal.
            expectRV(f.C_SignUpdate!(s, &data, dataLength), CKR_OPERATION_NOT_INITIALIZED, "C_SignUpdate before C_SignInit")
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            try requireRV(f.C_SignInit!(s, &m, key.priv), CKR_OK, "C_SignInit (multi-part)")
            let parts = [Array("the mess".utf8), Array("age to".utf8), Array(" sign".utf8)]
            for var part in parts {
                expectRV(f.C_SignUpdate!(s, &part, CK_ULONG(part.count)), CKR_OK, "C_SignUpdate")
            }
            length = 0
            expectRV(f.C_SignFinal!(s, nil, &length), CKR_OK, "C_SignFinal(NULL signature)")
            #expect(length == 64)
            var multi = [UInt8](repeating: 0, count: 64)
            try requireRV(f.C_SignFinal!(s, &multi, &length), CKR_OK, "C_SignFinal")
            #expect(length == 64)
            expectRV(f.C_SignFinal!(s, &multi, &length), CKR_OPERATION_NOT_INITIALIZED, "C_SignFinal after a completed C_SignFinal")
            #expect(
                publicKey.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: multi), for: SHA256.hash(data: data)),
                "swift-crypto verifies the multi-part signature of the joined parts")

            // A failed C_SignUpdate / C_VerifyUpdate ends its operation (only a size query or a
            // short buffer keeps one).
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            try requireRV(f.C_SignInit!(s, &m, key.priv), CKR_OK, "C_SignInit (a failing update)")
            expectRV(f.C_SignUpdate!(s, nil, 5), CKR_ARGUMENTS_BAD, "C_SignUpdate(NULL, 5)")
            expectRV(f.C_SignFinal!(s, nil, &length), CKR_OPERATION_NOT_INITIALIZED, "C_SignFinal after a failed C_SignUpdate")
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            try requireRV(f.C_VerifyInit!(s, &m, key.pub), CKR_OK, "C_VerifyInit (a failing update)")
            expectRV(f.C_VerifyUpdate!(s, nil, 5), CKR_ARGUMENTS_BAD, "C_VerifyUpdate(NULL, 5)")
            expectRV(f.C_VerifyFinal!(s, &multi, 64), CKR_OPERATION_NOT_INITIALIZED, "C_VerifyFinal after a failed C_VerifyUpdate")

            // C_Verify through the module.
            var vm = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(try p11.verify(s, &vm, key.pub, data, multi), CKR_OK, "C_Verify of the multi-part signature")
            expectRV(f.C_Verify!(s, &data, dataLength, &multi, 64), CKR_OPERATION_NOT_INITIALIZED, "C_Verify after a completed C_Verify")
            vm = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(try p11.verify(s, &vm, key.pub, data, signature), CKR_OK, "C_Verify of C_Sign's signature")
            var flipped = multi
            flipped[20] ^= 0x01
            vm = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(try p11.verify(s, &vm, key.pub, data, flipped), CKR_SIGNATURE_INVALID, "C_Verify of a signature with a flipped bit")
            vm = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(try p11.verify(s, &vm, key.pub, data, Array(multi.prefix(63))), CKR_SIGNATURE_LEN_RANGE, "C_Verify of a 63-byte signature")
            vm = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(try p11.verify(s, &vm, key.pub, Array("other data".utf8), multi), CKR_SIGNATURE_INVALID, "C_Verify over other data")

            // Multi-part verify.
            vm = mechanism(UInt(CKM_ECDSA_SHA256))
            try requireRV(f.C_VerifyInit!(s, &vm, key.pub), CKR_OK, "C_VerifyInit (multi-part)")
            for var part in parts {
                expectRV(f.C_VerifyUpdate!(s, &part, CK_ULONG(part.count)), CKR_OK, "C_VerifyUpdate")
            }
            expectRV(f.C_VerifyFinal!(s, &signature, CK_ULONG(signature.count)), CKR_OK, "C_VerifyFinal")
        }

        @Test("CKM_ECDSA (raw): a 5-byte input is CKR_DATA_LEN_RANGE and ends the operation; a SHA-256 digest signs")
        func rawECDSA() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let f = p11.f
            let s = try p11.userSession(fx)
            let key = try p11.generateP256(s, token: false)

            var m = mechanism(UInt(CKM_ECDSA))
            try requireRV(f.C_SignInit!(s, &m, key.priv), CKR_OK, "C_SignInit(CKM_ECDSA)")
            var five: [UInt8] = [1, 2, 3, 4, 5]
            var signature = [UInt8](repeating: 0, count: 64)
            var length: CK_ULONG = 64
            expectRV(f.C_Sign!(s, &five, 5, &signature, &length), CKR_DATA_LEN_RANGE, "C_Sign(CKM_ECDSA) of 5 bytes")
            length = 64
            expectRV(f.C_Sign!(s, &five, 5, &signature, &length), CKR_OPERATION_NOT_INITIALIZED, "C_Sign after CKR_DATA_LEN_RANGE")

            let data = Array("raw".utf8)
            let digest = SHA256.hash(data: data)
            m = mechanism(UInt(CKM_ECDSA))
            let raw = try p11.sign(s, &m, key.priv, Array(digest))
            #expect(raw.count == 64)
            let point = try p11.requireAttribute(s, key.pub, UInt(CKA_EC_POINT), "CKA_EC_POINT")
            let publicKey = try P256.Signing.PublicKey(x963Representation: try #require(ecPointContents(point)))
            #expect(publicKey.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: raw), for: digest))
            var vm = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(try p11.verify(s, &vm, key.pub, data, raw), CKR_OK, "C_Verify(CKM_ECDSA_SHA256) of the raw signature of the digest")
        }

        @Test("a mechanism that does not fit the key, a parameter where none belongs, and CKA_SIGN false")
        func mismatches() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let f = p11.f
            let s = try p11.userSession(fx)
            let key = try p11.generateP256(s, token: false)
            var m = mechanism(UInt(CKM_EDDSA))
            expectRV(f.C_SignInit!(s, &m, key.priv), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit(CKM_EDDSA) with a P-256 key")
            m = mechanism(UInt(CKM_SHA256_RSA_PKCS))
            expectRV(f.C_SignInit!(s, &m, key.priv), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit(CKM_SHA256_RSA_PKCS) with a P-256 key")
            m = mechanism(UInt(CKM_AES_CBC))
            expectRV(f.C_SignInit!(s, &m, key.priv), CKR_MECHANISM_INVALID, "C_SignInit(CKM_AES_CBC)")
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(f.C_SignInit!(s, &m, key.pub), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit with the public key object")
            let rv = withMechanism(UInt(CKM_ECDSA_SHA256), parameter: UInt64(7)) { f.C_SignInit!(s, $0, key.priv) }
            expectRV(rv, CKR_MECHANISM_PARAM_INVALID, "C_SignInit(CKM_ECDSA_SHA256) with a parameter")
            // None of the refused inits left an operation behind.
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(f.C_SignInit!(s, &m, key.priv), CKR_OK, "C_SignInit after the refused ones")

            let (pub, priv) = Cryptoki.signingTemplates(ecParameters: p256Parameters, label: "no-sign", id: [0x05], token: false)
            priv.bool(UInt(CKA_SIGN), false)
            let noSign = p11.generateKeyPair(s, UInt(CKM_EC_KEY_PAIR_GEN), pub: pub, priv: priv)
            try requireRV(noSign.rv, CKR_OK, "C_GenerateKeyPair with CKA_SIGN false")
            #expect(p11.attribute(s, noSign.priv, UInt(CKA_SIGN)).value == [0])
            let other = try p11.openSession()
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(f.C_SignInit!(other, &m, noSign.priv), CKR_KEY_FUNCTION_NOT_PERMITTED, "C_SignInit with CKA_SIGN false")
        }
    }
}
