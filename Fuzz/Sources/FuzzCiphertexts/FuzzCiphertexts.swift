// Ciphertext, wrapped-key and encapsulation decoders of the engine, under fixed keys.
//
// Input layout:
//   byte 0 (mod 6): operation
//     0 SecretKey.decrypt:   byte key, byte scheme (CipherScheme), short field AAD, rest ciphertext
//     1 SecretKey.unwrap:    byte key, byte scheme (WrapScheme), rest wrapped key
//     2 SecretKey.open:      byte key, byte scheme, short fields nonce, tag, AAD, rest ciphertext
//     3 DecryptionKey.decrypt (RSA-2048 OAEP): byte bit 0 = fit to 256 bytes, rest ciphertext
//     4 DecapsulationKey.decapsulate: byte bit 0 ML-KEM-1024 (else 768), bit 1 fit the length, rest
//     5 tamper control:      byte key, byte scheme (0-2 cipher, 3-6 wrap, 7 RSA-OAEP, 8 ML-KEM),
//                            2 bytes position, byte XOR mask, short field AAD, rest plaintext
//   keys (mod 5): AES-128, AES-192, AES-256, generic secret 32 bytes, generic secret 16 bytes
//
// Invariants:
//   - every call returns or throws CryptoError, never traps or throws anything else;
//   - a rejected request changes nothing: right after it, the same key still round-trips
//     the input bytes (encrypt → decrypt, wrap → unwrap, OAEP, encapsulate → decapsulate);
//   - AES-GCM open with a caller's nonce (12 to 128 bytes) agrees with swift-crypto;
//   - any one-byte change of an authenticated ciphertext or wrapped key fails, and only
//     with the coarse authenticationFailure (AES-CBC: decrypts, or fails the same way: no
//     padding oracle); a changed ML-KEM ciphertext yields a different secret.
import Crypto
import Foundation
import FuzzSupport
import RedoubtCrypto

/// The engine's error (swift-crypto's module has a `CryptoError` too).
private typealias EngineError = RedoubtCrypto.CryptoError

private let secretKeys: [SecretKey] = [
    FixedKeys.secretKey(.aes128), FixedKeys.secretKey(.aes192), FixedKeys.secretKey(.aes256),
    FixedKeys.secretKey(.genericSecret, byteCount: 32), FixedKeys.secretKey(.genericSecret, byteCount: 16),
]
private let rsa = FixedKeys.privateKey(.rsa2048)
private let kems = [FixedKeys.privateKey(.mlkem768), FixedKeys.privateKey(.mlkem1024)]

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.prepare(
        target: "FuzzCiphertexts",
        build: {
            _ = (secretKeys.count, rsa.algorithm, kems.count)
        }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzCiphertexts(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzCiphertexts(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.byte() % 6 {
    case 0:
        let key = input.pick(secretKeys)
        let scheme = input.pick(CipherScheme.allCases)
        let aad = input.shortField()
        let ciphertext = input.rest()
        expectOnly(EngineError.self, "decrypt \(key.algorithm) \(scheme)") { try key.decrypt(ciphertext, scheme: scheme, aad: aad) }
        controlCipher(key, scheme, plaintext: ciphertext, aad: aad)
    case 1:
        let key = input.pick(secretKeys)
        let scheme = input.pick(WrapScheme.allCases)
        let wrapped = input.rest()
        expectOnly(EngineError.self, "unwrap \(key.algorithm) \(scheme)") { try key.unwrap(wrapped, scheme: scheme) }
        controlWrap(key, scheme, keyBytes: wrapped)
    case 2:
        let key = input.pick(secretKeys)
        let scheme = input.pick(CipherScheme.allCases)
        let nonce = input.shortField(), tag = input.shortField(), aad = input.shortField()
        let ciphertext = input.rest()
        expectOnly(EngineError.self, "open \(key.algorithm) \(scheme) nonce \(nonce.count) tag \(tag.count)") {
            try key.open(nonce: nonce, ciphertext: ciphertext, tag: tag, aad: aad, scheme: scheme)
        }
        controlOpen(key, scheme, nonce: nonce, plaintext: ciphertext, aad: aad)
    case 3:
        let fit = input.bool()
        var ciphertext = input.rest()
        if fit { ciphertext = fitted(ciphertext, 256) }
        let decrypter = mustSucceed("DecryptionKey") { try DecryptionKey(rsa) }
        expectOnly(EngineError.self, "RSA-OAEP decrypt") { try decrypter.decrypt(ciphertext) }
        controlOAEP(plaintext: Array(ciphertext.prefix(190)))
    case 4:
        let flags = input.byte()
        let key = kems[Int(flags & 1)]
        var ciphertext = input.rest()
        if flags & 2 != 0 { ciphertext = fitted(ciphertext, key.algorithm == .mlkem768 ? 1088 : 1568) }
        let decapsulator = mustSucceed("DecapsulationKey") { try DecapsulationKey(key) }
        expectOnly(EngineError.self, "decapsulate \(key.algorithm)") { try decapsulator.decapsulate(ciphertext) }
        controlKEM(key, mask: 0, position: 0)
    default:
        let key = input.pick(secretKeys)
        let which = Int(input.byte()) % 9
        let position = Int(input.uint16())
        let mask = input.byte()
        let aad = input.shortField()
        let plaintext = input.rest()
        switch which {
        case 0..<3: tamperCipher(key, CipherScheme.allCases[which], plaintext, aad, position, mask)
        case 3..<7: tamperWrap(key, WrapScheme.allCases[which - 3], plaintext, position, mask)
        case 7: tamperOAEP(Array(plaintext.prefix(190)), position, mask)
        default: controlKEM(kems[position & 1], mask: mask, position: position)
        }
    }
    return 0
}

// MARK: Controls: the key still works after whatever the input did

private func fitted(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
    bytes.count >= count ? Array(bytes.prefix(count)) : bytes + [UInt8](repeating: 0, count: count - bytes.count)
}

private func mustSucceed<T>(_ what: String, _ body: () throws -> T) -> T {
    do { return try body() } catch { fuzzFail("\(what) failed: \(error)") }
}

/// Whether `scheme` fits `key` (otherwise encrypt refuses, which is no failure of the control).
private func fits(_ key: SecretKey, _ scheme: CipherScheme) -> Bool {
    switch scheme {
    case .aesGCM, .aesCBCPKCS7: return key.algorithm != .genericSecret
    case .chaCha20Poly1305: return key.algorithm == .genericSecret && key.material.count == 32
    }
}

private func controlCipher(_ key: SecretKey, _ scheme: CipherScheme, plaintext: [UInt8], aad: [UInt8]) {
    guard fits(key, scheme) else {
        fuzzCheck(
            expectOnly(EngineError.self, "encrypt (unfit)", { try key.encrypt(plaintext, scheme: scheme, aad: aad) }) == nil,
            "\(scheme) encrypted under an unfit \(key.algorithm) key")
        return
    }
    let aad = scheme == .aesCBCPKCS7 ? [] : aad
    let box = mustSucceed("\(key.algorithm) \(scheme) encrypt") { try key.encrypt(plaintext, scheme: scheme, aad: aad) }
    let back = mustSucceed("\(key.algorithm) \(scheme) decrypt of own ciphertext") { try key.decrypt(box, scheme: scheme, aad: aad) }
    fuzzCheck(Array(back) == plaintext, "\(key.algorithm) \(scheme): decrypt(encrypt(x)) != x")
}

/// Key bytes the wrap scheme can take, made from `bytes`.
private func wrappable(_ bytes: [UInt8], _ scheme: WrapScheme) -> [UInt8] {
    switch scheme {
    case .aesKW:
        let n = max(16, (bytes.count + 7) / 8 * 8)
        return fitted(bytes, n)
    case .aesKWP: return bytes.isEmpty ? [0] : bytes
    default: return bytes
    }
}

private func controlWrap(_ key: SecretKey, _ scheme: WrapScheme, keyBytes: [UInt8]) {
    guard key.algorithm != .genericSecret, scheme != .rsaOAEP else { return }
    let material = SecretBytes(wrappable(keyBytes, scheme))
    let wrapped = mustSucceed("\(key.algorithm) \(scheme) wrap of \(material.count) bytes") { try key.wrap(material, scheme: scheme) }
    let back = mustSucceed("\(key.algorithm) \(scheme) unwrap of own output") { try key.unwrap(wrapped, scheme: scheme) }
    fuzzCheck(back == material, "\(key.algorithm) \(scheme): unwrap(wrap(x)) != x")
}

private func controlOpen(_ key: SecretKey, _ scheme: CipherScheme, nonce: [UInt8], plaintext: [UInt8], aad: [UInt8]) {
    guard key.algorithm != .genericSecret, scheme == .aesGCM, nonce.count >= 12, nonce.count <= 128 else {
        controlCipher(key, scheme, plaintext: plaintext, aad: aad)
        return
    }
    // Differential: swift-crypto seals with the caller's nonce; the engine must open it.
    let sealed: AES.GCM.SealedBox
    do {
        sealed = try AES.GCM.seal(plaintext, using: key.material.symmetricKey, nonce: try AES.GCM.Nonce(data: nonce), authenticating: aad)
    } catch {
        return  // swift-crypto refused the nonce: no reference to compare with
    }
    let opened = expectOnly(EngineError.self, "open swift-crypto's AES-GCM") {
        try key.open(nonce: nonce, ciphertext: sealed.ciphertext, tag: sealed.tag, aad: aad, scheme: .aesGCM)
    }
    fuzzCheck(opened.map(Array.init) == plaintext, "\(key.algorithm) AES-GCM with a \(nonce.count)-byte nonce: open disagrees with swift-crypto")
}

private func controlOAEP(plaintext: [UInt8]) {
    let ciphertext = mustSucceed("RSA-OAEP encrypt") { try EncryptionKey(rsa.publicKey).encrypt(plaintext) }
    let back = mustSucceed("RSA-OAEP decrypt of own ciphertext") { try DecryptionKey(rsa).decrypt(ciphertext) }
    fuzzCheck(back.exportedBytes() == Data(plaintext), "RSA-OAEP: decrypt(encrypt(x)) != x")
}

private func controlKEM(_ key: PrivateKey, mask: UInt8, position: Int) {
    let sent = mustSucceed("\(key.algorithm) encapsulate") { try EncapsulationKey(key.publicKey).encapsulate() }
    var ciphertext = Array(sent.encapsulated)
    ciphertext[position % ciphertext.count] ^= mask
    let received = mustSucceed("\(key.algorithm) decapsulate") { try DecapsulationKey(key).decapsulate(ciphertext) }
    if mask == 0 {
        fuzzCheck(received == sent.sharedSecret, "\(key.algorithm): decapsulate(encapsulate()) gives another secret")
    } else {
        fuzzCheck(received != sent.sharedSecret, "\(key.algorithm): a changed ciphertext decapsulates to the same secret")
    }
}

// MARK: Tampering

private func checkTampered<T>(_ what: String, unauthenticated: Bool = false, _ body: () throws -> T) {
    switch outcome(EngineError.self, what, body) {
    case .success:
        fuzzCheck(unauthenticated, "\(what): a changed byte still decrypts")
    case .failure(let error):
        fuzzCheck(error.code == .authenticationFailure, "\(what): a changed byte fails with \(error.code), not the coarse authentication failure")
    }
}

private func tamperCipher(_ key: SecretKey, _ scheme: CipherScheme, _ plaintext: [UInt8], _ aad: [UInt8], _ position: Int, _ mask: UInt8) {
    guard fits(key, scheme) else { return }
    let aad = scheme == .aesCBCPKCS7 ? [] : aad
    var box = Array(mustSucceed("encrypt") { try key.encrypt(plaintext, scheme: scheme, aad: aad) })
    guard mask != 0 else { return controlCipher(key, scheme, plaintext: plaintext, aad: aad) }
    box[position % box.count] ^= mask
    checkTampered("\(key.algorithm) \(scheme) ciphertext", unauthenticated: scheme == .aesCBCPKCS7) {
        try key.decrypt(box, scheme: scheme, aad: aad)
    }
    controlCipher(key, scheme, plaintext: plaintext, aad: aad)
}

private func tamperWrap(_ key: SecretKey, _ scheme: WrapScheme, _ keyBytes: [UInt8], _ position: Int, _ mask: UInt8) {
    guard key.algorithm != .genericSecret, scheme != .rsaOAEP else { return }
    let material = SecretBytes(wrappable(keyBytes, scheme))
    var wrapped = Array(mustSucceed("wrap") { try key.wrap(material, scheme: scheme) })
    guard mask != 0 else { return controlWrap(key, scheme, keyBytes: keyBytes) }
    wrapped[position % wrapped.count] ^= mask
    checkTampered("\(key.algorithm) \(scheme) wrapped key") { try key.unwrap(wrapped, scheme: scheme) }
    controlWrap(key, scheme, keyBytes: keyBytes)
}

private func tamperOAEP(_ plaintext: [UInt8], _ position: Int, _ mask: UInt8) {
    var ciphertext = Array(mustSucceed("RSA-OAEP encrypt") { try EncryptionKey(rsa.publicKey).encrypt(plaintext) })
    guard mask != 0 else { return controlOAEP(plaintext: plaintext) }
    ciphertext[position % ciphertext.count] ^= mask
    checkTampered("RSA-OAEP ciphertext") { try DecryptionKey(rsa).decrypt(ciphertext) }
    controlOAEP(plaintext: plaintext)
}

// MARK: Seeds

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    var seeds: [(name: String, bytes: [UInt8])] = []
    let plaintext = Array("attack at dawn; bring 32 bytes!!".utf8)
    let aad = Array("header".utf8)
    for (k, key) in secretKeys.enumerated() {
        for (s, scheme) in CipherScheme.allCases.enumerated() where fits(key, scheme) {
            let a = scheme == .aesCBCPKCS7 ? [] : aad
            let box = Array(try key.encrypt(plaintext, scheme: scheme, aad: a))
            let name = "\(key.algorithm.rawValue.lowercased())-\(key.material.count)-\(scheme.rawValue.lowercased())"
            seeds.append(("decrypt-\(name)", [0, UInt8(k), UInt8(s), UInt8(a.count)] + a + box))
            seeds.append(("tamper-\(name)", [5, UInt8(k), UInt8(s), 0, 7, 1, UInt8(a.count)] + a + plaintext))
            if scheme != .aesCBCPKCS7 {
                let nonce = Array(box.prefix(12)), tag = Array(box.suffix(16)), body = Array(box.dropFirst(12).dropLast(16))
                seeds.append(("open-\(name)", [2, UInt8(k), UInt8(s), 12] + nonce + [16] + tag + [UInt8(a.count)] + a + body))
            }
        }
        guard key.algorithm != .genericSecret else { continue }
        for (s, scheme) in WrapScheme.allCases.enumerated() where scheme != .rsaOAEP {
            let wrapped = Array(try key.wrap(SecretBytes(plaintext), scheme: scheme))
            let name = "\(key.algorithm.rawValue.lowercased())-\(scheme.rawValue.lowercased())"
            seeds.append(("unwrap-\(name)", [1, UInt8(k), UInt8(s)] + wrapped))
            seeds.append(("tamper-\(name)", [5, UInt8(k), UInt8(3 + s), 0, 3, 0x80, 0] + plaintext))
        }
    }
    // AES-GCM with a 16-byte nonce (sealed by swift-crypto) for the open differential.
    let nonce16 = FixedKeys.bytes("nonce16", count: 16)
    let long = try AES.GCM.seal(plaintext, using: secretKeys[2].material.symmetricKey, nonce: AES.GCM.Nonce(data: nonce16))
    seeds.append(("open-aes-256-gcm-nonce16", [2, 2, 0, 16] + nonce16 + [16] + Array(long.tag) + [0] + Array(long.ciphertext)))
    let oaep = Array(try EncryptionKey(rsa.publicKey).encrypt(plaintext))
    seeds.append(("rsa-oaep", [3, 0] + oaep))
    seeds.append(("tamper-rsa-oaep", [5, 0, 7, 0, 9, 4, 0] + plaintext))
    for (i, key) in kems.enumerated() {
        let sent = try EncapsulationKey(key.publicKey).encapsulate()
        seeds.append(("decapsulate-\(key.algorithm.rawValue.lowercased())", [4, UInt8(i)] + Array(sent.encapsulated)))
        seeds.append(("tamper-\(key.algorithm.rawValue.lowercased())", [5, 0, 8, 0, UInt8(i), 2, 0]))
    }
    return seeds
}
