import CPKCS11
import Foundation

// The symmetric loops of `redoubt bench pkcs11`: AES-256-GCM encryption and HMAC-SHA-256 of 1 KiB,
// as ../shared/bench/softhsm/p11bench.c measures them (one Init plus one single-part call per op).

extension P11Module {
    /// A 32-byte session secret key: AES (encrypt, decrypt) or a generic secret (sign, verify).
    func generateSecret(_ session: CK_SESSION_HANDLE, aes: Bool) throws -> CK_OBJECT_HANDLE {
        let template = P11Template().bool(CKA_TOKEN, false).bool(CKA_PRIVATE, true).bool(CKA_SENSITIVE, true)
            .bytes(CKA_VALUE_LEN, withUnsafeBytes(of: CK_ULONG(32)) { Array($0) })
        if aes {
            template.bool(CKA_ENCRYPT, true).bool(CKA_DECRYPT, true)
        } else {
            template.bool(CKA_SIGN, true).bool(CKA_VERIFY, true)
        }
        var mechanism = CK_MECHANISM(
            mechanism: CK_MECHANISM_TYPE(aes ? CKM_AES_KEY_GEN : CKM_GENERIC_SECRET_KEY_GEN), pParameter: nil, ulParameterLen: 0)
        var handle: CK_OBJECT_HANDLE = 0
        try check(template.with { f.C_GenerateKey!(session, &mechanism, $0, $1, &handle) }, "C_GenerateKey")
        return handle
    }
}

extension PKCS11Driver {
    enum SymmetricOp: String, Sendable {
        case aesGCM = "aes256gcm-1k"
        case hmac = "hmac-sha256-1k"
    }

    /// `op` on 1 KiB back to back until `end`: the latency (µs) of every op started at or after
    /// `start`. AES-GCM passes a fresh 12-byte IV buffer each time (SoftHSM2 uses it; Redoubt's
    /// module writes the HSM's IV into it).
    static func symmetricLoop(
        _ p11: P11Module, session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, op: SymmetricOp, start: ContinuousClock.Instant,
        end: ContinuousClock.Instant
    ) throws -> [Double] {
        let f = p11.f
        let data = UnsafeMutablePointer<CK_BYTE>.allocate(capacity: 1024)
        data.initialize(repeating: 0x5a, count: 1024)
        let out = UnsafeMutablePointer<CK_BYTE>.allocate(capacity: 1024 + 16)
        let iv = UnsafeMutablePointer<CK_BYTE>.allocate(capacity: 12)
        iv.initialize(repeating: 0, count: 12)
        defer {
            data.deallocate()
            out.deallocate()
            iv.deallocate()
        }
        var counter: UInt64 = 0
        return try timed(start: start, end: end) {
            var rv: CK_RV
            switch op {
            case .aesGCM:
                counter += 1
                withUnsafeBytes(of: counter) { UnsafeMutableRawPointer(iv).copyMemory(from: $0.baseAddress!, byteCount: 8) }
                var params = CK_GCM_PARAMS(pIv: iv, ulIvLen: 12, ulIvBits: 96, pAAD: nil, ulAADLen: 0, ulTagBits: 128)
                rv = withUnsafeMutableBytes(of: &params) { raw in
                    var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_AES_GCM), pParameter: raw.baseAddress, ulParameterLen: CK_ULONG(raw.count))
                    var rv = f.C_EncryptInit!(session, &mechanism, key)
                    if rv == CK_RV(CKR_OK) {
                        var length: CK_ULONG = 1024 + 16
                        rv = f.C_Encrypt!(session, data, 1024, out, &length)
                        if rv == CK_RV(CKR_OK), length != 1040 { rv = CK_RV(CKR_GENERAL_ERROR) }
                    }
                    return rv
                }
            case .hmac:
                var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_SHA256_HMAC), pParameter: nil, ulParameterLen: 0)
                rv = f.C_SignInit!(session, &mechanism, key)
                if rv == CK_RV(CKR_OK) {
                    var length: CK_ULONG = 32
                    rv = f.C_Sign!(session, data, 1024, out, &length)
                    if rv == CK_RV(CKR_OK), length != 32 { rv = CK_RV(CKR_GENERAL_ERROR) }
                }
            }
            try p11.check(rv, op.rawValue)
        }
    }
}

extension PKCS11Driver {
    /// SoftHSM2's ops/s for `op` (one thread, a session key, this file's loop), as `bench pkcs11`
    /// measures it; nil when SoftHSM2 is not installed. `dir` holds its token.
    static func softHSMSymmetricRate(_ op: SymmetricOp, seconds: Double, dir: String) async throws -> Double? {
        guard FileManager.default.fileExists(atPath: softHSMPath) else { return nil }
        _ = try prepareSoftHSM(dir: dir)
        let soft = try P11Module.load(softHSMPath)
        return try await onThread {
            try soft.initialize(config: nil)
            defer { try? soft.finalize() }
            let session = try soft.openSession(slot: try soft.slot(label: "bench"))
            try soft.login(session, pin: "1234")
            let key = try soft.generateSecret(session, aes: op == .aesGCM)
            let clock = ContinuousClock()
            let start = clock.now + .milliseconds(100)
            let latencies = try symmetricLoop(soft, session: session, key: key, op: op, start: start, end: start + .seconds(seconds))
            return Double(latencies.count) / seconds
        }
    }
}
