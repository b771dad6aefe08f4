import CPKCS11
import Crypto
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("PKCS #11 3.2 ML-KEM: C_EncapsulateKey and C_DecapsulateKey through the 3.2 table, checked by swift-crypto")
    struct KEM {
        /// The module's "PKCS 11" 3.2 function list.
        static func table32(_ p11: Cryptoki) throws -> CK_FUNCTION_LIST_3_2 {
            let getInterface = try p11.module.symbol("C_GetInterface", as: GetInterface.self)
            var name = Array("PKCS 11".utf8CString).map { CK_UTF8CHAR(bitPattern: $0) }
            var version = CK_VERSION(major: 3, minor: 2)
            var found: UnsafeMutablePointer<CK_INTERFACE>?
            try requireRV(getInterface(&name, &version, &found, 0), CKR_OK, "C_GetInterface(\"PKCS 11\", 3.2)")
            return try #require(found?.pointee.pFunctionList).assumingMemoryBound(to: CK_FUNCTION_LIST_3_2.self).pointee
        }

        /// A fixture, the module initialised, a logged-in session and the 3.2 table.
        static func session() async throws -> (Fixture, Cryptoki, CK_SESSION_HANDLE, CK_FUNCTION_LIST_3_2) {
            let fx = try await Fixture.make()
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            return (fx, p11, try p11.userSession(fx), try Self.table32(p11))
        }

        /// A readable 32-byte generic secret: its CKA_VALUE can be compared.
        static var readable: AttributeTemplate {
            AttributeTemplate().ulong(UInt(CKA_CLASS), UInt(CKO_SECRET_KEY)).ulong(UInt(CKA_KEY_TYPE), UInt(CKK_GENERIC_SECRET))
                .bool(UInt(CKA_SENSITIVE), false).bool(UInt(CKA_EXTRACTABLE), true)
        }

        static func generate(_ p11: Cryptoki, _ s: CK_SESSION_HANDLE, set: UInt) -> (rv: CK_RV, pub: CK_OBJECT_HANDLE, priv: CK_OBJECT_HANDLE) {
            let pub = AttributeTemplate().ulong(UInt(CKA_PARAMETER_SET), set).bool(UInt(CKA_TOKEN), false).bool(UInt(CKA_ENCAPSULATE), true)
            let priv = AttributeTemplate().bool(UInt(CKA_TOKEN), false).bool(UInt(CKA_DECAPSULATE), true)
            return p11.generateKeyPair(s, UInt(CKM_ML_KEM_KEY_PAIR_GEN), pub: pub, priv: priv)
        }

        /// C_EncapsulateKey into a buffer of `room` bytes (nil: a size query).
        static func encapsulate(
            _ f: CK_FUNCTION_LIST_3_2, _ s: CK_SESSION_HANDLE, _ key: CK_OBJECT_HANDLE, room: Int?, mechanismType: UInt = UInt(CKM_ML_KEM),
            _ template: AttributeTemplate = readable
        ) -> (rv: CK_RV, ciphertext: [UInt8], length: Int, handle: CK_OBJECT_HANDLE) {
            var m = mechanism(mechanismType)
            var buffer = [UInt8](repeating: 0, count: room ?? 0)
            var length = CK_ULONG(room ?? 0)
            var handle: CK_OBJECT_HANDLE = 0
            let rv = template.with { t, n in
                buffer.withUnsafeMutableBufferPointer { b in
                    f.C_EncapsulateKey!(s, &m, key, t, n, room == nil ? nil : b.baseAddress, &length, &handle)
                }
            }
            return (rv, Array(buffer.prefix(min(Int(length), buffer.count))), Int(length), handle)
        }

        static func decapsulate(
            _ f: CK_FUNCTION_LIST_3_2, _ s: CK_SESSION_HANDLE, _ key: CK_OBJECT_HANDLE, _ ciphertext: [UInt8], _ template: AttributeTemplate = readable
        ) -> (rv: CK_RV, handle: CK_OBJECT_HANDLE) {
            var m = mechanism(UInt(CKM_ML_KEM))
            var input = ciphertext
            var handle: CK_OBJECT_HANDLE = 0
            let rv = template.with { t, n in f.C_DecapsulateKey!(s, &m, key, t, n, &input, CK_ULONG(input.count), &handle) }
            return (rv, handle)
        }

        @Test(
            "ML-KEM-768 and -1024: the token's encapsulation decapsulates to the same secret; swift-crypto encapsulates to the token's public key and the token decapsulates it"
        )
        func roundTrips() async throws {
            let (fx, p11, s, f) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            #expect(f.base.base.version.major == 3 && f.base.base.version.minor == 2)
            var info = CK_MECHANISM_INFO()
            try requireRV(p11.f.C_GetMechanismInfo!(0, CK_MECHANISM_TYPE(CKM_ML_KEM), &info), CKR_OK, "C_GetMechanismInfo(CKM_ML_KEM)")
            #expect(info.flags & CK_FLAGS(CKF_ENCAPSULATE) != 0 && info.flags & CK_FLAGS(CKF_DECAPSULATE) != 0)

            for (set, length) in [(UInt(CKP_ML_KEM_768), 1088), (UInt(CKP_ML_KEM_1024), 1568)] {
                let pair = Self.generate(p11, s, set: set)
                try requireRV(pair.rv, CKR_OK, "C_GenerateKeyPair(CKM_ML_KEM_KEY_PAIR_GEN, set \(set))")
                #expect(p11.attribute(s, pair.pub, UInt(CKA_KEY_TYPE)).value == ulongBytes(UInt(CKK_ML_KEM)))
                #expect(p11.attribute(s, pair.pub, UInt(CKA_ENCAPSULATE)).value == [1])
                #expect(p11.attribute(s, pair.priv, UInt(CKA_DECAPSULATE)).value == [1])

                // A size query makes nothing; too little room is CKR_BUFFER_TOO_SMALL with the length.
                let query = Self.encapsulate(f, s, pair.pub, room: nil)
                try requireRV(query.rv, CKR_OK, "C_EncapsulateKey (size query)")
                #expect(query.length == length && query.handle == 0)
                let short = Self.encapsulate(f, s, pair.pub, room: length - 1)
                expectRV(short.rv, CKR_BUFFER_TOO_SMALL, "C_EncapsulateKey into \(length - 1) bytes")
                #expect(short.length == length && short.handle == 0)

                let sent = Self.encapsulate(f, s, pair.pub, room: length)
                try requireRV(sent.rv, CKR_OK, "C_EncapsulateKey")
                #expect(sent.ciphertext.count == length && sent.handle != 0)
                let secret = try #require(p11.attribute(s, sent.handle, UInt(CKA_VALUE)).value)
                #expect(secret.count == 32)
                let received = Self.decapsulate(f, s, pair.priv, sent.ciphertext)
                try requireRV(received.rv, CKR_OK, "C_DecapsulateKey")
                #expect(p11.attribute(s, received.handle, UInt(CKA_VALUE)).value == secret, "the two sides disagree")

                // A tampered ciphertext decapsulates (implicit rejection) to another secret.
                var tampered = sent.ciphertext
                tampered[10] ^= 0x01
                let other = Self.decapsulate(f, s, pair.priv, tampered)
                try requireRV(other.rv, CKR_OK, "C_DecapsulateKey of a tampered ciphertext")
                #expect(p11.attribute(s, other.handle, UInt(CKA_VALUE)).value != secret)

                // swift-crypto encapsulates to the public key's CKA_VALUE; the token decapsulates.
                let publicBytes = try p11.requireAttribute(s, pair.pub, UInt(CKA_VALUE), "CKA_VALUE of the ML-KEM public key")
                let outside: (secret: [UInt8], ciphertext: [UInt8])
                if set == UInt(CKP_ML_KEM_768) {
                    let r = try MLKEM768.PublicKey(rawRepresentation: publicBytes).encapsulate()
                    outside = (r.sharedSecret.withUnsafeBytes { Array($0) }, Array(r.encapsulated))
                } else {
                    let r = try MLKEM1024.PublicKey(rawRepresentation: publicBytes).encapsulate()
                    outside = (r.sharedSecret.withUnsafeBytes { Array($0) }, Array(r.encapsulated))
                }
                let opened = Self.decapsulate(f, s, pair.priv, outside.ciphertext)
                try requireRV(opened.rv, CKR_OK, "C_DecapsulateKey of swift-crypto's encapsulation")
                #expect(p11.attribute(s, opened.handle, UInt(CKA_VALUE)).value == outside.secret)
            }
        }

        @Test("refusals: wrong mechanism or key, the other half of the pair, wrong lengths, templates the secret cannot fit, a key without CKA_ENCAPSULATE")
        func refusals() async throws {
            let (fx, p11, s, f) = try await Self.session()
            defer { fx.remove() }
            defer { p11.finalize() }
            let pair = Self.generate(p11, s, set: UInt(CKP_ML_KEM_768))
            try requireRV(pair.rv, CKR_OK, "C_GenerateKeyPair(ML-KEM-768)")
            expectRV(Self.generate(p11, s, set: UInt(CKP_ML_KEM_512)).rv, CKR_ATTRIBUTE_VALUE_INVALID, "ML-KEM-512")
            let ec = try p11.generateP256(s, label: "not-kem", id: [0x0e], token: false)

            expectRV(Self.encapsulate(f, s, pair.pub, room: 1088, mechanismType: UInt(CKM_ECDSA)).rv, CKR_MECHANISM_INVALID, "CKM_ECDSA")
            expectRV(Self.encapsulate(f, s, ec.pub, room: 1088).rv, CKR_KEY_TYPE_INCONSISTENT, "a P-256 public key")
            expectRV(Self.encapsulate(f, s, pair.priv, room: 1088).rv, CKR_KEY_TYPE_INCONSISTENT, "the private key encapsulating")
            expectRV(Self.encapsulate(f, s, 0xdead, room: 1088).rv, CKR_KEY_HANDLE_INVALID, "no such object")
            let aes128 = AttributeTemplate().ulong(UInt(CKA_KEY_TYPE), UInt(CKK_AES)).ulong(UInt(CKA_VALUE_LEN), 16)
            expectRV(Self.encapsulate(f, s, pair.pub, room: 1088, aes128).rv, CKR_TEMPLATE_INCONSISTENT, "a 16-byte AES key from a 32-byte secret")
            let rsa = AttributeTemplate().ulong(UInt(CKA_KEY_TYPE), UInt(CKK_RSA))
            expectRV(Self.encapsulate(f, s, pair.pub, room: 1088, rsa).rv, CKR_TEMPLATE_INCONSISTENT, "an RSA key")
            var noLength = mechanism(UInt(CKM_ML_KEM))
            var handle: CK_OBJECT_HANDLE = 0
            expectRV(f.C_EncapsulateKey!(s, &noLength, pair.pub, nil, 0, nil, nil, &handle), CKR_ARGUMENTS_BAD, "no length pointer")

            let sent = Self.encapsulate(f, s, pair.pub, room: 1088)
            try requireRV(sent.rv, CKR_OK, "C_EncapsulateKey")
            expectRV(Self.decapsulate(f, s, pair.priv, Array(sent.ciphertext.dropLast())).rv, CKR_ENCRYPTED_DATA_LEN_RANGE, "a short ciphertext")
            expectRV(Self.decapsulate(f, s, pair.priv, sent.ciphertext + [0]).rv, CKR_ENCRYPTED_DATA_LEN_RANGE, "a long ciphertext")
            expectRV(Self.decapsulate(f, s, pair.pub, sent.ciphertext).rv, CKR_KEY_TYPE_INCONSISTENT, "the public key decapsulating")
            expectRV(Self.decapsulate(f, s, ec.priv, sent.ciphertext).rv, CKR_KEY_TYPE_INCONSISTENT, "a P-256 private key")
            // An AES-256 key from the secret is fine.
            let aes256 = AttributeTemplate().ulong(UInt(CKA_KEY_TYPE), UInt(CKK_AES)).ulong(UInt(CKA_VALUE_LEN), 32).bool(UInt(CKA_ENCRYPT), true)
            let aesKey = Self.decapsulate(f, s, pair.priv, sent.ciphertext, aes256)
            try requireRV(aesKey.rv, CKR_OK, "C_DecapsulateKey into an AES-256 key")
            #expect(p11.attribute(s, aesKey.handle, UInt(CKA_KEY_TYPE)).value == ulongBytes(UInt(CKK_AES)))

            // A public key made without CKA_ENCAPSULATE may not encapsulate.
            let pub = AttributeTemplate().ulong(UInt(CKA_PARAMETER_SET), UInt(CKP_ML_KEM_768)).bool(UInt(CKA_TOKEN), false)
                .bool(UInt(CKA_ENCAPSULATE), false)
            let denied = p11.generateKeyPair(s, UInt(CKM_ML_KEM_KEY_PAIR_GEN), pub: pub, priv: AttributeTemplate().bool(UInt(CKA_TOKEN), false))
            try requireRV(denied.rv, CKR_OK, "C_GenerateKeyPair without CKA_ENCAPSULATE")
            #expect(p11.attribute(s, denied.pub, UInt(CKA_ENCAPSULATE)).value == [0])
            expectRV(Self.encapsulate(f, s, denied.pub, room: 1088).rv, CKR_KEY_FUNCTION_NOT_PERMITTED, "CKA_ENCAPSULATE false")
        }
    }
}
