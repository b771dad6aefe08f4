import CPKCS11
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("C_Login, C_Logout and session states")
    struct Login {
        @Test("PIN checks, one login per slot, CKU_SO rules and the session state")
        func login() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }

            let readOnly = try p11.openSession(readWrite: false)
            let rw = try p11.openSession()
            #expect(try p11.sessionState(rw) == UInt(CKS_RW_PUBLIC_SESSION))
            #expect(try p11.sessionState(readOnly) == UInt(CKS_RO_PUBLIC_SESSION))

            // A security officer may not log in while a read-only session is open.
            expectRV(p11.login(rw, UInt(CKU_SO), fx.officerAPIKey), CKR_SESSION_READ_ONLY_EXISTS, "C_Login(CKU_SO) with a read-only session open")
            expectRV(p11.f.C_Logout!(rw), CKR_USER_NOT_LOGGED_IN, "C_Logout with nobody logged in")

            // Wrong PINs: a changed API key, a wrong password, rubbish.
            var wrongKey = Array(fx.userAPIKey)
            wrongKey[wrongKey.count - 1] = wrongKey.last == "A" ? "B" : "A"
            expectRV(p11.login(rw, UInt(CKU_USER), String(wrongKey)), CKR_PIN_INCORRECT, "C_Login with a changed API key")
            expectRV(p11.login(rw, UInt(CKU_USER), "\(Fixture.passwordUser):not the password"), CKR_PIN_INCORRECT, "C_Login with a wrong password")
            expectRV(p11.login(rw, UInt(CKU_USER), "wrong"), CKR_PIN_INCORRECT, "C_Login with \"wrong\"")
            #expect(try p11.sessionState(rw) == UInt(CKS_RW_PUBLIC_SESSION), "a failed login logs nobody in")

            // The crypto user's key is not a security officer's.
            expectRV(p11.f.C_CloseSession!(readOnly), CKR_OK, "C_CloseSession(read-only)")
            expectRV(p11.login(rw, UInt(CKU_SO), fx.userAPIKey), CKR_PIN_INCORRECT, "C_Login(CKU_SO) with the crypto user's API key")
            #expect(try p11.sessionState(rw) == UInt(CKS_RW_PUBLIC_SESSION))

            // The crypto user's API key as the user PIN.
            try requireRV(p11.login(rw, UInt(CKU_USER), fx.userAPIKey), CKR_OK, "C_Login(CKU_USER, API key)")
            #expect(try p11.sessionState(rw) == UInt(CKS_RW_USER_FUNCTIONS))
            expectRV(p11.login(rw, UInt(CKU_USER), fx.userAPIKey), CKR_USER_ALREADY_LOGGED_IN, "a second C_Login(CKU_USER)")
            expectRV(p11.login(rw, UInt(CKU_SO), fx.officerAPIKey), CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "C_Login(CKU_SO) with the user logged in")
            // The login is the slot's: a session opened later shares it.
            let later = try p11.openSession(readWrite: false)
            #expect(try p11.sessionState(later) == UInt(CKS_RO_USER_FUNCTIONS))
            expectRV(p11.login(rw, UInt(CKU_CONTEXT_SPECIFIC + 7), fx.userAPIKey), CKR_USER_TYPE_INVALID, "C_Login with an unknown user type")

            expectRV(p11.f.C_Logout!(rw), CKR_OK, "C_Logout")
            #expect(try p11.sessionState(rw) == UInt(CKS_RW_PUBLIC_SESSION))
            #expect(try p11.sessionState(later) == UInt(CKS_RO_PUBLIC_SESSION))
            expectRV(p11.f.C_CloseSession!(later), CKR_OK, "C_CloseSession")

            // "user:password" as the PIN.
            try requireRV(p11.login(rw, UInt(CKU_USER), "\(Fixture.passwordUser):\(Fixture.password)"), CKR_OK, "C_Login(CKU_USER, user:password)")
            #expect(try p11.sessionState(rw) == UInt(CKS_RW_USER_FUNCTIONS))
            expectRV(p11.f.C_Logout!(rw), CKR_OK, "C_Logout")

            // The security officer, with no read-only session left.
            try requireRV(p11.login(rw, UInt(CKU_SO), fx.officerAPIKey), CKR_OK, "C_Login(CKU_SO, officer's API key)")
            #expect(try p11.sessionState(rw) == UInt(CKS_RW_SO_FUNCTIONS))
            var refused: CK_SESSION_HANDLE = 0
            expectRV(
                p11.f.C_OpenSession!(0, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &refused), CKR_SESSION_READ_WRITE_SO_EXISTS,
                "C_OpenSession(read-only) with the security officer logged in")
            expectRV(p11.f.C_Logout!(rw), CKR_OK, "C_Logout")
        }

        @Test("closing a slot's sessions logs it out: a new session is public")
        func closingLogsOut() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }

            // C_CloseAllSessions.
            let first = try p11.userSession(fx)
            _ = try p11.openSession(readWrite: false)
            #expect(try p11.sessionState(first) == UInt(CKS_RW_USER_FUNCTIONS))
            expectRV(p11.f.C_CloseAllSessions!(0), CKR_OK, "C_CloseAllSessions(0)")
            var info = CK_SESSION_INFO()
            expectRV(p11.f.C_GetSessionInfo!(first, &info), CKR_SESSION_HANDLE_INVALID, "C_GetSessionInfo of a closed session")
            let fresh = try p11.openSession()
            #expect(try p11.sessionState(fresh) == UInt(CKS_RW_PUBLIC_SESSION), "a new session after C_CloseAllSessions")
            expectRV(p11.f.C_Logout!(fresh), CKR_USER_NOT_LOGGED_IN, "C_Logout after C_CloseAllSessions")

            // C_CloseSession of the last session.
            try requireRV(p11.login(fresh, UInt(CKU_USER), fx.userAPIKey), CKR_OK, "C_Login(CKU_USER)")
            expectRV(p11.f.C_CloseSession!(fresh), CKR_OK, "C_CloseSession(the last session)")
            let again = try p11.openSession()
            #expect(try p11.sessionState(again) == UInt(CKS_RW_PUBLIC_SESSION), "a new session after the last one closed")
            // And the user can log in again.
            expectRV(p11.login(again, UInt(CKU_USER), fx.userAPIKey), CKR_OK, "C_Login(CKU_USER) again")
            expectRV(p11.f.C_CloseAllSessions!(7), CKR_SLOT_ID_INVALID, "C_CloseAllSessions(7)")
        }
        @Test("after C_Logout the private key is out of reach: its handle is invalid, for reading and for C_SignInit")
        func logoutHidesPrivateObjects() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            defer { p11.finalize() }
            let s = try p11.userSession(fx)
            let key = try p11.generateP256(s, label: "private", id: [0x0b])
            #expect(p11.attribute(s, key.priv, UInt(CKA_LABEL)).value == Array("private".utf8))
            try requireRV(p11.f.C_Logout!(s), CKR_OK, "C_Logout")
            // Straight after the logout (the module remembers what the HSM said of an object for two seconds).
            expectRV(p11.attribute(s, key.priv, UInt(CKA_LABEL)).rv, CKR_OBJECT_HANDLE_INVALID, "C_GetAttributeValue of a private key after C_Logout")
            var m = mechanism(UInt(CKM_ECDSA_SHA256))
            // The handle is invalid while no one is logged in (the standard: handles to private objects become invalid at logout).
            expectRV(p11.f.C_SignInit!(s, &m, key.priv), CKR_KEY_HANDLE_INVALID, "C_SignInit with a private key after C_Logout")
            let found = try p11.find(s, AttributeTemplate().bytes(UInt(CKA_ID), [0x0b]))
            #expect(!found.contains(key.priv), "a public session's search finds the private key: \(found)")
        }
    }
}
