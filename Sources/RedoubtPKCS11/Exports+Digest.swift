import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// Digests (SHA-2, computed by the module: nothing secret is involved) and random bytes.

@_cdecl("C_DigestInit")
public func C_DigestInit(_ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?) -> CK_RV {
    entry("C_DigestInit") { () throws(P11Error) in
        let runtime = try Module.runtime()
        guard let pMechanism else { throw .argumentsBad }
        guard let hash = Mechanisms.digest(pMechanism.pointee.mechanism) else {
            throw P11Error(CK_RV(CKR_MECHANISM_INVALID), "digests are SHA-256, SHA-384 and SHA-512")
        }
        guard pMechanism.pointee.ulParameterLen == 0 else { throw P11Error(CK_RV(CKR_MECHANISM_PARAM_INVALID)) }
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard s.digest == nil else { throw .operationActive }
            s.digest = DigestOperation(hash: hash)
        }
    }
}

@_cdecl("C_Digest")
public func C_Digest(
    _ hSession: CK_SESSION_HANDLE, _ pData: UnsafeMutablePointer<CK_BYTE>?, _ ulDataLen: CK_ULONG, _ pDigest: UnsafeMutablePointer<CK_BYTE>?,
    _ pulDigestLen: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_Digest") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishDigest(hSession, single: { () throws(P11Error) in try input(pData, ulDataLen) }, pDigest, pulDigestLen)
    }
}

@_cdecl("C_DigestUpdate")
public func C_DigestUpdate(_ hSession: CK_SESSION_HANDLE, _ pPart: UnsafeMutablePointer<CK_BYTE>?, _ ulPartLen: CK_ULONG) -> CK_RV {
    entry("C_DigestUpdate") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard var op = s.digest else { throw .operationNotInitialized }
            // Taken out while it grows (its data is not copied); an error leaves it out: ended.
            s.digest = nil
            let part = try input(pPart, ulPartLen)
            guard op.data.count + part.count <= SignOperation.maximumDataCount else {
                throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "a multi-part digest takes at most 64 MiB")
            }
            op.data.append(part)
            op.updated = true
            s.digest = op
        }
    }
}

@_cdecl("C_DigestKey")
public func C_DigestKey(_ hSession: CK_SESSION_HANDLE, _ hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_DigestKey") { () throws(P11Error) in
        let runtime = try Module.runtime()
        _ = try runtime.session(hSession)
        throw P11Error(CK_RV(CKR_KEY_INDIGESTIBLE), "key material never leaves the HSM to be digested")
    }
}

@_cdecl("C_DigestFinal")
public func C_DigestFinal(_ hSession: CK_SESSION_HANDLE, _ pDigest: UnsafeMutablePointer<CK_BYTE>?, _ pulDigestLen: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
    entry("C_DigestFinal") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.finishDigest(hSession, single: nil, pDigest, pulDigestLen)
    }
}

@_cdecl("C_SeedRandom")
public func C_SeedRandom(_ hSession: CK_SESSION_HANDLE, _ pSeed: UnsafeMutablePointer<CK_BYTE>?, _ ulSeedLen: CK_ULONG) -> CK_RV {
    entry("C_SeedRandom") { () throws(P11Error) in
        let runtime = try Module.runtime()
        _ = try runtime.session(hSession)
        throw P11Error(CK_RV(CKR_RANDOM_SEED_NOT_SUPPORTED))
    }
}

@_cdecl("C_GenerateRandom")
public func C_GenerateRandom(_ hSession: CK_SESSION_HANDLE, _ pRandomData: UnsafeMutablePointer<CK_BYTE>?, _ ulRandomLen: CK_ULONG) -> CK_RV {
    entry("C_GenerateRandom") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard ulRandomLen > 0 else { return }
        guard let pRandomData else { throw .argumentsBad }
        guard ulRandomLen <= 1 << 20 else { throw P11Error(CK_RV(CKR_ARGUMENTS_BAD), "at most 1 MiB of random bytes per call") }
        var bytes = Data()
        let total = Int(ulRandomLen)
        let loggedIn = runtime.tables.withLock { $0.logins[session.slot] != nil } || runtime.logsInItself(slot: session.slot)
        if loggedIn {
            // From the HSM, in pieces of its largest answer.
            while bytes.count < total {
                let n = min(total - bytes.count, Random.maximumByteCount)
                bytes += try runtime.call(slot: session.slot) { hsm, token in try await hsm.random(token, count: n) }
            }
        } else {
            // Before login there is no Redoubt session: the operating system's generator.
            do { bytes = try Random.bytes(count: total) } catch { throw P11Error(CK_RV(CKR_FUNCTION_FAILED), "\(error)") }
        }
        bytes.copyBytes(to: pRandomData, count: total)
    }
}

extension Runtime {
    func finishDigest(
        _ hSession: CK_SESSION_HANDLE, single: (() throws(P11Error) -> Data)?, _ pDigest: UnsafeMutablePointer<CK_BYTE>?,
        _ pulDigestLen: UnsafeMutablePointer<CK_ULONG>?
    ) throws(P11Error) {
        guard let op = try session(hSession).digest else { throw .operationNotInitialized }
        do throws(P11Error) {
            guard let pulDigestLen else { throw P11Error.argumentsBad }
            if single != nil, op.updated { throw P11Error(CK_RV(CKR_OPERATION_ACTIVE), "C_DigestUpdate was called: end with C_DigestFinal") }
            let length = op.hash.byteCount
            if pDigest == nil {
                pulDigestLen.pointee = CK_ULONG(length)
                return
            }
            if pulDigestLen.pointee < CK_ULONG(length) {
                pulDigestLen.pointee = CK_ULONG(length)
                throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
            }
            let data = try single?() ?? op.data
            try output(Hashing.digest(data, op.hash), to: pDigest, length: pulDigestLen)
            _ = try? updateSession(hSession) { (s: inout SessionState) throws(P11Error) in s.digest = nil }
        } catch {
            if error.rv != CK_RV(CKR_BUFFER_TOO_SMALL) {
                _ = try? updateSession(hSession) { (s: inout SessionState) throws(P11Error) in s.digest = nil }
            }
            throw error
        }
    }
}
