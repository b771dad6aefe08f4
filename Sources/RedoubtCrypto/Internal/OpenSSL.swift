import CRedoubtOpenSSL
import Foundation
import Synchronization

/// Thin, safe wrappers over the system libcrypto (OpenSSL 3) for what
/// swift-crypto lacks: Brainpool curves, RSA with caller-supplied digests,
/// AES-KWP and AES-GCM with non-96-bit nonces.
enum OpenSSL {
    /// Drops the thread's OpenSSL error queue (its contents are never shown to callers).
    static func clearErrors() { ERR_clear_error() }

    static func check(_ rc: Int32, _ what: @autoclosure () -> String) throws {
        guard rc == 1 else {
            clearErrors()
            throw CryptoError.internalFailure("libcrypto: \(what()) failed")
        }
    }
}

/// An owned `EVP_PKEY`. Immutable after creation, so safe to share across threads.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Operation contexts, prepared once per (operation, padding, hash) and reused, as
    /// `openssl speed` does; each is borrowed by one thread at a time.
    fileprivate let contexts = Mutex<[ContextKind: [ContextHandle]]>([:])

    init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit {
        EVP_PKEY_free(pointer)
        contexts.withLock { $0.values.forEach { $0.forEach { EVP_PKEY_CTX_free($0.pointer) } } }
    }

    /// Generates an EC key on a named curve (`brainpoolP256r1`, …).
    static func generateEC(group: String) throws -> EVPKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw CryptoError.internalFailure("libcrypto: cannot create EC context")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        try OpenSSL.check(EVP_PKEY_keygen_init(ctx), "EC keygen init")
        try OpenSSL.check(EVP_PKEY_CTX_set_group_name(ctx, group), "EC set group")
        var key: OpaquePointer?
        try OpenSSL.check(EVP_PKEY_generate(ctx, &key), "EC keygen")
        guard let key else { throw CryptoError.internalFailure("libcrypto: EC keygen returned nothing") }
        return EVPKey(taking: key)
    }

    /// Generates an RSA key with exponent 65537.
    static func generateRSA(bits: Int) throws -> EVPKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw CryptoError.internalFailure("libcrypto: cannot create RSA context")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        try OpenSSL.check(EVP_PKEY_keygen_init(ctx), "RSA keygen init")
        try OpenSSL.check(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)), "RSA set bits")
        var key: OpaquePointer?
        try OpenSSL.check(EVP_PKEY_generate(ctx, &key), "RSA keygen")
        guard let key else { throw CryptoError.internalFailure("libcrypto: RSA keygen returned nothing") }
        return EVPKey(taking: key)
    }

    /// Parses a PKCS#8 `PrivateKeyInfo` (DER).
    static func privateKey(pkcs8 der: some DataProtocol) -> EVPKey? {
        decode(der) { p, n in d2i_AutoPrivateKey(nil, &p, n) }
    }

    /// Parses a `SubjectPublicKeyInfo` (DER).
    static func publicKey(spki der: some DataProtocol) -> EVPKey? {
        decode(der) { p, n in d2i_PUBKEY(nil, &p, n) }
    }

    /// Runs a libcrypto `d2i_…` decoder; the whole input must be consumed (trailing bytes are not DER).
    private static func decode(
        _ der: some DataProtocol,
        _ d2i: (inout UnsafePointer<UInt8>?, Int) -> OpaquePointer?
    ) -> EVPKey? {
        let bytes = Array(der)
        guard !bytes.isEmpty, bytes.count < Int(Int32.max) else { return nil }
        return bytes.withUnsafeBufferPointer { buf -> EVPKey? in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            guard let key = d2i(&p, buf.count) else {
                OpenSSL.clearErrors()
                return nil
            }
            guard let end = p, end == buf.baseAddress.map({ $0 + buf.count }) else {
                EVP_PKEY_free(key)
                return nil
            }
            return EVPKey(taking: key)
        }
    }

    /// An EC public key from an encoded point (uncompressed or compressed) on a named curve.
    /// libcrypto checks that the point is on the curve.
    static func ecPublicKey(group: String, point: some DataProtocol) -> EVPKey? {
        let pointBytes = Array(point)
        guard !pointBytes.isEmpty else { return nil }
        // OSSL_PARAM_BLD keeps the key-name and value pointers until OSSL_PARAM_BLD_to_param,
        // and the built array keeps the key names: every pointer must stay valid across the
        // whole build and import, so all of it happens inside these closures.
        return "group".withCString { groupKey in
            "pub".withCString { pubKey in
                group.withCString { groupName in
                    pointBytes.withUnsafeBytes { p -> EVPKey? in
                        guard let bld = OSSL_PARAM_BLD_new() else { return nil }
                        defer { OSSL_PARAM_BLD_free(bld) }
                        guard OSSL_PARAM_BLD_push_utf8_string(bld, groupKey, groupName, 0) == 1,
                            OSSL_PARAM_BLD_push_octet_string(bld, pubKey, p.baseAddress, p.count) == 1,
                            let params = OSSL_PARAM_BLD_to_param(bld)
                        else {
                            OpenSSL.clearErrors()
                            return nil
                        }
                        defer { OSSL_PARAM_free(params) }
                        return publicKey(fromData: params, type: "EC")
                    }
                }
            }
        }
    }

    /// Imports a public key of `type` ("EC", "RSA") from a built parameter array.
    private static func publicKey(fromData params: UnsafeMutablePointer<OSSL_PARAM>, type: String) -> EVPKey? {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            OpenSSL.clearErrors()
            return nil
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(ctx) == 1,
            EVP_PKEY_fromdata(ctx, &key, redoubt_selection_public_key(), params) == 1,
            let key
        else {
            OpenSSL.clearErrors()
            return nil
        }
        return EVPKey(taking: key)
    }

    /// The uncompressed public point of an EC key.
    func ecPublicPoint() throws -> Data {
        var buf = [UInt8](repeating: 0, count: 160)
        var len = 0
        let rc = buf.withUnsafeMutableBufferPointer { p in
            EVP_PKEY_get_octet_string_param(pointer, "encoded-pub-key", p.baseAddress, p.count, &len)
        }
        try OpenSSL.check(rc, "read EC public point")
        return Data(buf[0..<len])
    }

    /// The private scalar of an EC key, left-padded to `byteCount`.
    func ecPrivateScalar(byteCount: Int) throws -> SecretBytes {
        var bn: OpaquePointer?
        try OpenSSL.check(EVP_PKEY_get_bn_param(pointer, "priv", &bn), "read EC private scalar")
        guard let bn else { throw CryptoError.internalFailure("libcrypto: no EC private scalar") }
        defer { BN_clear_free(bn) }
        var out = [UInt8](repeating: 0, count: byteCount)
        defer { out.withUnsafeMutableBytes { memset_s_portable($0) } }
        let n = out.withUnsafeMutableBufferPointer { BN_bn2binpad(bn, $0.baseAddress, Int32(byteCount)) }
        guard n == Int32(byteCount) else { throw CryptoError.internalFailure("libcrypto: EC scalar too long") }
        return SecretBytes(out)
    }

    /// The key as PKCS#8 DER (private keys only).
    func pkcs8DER() throws -> SecretBytes {
        guard let p8 = EVP_PKEY2PKCS8(pointer) else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: cannot encode PKCS#8")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(p8) }
        let len = i2d_PKCS8_PRIV_KEY_INFO(p8, nil)
        guard len > 0 else { throw CryptoError.internalFailure("libcrypto: cannot encode PKCS#8") }
        var out = [UInt8](repeating: 0, count: Int(len))
        defer { out.withUnsafeMutableBytes { memset_s_portable($0) } }
        _ = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            return i2d_PKCS8_PRIV_KEY_INFO(p8, &p)
        }
        return SecretBytes(out)
    }

    /// The public half as SubjectPublicKeyInfo DER.
    func spkiDER() throws -> Data {
        let len = i2d_PUBKEY(pointer, nil)
        guard len > 0 else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: cannot encode SPKI")
        }
        var out = [UInt8](repeating: 0, count: Int(len))
        _ = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            return i2d_PUBKEY(pointer, &p)
        }
        return Data(out)
    }

    /// Whether this is an RSA key.
    var isRSA: Bool { EVP_PKEY_is_a(pointer, "RSA") == 1 }

    /// Key size in bits.
    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// The RSA public exponent and modulus, big-endian.
    func rsaPublicNumbers() throws -> (n: Data, e: Data) {
        func read(_ name: String) throws -> Data {
            var bn: OpaquePointer?
            try OpenSSL.check(EVP_PKEY_get_bn_param(pointer, name, &bn), "read RSA \(name)")
            guard let bn else { throw CryptoError.internalFailure("libcrypto: no RSA \(name)") }
            defer { BN_free(bn) }
            let n = (Int(BN_num_bits(bn)) + 7) / 8
            var out = [UInt8](repeating: 0, count: max(n, 1))
            _ = out.withUnsafeMutableBufferPointer { BN_bn2bin(bn, $0.baseAddress) }
            return Data(out)
        }
        return (try read("n"), try read("e"))
    }

    /// An RSA public key from its modulus and exponent (big-endian, unsigned).
    ///
    /// Made by decoding the `SubjectPublicKeyInfo` they form, not with `EVP_PKEY_fromdata`: in a
    /// process where an ENGINE is the default RSA method (OpenSSL's `-engine pkcs11`, nginx's
    /// `ssl_engine`, which load the PKCS #11 module), `EVP_PKEY_CTX_new_from_name(…, "RSA", …)`
    /// hands back the engine's method and `fromdata` fails; the decoders are provider-only.
    static func rsaPublicKey(n: some DataProtocol, e: some DataProtocol) -> EVPKey? {
        let nb = Array(n), eb = Array(e)
        guard !nb.isEmpty, !eb.isEmpty, nb.count <= 1024, eb.count <= 16 else { return nil }
        return publicKey(spki: DERCodec.rsaSPKI(modulus: nb, exponent: eb))
    }
}

/// Digest handles for libcrypto.
extension HashAlgorithm {
    var evpMD: OpaquePointer? {
        switch self {
        case .sha256: return EVP_sha256()
        case .sha384: return EVP_sha384()
        case .sha512: return EVP_sha512()
        }
    }
}

/// Public-key operations through libcrypto.
struct ContextHandle: @unchecked Sendable { let pointer: OpaquePointer }

struct ContextKind: Hashable, Sendable {
    enum Operation: Hashable, Sendable { case sign, verify, encrypt, decrypt }
    var operation: Operation
    var padding: EVPKey.Padding
    var hash: HashAlgorithm?
}

extension EVPKey {
    enum Padding: Hashable, Sendable { case none, pkcs1, pss, oaep }

    /// Borrows a prepared context of `kind` for the duration of `body`.
    private func withContext<R>(_ kind: ContextKind, _ body: (OpaquePointer) throws -> R) throws -> R {
        let ctx: OpaquePointer
        if let reused = contexts.withLock({ $0[kind]?.popLast() }) {
            ctx = reused.pointer
        } else {
            guard let made = EVP_PKEY_CTX_new(pointer, nil) else {
                OpenSSL.clearErrors()
                throw CryptoError.internalFailure("libcrypto: cannot create key context")
            }
            do {
                switch kind.operation {
                case .sign: try OpenSSL.check(EVP_PKEY_sign_init(made), "sign init")
                case .verify: try OpenSSL.check(EVP_PKEY_verify_init(made), "verify init")
                case .encrypt: try OpenSSL.check(EVP_PKEY_encrypt_init(made), "encrypt init")
                case .decrypt: try OpenSSL.check(EVP_PKEY_decrypt_init(made), "decrypt init")
                }
                try Self.configure(made, padding: kind.padding, hash: kind.hash)
            } catch {
                EVP_PKEY_CTX_free(made)
                throw error
            }
            ctx = made
        }
        defer {
            let kept = contexts.withLock { all -> Bool in
                guard all[kind, default: []].count < 16 else { return false }
                all[kind, default: []].append(ContextHandle(pointer: ctx))
                return true
            }
            if !kept { EVP_PKEY_CTX_free(ctx) }
        }
        return try body(ctx)
    }

    private static func configure(_ ctx: OpaquePointer, padding: Padding, hash: HashAlgorithm?) throws {
        switch padding {
        case .none: break
        case .pkcs1:
            try OpenSSL.check(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), "set PKCS#1 padding")
        case .pss:
            try OpenSSL.check(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), "set PSS padding")
            try OpenSSL.check(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST), "set PSS salt length")
        case .oaep:
            try OpenSSL.check(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), "set OAEP padding")
            try OpenSSL.check(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), "set OAEP hash")
            try OpenSSL.check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), "set MGF1 hash")
            return
        }
        if let hash {
            try OpenSSL.check(EVP_PKEY_CTX_set_signature_md(ctx, hash.evpMD), "set signature hash")
            if padding == .pss {
                try OpenSSL.check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, hash.evpMD), "set MGF1 hash")
            }
        }
    }

    /// Signs a digest (ECDSA: DER signature; RSA: with the given padding).
    func sign(digest: some DataProtocol, padding: Padding, hash: HashAlgorithm?) throws -> Data {
        try withContext(ContextKind(operation: .sign, padding: padding, hash: hash)) { ctx in
            let d = Array(digest)
            var len = 0
            try OpenSSL.check(d.withUnsafeBufferPointer { EVP_PKEY_sign(ctx, nil, &len, $0.baseAddress, $0.count) }, "sign size")
            var out = Data(count: len)
            try OpenSSL.check(
                out.withUnsafeMutableBytes { o in
                    d.withUnsafeBufferPointer {
                        EVP_PKEY_sign(ctx, o.bindMemory(to: UInt8.self).baseAddress, &len, $0.baseAddress, $0.count)
                    }
                }, "sign")
            return out.prefix(len)
        }
    }

    /// Verifies a signature over a digest. Any parse or check failure is `false`.
    func verify(signature: some DataProtocol, digest: some DataProtocol, padding: Padding, hash: HashAlgorithm?) throws -> Bool {
        try withContext(ContextKind(operation: .verify, padding: padding, hash: hash)) { ctx in
            let s = Array(signature), d = Array(digest)
            let rc = s.withUnsafeBufferPointer { sp in
                d.withUnsafeBufferPointer { dp in
                    EVP_PKEY_verify(ctx, sp.baseAddress, sp.count, dp.baseAddress, dp.count)
                }
            }
            if rc != 1 { OpenSSL.clearErrors() }
            return rc == 1
        }
    }

    /// Whether an RSA private key's parts agree: a PKCS#1 v1.5 signature it makes over a fixed
    /// digest verifies under its own modulus and public exponent (a pairwise consistency test).
    /// libcrypto imports a key whose modulus, primes or exponents were altered without complaint,
    /// and then signs and decrypts garbage.
    func rsaPairIsConsistent() -> Bool {
        let digest = [UInt8](repeating: 0x5a, count: 32)
        guard let signature = try? sign(digest: digest, padding: .pkcs1, hash: .sha256),
            let valid = try? verify(signature: signature, digest: digest, padding: .pkcs1, hash: .sha256)
        else { return false }
        return valid
    }

    /// RSA-OAEP (SHA-256) encryption, with an optional label (RFC 8017 §7.1).
    func oaepEncrypt(_ plaintext: some DataProtocol, label: Data = Data()) throws -> Data {
        try withContext(ContextKind(operation: .encrypt, padding: .oaep, hash: nil)) { ctx in
            try Self.withLabel(ctx, label) { try Self.oaepEncrypt(ctx, plaintext) }
        }
    }

    /// Runs `body` with `label` set on a pooled OAEP context, and the empty label back after.
    private static func withLabel<R>(_ ctx: OpaquePointer, _ label: Data, _ body: () throws -> R) throws -> R {
        guard !label.isEmpty else { return try body() }
        guard label.count <= 1 << 16 else { throw CryptoError.invalidInput("an RSA-OAEP label is at most 64 KiB") }
        // set0 takes ownership of a libcrypto allocation (and frees it once copied).
        guard let copy = CRYPTO_malloc(label.count, nil, 0) else { throw CryptoError.internalFailure("libcrypto: out of memory") }
        label.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: label.count) }
        try OpenSSL.check(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, Int32(label.count)), "set OAEP label")
        defer { _ = EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, nil, 0) }
        return try body()
    }

    private static func oaepEncrypt(_ ctx: OpaquePointer, _ plaintext: some DataProtocol) throws -> Data {
        let m = Array(plaintext)
        var len = 0
        try OpenSSL.check(m.withUnsafeBufferPointer { EVP_PKEY_encrypt(ctx, nil, &len, $0.baseAddress, $0.count) }, "encrypt size")
        var out = [UInt8](repeating: 0, count: len)
        let rc = out.withUnsafeMutableBufferPointer { o in
            m.withUnsafeBufferPointer { EVP_PKEY_encrypt(ctx, o.baseAddress, &len, $0.baseAddress, $0.count) }
        }
        guard rc == 1 else {
            OpenSSL.clearErrors()
            throw CryptoError.invalidInput("plaintext too long for RSA-OAEP-SHA256 with this key")
        }
        return Data(out[0..<len])
    }

    /// RSA-OAEP (SHA-256) decryption, with the label it was made with; any failure is the coarse
    /// authentication failure.
    func oaepDecrypt(_ ciphertext: some DataProtocol, label: Data = Data()) throws -> SecretBytes {
        try withContext(ContextKind(operation: .decrypt, padding: .oaep, hash: nil)) { ctx in
            try Self.withLabel(ctx, label) { try Self.oaepDecrypt(ctx, ciphertext) }
        }
    }

    private static func oaepDecrypt(_ ctx: OpaquePointer, _ ciphertext: some DataProtocol) throws -> SecretBytes {
        let c = Array(ciphertext)
        var len = 0
        guard c.withUnsafeBufferPointer({ EVP_PKEY_decrypt(ctx, nil, &len, $0.baseAddress, $0.count) }) == 1 else {
            OpenSSL.clearErrors()
            throw CryptoError.authenticationFailure
        }
        var out = [UInt8](repeating: 0, count: len)
        defer { out.withUnsafeMutableBytes { memset_s_portable($0) } }
        let rc = out.withUnsafeMutableBufferPointer { o in
            c.withUnsafeBufferPointer { EVP_PKEY_decrypt(ctx, o.baseAddress, &len, $0.baseAddress, $0.count) }
        }
        OpenSSL.clearErrors()
        guard rc == 1 else { throw CryptoError.authenticationFailure }
        return SecretBytes(out[0..<len])
    }
}

/// Symmetric ciphers through libcrypto.
enum OpenSSLCipher {
    private static func aesWrapPad(bits: Int) -> OpaquePointer? {
        switch bits {
        case 128: return EVP_aes_128_wrap_pad()
        case 192: return EVP_aes_192_wrap_pad()
        case 256: return EVP_aes_256_wrap_pad()
        default: return nil
        }
    }

    private static func aesGCM(bits: Int) -> OpaquePointer? {
        switch bits {
        case 128: return EVP_aes_128_gcm()
        case 192: return EVP_aes_192_gcm()
        case 256: return EVP_aes_256_gcm()
        default: return nil
        }
    }

    /// AES-KWP (RFC 5649) wrap or unwrap.
    static func kwp(encrypt: Bool, key: SecretBytes, input: some DataProtocol) throws -> [UInt8] {
        guard let cipher = aesWrapPad(bits: key.count * 8) else {
            throw CryptoError.invalidKey("AES-KWP needs a 128, 192 or 256-bit AES key")
        }
        let inBytes = Array(input)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.internalFailure("libcrypto: no cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW)
        let initOK = key.withUnsafeBytes { k in
            EVP_CipherInit_ex(ctx, cipher, nil, k.bindMemory(to: UInt8.self).baseAddress, nil, encrypt ? 1 : 0)
        }
        guard initOK == 1 else {
            OpenSSL.clearErrors()
            throw CryptoError.internalFailure("libcrypto: AES-KWP init failed")
        }
        var out = [UInt8](repeating: 0, count: inBytes.count + 16)
        var outLen: Int32 = 0
        let rc = out.withUnsafeMutableBufferPointer { o in
            inBytes.withUnsafeBufferPointer { i in
                EVP_CipherUpdate(ctx, o.baseAddress, &outLen, i.baseAddress, Int32(i.count))
            }
        }
        guard rc == 1, outLen >= 0 else {
            OpenSSL.clearErrors()
            if encrypt { throw CryptoError.invalidInput("AES-KWP cannot wrap \(inBytes.count) bytes") }
            throw CryptoError.authenticationFailure
        }
        return Array(out[0..<Int(outLen)])
    }

    /// The longest AES-GCM nonce libcrypto takes (OpenSSL 3: `GCM_IV_MAX_SIZE`, 1024 bits).
    static let gcmMaximumNonceCount = 128

    /// AES-GCM decryption with any nonce length from 1 to ``gcmMaximumNonceCount`` bytes.
    static func gcmOpen(key: SecretBytes, nonce: some DataProtocol, ciphertext: some DataProtocol, tag: some DataProtocol, aad: some DataProtocol) throws
        -> Data
    {
        guard let cipher = aesGCM(bits: key.count * 8) else {
            throw CryptoError.invalidKey("AES-GCM needs a 128, 192 or 256-bit AES key")
        }
        let n = Array(nonce), c = Array(ciphertext), t = Array(tag), a = Array(aad)
        // Longer nonces are valid GCM (they are GHASHed), but libcrypto refuses them at
        // EVP_CTRL_GCM_SET_IVLEN, which used to surface as a false authentication failure.
        guard !n.isEmpty, n.count <= gcmMaximumNonceCount else {
            throw CryptoError.invalidInput("AES-GCM nonce must be 1 to \(gcmMaximumNonceCount) bytes, got \(n.count)")
        }
        guard t.count >= 4, t.count <= 16 else { throw CryptoError.invalidInput("AES-GCM tag must be 4 to 16 bytes, got \(t.count)") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.internalFailure("libcrypto: no cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var ok = EVP_DecryptInit_ex(ctx, cipher, nil, nil, nil) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(n.count), nil) == 1
        ok =
            ok
            && key.withUnsafeBytes { k in
                n.withUnsafeBufferPointer { EVP_DecryptInit_ex(ctx, nil, nil, k.bindMemory(to: UInt8.self).baseAddress, $0.baseAddress) }
            } == 1
        var outLen: Int32 = 0
        if ok && !a.isEmpty {
            ok = a.withUnsafeBufferPointer { EVP_DecryptUpdate(ctx, nil, &outLen, $0.baseAddress, Int32($0.count)) } == 1
        }
        var out = [UInt8](repeating: 0, count: c.count + 16)
        var total = 0
        if ok && !c.isEmpty {
            ok =
                out.withUnsafeMutableBufferPointer { o in
                    c.withUnsafeBufferPointer { EVP_DecryptUpdate(ctx, o.baseAddress, &outLen, $0.baseAddress, Int32($0.count)) }
                } == 1
            total = Int(outLen)
        }
        var tagCopy = t
        ok = ok && tagCopy.withUnsafeMutableBytes { EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(t.count), $0.baseAddress) } == 1
        ok = ok && out.withUnsafeMutableBufferPointer { o in EVP_DecryptFinal_ex(ctx, o.baseAddress.map { $0 + total }, &outLen) } == 1
        OpenSSL.clearErrors()
        guard ok else {
            out.withUnsafeMutableBytes { memset_s_portable($0) }
            throw CryptoError.authenticationFailure
        }
        return Data(out[0..<total])
    }
}

/// Zeroes a buffer in a way the optimiser keeps.
@inline(never)
func memset_s_portable(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    OPENSSL_cleanse(base, buffer.count)
}
