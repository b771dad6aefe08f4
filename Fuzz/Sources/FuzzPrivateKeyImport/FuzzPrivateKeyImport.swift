// Private key import: PKCS#8 DER, PKCS#8 PEM and raw private values.
//
// Input layout:
//   byte 0 (mod 3): 0 PKCS#8 DER, 1 PKCS#8 PEM (rest as UTF-8), 2 raw
//   raw only: byte 1 picks the algorithm (KeyAlgorithm.allCases, mod count)
//   rest: the encoding
//
// Invariants:
//   - only CryptoError escapes;
//   - an accepted key round-trips: pkcs8Representation() re-imports to a key of the
//     same algorithm with the same public key, whose own PKCS#8 is identical;
//   - an accepted key is a consistent pair (what an HSM checks on import): its
//     signatures verify under its public key, RSA-OAEP and ML-KEM round-trip, and
//     ECDH agrees with a fixed peer in both directions.
import Foundation
import FuzzSupport
import RedoubtCrypto

private let algorithms = KeyAlgorithm.allCases

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.prepare(
        target: "FuzzPrivateKeyImport",
        build: {
            _ = peers.count  // build the fixtures here, not inside an input
        }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzPrivateKeyImport(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzPrivateKeyImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 3
    let key: PrivateKey?
    switch mode {
    case 0:
        let der = input.rest()
        key = expectOnly(CryptoError.self, "PrivateKey(pkcs8DER:)") { try PrivateKey(pkcs8DER: der) }
    case 1:
        let text = String(decoding: input.rest(), as: UTF8.self)
        key = expectOnly(CryptoError.self, "PrivateKey(pkcs8PEM:)") { try PrivateKey(pkcs8PEM: text) }
    default:
        let algorithm = input.pick(algorithms)
        let raw = input.rest()
        key = expectOnly(CryptoError.self, "PrivateKey(rawRepresentation:algorithm: \(algorithm))") {
            try PrivateKey(rawRepresentation: raw, algorithm: algorithm)
        }
        if let key { fuzzCheck(key.algorithm == algorithm, "raw import as \(algorithm) gave a \(key.algorithm) key") }
    }
    guard let key else { return 0 }
    checkRoundTrip(key)
    checkConsistentPair(key)
    return 0
}

private func checkRoundTrip(_ key: PrivateKey) {
    let pkcs8: SecretBytes
    do { pkcs8 = try key.pkcs8Representation() } catch { fuzzFail("\(key.algorithm): accepted key has no PKCS#8 form: \(error)") }
    let again: PrivateKey
    do { again = try PrivateKey(pkcs8DER: pkcs8.exportedBytes()) } catch {
        fuzzFail("\(key.algorithm): own PKCS#8 does not re-import: \(error)")
    }
    fuzzCheck(again.algorithm == key.algorithm, "\(key.algorithm): PKCS#8 re-import changed the algorithm to \(again.algorithm)")
    fuzzCheck(again.publicKey == key.publicKey, "\(key.algorithm): PKCS#8 re-import changed the public key")
    let pkcs8Again = expectOnly(CryptoError.self, "pkcs8Representation of the re-import") { try again.pkcs8Representation() }
    fuzzCheck(pkcs8Again == pkcs8, "\(key.algorithm): PKCS#8 is not stable across a round trip")

    let pem =
        "-----BEGIN PRIVATE KEY-----\n" + pkcs8.exportedBytes().base64EncodedString(options: .lineLength64Characters)
        + "\n-----END PRIVATE KEY-----\n"
    let fromPEM = expectOnly(CryptoError.self, "PrivateKey(pkcs8PEM:) of own PKCS#8") { try PrivateKey(pkcs8PEM: pem) }
    fuzzCheck(fromPEM?.publicKey == key.publicKey, "\(key.algorithm): PEM of own PKCS#8 does not re-import to the same key")
}

private func checkConsistentPair(_ key: PrivateKey) {
    let algorithm = key.algorithm
    let message = Data("redoubt pairwise consistency".utf8)
    if algorithm.capabilities.contains(.sign) {
        let scheme: SignatureScheme
        switch algorithm {
        case .ed25519: scheme = .ed25519
        case .mldsa65, .mldsa87: scheme = .mldsa()
        case .rsa2048, .rsa3072, .rsa4096: scheme = .rsaPKCS1v15(.sha256)
        default: scheme = .ecdsa(.sha256)
        }
        let signature: Data
        do { signature = try SigningKey(key).signature(for: .message(message), scheme: scheme) } catch {
            fuzzFail("\(algorithm): accepted key cannot sign: \(error)")
        }
        let valid = expectOnly(CryptoError.self, "verify own signature") {
            try VerifyingKey(key.publicKey).isValidSignature(signature, for: .message(message), scheme: scheme)
        }
        fuzzCheck(valid == true, "\(algorithm): accepted key signs what its public key does not verify (inconsistent pair)")
    }
    if algorithm.isRSA {
        let plaintext = Data([0x42, 0x43])
        let ciphertext = expectOnly(CryptoError.self, "RSA-OAEP encrypt") { try EncryptionKey(key.publicKey).encrypt(plaintext) }
        guard let ciphertext else { fuzzFail("\(algorithm): accepted key's public half cannot encrypt") }
        let back = expectOnly(CryptoError.self, "RSA-OAEP decrypt") { try DecryptionKey(key).decrypt(ciphertext) }
        fuzzCheck(back?.exportedBytes() == plaintext, "\(algorithm): RSA-OAEP does not round-trip under an accepted key (inconsistent pair)")
    }
    if algorithm == .mlkem768 || algorithm == .mlkem1024 {
        guard let sent = expectOnly(CryptoError.self, "encapsulate", { try EncapsulationKey(key.publicKey).encapsulate() }) else {
            fuzzFail("\(algorithm): accepted key's public half cannot encapsulate")
        }
        let received = expectOnly(CryptoError.self, "decapsulate") { try DecapsulationKey(key).decapsulate(sent.encapsulated) }
        fuzzCheck(received == sent.sharedSecret, "\(algorithm): ML-KEM does not round-trip under an accepted key")
    }
    if algorithm.capabilities.contains(.derive), let peer = peers[algorithm] {
        let mine = expectOnly(CryptoError.self, "ECDH") { try AgreementKey(key).sharedSecret(with: peer.publicKey) }
        let theirs = expectOnly(CryptoError.self, "ECDH (peer)") { try AgreementKey(peer).sharedSecret(with: key.publicKey) }
        fuzzCheck(mine != nil && mine == theirs, "\(algorithm): ECDH with a fixed peer does not agree")
    }
}

private let peers: [KeyAlgorithm: PrivateKey] = Dictionary(
    uniqueKeysWithValues: [KeyAlgorithm.p256, .p384, .p521, .x25519].map { ($0, FixedKeys.privateKey($0)) })

// MARK: Seeds

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    var seeds: [(name: String, bytes: [UInt8])] = []
    for algorithm in FixedKeys.asymmetric {
        let key = FixedKeys.privateKey(algorithm)
        let name = algorithm.rawValue.lowercased()
        let der = Array(try key.pkcs8Representation().exportedBytes())
        seeds.append(("pkcs8-\(name)", [0] + der))
        if [.p256, .ed25519, .rsa2048, .mldsa65].contains(algorithm) {
            let pem =
                "-----BEGIN PRIVATE KEY-----\n" + Data(der).base64EncodedString(options: .lineLength64Characters)
                + "\n-----END PRIVATE KEY-----\n"
            seeds.append(("pem-\(name)", [1] + Array(pem.utf8)))
        }
        if let raw = FixedKeys.rawPrivate(algorithm), let index = algorithms.firstIndex(of: algorithm) {
            seeds.append(("raw-\(name)", [2, UInt8(index)] + raw))
        }
    }
    // PKCS#8 v2 (OneAsymmetricKey) with the public key in [1], for Ed25519: RFC 8410 §10.3.
    let ed = FixedKeys.privateKey(.ed25519)
    let seed = FixedKeys.rawPrivate(.ed25519) ?? []
    let v2 = MiniDER.sequence(
        MiniDER.tlv(0x02, [1]),
        MiniDER.sequence(MiniDER.tlv(0x06, [0x2b, 0x65, 0x70])),
        MiniDER.tlv(0x04, MiniDER.tlv(0x04, seed)),
        MiniDER.tlv(0x81, [0] + Array(ed.publicKey.rawRepresentation)))
    seeds.append(("pkcs8v2-ed25519", [0] + v2))
    // EC PKCS#8 whose ECPrivateKey names the curve in [0] (as OpenSSL writes), P-256.
    let p256 = FixedKeys.privateKey(.p256)
    let p256OID: [UInt8] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
    let sec1 = MiniDER.sequence(
        MiniDER.tlv(0x02, [1]),
        MiniDER.tlv(0x04, FixedKeys.rawPrivate(.p256) ?? []),
        MiniDER.tlv(0xa0, MiniDER.tlv(0x06, p256OID)),
        MiniDER.tlv(0xa1, MiniDER.tlv(0x03, [0] + Array(p256.publicKey.rawRepresentation))))
    let ecPKCS8 = MiniDER.sequence(
        MiniDER.tlv(0x02, [0]),
        MiniDER.sequence(MiniDER.tlv(0x06, [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]), MiniDER.tlv(0x06, p256OID)),
        MiniDER.tlv(0x04, sec1))
    seeds.append(("pkcs8-sec1-params-p256", [0] + ecPKCS8))
    // ML-DSA-65 in the "both" form: SEQUENCE { seed, expandedKey } (the expanded key is not checked).
    let both = MiniDER.sequence(MiniDER.tlv(0x04, FixedKeys.rawPrivate(.mldsa65) ?? []), MiniDER.tlv(0x04, [UInt8](repeating: 0, count: 64)))
    let mldsaBoth = MiniDER.sequence(
        MiniDER.tlv(0x02, [0]),
        MiniDER.sequence(MiniDER.tlv(0x06, [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12])),
        MiniDER.tlv(0x04, both))
    seeds.append(("pkcs8-both-mldsa65", [0] + mldsaBoth))
    return seeds
}
