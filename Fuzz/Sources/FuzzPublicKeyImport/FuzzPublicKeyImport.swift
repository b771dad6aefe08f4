// Public key import: SPKI DER, PEM, JWK and raw points.
//
// Input layout:
//   byte 0 (mod 4): 0 SPKI DER, 1 PEM (rest as UTF-8), 2 JWK, 3 raw
//   raw only: byte 1 picks the algorithm (KeyAlgorithm.allCases, mod count)
//   rest: the encoding
//
// Invariants:
//   - only CryptoError escapes;
//   - an accepted key re-encodes (spkiDER, pem, jwk, rawRepresentation) and each
//     re-imports to an equal key of the same algorithm; SPKI re-import gives identical bytes;
//   - encodings are canonical: accepted SPKI/raw input equals the key's own encoding,
//     except an EC point given compressed, which must then be the compressed form of that key;
//   - the key is usable: verification, RSA-OAEP encryption and ML-KEM encapsulation
//     run without trapping and only with CryptoError.
import Foundation
import FuzzSupport
import RedoubtCrypto

private let algorithms = KeyAlgorithm.allCases

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.prepare(target: "FuzzPublicKeyImport", entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzPublicKeyImport(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzPublicKeyImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 4
    switch mode {
    case 0:
        let der = input.rest()
        guard let key = expectOnly(CryptoError.self, "PublicKey(spkiDER:)", { try PublicKey(spkiDER: der) }) else { return 0 }
        checkCanonical(key, given: der, encoding: Array(key.spkiDER), what: "SPKI")
        checkRoundTrips(key)
    case 1:
        let text = String(decoding: input.rest(), as: UTF8.self)
        guard let key = expectOnly(CryptoError.self, "PublicKey(pem:)", { try PublicKey(pem: text) }) else { return 0 }
        checkRoundTrips(key)
    case 2:
        let json = input.rest()
        guard let key = expectOnly(CryptoError.self, "PublicKey(jwk:)", { try PublicKey(jwk: json) }) else { return 0 }
        checkRoundTrips(key)
    default:
        let algorithm = input.pick(algorithms)
        let raw = input.rest()
        guard
            let key = expectOnly(
                CryptoError.self, "PublicKey(rawRepresentation:algorithm: \(algorithm))",
                {
                    try PublicKey(rawRepresentation: raw, algorithm: algorithm)
                })
        else { return 0 }
        fuzzCheck(key.algorithm == algorithm, "raw import as \(algorithm) gave a \(key.algorithm) key")
        checkCanonical(key, given: raw, encoding: Array(key.rawRepresentation), what: "raw")
        checkRoundTrips(key)
    }
    return 0
}

/// The compressed X9.63 form of an EC key's uncompressed point.
private func compressedPoint(_ key: PublicKey) -> [UInt8]? {
    let raw = Array(key.rawRepresentation)
    guard key.algorithm.isECDSA, raw.first == 0x04, raw.count % 2 == 1, let last = raw.last else { return nil }
    let field = (raw.count - 1) / 2
    return [0x02 | (last & 1)] + raw[1...field]
}

/// Accepted input must be the key's canonical encoding, or (EC) its compressed point in the same place.
private func checkCanonical(_ key: PublicKey, given: [UInt8], encoding: [UInt8], what: String) {
    if given == encoding { return }
    if let compressed = compressedPoint(key), given.count >= compressed.count, Array(given.suffix(compressed.count)) == compressed {
        // The compressed point must be the whole raw input, or end the SPKI.
        return
    }
    fuzzFail("\(key.algorithm) \(what) input accepted but not canonical: given \(hexPrefix(given)) re-encodes as \(hexPrefix(encoding))")
}

private func reimport(_ what: String, _ body: () throws -> PublicKey) -> PublicKey {
    do { return try body() } catch { fuzzFail("re-import from \(what) failed: \(error)") }
}

private func checkRoundTrips(_ key: PublicKey) {
    let spki = key.spkiDER
    let fromSPKI = reimport("spkiDER") { try PublicKey(spkiDER: spki) }
    fuzzCheck(fromSPKI == key && fromSPKI.algorithm == key.algorithm, "\(key.algorithm): SPKI re-import differs")
    fuzzCheck(fromSPKI.spkiDER == spki, "\(key.algorithm): SPKI re-import re-encodes differently")

    let pem = key.pem
    let fromPEM = reimport("pem") { try PublicKey(pem: pem) }
    fuzzCheck(fromPEM == key, "\(key.algorithm): PEM re-import differs")

    let jwk = key.jwk()
    let fromJWK = reimport("jwk \(jwk.prefix(80))") { try PublicKey(jwk: Data(jwk.utf8)) }
    fuzzCheck(fromJWK == key, "\(key.algorithm): JWK re-import differs")

    let raw = key.rawRepresentation
    fuzzCheck(!raw.isEmpty, "\(key.algorithm): empty raw representation")
    if !key.algorithm.isRSA {
        let fromRaw = reimport("rawRepresentation") { try PublicKey(rawRepresentation: raw, algorithm: key.algorithm) }
        fuzzCheck(fromRaw == key, "\(key.algorithm): raw re-import differs")
    }
    checkUsable(key)
}

/// The key does what its algorithm says without trapping.
private func checkUsable(_ key: PublicKey) {
    let message = SigningInput.message(Data("redoubt".utf8))
    let algorithm = key.algorithm
    if algorithm.capabilities.contains(.verify) {
        guard let verifier = expectOnly(CryptoError.self, "VerifyingKey(\(algorithm))", { try VerifyingKey(key) }) else {
            fuzzFail("\(algorithm) key cannot take its verification role")
        }
        let scheme: SignatureScheme
        let signature: [UInt8]
        switch algorithm {
        case .ed25519:
            scheme = .ed25519
            signature = [UInt8](repeating: 0x5a, count: 64)
        case .mldsa65, .mldsa87:
            scheme = .mldsa()
            signature = [UInt8](repeating: 0x5a, count: algorithm == .mldsa65 ? 3309 : 4627)
        case .rsa2048, .rsa3072, .rsa4096:
            scheme = .rsaPSS(.sha256)
            signature = [UInt8](repeating: 0x5a, count: algorithm.bitSize / 8)
        default:
            scheme = .ecdsa(.sha256, encoding: .raw)
            signature = [UInt8](repeating: 0x5a, count: 2 * ((algorithm.bitSize + 7) / 8))
        }
        expectOnly(CryptoError.self, "\(algorithm) verify") { try verifier.isValidSignature(signature, for: message, scheme: scheme) }
    }
    if algorithm.isRSA {
        guard let encrypter = expectOnly(CryptoError.self, "EncryptionKey", { try EncryptionKey(key) }) else {
            fuzzFail("\(algorithm) key cannot take its encryption role")
        }
        fuzzCheck(
            expectOnly(CryptoError.self, "RSA-OAEP encrypt", { try encrypter.encrypt(Data([1, 2, 3])) }) != nil,
            "an accepted \(algorithm) public key cannot encrypt 3 bytes")
    }
    if algorithm == .mlkem768 || algorithm == .mlkem1024 {
        let encapsulated = expectOnly(CryptoError.self, "encapsulate") { try EncapsulationKey(key).encapsulate() }
        fuzzCheck(encapsulated != nil, "an accepted \(algorithm) public key cannot encapsulate")
    }
}

// MARK: Seeds

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    var seeds: [(name: String, bytes: [UInt8])] = []
    for algorithm in FixedKeys.asymmetric {
        let key = FixedKeys.privateKey(algorithm).publicKey
        let name = algorithm.rawValue.lowercased()
        seeds.append(("spki-\(name)", [0] + Array(key.spkiDER)))
        seeds.append(("pem-\(name)", [1] + Array(key.pem.utf8)))
        seeds.append(("jwk-\(name)", [2] + Array(key.jwk().utf8)))
        guard let index = algorithms.firstIndex(of: algorithm) else { continue }
        if !algorithm.isRSA {
            seeds.append(("raw-\(name)", [3, UInt8(index)] + Array(key.rawRepresentation)))
        }
        if let compressed = compressedPoint(key) {
            seeds.append(("raw-compressed-\(name)", [3, UInt8(index)] + compressed))
        }
    }
    return seeds
}
