import CPKCS11
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("Library, slot, token and mechanism information")
    struct Information {
        @Test("C_GetInfo, C_GetSlotList (size query, short buffer, full), slot and token info, mechanisms")
        func information() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let config = try fx.writeConfig(try fx.configuration(extraLabels: ["second"]), name: "two-slots.json")
            let p11 = try Cryptoki.initialized(config: config)
            defer { p11.finalize() }

            var info = CK_INFO()
            try requireRV(p11.f.C_GetInfo!(&info), CKR_OK, "C_GetInfo")
            #expect(fieldBytes(info.manufacturerID) == padded("Redoubt", 32), "manufacturerID \(fieldBytes(info.manufacturerID))")
            #expect(fieldBytes(info.libraryDescription).count == 32 && fieldBytes(info.libraryDescription).allSatisfy { $0 != 0 })
            #expect(info.flags == 0)

            var count: CK_ULONG = 0
            expectRV(p11.f.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, &count), CKR_OK, "C_GetSlotList (size query)")
            #expect(count == 2)
            var slots = [CK_SLOT_ID](repeating: 0xdead, count: 2)
            var short: CK_ULONG = 1
            expectRV(p11.f.C_GetSlotList!(CK_BBOOL(CK_TRUE), &slots, &short), CKR_BUFFER_TOO_SMALL, "C_GetSlotList into room for one")
            #expect(short == 2, "CKR_BUFFER_TOO_SMALL sets the count needed")
            count = 2
            expectRV(p11.f.C_GetSlotList!(CK_BBOOL(CK_FALSE), &slots, &count), CKR_OK, "C_GetSlotList")
            #expect(count == 2 && slots == [0, 1], "slots \(slots)")

            var slotInfo = CK_SLOT_INFO()
            expectRV(p11.f.C_GetSlotInfo!(0, &slotInfo), CKR_OK, "C_GetSlotInfo(0)")
            #expect(slotInfo.flags & CK_FLAGS(CKF_TOKEN_PRESENT) != 0)
            #expect(fieldBytes(slotInfo.manufacturerID) == padded("Redoubt", 32))

            var token = CK_TOKEN_INFO()
            try requireRV(p11.f.C_GetTokenInfo!(0, &token), CKR_OK, "C_GetTokenInfo(0)")
            #expect(fieldBytes(token.label) == padded("p11", 32), "label \(fieldBytes(token.label))")
            #expect(token.flags & CK_FLAGS(CKF_LOGIN_REQUIRED) != 0, "CKF_LOGIN_REQUIRED")
            #expect(token.flags & CK_FLAGS(CKF_TOKEN_INITIALIZED) != 0, "CKF_TOKEN_INITIALIZED")
            #expect(token.flags & CK_FLAGS(CKF_USER_PIN_INITIALIZED) != 0, "CKF_USER_PIN_INITIALIZED")
            expectRV(p11.f.C_GetTokenInfo!(1, &token), CKR_OK, "C_GetTokenInfo(1)")
            #expect(fieldBytes(token.label) == padded("second", 32))

            // No slot 2.
            expectRV(p11.f.C_GetSlotInfo!(2, &slotInfo), CKR_SLOT_ID_INVALID, "C_GetSlotInfo(2)")
            expectRV(p11.f.C_GetTokenInfo!(2, &token), CKR_SLOT_ID_INVALID, "C_GetTokenInfo(2)")
            var session: CK_SESSION_HANDLE = 0
            expectRV(p11.f.C_OpenSession!(2, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &session), CKR_SLOT_ID_INVALID, "C_OpenSession(2)")
            expectRV(p11.f.C_GetMechanismList!(2, nil, &count), CKR_SLOT_ID_INVALID, "C_GetMechanismList(2)")

            // Mechanisms.
            var mechanismCount: CK_ULONG = 0
            try requireRV(p11.f.C_GetMechanismList!(0, nil, &mechanismCount), CKR_OK, "C_GetMechanismList (size query)")
            try #require(mechanismCount > 4)
            var mechanisms = [CK_MECHANISM_TYPE](repeating: 0, count: Int(mechanismCount))
            var tooFew: CK_ULONG = 2
            expectRV(p11.f.C_GetMechanismList!(0, &mechanisms, &tooFew), CKR_BUFFER_TOO_SMALL, "C_GetMechanismList into room for two")
            #expect(tooFew == mechanismCount)
            try requireRV(p11.f.C_GetMechanismList!(0, &mechanisms, &mechanismCount), CKR_OK, "C_GetMechanismList")
            let listed = Set(mechanisms.prefix(Int(mechanismCount)).map { UInt($0) })
            for (type, name) in [
                (UInt(CKM_ECDSA), "CKM_ECDSA"), (UInt(CKM_EDDSA), "CKM_EDDSA"), (UInt(CKM_SHA256_RSA_PKCS_PSS), "CKM_SHA256_RSA_PKCS_PSS"),
                (UInt(0x1d), "CKM_ML_DSA"), (UInt(CKM_SHA256), "CKM_SHA256"),
            ] {
                #expect(listed.contains(type), "C_GetMechanismList lacks \(name)")
            }
            var mechanismInfo = CK_MECHANISM_INFO()
            expectRV(p11.f.C_GetMechanismInfo!(0, CK_MECHANISM_TYPE(CKM_ECDSA), &mechanismInfo), CKR_OK, "C_GetMechanismInfo(CKM_ECDSA)")
            #expect(mechanismInfo.flags & CK_FLAGS(CKF_SIGN) != 0 && mechanismInfo.flags & CK_FLAGS(CKF_VERIFY) != 0)
            #expect(mechanismInfo.ulMinKeySize == 256)
            expectRV(
                p11.f.C_GetMechanismInfo!(0, CK_MECHANISM_TYPE(CKM_DES3_CBC), &mechanismInfo), CKR_MECHANISM_INVALID, "C_GetMechanismInfo(CKM_DES3_CBC)")
            expectRV(p11.f.C_GetMechanismInfo!(0, 0x7fff_fff0, &mechanismInfo), CKR_MECHANISM_INVALID, "C_GetMechanismInfo(0x7ffffff0)")
        }

        @Test("null pointers and bad lengths are CKR_ARGUMENTS_BAD, unknown handles are *_HANDLE_INVALID, and nothing crashes")
        func badArguments() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let f = p11.f

            expectRV(f.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, nil), CKR_ARGUMENTS_BAD, "C_GetSlotList(…, NULL count)")
            var slot: CK_SLOT_ID = 0
            expectRV(f.C_GetSlotList!(CK_BBOOL(CK_TRUE), &slot, nil), CKR_ARGUMENTS_BAD, "C_GetSlotList(list, NULL count)")
            expectRV(f.C_GetInfo!(nil), CKR_ARGUMENTS_BAD, "C_GetInfo(NULL)")
            expectRV(f.C_GetSlotInfo!(0, nil), CKR_ARGUMENTS_BAD, "C_GetSlotInfo(0, NULL)")
            expectRV(f.C_GetTokenInfo!(0, nil), CKR_ARGUMENTS_BAD, "C_GetTokenInfo(0, NULL)")
            expectRV(f.C_GetMechanismList!(0, nil, nil), CKR_ARGUMENTS_BAD, "C_GetMechanismList(0, NULL, NULL)")
            expectRV(f.C_OpenSession!(0, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, nil), CKR_ARGUMENTS_BAD, "C_OpenSession(…, NULL)")

            let s = try p11.openSession()
            expectRV(f.C_GetSessionInfo!(s, nil), CKR_ARGUMENTS_BAD, "C_GetSessionInfo(s, NULL)")
            expectRV(f.C_Login!(s, CK_USER_TYPE(CKU_USER), nil, 5), CKR_ARGUMENTS_BAD, "C_Login(NULL PIN, length 5)")
            try requireRV(p11.login(s, UInt(CKU_USER), fx.userAPIKey), CKR_OK, "C_Login(CKU_USER)")
            let key = try p11.generateP256(s, token: false)

            expectRV(f.C_GetAttributeValue!(s, key.priv, nil, 3), CKR_ARGUMENTS_BAD, "C_GetAttributeValue(NULL template, count 3)")
            let nullValue = AttributeTemplate().raw(UInt(CKA_ID), nil, 8)
            expectRV(nullValue.with { f.C_FindObjectsInit!(s, $0, $1) }, CKR_ARGUMENTS_BAD, "C_FindObjectsInit with a NULL pValue of length 8")
            expectRV(f.C_FindObjectsInit!(s, nil, 2), CKR_ARGUMENTS_BAD, "C_FindObjectsInit(NULL template, count 2)")
            // No search was left active by the refused ones.
            expectRV(f.C_FindObjectsInit!(s, nil, 0), CKR_OK, "C_FindObjectsInit(empty template)")
            expectRV(f.C_FindObjects!(s, nil, 0, nil), CKR_ARGUMENTS_BAD, "C_FindObjects(…, NULL out-count)")
            var handles = [CK_OBJECT_HANDLE](repeating: 0, count: 4)
            expectRV(f.C_FindObjects!(s, &handles, 4, nil), CKR_ARGUMENTS_BAD, "C_FindObjects(handles, 4, NULL out-count)")
            expectRV(f.C_FindObjectsFinal!(s), CKR_OK, "C_FindObjectsFinal")

            var m = mechanism(UInt(CKM_ECDSA_SHA256))
            try requireRV(f.C_SignInit!(s, &m, key.priv), CKR_OK, "C_SignInit")
            var data: [UInt8] = Array("data".utf8)
            var signature = [UInt8](repeating: 0, count: 64)
            expectRV(f.C_Sign!(s, &data, CK_ULONG(data.count), &signature, nil), CKR_ARGUMENTS_BAD, "C_Sign with a NULL length pointer")
            expectRV(f.C_SignInit!(s, nil, key.priv), CKR_ARGUMENTS_BAD, "C_SignInit(NULL mechanism)")
            expectRV(f.C_DigestInit!(s, nil), CKR_ARGUMENTS_BAD, "C_DigestInit(NULL mechanism)")
            expectRV(f.C_GenerateRandom!(s, nil, 16), CKR_ARGUMENTS_BAD, "C_GenerateRandom(NULL, 16)")

            // Unknown session handle.
            var info = CK_SESSION_INFO()
            expectRV(f.C_GetSessionInfo!(9999, &info), CKR_SESSION_HANDLE_INVALID, "C_GetSessionInfo(9999)")
            expectRV(p11.login(9999, UInt(CKU_USER), fx.userAPIKey), CKR_SESSION_HANDLE_INVALID, "C_Login(9999)")
            expectRV(f.C_FindObjectsInit!(9999, nil, 0), CKR_SESSION_HANDLE_INVALID, "C_FindObjectsInit(9999)")
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(f.C_SignInit!(9999, &m, key.priv), CKR_SESSION_HANDLE_INVALID, "C_SignInit(9999)")
            m = mechanism(UInt(CKM_SHA256))
            expectRV(f.C_DigestInit!(9999, &m), CKR_SESSION_HANDLE_INVALID, "C_DigestInit(9999)")
            expectRV(f.C_CloseSession!(9999), CKR_SESSION_HANDLE_INVALID, "C_CloseSession(9999)")

            // Unknown object handle: CKR_OBJECT_HANDLE_INVALID for object functions, CKR_KEY_HANDLE_INVALID for key uses.
            var query = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: nil, ulValueLen: 0)
            expectRV(f.C_GetAttributeValue!(s, 9999, &query, 1), CKR_OBJECT_HANDLE_INVALID, "C_GetAttributeValue(object 9999)")
            expectRV(f.C_DestroyObject!(s, 9999), CKR_OBJECT_HANDLE_INVALID, "C_DestroyObject(object 9999)")
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(f.C_SignInit!(s, &m, 9999), CKR_KEY_HANDLE_INVALID, "C_SignInit(key 9999)")
            m = mechanism(UInt(CKM_ECDSA_SHA256))
            expectRV(f.C_VerifyInit!(s, &m, 9999), CKR_KEY_HANDLE_INVALID, "C_VerifyInit(key 9999)")
        }
    }
}
