import CPKCS11
import Crypto
import Foundation
import Redoubt
import RedoubtStore
import Testing

extension Fixture {
    /// Imports secret keys with known bytes into the partition (as its security officer) before
    /// the module opens the store, so that swift-crypto can check what the module makes.
    func importSecrets(_ keys: [(KeyAlgorithm, Data, id: [UInt8], usage: KeyUsage)], extractable: Bool = false) async throws {
        let store = try SQLiteStore(path: storePath)
        let hsm = try await LocalHSM.open(store: store, unseal: .devKeyFile(devKeyPath))
        let so = try await hsm.openSession(partition: "p11", credential: .apiKey(officerAPIKey))
        for (algorithm, bytes, id, usage) in keys {
            let spec = KeySpec(algorithm: algorithm, label: "known-\(hex(id))", usage: usage, extractable: extractable, applicationID: Data(id))
            _ = try await hsm.importKey(so.token, spec: spec, material: .secret(SecretBytes(bytes)))
        }
        try await hsm.closeSession(so.token)
        try await hsm.close()
        try await store.close()
    }
}

extension Cryptoki {
    /// The secret key object with CKA_ID `id`.
    func secretKey(_ session: CK_SESSION_HANDLE, id: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> CK_OBJECT_HANDLE {
        let found = try find(session, AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).bytes(UInt(CKA_ID), id), sourceLocation: sourceLocation)
        return try #require(found.first, "no secret key with CKA_ID \(hex(id))", sourceLocation: sourceLocation)
    }

    /// Init, a size query and the single call of C_Encrypt or C_Decrypt; the CK_RV of the first failure.
    func crypt(
        _ session: CK_SESSION_HANDLE, encrypt: Bool, _ m: UnsafeMutablePointer<CK_MECHANISM>, _ key: CK_OBJECT_HANDLE, _ data: [UInt8]
    ) -> (rv: CK_RV, out: [UInt8]) {
        let rv = encrypt ? f.C_EncryptInit!(session, m, key) : f.C_DecryptInit!(session, m, key)
        guard rv == CKR_OK else { return (rv, []) }
        var input = data
        var length: CK_ULONG = 0
        let call = encrypt ? f.C_Encrypt! : f.C_Decrypt!
        let sized = call(session, &input, CK_ULONG(input.count), nil, &length)
        guard sized == CKR_OK else { return (sized, []) }
        var out = [UInt8](repeating: 0, count: Int(length))
        let done = call(session, &input, CK_ULONG(input.count), &out, &length)
        return (done, Array(out.prefix(Int(length))))
    }
}

/// A CK_GCM_PARAMS over `iv` (the buffer the token writes its IV into, on encryption) and `aad`.
func withGCM<R>(iv: inout [UInt8], aad: [UInt8], tagBits: UInt, _ body: (UnsafeMutablePointer<CK_MECHANISM>) throws -> R) rethrows -> R {
    var aad = aad
    return try iv.withUnsafeMutableBufferPointer { ivBuffer in
        try aad.withUnsafeMutableBufferPointer { aadBuffer in
            let params = CK_GCM_PARAMS(
                pIv: ivBuffer.baseAddress, ulIvLen: CK_ULONG(ivBuffer.count), ulIvBits: CK_ULONG(ivBuffer.count * 8),
                pAAD: aadBuffer.baseAddress, ulAADLen: CK_ULONG(aadBuffer.count), ulTagBits: CK_ULONG(tagBits))
            return try withMechanism(UInt(CKM_AES_GCM), parameter: params, body)
        }
    }
}

extension RedoubtPKCS11Tests {
    @Suite("AES-GCM, AES-CBC-PAD and HMAC through the C ABI, checked by swift-crypto")
    struct Symmetric {
        static let aesBytes = Data((0..<32).map { UInt8($0 &* 7) })
        static let macBytes = Data((0..<32).map { UInt8(0x80 &+ $0) })
        static let aesID: [UInt8] = [0xae, 0x01]
        static let macID: [UInt8] = [0x4d, 0x01]

        /// A fixture with the known keys, the module loaded, and a logged-in session.
        static func session() async throws -> (Fixture, Cryptoki, CK_SESSION_HANDLE) {
            let fx = try await Fixture.make()
            try await fx.importSecrets([
                (.aes256, aesBytes, id: aesID, usage: [.encrypt, .decrypt]), (.genericSecret, macBytes, id: macID, usage: [.mac]),
            ])
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            return (fx, p11, try p11.userSession(fx))
        }

        @Test("CKM_AES_GCM: the token writes its IV into pIv and swift-crypto opens the result; swift-crypto's ciphertext decrypts, whole and in parts")
        func gcm() async throws {
            let (fx, p11, s) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let key = try p11.secretKey(s, id: Self.aesID)
            let plaintext = Array("a record for the vault".utf8), aad = Array("header".utf8)
            let symmetric = SymmetricKey(data: Self.aesBytes)

            for tagBits: UInt in [128, 96] {
                var iv = [UInt8](repeating: 0, count: 12)
                let sealed = withGCM(iv: &iv, aad: aad, tagBits: tagBits) { p11.crypt(s, encrypt: true, $0, key, plaintext) }
                try requireRV(sealed.rv, CKR_OK, "C_Encrypt(CKM_AES_GCM, \(tagBits)-bit tag)")
                let tagBytes = Int(tagBits / 8)
                #expect(sealed.out.count == plaintext.count + tagBytes && iv != [UInt8](repeating: 0, count: 12), "the IV was not written")
                let full = try AES.GCM.seal(plaintext, using: symmetric, nonce: try AES.GCM.Nonce(data: iv), authenticating: aad)
                #expect(Array(full.ciphertext) + Array(full.tag.prefix(tagBytes)) == sealed.out, "swift-crypto makes another ciphertext")
            }

            // swift-crypto's ciphertext, with its own nonce, decrypts in one call and in parts.
            let box = try AES.GCM.seal(plaintext, using: symmetric, authenticating: aad)
            let ciphertext = Array(box.ciphertext) + Array(box.tag)
            var nonce = Array(box.nonce)
            let opened = withGCM(iv: &nonce, aad: aad, tagBits: 128) { p11.crypt(s, encrypt: false, $0, key, ciphertext) }
            try requireRV(opened.rv, CKR_OK, "C_Decrypt(CKM_AES_GCM)")
            #expect(opened.out == plaintext)
            try withGCM(iv: &nonce, aad: aad, tagBits: 128) { m in
                try requireRV(p11.f.C_DecryptInit!(s, m, key), CKR_OK, "C_DecryptInit")
            }
            var out = [UInt8](repeating: 0, count: 64)
            var length = CK_ULONG(out.count)
            var first = Array(ciphertext.prefix(10)), rest = Array(ciphertext.dropFirst(10))
            expectRV(p11.f.C_DecryptUpdate!(s, &first, CK_ULONG(first.count), &out, &length), CKR_OK, "C_DecryptUpdate")
            #expect(length == 0, "an AES-GCM part released plaintext before the tag was checked")
            length = CK_ULONG(out.count)
            expectRV(p11.f.C_DecryptUpdate!(s, &rest, CK_ULONG(rest.count), &out, &length), CKR_OK, "C_DecryptUpdate")
            length = CK_ULONG(out.count)
            expectRV(p11.f.C_DecryptFinal!(s, &out, &length), CKR_OK, "C_DecryptFinal")
            #expect(Array(out.prefix(Int(length))) == plaintext)

            // A changed byte, a short ciphertext, a wrong AAD.
            var changed = ciphertext
            changed[2] ^= 0x01
            expectRV(
                withGCM(iv: &nonce, aad: aad, tagBits: 128) { p11.crypt(s, encrypt: false, $0, key, changed).rv }, CKR_ENCRYPTED_DATA_INVALID, "a changed byte")
            expectRV(
                withGCM(iv: &nonce, aad: aad, tagBits: 128) { p11.crypt(s, encrypt: false, $0, key, Array(ciphertext.prefix(8))).rv },
                CKR_ENCRYPTED_DATA_LEN_RANGE, "8 bytes")
            expectRV(
                withGCM(iv: &nonce, aad: [1], tagBits: 128) { p11.crypt(s, encrypt: false, $0, key, ciphertext).rv }, CKR_ENCRYPTED_DATA_INVALID, "another AAD")
        }

        @Test("CKM_AES_GCM refuses a caller's IV length, short tags and other keys; a short buffer keeps the operation")
        func gcmRefusals() async throws {
            let (fx, p11, s) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let key = try p11.secretKey(s, id: Self.aesID), macKey = try p11.secretKey(s, id: Self.macID)
            var iv16 = [UInt8](repeating: 0, count: 16), iv = [UInt8](repeating: 0, count: 12)
            expectRV(withGCM(iv: &iv16, aad: [], tagBits: 128) { p11.f.C_EncryptInit!(s, $0, key) }, CKR_MECHANISM_PARAM_INVALID, "a 16-byte IV on encrypt")
            expectRV(withGCM(iv: &iv, aad: [], tagBits: 64) { p11.f.C_EncryptInit!(s, $0, key) }, CKR_MECHANISM_PARAM_INVALID, "a 64-bit tag")
            expectRV(withGCM(iv: &iv, aad: [], tagBits: 100) { p11.f.C_EncryptInit!(s, $0, key) }, CKR_MECHANISM_PARAM_INVALID, "a 100-bit tag")
            expectRV(withGCM(iv: &iv, aad: [], tagBits: 128) { p11.f.C_EncryptInit!(s, $0, macKey) }, CKR_KEY_TYPE_INCONSISTENT, "a generic secret")
            var bare = mechanism(UInt(CKM_AES_GCM))
            expectRV(p11.f.C_EncryptInit!(s, &bare, key), CKR_MECHANISM_PARAM_INVALID, "no CK_GCM_PARAMS")

            var data = [UInt8](repeating: 0x33, count: 20)
            let out = try withGCM(iv: &iv, aad: [], tagBits: 128) { m -> [UInt8] in
                try requireRV(p11.f.C_EncryptInit!(s, m, key), CKR_OK, "C_EncryptInit")
                var small = [UInt8](repeating: 0, count: 4)
                var length = CK_ULONG(small.count)
                expectRV(p11.f.C_Encrypt!(s, &data, 20, &small, &length), CKR_BUFFER_TOO_SMALL, "C_Encrypt into 4 bytes")
                #expect(length == 36)
                var out = [UInt8](repeating: 0, count: 36)
                expectRV(p11.f.C_Encrypt!(s, &data, 20, &out, &length), CKR_OK, "C_Encrypt after CKR_BUFFER_TOO_SMALL")
                var again = out
                expectRV(p11.f.C_Encrypt!(s, &data, 20, &again, &length), CKR_OPERATION_NOT_INITIALIZED, "the operation ended")
                return out
            }
            let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: iv), ciphertext: out.prefix(20), tag: out.suffix(16))
            #expect(try AES.GCM.open(box, using: SymmetricKey(data: Self.aesBytes)) == Data(data))
        }

        @Test("CKM_AES_CBC_PAD: the same ciphertext as swift-crypto, whole and in parts; bad lengths, padding and IVs get their CK_RVs")
        func cbcPad() async throws {
            let (fx, p11, s) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let key = try p11.secretKey(s, id: Self.aesID)
            let symmetric = SymmetricKey(data: Self.aesBytes)
            let iv = [UInt8](repeating: 0x5a, count: 16), plaintext = Array("thirty-three bytes of plain text!".utf8)
            let expected = Array(try AES._CBC.encrypt(plaintext, using: symmetric, iv: try AES._CBC.IV(ivBytes: iv)))
            var ivParameter = iv
            func cbc<R>(_ body: (UnsafeMutablePointer<CK_MECHANISM>) throws -> R) rethrows -> R {
                try ivParameter.withUnsafeMutableBytes { raw in
                    var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_AES_CBC_PAD), pParameter: raw.baseAddress, ulParameterLen: CK_ULONG(raw.count))
                    return try body(&m)
                }
            }
            let sealed = cbc { p11.crypt(s, encrypt: true, $0, key, plaintext) }
            try requireRV(sealed.rv, CKR_OK, "C_Encrypt(CKM_AES_CBC_PAD)")
            #expect(sealed.out == expected)
            let opened = cbc { p11.crypt(s, encrypt: false, $0, key, expected) }
            #expect(opened.rv == CKR_OK && opened.out == plaintext)

            // In parts: the Update calls output nothing, Final all.
            try cbc { m in try requireRV(p11.f.C_EncryptInit!(s, m, key), CKR_OK, "C_EncryptInit") }
            var out = [UInt8](repeating: 0, count: 64)
            var length = CK_ULONG(out.count)
            for part in [Array(plaintext.prefix(5)), Array(plaintext.dropFirst(5))] {
                var p = part
                length = CK_ULONG(out.count)
                expectRV(p11.f.C_EncryptUpdate!(s, &p, CK_ULONG(p.count), &out, &length), CKR_OK, "C_EncryptUpdate")
                #expect(length == 0)
            }
            var one = [UInt8](repeating: 0, count: 1)
            expectRV(p11.f.C_Encrypt!(s, &one, 1, &out, &length), CKR_OPERATION_ACTIVE, "C_Encrypt after C_EncryptUpdate")
            try cbc { m in try requireRV(p11.f.C_EncryptInit!(s, m, key), CKR_OK, "C_EncryptInit") }
            for part in [Array(plaintext.prefix(5)), Array(plaintext.dropFirst(5))] {
                var p = part
                length = CK_ULONG(out.count)
                expectRV(p11.f.C_EncryptUpdate!(s, &p, CK_ULONG(p.count), &out, &length), CKR_OK, "C_EncryptUpdate")
            }
            length = CK_ULONG(out.count)
            expectRV(p11.f.C_EncryptFinal!(s, &out, &length), CKR_OK, "C_EncryptFinal")
            #expect(Array(out.prefix(Int(length))) == expected)

            // A decryption into a short buffer keeps its result for the next call.
            try cbc { m in try requireRV(p11.f.C_DecryptInit!(s, m, key), CKR_OK, "C_DecryptInit") }
            var input = expected
            length = 1
            expectRV(p11.f.C_Decrypt!(s, &input, CK_ULONG(input.count), &one, &length), CKR_BUFFER_TOO_SMALL, "C_Decrypt into 1 byte")
            #expect(length == CK_ULONG(plaintext.count))
            expectRV(p11.f.C_Decrypt!(s, &input, CK_ULONG(input.count), &out, &length), CKR_OK, "C_Decrypt after CKR_BUFFER_TOO_SMALL")
            #expect(Array(out.prefix(Int(length))) == plaintext)

            // Bad lengths, padding (a block that decrypts to zeros ends in 0x00) and IVs.
            expectRV(cbc { p11.crypt(s, encrypt: false, $0, key, Array(expected.prefix(20))).rv }, CKR_ENCRYPTED_DATA_LEN_RANGE, "20 bytes")
            let zeros = Array(try AES._CBC.encrypt([UInt8](repeating: 0, count: 16), using: symmetric, iv: try AES._CBC.IV(ivBytes: iv)).prefix(16))
            expectRV(cbc { p11.crypt(s, encrypt: false, $0, key, zeros).rv }, CKR_ENCRYPTED_DATA_INVALID, "bad padding")
            var shortIV = [UInt8](repeating: 0, count: 8)
            let rv = shortIV.withUnsafeMutableBytes { raw -> CK_RV in
                var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_AES_CBC_PAD), pParameter: raw.baseAddress, ulParameterLen: 8)
                return p11.f.C_EncryptInit!(s, &m, key)
            }
            expectRV(rv, CKR_MECHANISM_PARAM_INVALID, "an 8-byte IV")
        }

        @Test("CKM_SHA256/384/512_HMAC and _GENERAL: tags equal swift-crypto's, checked in the HSM; short tags and wrong keys are refused")
        func hmac() async throws {
            let (fx, p11, s) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let key = try p11.secretKey(s, id: Self.macID), aesKey = try p11.secretKey(s, id: Self.aesID)
            let data = Array("authenticate me".utf8)
            let symmetric = SymmetricKey(data: Self.macBytes)
            let cases: [(UInt, UInt, [UInt8])] = [
                (UInt(CKM_SHA256_HMAC), UInt(CKM_SHA256_HMAC_GENERAL), Array(HMAC<SHA256>.authenticationCode(for: data, using: symmetric))),
                (UInt(CKM_SHA384_HMAC), UInt(CKM_SHA384_HMAC_GENERAL), Array(HMAC<SHA384>.authenticationCode(for: data, using: symmetric))),
                (UInt(CKM_SHA512_HMAC), UInt(CKM_SHA512_HMAC_GENERAL), Array(HMAC<SHA512>.authenticationCode(for: data, using: symmetric))),
            ]
            for (type, general, expected) in cases {
                var m = mechanism(type)
                #expect(try p11.sign(s, &m, key, data) == expected, "mechanism 0x\(String(type, radix: 16))")
                m = mechanism(type)
                expectRV(try p11.verify(s, &m, key, data, expected), CKR_OK, "C_Verify")
                var changed = expected
                changed[0] ^= 1
                m = mechanism(type)
                expectRV(try p11.verify(s, &m, key, data, changed), CKR_SIGNATURE_INVALID, "a changed tag")
                m = mechanism(type)
                expectRV(try p11.verify(s, &m, key, data, Array(expected.prefix(16))), CKR_SIGNATURE_LEN_RANGE, "a short tag")
                let half = CK_ULONG(expected.count / 2)
                let truncated = try withMechanism(general, parameter: half) { try p11.sign(s, $0, key, data) }
                #expect(truncated == Array(expected.prefix(Int(half))))
                expectRV(try withMechanism(general, parameter: half) { try p11.verify(s, $0, key, data, truncated) }, CKR_OK, "C_Verify _GENERAL")
                let tooShort = CK_ULONG(expected.count / 2 - 1)
                expectRV(
                    withMechanism(general, parameter: tooShort) { p11.f.C_SignInit!(s, $0, key) }, CKR_MECHANISM_PARAM_INVALID, "a tag under half the hash")
            }
            // In parts.
            var m = mechanism(UInt(CKM_SHA256_HMAC))
            try requireRV(p11.f.C_SignInit!(s, &m, key), CKR_OK, "C_SignInit")
            for part in [Array(data.prefix(4)), Array(data.dropFirst(4))] {
                var p = part
                expectRV(p11.f.C_SignUpdate!(s, &p, CK_ULONG(p.count)), CKR_OK, "C_SignUpdate")
            }
            var tag = [UInt8](repeating: 0, count: 32)
            var length = CK_ULONG(tag.count)
            expectRV(p11.f.C_SignFinal!(s, &tag, &length), CKR_OK, "C_SignFinal")
            #expect(tag == cases[0].2)
            var onAES = mechanism(UInt(CKM_SHA256_HMAC))
            expectRV(p11.f.C_SignInit!(s, &onAES, aesKey), CKR_KEY_TYPE_INCONSISTENT, "HMAC with an AES key")
        }
    }
}
