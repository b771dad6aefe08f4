import CRedoubtOpenSSL
import Foundation
import Synchronization

/// Per-key libcrypto contexts, prepared once and reused, as an HSM loads a key
/// into its engine once: AES-GCM contexts keep the key schedule, HMAC contexts
/// keep the padded key. Contexts are not thread-safe, so each call borrows one
/// from a small pool (an uncontended lock, no allocation in the steady state).
@usableFromInline
final class PreparedSecretKey: @unchecked Sendable {
    private let material: SecretBytes

    /// A libcrypto context owned by the pool (used by one thread at a time).
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }

    /// A pool of one kind of context.
    private struct Pool: Sendable {
        var free: [Handle] = []
    }

    private let gcmSeal = Mutex(Pool())
    private let gcmOpen = Mutex(Pool())
    private let hmac256 = Mutex(Pool())
    private let hmac384 = Mutex(Pool())
    private let hmac512 = Mutex(Pool())
    private static let poolLimit = 16

    init(material: SecretBytes) { self.material = material }

    deinit {
        gcmSeal.withLock { $0.free.forEach { EVP_CIPHER_CTX_free($0.pointer) } }
        gcmOpen.withLock { $0.free.forEach { EVP_CIPHER_CTX_free($0.pointer) } }
        hmac256.withLock { $0.free.forEach { EVP_MAC_CTX_free($0.pointer) } }
        hmac384.withLock { $0.free.forEach { EVP_MAC_CTX_free($0.pointer) } }
        hmac512.withLock { $0.free.forEach { EVP_MAC_CTX_free($0.pointer) } }
    }

    private func borrowGCM(_ pool: borrowing Mutex<Pool>, encrypt: Bool) throws -> OpaquePointer {
        if let ctx = pool.withLock({ $0.free.popLast() }) { return ctx.pointer }
        let made = material.withUnsafeBytes { k -> OpaquePointer? in
            guard let base = k.bindMemory(to: UInt8.self).baseAddress else { return nil }
            return redoubt_gcm_new(Int32(k.count * 8), base, encrypt ? 1 : 0)
        }
        guard let made else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: cannot prepare AES-GCM")
        }
        return made
    }

    private func giveBackGCM(_ pool: borrowing Mutex<Pool>, _ ctx: OpaquePointer) {
        let kept = pool.withLock { p -> Bool in
            guard p.free.count < Self.poolLimit else { return false }
            p.free.append(Handle(pointer: ctx))
            return true
        }
        if !kept { EVP_CIPHER_CTX_free(ctx) }
    }

    /// AES-GCM with a fresh random 96-bit nonce: `prefix ‖ nonce ‖ ciphertext ‖ tag`, in one
    /// allocation (a caller's header costs no copy of the ciphertext).
    @usableFromInline
    func gcmSeal(_ plaintext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, prefix: [UInt8] = []) throws -> Data {
        let ctx = try borrowGCM(gcmSeal, encrypt: true)
        defer { giveBackGCM(gcmSeal, ctx) }
        var out = Data(count: prefix.count + 12 + plaintext.count + 16)
        let ok = out.withUnsafeMutableBytes { o -> Bool in
            guard let start = o.bindMemory(to: UInt8.self).baseAddress else { return false }
            prefix.withUnsafeBufferPointer { p in
                if let from = p.baseAddress { start.update(from: from, count: p.count) }
            }
            let base = start + prefix.count
            NonceSource.shared.fill(UnsafeMutableRawBufferPointer(start: base, count: 12))
            return redoubt_gcm_seal(
                ctx, base,
                aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count),
                plaintext.bindMemory(to: UInt8.self).baseAddress, Int32(plaintext.count),
                base + 12, base + 12 + plaintext.count) == 1
        }
        guard ok else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: AES-GCM encryption failed")
        }
        return out
    }

    /// AES-GCM in the standard form: a fresh random 96-bit nonce apart, and `ciphertext ‖ tag`
    /// with the tag cut to `tagByteCount` (its prefix, SP 800-38D §5.2.1.2), each written once.
    @usableFromInline
    func gcmSealStandard(_ plaintext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, tagByteCount: Int) throws -> (nonce: Data, ciphertext: Data) {
        guard (1...16).contains(tagByteCount) else { throw CryptoError.invalidInput("AES-GCM tags are 1 to 16 bytes, not \(tagByteCount)") }
        let ctx = try borrowGCM(gcmSeal, encrypt: true)
        defer { giveBackGCM(gcmSeal, ctx) }
        var nonce = Data(count: 12)
        nonce.withUnsafeMutableBytes { NonceSource.shared.fill($0) }
        var out = Data(count: plaintext.count + tagByteCount)
        var tag = (UInt64(0), UInt64(0))
        let ok = nonce.withUnsafeBytes { n in
            out.withUnsafeMutableBytes { o -> Bool in
                withUnsafeMutableBytes(of: &tag) { t -> Bool in
                    guard let start = o.bindMemory(to: UInt8.self).baseAddress else { return false }
                    guard
                        redoubt_gcm_seal(
                            ctx, n.bindMemory(to: UInt8.self).baseAddress,
                            aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count),
                            plaintext.bindMemory(to: UInt8.self).baseAddress, Int32(plaintext.count),
                            start, t.bindMemory(to: UInt8.self).baseAddress) == 1
                    else { return false }
                    (start + plaintext.count).update(from: t.bindMemory(to: UInt8.self).baseAddress!, count: tagByteCount)
                    return true
                }
            }
        }
        guard ok else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: AES-GCM encryption failed")
        }
        return (nonce, out)
    }

    /// Opens `nonce(12) ‖ ciphertext ‖ tag(16)`. Any failure is the coarse authentication failure.
    @usableFromInline
    func gcmOpen(_ combined: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) throws -> Data {
        guard combined.count >= 28, let base = combined.bindMemory(to: UInt8.self).baseAddress else {
            throw CryptoError.authenticationFailure
        }
        let bodyCount = combined.count - 28
        let ctx = try borrowGCM(gcmOpen, encrypt: false)
        defer { giveBackGCM(gcmOpen, ctx) }
        var out = Data(count: bodyCount)
        let ok = out.withUnsafeMutableBytes { o -> Bool in
            redoubt_gcm_open(
                ctx, base, aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count),
                base + 12, Int32(bodyCount), o.bindMemory(to: UInt8.self).baseAddress,
                base + 12 + bodyCount) == 1
        }
        guard ok else {
            OpenSSL.clearErrors()
            out.withUnsafeMutableBytes { memset_s_portable($0) }
            throw CryptoError.authenticationFailure
        }
        return out
    }

    /// HMAC of `data`.
    @usableFromInline
    func mac(_ data: UnsafeRawBufferPointer, hash: HashAlgorithm) throws -> Data {
        switch hash {
        case .sha256: return try mac(data, hash: hash, pool: hmac256, name: "SHA256")
        case .sha384: return try mac(data, hash: hash, pool: hmac384, name: "SHA384")
        case .sha512: return try mac(data, hash: hash, pool: hmac512, name: "SHA512")
        }
    }

    private func mac(_ data: UnsafeRawBufferPointer, hash: HashAlgorithm, pool: borrowing Mutex<Pool>, name: String) throws -> Data {
        var ctx = pool.withLock { $0.free.popLast() }?.pointer
        if ctx == nil {
            ctx = material.withUnsafeBytes { k in
                redoubt_hmac_new(name, k.bindMemory(to: UInt8.self).baseAddress, k.count)
            }
        }
        guard let ctx else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: cannot prepare HMAC")
        }
        defer {
            let kept = pool.withLock { p -> Bool in
                guard p.free.count < Self.poolLimit else { return false }
                p.free.append(Handle(pointer: ctx))
                return true
            }
            if !kept { EVP_MAC_CTX_free(ctx) }
        }
        var out = Data(count: hash.byteCount)
        var len = 0
        let ok = out.withUnsafeMutableBytes { o in
            redoubt_hmac_once(
                ctx, data.bindMemory(to: UInt8.self).baseAddress, data.count,
                o.bindMemory(to: UInt8.self).baseAddress, o.count, &len) == 1
        }
        guard ok, len == hash.byteCount else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: HMAC failed")
        }
        return out
    }
}

/// Callers in other modules reach this unspecialised, so the common concrete types are
/// tried first: a generic byte-by-byte copy of 1 KiB costs more than the AES-GCM itself.
@inlinable
func withContiguousBytes<R>(_ data: some DataProtocol, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if let d = data as? Data { return try d.withUnsafeBytes(body) }
    if let a = data as? [UInt8] { return try a.withUnsafeBytes(body) }
    if let r = try data.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) { return r }
    return try Array(data).withUnsafeBytes(body)
}
