import CPKCS11
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("Key generation, search and attributes")
    struct Objects {
        static let privateKeyAttributes: [(UInt, String)] = [
            (UInt(CKA_CLASS), "CKA_CLASS"), (UInt(CKA_TOKEN), "CKA_TOKEN"), (UInt(CKA_PRIVATE), "CKA_PRIVATE"),
            (UInt(CKA_MODIFIABLE), "CKA_MODIFIABLE"), (UInt(CKA_LABEL), "CKA_LABEL"), (UInt(CKA_KEY_TYPE), "CKA_KEY_TYPE"),
            (UInt(CKA_ID), "CKA_ID"), (UInt(CKA_START_DATE), "CKA_START_DATE"), (UInt(CKA_END_DATE), "CKA_END_DATE"),
            (UInt(CKA_DERIVE), "CKA_DERIVE"), (UInt(CKA_LOCAL), "CKA_LOCAL"), (UInt(CKA_KEY_GEN_MECHANISM), "CKA_KEY_GEN_MECHANISM"),
            (UInt(CKA_ALLOWED_MECHANISMS), "CKA_ALLOWED_MECHANISMS"), (UInt(CKA_SUBJECT), "CKA_SUBJECT"),
            (UInt(CKA_SENSITIVE), "CKA_SENSITIVE"), (UInt(CKA_DECRYPT), "CKA_DECRYPT"), (UInt(CKA_SIGN), "CKA_SIGN"),
            (UInt(CKA_SIGN_RECOVER), "CKA_SIGN_RECOVER"), (UInt(CKA_UNWRAP), "CKA_UNWRAP"), (UInt(CKA_EXTRACTABLE), "CKA_EXTRACTABLE"),
            (UInt(CKA_ALWAYS_SENSITIVE), "CKA_ALWAYS_SENSITIVE"), (UInt(CKA_NEVER_EXTRACTABLE), "CKA_NEVER_EXTRACTABLE"),
            (UInt(CKA_WRAP_WITH_TRUSTED), "CKA_WRAP_WITH_TRUSTED"), (UInt(CKA_ALWAYS_AUTHENTICATE), "CKA_ALWAYS_AUTHENTICATE"),
            (UInt(CKA_EC_PARAMS), "CKA_EC_PARAMS"), (UInt(CKA_EC_POINT), "CKA_EC_POINT"), (UInt(CKA_COPYABLE), "CKA_COPYABLE"),
            (UInt(CKA_DESTROYABLE), "CKA_DESTROYABLE"),
        ]

        static let publicKeyAttributes: [(UInt, String)] = [
            (UInt(CKA_CLASS), "CKA_CLASS"), (UInt(CKA_TOKEN), "CKA_TOKEN"), (UInt(CKA_PRIVATE), "CKA_PRIVATE"),
            (UInt(CKA_MODIFIABLE), "CKA_MODIFIABLE"), (UInt(CKA_LABEL), "CKA_LABEL"), (UInt(CKA_KEY_TYPE), "CKA_KEY_TYPE"),
            (UInt(CKA_ID), "CKA_ID"), (UInt(CKA_START_DATE), "CKA_START_DATE"), (UInt(CKA_END_DATE), "CKA_END_DATE"),
            (UInt(CKA_DERIVE), "CKA_DERIVE"), (UInt(CKA_LOCAL), "CKA_LOCAL"), (UInt(CKA_KEY_GEN_MECHANISM), "CKA_KEY_GEN_MECHANISM"),
            (UInt(CKA_ALLOWED_MECHANISMS), "CKA_ALLOWED_MECHANISMS"), (UInt(CKA_SUBJECT), "CKA_SUBJECT"),
            (UInt(CKA_ENCRYPT), "CKA_ENCRYPT"), (UInt(CKA_VERIFY), "CKA_VERIFY"), (UInt(CKA_VERIFY_RECOVER), "CKA_VERIFY_RECOVER"),
            (UInt(CKA_WRAP), "CKA_WRAP"), (UInt(CKA_TRUSTED), "CKA_TRUSTED"), (UInt(CKA_PUBLIC_KEY_INFO), "CKA_PUBLIC_KEY_INFO"),
            (UInt(CKA_EC_PARAMS), "CKA_EC_PARAMS"), (UInt(CKA_EC_POINT), "CKA_EC_POINT"),
        ]

        @Test("a P-256 pair from standard templates: found by CKA_ID (+ CKA_CLASS), every standard attribute answers, secrets are sensitive")
        func ecKeyPair() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let rw = try p11.userSession(fx)
            let ro = try p11.openSession(readWrite: false)
            let id: [UInt8] = [0xc0, 0xff, 0xee]

            // A token key needs a read-write session.
            let (pubT, privT) = Cryptoki.signingTemplates(ecParameters: p256Parameters, label: "ro-key", id: [0x99])
            expectRV(
                p11.generateKeyPair(ro, UInt(CKM_EC_KEY_PAIR_GEN), pub: pubT, priv: privT).rv, CKR_SESSION_READ_ONLY,
                "C_GenerateKeyPair(token key) in a read-only session")
            let key = try p11.generateP256(rw, label: "p11-ec", id: id)
            #expect(key.pub != key.priv && key.pub != 0 && key.priv != 0)

            // Search.
            let byClass = try p11.find(rw, AttributeTemplate().bytes(UInt(CKA_ID), id).ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)))
            #expect(byClass == [key.priv], "CKA_ID + CKA_CLASS=CKO_PRIVATE_KEY finds \(byClass), not the private key \(key.priv)")
            let byID = try p11.find(rw, AttributeTemplate().bytes(UInt(CKA_ID), id))
            #expect(Set(byID) == [key.pub, key.priv] && byID.count == 2, "CKA_ID finds \(byID)")
            let byLabel = try p11.find(ro, AttributeTemplate().string(UInt(CKA_LABEL), "p11-ec").ulong(UInt(CKA_CLASS), UInt(CKO_PUBLIC_KEY)))
            #expect(byLabel == [key.pub], "CKA_LABEL + CKO_PUBLIC_KEY from the read-only session finds \(byLabel)")
            #expect(try p11.find(rw, AttributeTemplate().bytes(UInt(CKA_ID), [0x99])).isEmpty, "the refused key does not exist")

            // Every standard attribute of the private key answers.
            for (type, name) in Self.privateKeyAttributes {
                let (rv, _) = p11.attribute(rw, key.priv, type)
                expectRV(rv, CKR_OK, "private key \(name)")
            }
            #expect(p11.attribute(rw, key.priv, UInt(CKA_CLASS)).value == ulongBytes(UInt(CKO_PRIVATE_KEY)))
            #expect(p11.attribute(rw, key.priv, UInt(CKA_KEY_TYPE)).value == ulongBytes(UInt(CKK_EC)))
            #expect(p11.attribute(rw, key.priv, UInt(CKA_LABEL)).value == Array("p11-ec".utf8))
            #expect(p11.attribute(rw, key.priv, UInt(CKA_ID)).value == id)
            for (type, want, name) in [
                (UInt(CKA_TOKEN), true, "CKA_TOKEN"), (UInt(CKA_PRIVATE), true, "CKA_PRIVATE"), (UInt(CKA_SENSITIVE), true, "CKA_SENSITIVE"),
                (UInt(CKA_SIGN), true, "CKA_SIGN"), (UInt(CKA_EXTRACTABLE), false, "CKA_EXTRACTABLE"),
                (UInt(CKA_ALWAYS_SENSITIVE), true, "CKA_ALWAYS_SENSITIVE"), (UInt(CKA_NEVER_EXTRACTABLE), true, "CKA_NEVER_EXTRACTABLE"),
                (UInt(CKA_LOCAL), true, "CKA_LOCAL"), (UInt(CKA_SIGN_RECOVER), false, "CKA_SIGN_RECOVER"),
            ] {
                #expect(p11.attribute(rw, key.priv, type).value == [want ? 1 : 0], "private key \(name) should be \(want)")
            }
            #expect(p11.attribute(rw, key.priv, UInt(CKA_KEY_GEN_MECHANISM)).value == ulongBytes(UInt(CKM_EC_KEY_PAIR_GEN)))
            #expect(p11.attribute(rw, key.priv, UInt(CKA_EC_PARAMS)).value == p256Parameters)
            let allowed = try p11.requireAttribute(rw, key.priv, UInt(CKA_ALLOWED_MECHANISMS), "CKA_ALLOWED_MECHANISMS")
            #expect(allowed.count % 8 == 0 && stride(from: 0, to: allowed.count, by: 8).contains { ulongValue(Array(allowed[$0..<$0 + 8])) == UInt(CKM_ECDSA) })

            // CKA_VALUE of a private key is sensitive: CKR_ATTRIBUTE_SENSITIVE with CK_UNAVAILABLE_INFORMATION.
            var value = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_VALUE), pValue: nil, ulValueLen: 0)
            expectRV(p11.f.C_GetAttributeValue!(rw, key.priv, &value, 1), CKR_ATTRIBUTE_SENSITIVE, "private key CKA_VALUE")
            #expect(value.ulValueLen == CK_ULONG.max, "CKA_VALUE ulValueLen \(value.ulValueLen)")

            // The public key.
            for (type, name) in Self.publicKeyAttributes {
                let (rv, _) = p11.attribute(rw, key.pub, type)
                expectRV(rv, CKR_OK, "public key \(name)")
            }
            #expect(p11.attribute(rw, key.pub, UInt(CKA_CLASS)).value == ulongBytes(UInt(CKO_PUBLIC_KEY)))
            #expect(p11.attribute(rw, key.pub, UInt(CKA_VERIFY)).value == [1])
            #expect(p11.attribute(rw, key.pub, UInt(CKA_PRIVATE)).value == [0])
            #expect(p11.attribute(rw, key.pub, UInt(CKA_TRUSTED)).value == [0])
            let point = try p11.requireAttribute(rw, key.pub, UInt(CKA_EC_POINT), "CKA_EC_POINT")
            #expect(point.count == 67 && Array(point.prefix(3)) == [0x04, 0x41, 0x04], "CKA_EC_POINT \(hex(point))")
            #expect(p11.attribute(rw, key.priv, UInt(CKA_EC_POINT)).value == point, "both objects show the same point")
            let spki = try p11.requireAttribute(rw, key.pub, UInt(CKA_PUBLIC_KEY_INFO), "CKA_PUBLIC_KEY_INFO")
            #expect(spki.first == 0x30 && spki.suffix(64) == point.suffix(64), "the SPKI holds the point")

            // Size query, then a short buffer: CKR_BUFFER_TOO_SMALL and that attribute's length unavailable.
            var query = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_EC_POINT), pValue: nil, ulValueLen: 0)
            expectRV(p11.f.C_GetAttributeValue!(rw, key.pub, &query, 1), CKR_OK, "CKA_EC_POINT size query")
            #expect(query.ulValueLen == 67)
            var small = [UInt8](repeating: 0, count: 10)
            var classValue = [UInt8](repeating: 0, count: 8)
            let shortRV = small.withUnsafeMutableBytes { s in
                classValue.withUnsafeMutableBytes { c in
                    var pair = [
                        CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_EC_POINT), pValue: s.baseAddress, ulValueLen: 10),
                        CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: c.baseAddress, ulValueLen: 8),
                    ]
                    let rv = p11.f.C_GetAttributeValue!(rw, key.pub, &pair, 2)
                    #expect(pair[0].ulValueLen == CK_ULONG.max, "the short attribute's length is CK_UNAVAILABLE_INFORMATION, got \(pair[0].ulValueLen)")
                    #expect(pair[1].ulValueLen == 8, "the attribute that fits is still returned")
                    return rv
                }
            }
            expectRV(shortRV, CKR_BUFFER_TOO_SMALL, "CKA_EC_POINT into 10 bytes")
            #expect(classValue == ulongBytes(UInt(CKO_PUBLIC_KEY)))

            // An unknown attribute type: CKR_ATTRIBUTE_TYPE_INVALID, the others still filled.
            var klass = [UInt8](repeating: 0, count: 8)
            var label = [UInt8](repeating: 0, count: 32)
            var unknown = [UInt8](repeating: 0, count: 8)
            let unknownRV = klass.withUnsafeMutableBytes { k in
                label.withUnsafeMutableBytes { l in
                    unknown.withUnsafeMutableBytes { u in
                        var three = [
                            CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: k.baseAddress, ulValueLen: 8),
                            CK_ATTRIBUTE(type: 0x7fff_fff0, pValue: u.baseAddress, ulValueLen: 8),
                            CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_LABEL), pValue: l.baseAddress, ulValueLen: 32),
                        ]
                        let rv = p11.f.C_GetAttributeValue!(rw, key.priv, &three, 3)
                        #expect(three[0].ulValueLen == 8)
                        #expect(three[1].ulValueLen == CK_ULONG.max, "the unknown attribute's length \(three[1].ulValueLen)")
                        #expect(three[2].ulValueLen == 6, "CKA_LABEL length \(three[2].ulValueLen)")
                        return rv
                    }
                }
            }
            expectRV(unknownRV, CKR_ATTRIBUTE_TYPE_INVALID, "C_GetAttributeValue with type 0x7ffffff0 among others")
            #expect(klass == ulongBytes(UInt(CKO_PRIVATE_KEY)))
            #expect(Array(label.prefix(6)) == Array("p11-ec".utf8))
        }

        @Test("a key made through another LocalHSM on the same store is found at once")
        func keysMadeElsewhere() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let beef: [UInt8] = [0xbe, 0xef]
            #expect(try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), beef)).isEmpty, "nothing has id beef yet")

            let made = try await fx.withSecondHSM { hsm, token in
                try await hsm.generateKey(token, spec: .init(algorithm: .p256, label: "elsewhere", applicationID: Data(beef)))
            }
            #expect(made.applicationID == Data(beef))
            let found = try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), beef))
            #expect(found.count == 2, "CKA_ID beef finds \(found)")
            let privateOnes = try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), beef).ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)))
            try #require(privateOnes.count == 1, "CKA_ID beef + CKO_PRIVATE_KEY finds \(privateOnes)")
            #expect(p11.attribute(s, privateOnes[0], UInt(CKA_LABEL)).value == Array("elsewhere".utf8))
            #expect(p11.attribute(s, privateOnes[0], UInt(CKA_TOKEN)).value == [1])
        }

        @Test("C_DestroyObject: refused for the crypto user (only the security officer destroys keys), done by CKU_SO")
        func destroy() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let key = try p11.generateP256(s, label: "doomed", id: [0xd0])
            expectRV(p11.f.C_DestroyObject!(s, key.priv), CKR_ACTION_PROHIBITED, "C_DestroyObject as the crypto user")
            #expect(p11.attribute(s, key.priv, UInt(CKA_CLASS)).rv == CK_RV(CKR_OK), "the key is still there")
            let ro = try p11.openSession(readWrite: false)
            expectRV(p11.f.C_DestroyObject!(ro, key.priv), CKR_SESSION_READ_ONLY, "C_DestroyObject of a token object in a read-only session")
            expectRV(p11.f.C_CloseSession!(ro), CKR_OK, "C_CloseSession(read-only)")

            expectRV(p11.f.C_Logout!(s), CKR_OK, "C_Logout")
            try requireRV(p11.login(s, UInt(CKU_SO), fx.officerAPIKey), CKR_OK, "C_Login(CKU_SO)")
            let found = try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), [0xd0]))
            #expect(Set(found) == [key.pub, key.priv], "the officer sees the same objects (the same handles): \(found)")
            expectRV(p11.f.C_DestroyObject!(s, key.priv), CKR_OK, "C_DestroyObject as the security officer")
            expectRV(p11.attribute(s, key.priv, UInt(CKA_CLASS)).rv, CKR_OBJECT_HANDLE_INVALID, "C_GetAttributeValue of the destroyed private key")
            expectRV(p11.attribute(s, key.pub, UInt(CKA_CLASS)).rv, CKR_OBJECT_HANDLE_INVALID, "C_GetAttributeValue of the destroyed pair's public key")
            #expect(try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), [0xd0])).isEmpty, "a search no longer finds it")
            expectRV(p11.f.C_DestroyObject!(s, key.priv), CKR_OBJECT_HANDLE_INVALID, "C_DestroyObject again")
        }

        @Test("CKA_TOKEN false: a session object that other sessions find and use; gone when its session closes or the crypto user destroys it")
        func sessionObjects() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            // A read-only session may make session objects.
            let ro = try p11.openSession(readWrite: false)
            let key = try p11.generateP256(ro, label: "ephemeral", id: [0x5e], token: false)
            #expect(p11.attribute(s, key.priv, UInt(CKA_TOKEN)).value == [0])
            #expect(Set(try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), [0x5e]))) == [key.pub, key.priv], "another session finds both halves")
            var m = mechanism(UInt(CKM_ECDSA_SHA256))
            #expect(try p11.sign(s, &m, key.priv, Array("session".utf8)).count == 64)

            expectRV(p11.f.C_CloseSession!(ro), CKR_OK, "C_CloseSession of the session that made it")
            expectRV(p11.attribute(s, key.priv, UInt(CKA_CLASS)).rv, CKR_OBJECT_HANDLE_INVALID, "the private key after its session closed")
            expectRV(p11.attribute(s, key.pub, UInt(CKA_CLASS)).rv, CKR_OBJECT_HANDLE_INVALID, "the public key after its session closed")
            #expect(try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), [0x5e])).isEmpty, "a search no longer finds it")

            // The crypto user may destroy a session object (not a token object), from a read-only session too.
            let second = try p11.generateP256(s, label: "ephemeral-2", id: [0x5f], token: false)
            let ro2 = try p11.openSession(readWrite: false)
            expectRV(p11.f.C_DestroyObject!(ro2, second.priv), CKR_OK, "C_DestroyObject of a session object as the crypto user")
            expectRV(p11.attribute(s, second.pub, UInt(CKA_CLASS)).rv, CKR_OBJECT_HANDLE_INVALID, "the destroyed pair's public key")
            #expect(try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), [0x5f])).isEmpty, "a search no longer finds it")
            expectRV(p11.f.C_DestroyObject!(ro2, second.priv), CKR_OBJECT_HANDLE_INVALID, "C_DestroyObject again")
        }
    }
}
