import CPKCS11
import Crypto
import Foundation
import Testing

typealias MessageInit = @convention(c) (CK_SESSION_HANDLE, UnsafeMutablePointer<CK_MECHANISM>?, CK_OBJECT_HANDLE) -> CK_RV
typealias MessageCrypt =
    @convention(c) (
        CK_SESSION_HANDLE, UnsafeMutableRawPointer?, CK_ULONG, UnsafeMutablePointer<CK_BYTE>?, CK_ULONG, UnsafeMutablePointer<CK_BYTE>?, CK_ULONG,
        UnsafeMutablePointer<CK_BYTE>?, UnsafeMutablePointer<CK_ULONG>?
    ) -> CK_RV
typealias MessageFinal = @convention(c) (CK_SESSION_HANDLE) -> CK_RV
typealias MessageBegin = @convention(c) (CK_SESSION_HANDLE, UnsafeMutableRawPointer?, CK_ULONG, UnsafeMutablePointer<CK_BYTE>?, CK_ULONG) -> CK_RV

extension RedoubtPKCS11Tests {
    @Suite("PKCS #11 3.0 message-based AES-GCM: the token's IV and the tag written per message, checked by swift-crypto")
    struct Message {
        /// One message through C_EncryptMessage or C_DecryptMessage with a CK_GCM_MESSAGE_PARAMS over `iv` and `tag`.
        static func crypt(
            _ call: MessageCrypt, _ s: CK_SESSION_HANDLE, iv: inout [UInt8], tag: inout [UInt8], generator: UInt, aad: [UInt8], _ input: [UInt8]
        ) -> (CK_RV, [UInt8]) {
            var aad = aad, input = input
            let tagBits = CK_ULONG(tag.count * 8), ivCount = CK_ULONG(iv.count)
            return iv.withUnsafeMutableBufferPointer { ivBuffer in
                tag.withUnsafeMutableBufferPointer { tagBuffer in
                    var params = CK_GCM_MESSAGE_PARAMS(
                        pIv: ivBuffer.baseAddress, ulIvLen: ivCount, ulIvFixedBits: 0, ivGenerator: CK_GENERATOR_FUNCTION(generator),
                        pTag: tagBuffer.baseAddress, ulTagBits: tagBits)
                    return withUnsafeMutableBytes(of: &params) { raw in
                        var length: CK_ULONG = 0
                        let sized = call(s, raw.baseAddress, CK_ULONG(raw.count), &aad, CK_ULONG(aad.count), &input, CK_ULONG(input.count), nil, &length)
                        guard sized == CKR_OK else { return (sized, []) }
                        var out = [UInt8](repeating: 0, count: Int(length))
                        let rv = call(s, raw.baseAddress, CK_ULONG(raw.count), &aad, CK_ULONG(aad.count), &input, CK_ULONG(input.count), &out, &length)
                        return (rv, Array(out.prefix(Int(length))))
                    }
                }
            }
        }

        @Test(
            "C_EncryptMessage: a fresh HSM IV per message, swift-crypto opens each; C_DecryptMessage opens swift-crypto's; caller IVs, altered tags and parts are refused"
        )
        func aesGCM() async throws {
            let (fx, p11, s) = try await Symmetric.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let module = try LoadedModule.get()
            let encryptInit = try module.symbol("C_MessageEncryptInit", as: MessageInit.self)
            let encrypt = try module.symbol("C_EncryptMessage", as: MessageCrypt.self)
            let encryptFinal = try module.symbol("C_MessageEncryptFinal", as: MessageFinal.self)
            let decryptInit = try module.symbol("C_MessageDecryptInit", as: MessageInit.self)
            let decrypt = try module.symbol("C_DecryptMessage", as: MessageCrypt.self)
            let decryptFinal = try module.symbol("C_MessageDecryptFinal", as: MessageFinal.self)
            let begin = try module.symbol("C_EncryptMessageBegin", as: MessageBegin.self)
            let key = try p11.secretKey(s, id: Symmetric.aesID)
            let symmetric = SymmetricKey(data: Symmetric.aesBytes)
            let aad = Array("header".utf8), plaintext = Array("message one of many".utf8)

            var m = mechanism(UInt(CKM_AES_GCM))
            try requireRV(encryptInit(s, &m, key), CKR_OK, "C_MessageEncryptInit")
            expectRV(encryptInit(s, &m, key), CKR_OPERATION_ACTIVE, "a second C_MessageEncryptInit")
            var ivs: [[UInt8]] = []
            for _ in 0..<2 {
                var iv = [UInt8](repeating: 0, count: 12), tag = [UInt8](repeating: 0, count: 16)
                let (rv, ciphertext) = Self.crypt(encrypt, s, iv: &iv, tag: &tag, generator: UInt(CKG_GENERATE_RANDOM), aad: aad, plaintext)
                try requireRV(rv, CKR_OK, "C_EncryptMessage")
                #expect(ciphertext.count == plaintext.count)
                let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: iv), ciphertext: ciphertext, tag: tag)
                #expect(try AES.GCM.open(box, using: symmetric, authenticating: aad) == Data(plaintext))
                ivs.append(iv)
            }
            #expect(ivs[0] != ivs[1], "two messages got the same IV")
            var iv = [UInt8](repeating: 1, count: 12), tag = [UInt8](repeating: 0, count: 16)
            expectRV(
                Self.crypt(encrypt, s, iv: &iv, tag: &tag, generator: UInt(CKG_NO_GENERATE), aad: aad, plaintext).0, CKR_MECHANISM_PARAM_INVALID,
                "the caller's IV")
            expectRV(begin(s, nil, 0, nil, 0), CKR_FUNCTION_NOT_SUPPORTED, "C_EncryptMessageBegin")
            try requireRV(encryptFinal(s), CKR_OK, "C_MessageEncryptFinal")
            expectRV(
                Self.crypt(encrypt, s, iv: &iv, tag: &tag, generator: UInt(CKG_GENERATE_RANDOM), aad: aad, plaintext).0, CKR_OPERATION_NOT_INITIALIZED,
                "after C_MessageEncryptFinal")

            let sealed = try AES.GCM.seal(plaintext, using: symmetric, authenticating: aad)
            var nonce = Array(sealed.nonce), sealedTag = Array(sealed.tag)
            try requireRV(decryptInit(s, &m, key), CKR_OK, "C_MessageDecryptInit")
            let (rv, opened) = Self.crypt(decrypt, s, iv: &nonce, tag: &sealedTag, generator: UInt(CKG_NO_GENERATE), aad: aad, Array(sealed.ciphertext))
            try requireRV(rv, CKR_OK, "C_DecryptMessage")
            #expect(opened == plaintext)
            sealedTag[0] ^= 1
            expectRV(
                Self.crypt(decrypt, s, iv: &nonce, tag: &sealedTag, generator: UInt(CKG_NO_GENERATE), aad: aad, Array(sealed.ciphertext)).0,
                CKR_ENCRYPTED_DATA_INVALID, "an altered tag")
            try requireRV(decryptFinal(s), CKR_OK, "C_MessageDecryptFinal")
        }
    }
}
