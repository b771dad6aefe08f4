// Signature verification under fixed keys of every signing algorithm.
//
// Input layout:
//   byte 0: key (mod 10): P-256, P-384, P-521, secp256k1, brainpoolP256r1, brainpoolP384r1,
//           Ed25519, RSA-2048, ML-DSA-65, ML-DSA-87
//   byte 1: flags: bits 0-1 hash (mod 3: SHA-256/384/512); bit 2 ECDSA raw encoding (RSA: PKCS#1 v1.5
//           instead of PSS); bit 3 strict low-S; bit 4 sign a digest, not the message; bit 5 use the
//           scheme family of byte 2 instead of the key's own; bit 6 positive control; bit 7 the digest is
//           the message bytes as given (else the hash of the message)
//   byte 2: scheme family when bit 5 is set (mod 4: ECDSA, Ed25519, RSA, ML-DSA)
//   short field: ML-DSA context; field (2-byte length): signature;
//   2 bytes + 1 byte: position and XOR mask of the control mutation; rest: message
//
// Invariants:
//   - isValidSignature returns, or throws CryptoError: never traps, never another error;
//   - ECDSA: a signature that verifies in one encoding verifies in the other (converted here,
//     by an independent DER codec);
//   - positive control: the engine's own signature verifies; with one byte changed it does not
//     (no malleability), whatever the scheme.
import Foundation
import FuzzSupport
import RedoubtCrypto

private let keyAlgorithms: [KeyAlgorithm] = [
    .p256, .p384, .p521, .secp256k1, .brainpoolP256r1, .brainpoolP384r1, .ed25519, .rsa2048, .mldsa65, .mldsa87,
]
private let signers: [SigningKey] = keyAlgorithms.map { algorithm in
    do { return try SigningKey(FixedKeys.privateKey(algorithm)) } catch { fuzzFail("fixed \(algorithm) key cannot sign") }
}
private let hashes: [HashAlgorithm] = [.sha256, .sha384, .sha512]

/// The decoded first bytes of an input.
private struct Selection {
    var keyIndex: Int
    var flags: UInt8
    var family: UInt8

    var hash: HashAlgorithm { hashes[Int(flags & 3) % 3] }
    var alternative: Bool { flags & 4 != 0 }
    var strictLowS: Bool { flags & 8 != 0 }
    var signsDigest: Bool { flags & 16 != 0 }
    var crossFamily: Bool { flags & 32 != 0 }
    var control: Bool { flags & 64 != 0 }
    var digestAsGiven: Bool { flags & 128 != 0 }

    func scheme(for algorithm: KeyAlgorithm, context: [UInt8]) -> SignatureScheme {
        let natural: UInt8
        switch algorithm {
        case .ed25519: natural = 1
        case .rsa2048, .rsa3072, .rsa4096: natural = 2
        case .mldsa65, .mldsa87: natural = 3
        default: natural = 0
        }
        switch crossFamily ? family % 4 : natural {
        case 0: return .ecdsa(hash, encoding: alternative ? .raw : .der, lowS: strictLowS ? .strict : .standard)
        case 1: return .ed25519
        case 2: return alternative ? .rsaPKCS1v15(hash) : .rsaPSS(hash)
        default: return .mldsa(context: Data(context))
        }
    }
}

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.prepare(
        target: "FuzzSignatureVerify",
        build: {
            _ = signers.count  // generate (import) the keys before the first input, not inside it
        }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzSignatureVerify(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzSignatureVerify(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let selection = Selection(keyIndex: Int(input.byte()) % signers.count, flags: input.byte(), family: input.byte())
    let context = input.shortField()
    let signature = input.field()
    let mutationPosition = Int(input.uint16())
    let mutationMask = input.byte()
    let message = Data(input.rest())

    let signer = signers[selection.keyIndex]
    let verifier = signer.verifyingKey
    let algorithm = signer.privateKey.algorithm
    let scheme = selection.scheme(for: algorithm, context: context)
    let signed: SigningInput
    if selection.signsDigest {
        let hash = scheme.hash ?? .sha256
        signed = .digest(selection.digestAsGiven ? message : Hashing.digest(message, hash))
    } else {
        signed = .message(message)
    }

    let verdict = expectOnly(CryptoError.self, "\(algorithm) isValidSignature") {
        try verifier.isValidSignature(signature, for: signed, scheme: scheme)
    }
    if verdict == true {
        checkOtherEncoding(verifier, signature, signed, scheme)
    }

    if selection.control {
        // The engine's own signature must verify, and no one-byte change of it may.
        guard let own = expectOnly(CryptoError.self, "\(algorithm) sign", { try signer.signature(for: signed, scheme: scheme) }) else {
            return 0  // the scheme does not fit the key, or the digest has the wrong length: refused alike by verify
        }
        let ok = expectOnly(CryptoError.self, "verify own signature") { try verifier.isValidSignature(own, for: signed, scheme: scheme) }
        fuzzCheck(ok == true, "\(algorithm) \(scheme): the engine's own signature does not verify")
        checkOtherEncoding(verifier, own, signed, scheme)
        if mutationMask != 0, !own.isEmpty {
            var mutated = Array(own)
            mutated[mutationPosition % mutated.count] ^= mutationMask
            let forged = expectOnly(CryptoError.self, "verify mutated signature") {
                try verifier.isValidSignature(mutated, for: signed, scheme: scheme)
            }
            fuzzCheck(forged != true, "\(algorithm) \(scheme): a signature with byte \(mutationPosition % mutated.count) changed still verifies")
        }
    }
    return 0
}

/// An ECDSA signature that verifies must also verify in the other encoding.
private func checkOtherEncoding(_ verifier: VerifyingKey, _ signature: some DataProtocol, _ signed: SigningInput, _ scheme: SignatureScheme) {
    guard case .ecdsa(let hash, let encoding, let lowS) = scheme else { return }
    let algorithm = verifier.publicKey.algorithm
    let field = (algorithm.bitSize + 7) / 8
    let bytes = Array(signature)
    let converted: [UInt8]
    let other: ECDSASignatureEncoding
    switch encoding {
    case .der:
        guard let raw = MiniDER.ecdsaRaw(fromDER: bytes, fieldBytes: field) else {
            fuzzFail("\(algorithm): a DER signature verified that is not strict DER of two positive integers: \(hexPrefix(bytes))")
        }
        converted = raw
        other = .raw
    case .raw:
        converted = MiniDER.ecdsaDER(fromRaw: bytes)
        other = .der
    }
    let ok = expectOnly(CryptoError.self, "verify converted signature") {
        try verifier.isValidSignature(converted, for: signed, scheme: .ecdsa(hash, encoding: other, lowS: lowS))
    }
    fuzzCheck(ok == true, "\(algorithm): signature verifies as \(encoding) but not converted to \(other)")
}

// MARK: Seeds

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    var seeds: [(name: String, bytes: [UInt8])] = []
    let message = Array("a message the fixed keys signed".utf8)
    for (index, algorithm) in keyAlgorithms.enumerated() {
        let signer = try SigningKey(FixedKeys.privateKey(algorithm))
        let name = algorithm.rawValue.lowercased()
        var variants: [(String, UInt8, [UInt8])] = []  // name, flags, context
        switch algorithm {
        case .ed25519: variants = [("", 0, [])]
        case .rsa2048: variants = [("-pss", 0, []), ("-pkcs1-sha384", 4 | 1, [])]
        case .mldsa65, .mldsa87: variants = [("", 0, []), ("-context", 0, Array("ctx".utf8))]
        default: variants = [("-der", 0, []), ("-raw-sha512", 4 | 2, []), ("-digest", 16, [])]
        }
        for (suffix, flags, context) in variants {
            let selection = Selection(keyIndex: index, flags: flags, family: 0)
            let scheme = selection.scheme(for: algorithm, context: context)
            let signed: SigningInput =
                selection.signsDigest
                ? .digest(Hashing.digest(Data(message), scheme.hash ?? .sha256)) : .message(Data(message))
            let signature = Array(try signer.signature(for: signed, scheme: scheme))
            let head: [UInt8] =
                [UInt8(index), flags, 0, UInt8(context.count)] + context
                + [UInt8(signature.count >> 8), UInt8(signature.count & 0xff)] + signature + [0, 0, 0]
            seeds.append(("sig-\(name)\(suffix)", head + message))
            if suffix == "" || suffix == "-der" || suffix == "-pss" {
                var control = head
                control[1] |= 64
                control[control.count - 1] = 1  // mutation mask
                seeds.append(("control-\(name)\(suffix)", control + message))
            }
        }
    }
    return seeds
}
