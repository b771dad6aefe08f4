import CPKCS11
import Foundation
import RedoubtCore

// Sessions and login. One Redoubt session per slot serves every PKCS #11 session of it, as the
// standard's login is per application and slot.

@_cdecl("C_OpenSession")
public func C_OpenSession(
    _ slotID: CK_SLOT_ID, _ flags: CK_FLAGS, _ pApplication: UnsafeMutableRawPointer?, _ notify: CK_NOTIFY?,
    _ phSession: UnsafeMutablePointer<CK_SESSION_HANDLE>?
) -> CK_RV {
    entry("C_OpenSession") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let slot = try runtime.slotIndex(slotID)
        guard let phSession else { throw .argumentsBad }
        guard flags & CK_FLAGS(CKF_SERIAL_SESSION) != 0 else { throw P11Error(CK_RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED)) }
        let readWrite = flags & CK_FLAGS(CKF_RW_SESSION) != 0
        phSession.pointee = try runtime.tables.withLock { (t: inout Runtime.Tables) throws(P11Error) -> CK_SESSION_HANDLE in
            if !readWrite, t.logins[slot]?.userType == CK_USER_TYPE(CKU_SO) {
                throw P11Error(CK_RV(CKR_SESSION_READ_WRITE_SO_EXISTS))
            }
            let handle = t.nextSession
            t.nextSession += 1
            t.sessions[handle] = SessionState(slot: slot, readWrite: readWrite)
            return handle
        }
    }
}

@_cdecl("C_CloseSession")
public func C_CloseSession(_ hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_CloseSession") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.closeSessions { handle, _ in handle == hSession }
    }
}

@_cdecl("C_CloseAllSessions")
public func C_CloseAllSessions(_ slotID: CK_SLOT_ID) -> CK_RV {
    entry("C_CloseAllSessions") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let slot = try runtime.slotIndex(slotID)
        try runtime.closeSessions(requireOne: false) { _, state in state.slot == slot }
    }
}

@_cdecl("C_GetSessionInfo")
public func C_GetSessionInfo(_ hSession: CK_SESSION_HANDLE, _ pInfo: UnsafeMutablePointer<CK_SESSION_INFO>?) -> CK_RV {
    entry("C_GetSessionInfo") { () throws(P11Error) in
        let runtime = try Module.runtime()
        guard let pInfo else { throw .argumentsBad }
        let session = try runtime.session(hSession)
        let userType = runtime.tables.withLock { $0.logins[session.slot]?.userType }
        let loggedIn = userType != nil || runtime.logsInItself(slot: session.slot)
        let state: UInt
        switch (session.readWrite, loggedIn, userType == CK_USER_TYPE(CKU_SO)) {
        case (true, true, true): state = CKS_RW_SO_FUNCTIONS
        case (true, true, false): state = CKS_RW_USER_FUNCTIONS
        case (true, false, _): state = CKS_RW_PUBLIC_SESSION
        case (false, true, _): state = CKS_RO_USER_FUNCTIONS
        case (false, false, _): state = CKS_RO_PUBLIC_SESSION
        }
        var info = CK_SESSION_INFO()
        info.slotID = CK_SLOT_ID(session.slot)
        info.state = CK_STATE(state)
        info.flags = CK_FLAGS(CKF_SERIAL_SESSION) | (session.readWrite ? CK_FLAGS(CKF_RW_SESSION) : 0)
        info.ulDeviceError = 0
        pInfo.pointee = info
    }
}

@_cdecl("C_Login")
public func C_Login(_ hSession: CK_SESSION_HANDLE, _ userType: CK_USER_TYPE, _ pPin: UnsafeMutablePointer<CK_UTF8CHAR>?, _ ulPinLen: CK_ULONG) -> CK_RV {
    entry("C_Login") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        let pin = try input(pPin, ulPinLen, limit: 1024)
        try runtime.login(slot: session.slot, userType: userType, pin: pin)
    }
}

@_cdecl("C_LoginUser")
public func C_LoginUser(
    _ hSession: CK_SESSION_HANDLE, _ userType: CK_USER_TYPE, _ pPin: UnsafeMutablePointer<CK_UTF8CHAR>?, _ ulPinLen: CK_ULONG,
    _ pUsername: UnsafeMutablePointer<CK_UTF8CHAR>?, _ ulUsernameLen: CK_ULONG
) -> CK_RV {
    entry("C_LoginUser") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        let pin = try input(pPin, ulPinLen, limit: 1024)
        let user = try input(pUsername, ulUsernameLen, limit: 256)
        // A user name and a password: the same as the PIN "user:password".
        let combined = user.isEmpty ? pin : user + Data(":".utf8) + pin
        try runtime.login(slot: session.slot, userType: userType, pin: combined)
    }
}

@_cdecl("C_Logout")
public func C_Logout(_ hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_Logout") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard runtime.tables.withLock({ $0.logins[session.slot] != nil }) else { throw .userNotLoggedIn }
        runtime.logout(slot: session.slot)
    }
}

@_cdecl("C_SessionCancel")
public func C_SessionCancel(_ hSession: CK_SESSION_HANDLE, _ flags: CK_FLAGS) -> CK_RV {
    entry("C_SessionCancel") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            if flags & CK_FLAGS(CKF_FIND_OBJECTS) != 0 { s.found = nil }
            if flags & CK_FLAGS(CKF_SIGN) != 0 { s.sign = nil }
            if flags & CK_FLAGS(CKF_VERIFY) != 0 { s.verify = nil }
            if flags & CK_FLAGS(CKF_DIGEST) != 0 { s.digest = nil }
            if flags & CK_FLAGS(CKF_ENCRYPT) != 0 { s.encrypt = nil }
            if flags & CK_FLAGS(CKF_DECRYPT) != 0 { s.decrypt = nil }
        }
    }
}

@_cdecl("C_GetOperationState")
public func C_GetOperationState(_ hSession: CK_SESSION_HANDLE, _ pState: UnsafeMutablePointer<CK_BYTE>?, _ pulLen: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
    notSupported("C_GetOperationState", "operation state cannot be saved")
}

@_cdecl("C_SetOperationState")
public func C_SetOperationState(
    _ hSession: CK_SESSION_HANDLE, _ pState: UnsafeMutablePointer<CK_BYTE>?, _ ulLen: CK_ULONG, _ hEncryptionKey: CK_OBJECT_HANDLE,
    _ hAuthenticationKey: CK_OBJECT_HANDLE
) -> CK_RV {
    notSupported("C_SetOperationState", "operation state cannot be restored")
}

@_cdecl("C_GetFunctionStatus")
public func C_GetFunctionStatus(_ hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_GetFunctionStatus") { () throws(P11Error) in
        _ = try Module.runtime()
        throw P11Error(CK_RV(CKR_FUNCTION_NOT_PARALLEL))
    }
}

@_cdecl("C_CancelFunction")
public func C_CancelFunction(_ hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_CancelFunction") { () throws(P11Error) in
        _ = try Module.runtime()
        throw P11Error(CK_RV(CKR_FUNCTION_NOT_PARALLEL))
    }
}

extension Runtime {
    /// Logs the slot in: the PIN is an API key (`rdk1.…`) or `user:password`; CKU_SO must open a
    /// security officer's session, CKU_USER a crypto user's or an auditor's.
    func login(slot: Int, userType: CK_USER_TYPE, pin: Data) throws(P11Error) {
        guard userType == CK_USER_TYPE(CKU_USER) || userType == CK_USER_TYPE(CKU_SO) else {
            throw P11Error(CK_RV(CKR_USER_TYPE_INVALID), "only CKU_USER and CKU_SO log in")
        }
        if logsInItself(slot: slot), userType == CK_USER_TYPE(CKU_USER) {
            // The configured API key is the login; a PIN given anyway is not used (nor kept).
            _ = try currentLogin(slot: slot)
            return
        }
        try tables.withLock { (t: inout Tables) throws(P11Error) in
            if let current = t.logins[slot] {
                throw P11Error(CK_RV(current.userType == userType ? CKR_USER_ALREADY_LOGGED_IN : CKR_USER_ANOTHER_ALREADY_LOGGED_IN))
            }
            if userType == CK_USER_TYPE(CKU_SO), t.sessions.values.contains(where: { $0.slot == slot && !$0.readWrite }) {
                throw P11Error(CK_RV(CKR_SESSION_READ_ONLY_EXISTS))
            }
        }
        guard let text = String(data: pin, encoding: .utf8), !text.isEmpty else { throw P11Error(CK_RV(CKR_PIN_INCORRECT), "the PIN is empty or not UTF-8") }
        let credential: Credential
        if !text.hasPrefix("rdk"), let colon = text.firstIndex(of: ":") {
            credential = .password(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        } else {
            credential = .apiKey(text)
        }
        let partition = configuration.slots[slot].partition
        let info = try callWithoutSession(slot: slot, context: .login) { hsm in
            try await hsm.openSession(partition: partition, credential: credential)
        }
        let fits = userType == CK_USER_TYPE(CKU_SO) ? info.role == .securityOfficer : (info.role == .cryptoUser || info.role == .auditor)
        guard fits else {
            _ = try? callWithoutSession(slot: slot) { hsm in try await hsm.closeSession(info.token) }
            throw P11Error(
                CK_RV(CKR_PIN_INCORRECT),
                "the credential is a \(info.role.rawValue)'s, not a \(userType == CK_USER_TYPE(CKU_SO) ? "security officer" : "crypto user")'s")
        }
        let kept = tables.withLock { t -> Bool in
            guard t.logins[slot] == nil else { return false }
            t.logins[slot] = SlotLogin(userType: userType, credential: credential, token: info.token)
            return true
        }
        if !kept {
            _ = try? callWithoutSession(slot: slot) { hsm in try await hsm.closeSession(info.token) }
            throw P11Error(CK_RV(CKR_USER_ALREADY_LOGGED_IN))
        }
    }

    /// Ends the slot's login and its Redoubt session; operations in its sessions end too.
    func logout(slot: Int) {
        let token = tables.withLock { t -> SessionToken? in
            let token = t.logins[slot]?.token
            t.logins[slot] = nil
            t.snapshots = t.snapshots.filter { $0.key.slot != slot }
            t.searches = t.searches.filter { $0.key.slot != slot }
            for (handle, var s) in t.sessions where s.slot == slot {
                s.found = nil
                s.sign = nil
                s.verify = nil
                s.digest = nil
                s.encrypt = nil
                s.decrypt = nil
                s.objects = []  // they end with the Redoubt session
                t.sessions[handle] = s
            }
            return token
        }
        if let token {
            _ = try? callWithoutSession(slot: slot) { hsm in try await hsm.closeSession(token) }
        }
    }

    /// Closes the sessions `which` selects; a slot left without sessions is logged out.
    /// Their session objects are destroyed first.
    func closeSessions(requireOne: Bool = true, _ which: (CK_SESSION_HANDLE, SessionState) -> Bool) throws(P11Error) {
        let (emptied, objects) = try tables.withLock { (t: inout Tables) throws(P11Error) -> (Set<Int>, [Int: Set<String>]) in
            let closing = t.sessions.filter { which($0.key, $0.value) }
            if requireOne && closing.isEmpty { throw .sessionHandleInvalid }
            for handle in closing.keys { t.sessions[handle] = nil }
            let slots = Set(closing.values.map(\.slot))
            let objects = Dictionary(closing.values.map { ($0.slot, $0.objects) }, uniquingKeysWith: { $0.union($1) })
            return (slots.filter { slot in !t.sessions.values.contains { $0.slot == slot } }, objects)
        }
        for (slot, ids) in objects where !ids.isEmpty {
            // Best effort: a slot logged out meanwhile has lost them with its Redoubt session.
            try? destroySessionObjects(slot: slot, ids: ids, strict: false)
        }
        for slot in emptied where tables.withLock({ $0.logins[slot] != nil }) { logout(slot: slot) }
    }

    /// Destroys and purges session objects in the HSM, and forgets them and their handles.
    /// `strict`: a failure is the caller's error (C_DestroyObject); otherwise it is only logged.
    func destroySessionObjects(slot: Int, ids: Set<String>, strict: Bool) throws(P11Error) {
        for id in ids {
            do throws(P11Error) {
                try call(slot: slot, context: .object) { hsm, token in
                    _ = try await hsm.destroyKey(token, id: id)
                    try await hsm.purgeKey(token, id: id)
                }
            } catch {
                if strict { throw error }
                logger.info("a session object was not destroyed at C_CloseSession", metadata: ["redoubt.key": "\(id)", "pkcs11.rv": "\(error.rv)"])
            }
            tables.withLock { t in
                for (handle, var s) in t.sessions where s.slot == slot && s.objects.contains(id) {
                    s.objects.remove(id)
                    t.sessions[handle] = s
                }
                for kind in [ObjectRef.Kind.privateKey, .publicKey, .secretKey] {
                    let ref = ObjectRef(slot: slot, kind: kind, id: id)
                    if let handle = t.byRef.removeValue(forKey: ref) { t.handles[handle] = nil }
                }
            }
            forget(slot: slot, id: id)
        }
    }
}
