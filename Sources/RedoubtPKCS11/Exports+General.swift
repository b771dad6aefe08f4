import CPKCS11
import Foundation

// C_Initialize, C_Finalize, C_GetInfo, slots, tokens and mechanisms.

@_cdecl("C_Initialize")
public func C_Initialize(_ pInitArgs: UnsafeMutableRawPointer?) -> CK_RV {
    entry("C_Initialize") { () throws(P11Error) in
        var reserved: String?
        if let pInitArgs {
            let args = pInitArgs.loadUnaligned(as: CK_C_INITIALIZE_ARGS.self)
            let callbacks = [args.CreateMutex != nil, args.DestroyMutex != nil, args.LockMutex != nil, args.UnlockMutex != nil]
            if callbacks.contains(true) && callbacks.contains(false) { throw .argumentsBad }
            if callbacks.contains(true) && args.flags & CK_FLAGS(CKF_OS_LOCKING_OK) == 0 {
                throw P11Error(CK_RV(CKR_CANT_LOCK), "the module locks with the operating system's primitives only")
            }
            // CKF_LIBRARY_CANT_CREATE_OS_THREADS is accepted: calls run on the caller's thread, but a
            // broker connection needs an event-loop thread of the module's. GnuTLS and p11-kit pass
            // the flag routinely; refusing it (CKR_NEED_TO_CREATE_THREADS) locked them out.
            // docs/pkcs11.md says so.
            // A configuration path (a C string) in pReserved, as several modules accept.
            if let p = args.pReserved, UInt(bitPattern: p) >= 4096 {
                reserved = String(cString: p.assumingMemoryBound(to: CChar.self))
            }
        }
        _ = Module.inheritedRuntime()
        let already = Module.current.withLock { $0 != nil }
        if already { throw P11Error(CK_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED)) }
        let configuration: ModuleConfiguration
        do throws(P11Error) {
            guard let path = ModuleConfiguration.locate(reserved: reserved) else {
                throw P11Error(
                    CK_RV(CKR_GENERAL_ERROR),
                    "no configuration: set REDOUBT_PKCS11_CONFIG or write ~/.config/redoubt/pkcs11.json (docs/pkcs11.md)")
            }
            configuration = try ModuleConfiguration.load(path: path)
        } catch {
            // No log is configured yet: a person must still learn why the module will not start.
            FileHandle.standardError.write(Data("redoubt-pkcs11: C_Initialize failed: \(error.message)\n".utf8))
            throw error
        }
        let runtime = Runtime(configuration: configuration, logger: Module.makeLogger(file: configuration.logFile))
        let installed = Module.current.withLock { current -> Bool in
            guard current == nil else { return false }
            current = runtime
            Module.abandonedIn = nil
            return true
        }
        guard installed else {
            runtime.shutdown()
            throw P11Error(CK_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED))
        }
    }
}

@_cdecl("C_Finalize")
public func C_Finalize(_ pReserved: UnsafeMutableRawPointer?) -> CK_RV {
    entry("C_Finalize") { () throws(P11Error) in
        guard pReserved == nil else { throw .argumentsBad }
        // In a child of fork(), finalising forgets the parent's runtime without touching it
        // (also when an earlier call already did: the application still thinks it initialised).
        if Module.inheritedRuntime() != nil || Module.forgotInheritedRuntime() { return }
        guard
            let runtime = Module.current.withLock({ current -> Runtime? in
                defer { current = nil }
                return current
            })
        else { throw .notInitialized }
        runtime.shutdown()
    }
}

@_cdecl("C_GetInfo")
public func C_GetInfo(_ pInfo: UnsafeMutablePointer<CK_INFO>?) -> CK_RV {
    entry("C_GetInfo") { () throws(P11Error) in
        _ = try Module.runtime()
        guard let pInfo else { throw .argumentsBad }
        var info = CK_INFO()
        info.cryptokiVersion = CK_VERSION(major: 3, minor: 0)
        pad(&info.manufacturerID, "Redoubt")
        info.flags = 0
        pad(&info.libraryDescription, "Redoubt PKCS#11 module")
        info.libraryVersion = moduleVersion
        pInfo.pointee = info
    }
}

@_cdecl("C_GetSlotList")
public func C_GetSlotList(_ tokenPresent: CK_BBOOL, _ pSlotList: UnsafeMutablePointer<CK_SLOT_ID>?, _ pulCount: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
    entry("C_GetSlotList") { () throws(P11Error) in
        let runtime = try Module.runtime()
        guard let pulCount else { throw .argumentsBad }
        let count = CK_ULONG(runtime.slotCount)
        guard let pSlotList else {
            pulCount.pointee = count
            return
        }
        guard pulCount.pointee >= count else {
            pulCount.pointee = count
            throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
        }
        for i in 0..<runtime.slotCount { pSlotList[i] = CK_SLOT_ID(i) }
        pulCount.pointee = count
    }
}

@_cdecl("C_GetSlotInfo")
public func C_GetSlotInfo(_ slotID: CK_SLOT_ID, _ pInfo: UnsafeMutablePointer<CK_SLOT_INFO>?) -> CK_RV {
    entry("C_GetSlotInfo") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let slot = try runtime.slotIndex(slotID)
        guard let pInfo else { throw .argumentsBad }
        var info = CK_SLOT_INFO()
        pad(&info.slotDescription, "Redoubt partition \(runtime.configuration.slots[slot].partition)")
        pad(&info.manufacturerID, "Redoubt")
        info.flags = CK_FLAGS(CKF_TOKEN_PRESENT) | CK_FLAGS(CKF_HW_SLOT)
        info.hardwareVersion = moduleVersion
        info.firmwareVersion = moduleVersion
        pInfo.pointee = info
    }
}

@_cdecl("C_GetTokenInfo")
public func C_GetTokenInfo(_ slotID: CK_SLOT_ID, _ pInfo: UnsafeMutablePointer<CK_TOKEN_INFO>?) -> CK_RV {
    entry("C_GetTokenInfo") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let slot = try runtime.slotIndex(slotID)
        guard let pInfo else { throw .argumentsBad }
        let (sessions, rw) = runtime.tables.withLock { t in
            (t.sessions.values.filter { $0.slot == slot }.count, t.sessions.values.filter { $0.slot == slot && $0.readWrite }.count)
        }
        var info = CK_TOKEN_INFO()
        pad(&info.label, runtime.configuration.slots[slot].label)
        pad(&info.manufacturerID, "Redoubt")
        pad(&info.model, "Redoubt HSM")
        pad(&info.serialNumber, runtime.serial(slot: slot))
        var flags = CK_FLAGS(CKF_RNG) | CK_FLAGS(CKF_USER_PIN_INITIALIZED) | CK_FLAGS(CKF_TOKEN_INITIALIZED)
        if !runtime.logsInItself(slot: slot) { flags |= CK_FLAGS(CKF_LOGIN_REQUIRED) }
        info.flags = flags
        info.ulMaxSessionCount = CK_ULONG(CK_EFFECTIVELY_INFINITE)
        info.ulSessionCount = CK_ULONG(sessions)
        info.ulMaxRwSessionCount = CK_ULONG(CK_EFFECTIVELY_INFINITE)
        info.ulRwSessionCount = CK_ULONG(rw)
        info.ulMaxPinLen = 1024
        info.ulMinPinLen = 1
        info.ulTotalPublicMemory = CK_ULONG.max
        info.ulFreePublicMemory = CK_ULONG.max
        info.ulTotalPrivateMemory = CK_ULONG.max
        info.ulFreePrivateMemory = CK_ULONG.max
        info.hardwareVersion = moduleVersion
        info.firmwareVersion = moduleVersion
        pad(&info.utcTime, "")
        pInfo.pointee = info
    }
}

@_cdecl("C_GetMechanismList")
public func C_GetMechanismList(
    _ slotID: CK_SLOT_ID, _ pMechanismList: UnsafeMutablePointer<CK_MECHANISM_TYPE>?, _ pulCount: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_GetMechanismList") { () throws(P11Error) in
        let runtime = try Module.runtime()
        _ = try runtime.slotIndex(slotID)
        guard let pulCount else { throw .argumentsBad }
        let all = Mechanisms.all
        guard let pMechanismList else {
            pulCount.pointee = CK_ULONG(all.count)
            return
        }
        guard pulCount.pointee >= CK_ULONG(all.count) else {
            pulCount.pointee = CK_ULONG(all.count)
            throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
        }
        for (i, m) in all.enumerated() { pMechanismList[i] = m.type }
        pulCount.pointee = CK_ULONG(all.count)
    }
}

@_cdecl("C_GetMechanismInfo")
public func C_GetMechanismInfo(_ slotID: CK_SLOT_ID, _ type: CK_MECHANISM_TYPE, _ pInfo: UnsafeMutablePointer<CK_MECHANISM_INFO>?) -> CK_RV {
    entry("C_GetMechanismInfo") { () throws(P11Error) in
        let runtime = try Module.runtime()
        _ = try runtime.slotIndex(slotID)
        guard let pInfo else { throw .argumentsBad }
        guard let info = Mechanisms.info(type) else { throw P11Error(CK_RV(CKR_MECHANISM_INVALID)) }
        pInfo.pointee = info
    }
}

@_cdecl("C_WaitForSlotEvent")
public func C_WaitForSlotEvent(_ flags: CK_FLAGS, _ pSlot: UnsafeMutablePointer<CK_SLOT_ID>?, _ pReserved: UnsafeMutableRawPointer?) -> CK_RV {
    entry("C_WaitForSlotEvent") { () throws(P11Error) in
        _ = try Module.runtime()
        // Tokens are never inserted or removed.
        throw P11Error(CK_RV(CKR_FUNCTION_NOT_SUPPORTED))
    }
}

@_cdecl("C_InitToken")
public func C_InitToken(_ slotID: CK_SLOT_ID, _ pPin: UnsafeMutablePointer<CK_UTF8CHAR>?, _ ulPinLen: CK_ULONG, _ pLabel: UnsafeMutablePointer<CK_UTF8CHAR>?)
    -> CK_RV
{
    notSupported("C_InitToken", "partitions are created with `redoubt admin`, not through PKCS #11")
}

@_cdecl("C_InitPIN")
public func C_InitPIN(_ hSession: CK_SESSION_HANDLE, _ pPin: UnsafeMutablePointer<CK_UTF8CHAR>?, _ ulPinLen: CK_ULONG) -> CK_RV {
    notSupported("C_InitPIN", "users and their credentials are managed with `redoubt users`")
}

@_cdecl("C_SetPIN")
public func C_SetPIN(
    _ hSession: CK_SESSION_HANDLE, _ pOldPin: UnsafeMutablePointer<CK_UTF8CHAR>?, _ ulOldLen: CK_ULONG,
    _ pNewPin: UnsafeMutablePointer<CK_UTF8CHAR>?, _ ulNewLen: CK_ULONG
) -> CK_RV {
    notSupported("C_SetPIN", "users and their credentials are managed with `redoubt users`")
}

/// CKR_FUNCTION_NOT_SUPPORTED once initialised (CKR_CRYPTOKI_NOT_INITIALIZED before), with the reason logged.
func notSupported(_ name: StaticString, _ why: String) -> CK_RV {
    entry(name) { () throws(P11Error) in
        _ = try Module.runtime()
        throw P11Error(CK_RV(CKR_FUNCTION_NOT_SUPPORTED), why)
    }
}
