import CPKCS11
import CRedoubtPKCS11
import Foundation
import Logging

// Shared by every entry point: the error boundary, output buffers and padded strings.

/// Runs an entry point's body: every failure becomes its CK_RV (logged without secrets), nothing
/// thrown or trapped crosses into the caller.
func entry(_ name: StaticString, _ body: () throws(P11Error) -> Void) -> CK_RV {
    guard redoubt_pkcs11_needs_call_thread() == 0 else { return onCallThread(name, body) }
    do {
        try body()
        return CK_RV(CKR_OK)
    } catch {
        if error.rv != CK_RV(CKR_BUFFER_TOO_SMALL), let runtime = Module.current.withLock({ $0 }) {
            // Attribute probes are routine (callers ask for every attribute they know): debug only.
            let routine = [CK_RV(CKR_ATTRIBUTE_TYPE_INVALID), CK_RV(CKR_ATTRIBUTE_SENSITIVE)].contains(error.rv)
            runtime.logger.log(
                level: routine ? .debug : .info, "\(name) failed",
                metadata: ["rv": "\(P11Error.name(error.rv))", "reason": "\(error.message)"])
        }
        return error.rv
    }
}

/// In a child of fork(): the entry point on a thread born in the child, the caller's thread waiting
/// in C (module.c's `redoubt_pkcs11_run_on_call_thread` says why). No Swift lock is taken here.
private func onCallThread(_ name: StaticString, _ body: () throws(P11Error) -> Void) -> CK_RV {
    struct Call {
        let run: () -> Void
    }
    var rv = CK_RV(CKR_GENERAL_ERROR)
    let started = withoutActuallyEscaping(body) { body -> Int32 in
        var call = Call(run: { rv = entry(name, body) })
        return withUnsafeMutablePointer(to: &call) { pointer in
            redoubt_pkcs11_run_on_call_thread({ $0!.assumingMemoryBound(to: Call.self).pointee.run() }, pointer)
        }
    }
    return started == 0 ? rv : CK_RV(CKR_HOST_MEMORY)
}

/// Writes `bytes` to a caller's buffer by the standard's rules: a null buffer asks for the
/// length; a short one gets CKR_BUFFER_TOO_SMALL and the length. Returns whether it wrote.
@discardableResult
func output(_ bytes: Data, to pointer: UnsafeMutablePointer<CK_BYTE>?, length: UnsafeMutablePointer<CK_ULONG>?) throws(P11Error) -> Bool {
    guard let length else { throw .argumentsBad }
    guard let pointer else {
        length.pointee = CK_ULONG(bytes.count)
        return false
    }
    guard length.pointee >= CK_ULONG(bytes.count) else {
        length.pointee = CK_ULONG(bytes.count)
        throw P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
    }
    bytes.copyBytes(to: pointer, count: bytes.count)
    length.pointee = CK_ULONG(bytes.count)
    return true
}

/// The bytes a caller passed, or CKR_ARGUMENTS_BAD for a null pointer with a length.
func input(_ pointer: UnsafeMutablePointer<CK_BYTE>?, _ length: CK_ULONG, limit: Int = 64 * 1024 * 1024) throws(P11Error) -> Data {
    guard length > 0 else { return Data() }
    guard let pointer else { throw .argumentsBad }
    guard length <= CK_ULONG(limit) else { throw P11Error(CK_RV(CKR_DATA_LEN_RANGE), "input longer than \(limit) bytes") }
    return Data(bytes: pointer, count: Int(length))
}

/// Fills a fixed-size, blank-padded PKCS #11 text field (not NUL-terminated).
func pad<T>(_ field: inout T, _ text: String) {
    withUnsafeMutableBytes(of: &field) { buffer in
        buffer.initializeMemory(as: UInt8.self, repeating: 0x20)
        var bytes = Array(text.utf8.prefix(buffer.count))
        // Never cut a UTF-8 sequence in half.
        while let last = bytes.last, last & 0xc0 == 0x80 || (last & 0x80 != 0 && bytes.count == buffer.count) {
            bytes.removeLast()
            if last & 0xc0 != 0x80 { break }
        }
        buffer.copyBytes(from: bytes)
    }
}

/// The module's library version, shown by C_GetInfo and the slot and token infos.
let moduleVersion = CK_VERSION(major: 0, minor: 1)
