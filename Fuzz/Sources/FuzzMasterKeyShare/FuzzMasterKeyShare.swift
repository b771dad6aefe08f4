// Master key shares (their text form), master key envelopes (JSON) and M-of-N unseal.
//
// Input layout:
//   byte 0 (mod 4): mode
//     0 MasterKeyShare(textRepresentation:) of the rest (UTF-8, repaired)
//     1 the same, after appending "-" and the correct checksum of the rest, so parsing gets past it
//     2 MasterKeyEnvelope(serialized:) of the rest
//     3 unseal the fixture envelope with shares: byte bit 0 = append correct checksums; the rest,
//       split on newlines, is the share texts
//
// The fixture (Fuzz/Fixtures/shares-envelope.json) is a 2-of-3 master key that also has a passphrase
// slot (cheap scrypt): the target unseals it by passphrase once, to know the right answer.
//
// Invariants:
//   - parsing and unsealing throw SealingError only;
//   - an accepted share re-encodes (textRepresentation) to text that parses to an equal share and
//     re-encodes identically;
//   - an accepted envelope serializes to JSON that parses to an equal envelope and serializes
//     identically; unsealing it with a wrong passphrase fails with SealingError;
//   - shares that unseal the fixture give exactly the master key its passphrase gives.
import Crypto
import Foundation
import FuzzSupport
import Redoubt
import RedoubtCrypto

private let passphrase = "redoubt fuzzing fixture passphrase"
private let envelopePath = Seeds.fuzzDirectory.appendingPathComponent("Fixtures/shares-envelope.json").path

private let fixture: (envelope: MasterKeyEnvelope, master: MasterKey) = {
    do {
        let envelope = try MasterKeyEnvelope(serialized: try Data(contentsOf: URL(fileURLWithPath: envelopePath)))
        return (envelope, try MasterKey.unseal(envelope: envelope, passphrase: passphrase))
    } catch {
        fuzzFail("cannot load \(envelopePath) (regenerate with Fuzz/run --make-seeds): \(error)")
    }
}()

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.prepare(
        target: "FuzzMasterKeyShare",
        build: {
            _ = fixture.master.keyID
        }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzMasterKeyShare(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzMasterKeyShare(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.byte() % 4 {
    case 0:
        checkShare(String(decoding: input.rest(), as: UTF8.self))
    case 1:
        checkShare(withChecksum(String(decoding: input.rest(), as: UTF8.self)))
    case 2:
        checkEnvelope(Data(input.rest()))
    default:
        let fix = input.bool()
        let texts = String(decoding: input.rest(), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { fix ? withChecksum(String($0)) : String($0) }
        checkUnseal(texts)
    }
    return 0
}

/// `body-<first 4 bytes of SHA-256(body) as hex>`, the documented share checksum.
private func withChecksum(_ body: String) -> String {
    body + "-" + hexPrefix(SHA256.hash(data: Data(body.utf8)).prefix(4))
}

private func checkShare(_ text: String) {
    guard let share = expectOnly(SealingError.self, "MasterKeyShare(textRepresentation:)", { try MasterKeyShare(textRepresentation: text) }) else {
        return
    }
    let encoded = share.textRepresentation
    guard let again = expectOnly(SealingError.self, "re-parse", { try MasterKeyShare(textRepresentation: encoded) }) else {
        fuzzFail("an accepted share's textRepresentation does not parse")
    }
    fuzzCheck(again == share, "share text round trip changed the share")
    fuzzCheck(again.textRepresentation == encoded, "share text is not stable across a round trip")
    fuzzCheck(
        (1...16).contains(Int(share.index)) && (2...16).contains(share.threshold) && share.bytes.count == 32,
        "an accepted share has out-of-range fields")
}

private func checkEnvelope(_ data: Data) {
    guard let envelope = expectOnly(SealingError.self, "MasterKeyEnvelope(serialized:)", { try MasterKeyEnvelope(serialized: data) }) else {
        return
    }
    guard let json = expectOnly(SealingError.self, "serialized()", { try envelope.serialized() }) else {
        fuzzFail("an accepted envelope does not serialize")
    }
    guard let again = expectOnly(SealingError.self, "re-parse", { try MasterKeyEnvelope(serialized: json) }) else {
        fuzzFail("an accepted envelope's serialization does not parse")
    }
    fuzzCheck(again == envelope, "envelope round trip changed the envelope")
    fuzzCheck((try? again.serialized()) == json, "envelope serialization is not stable")
    // Unseal with a wrong passphrase: refused, never a trap; only when scrypt is cheap (≤ 4 MiB).
    if let slot = envelope.passphrase, 128 * slot.scrypt.n * slot.scrypt.r * slot.scrypt.p <= 4 << 20 {
        let unsealed = expectOnly(SealingError.self, "unseal with a wrong passphrase") {
            try MasterKey.unseal(envelope: envelope, passphrase: "not the passphrase of this envelope")
        }
        fuzzCheck(unsealed == nil, "an envelope unsealed with a wrong passphrase")
    }
    if envelope.shares != nil {
        expectOnly(SealingError.self, "unseal with no shares") { try MasterKey.unseal(envelope: envelope, shares: []) }
    }
}

private func checkUnseal(_ texts: [String]) {
    var shares: [MasterKeyShare] = []
    for text in texts {
        guard let share = expectOnly(SealingError.self, "parse share", { try MasterKeyShare(textRepresentation: text) }) else { return }
        shares.append(share)
    }
    guard let master = expectOnly(SealingError.self, "unseal with shares", { try MasterKey.unseal(envelope: fixture.envelope, shares: shares) }) else {
        return
    }
    fuzzCheck(master == fixture.master, "shares unsealed a master key other than the one the passphrase gives")
    let threshold = fixture.envelope.shares?.threshold ?? 0
    fuzzCheck(Set(shares.map(\.index)).count >= threshold, "unsealed with fewer distinct shares than the threshold")
}

// MARK: Seeds

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    let created = try MasterKey.create(
        passphrase: passphrase, shares: (threshold: 2, count: 3), dev: false,
        scrypt: ScryptParameters(n: 1 << 10, r: 8, p: 1))
    try FileManager.default.createDirectory(atPath: (envelopePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let json = try created.envelope.serialized()
    try json.write(to: URL(fileURLWithPath: envelopePath))
    let texts = created.shares.map(\.textRepresentation)
    func body(_ text: String) -> String { String(text[..<(text.lastIndex(of: "-") ?? text.endIndex)]) }
    var seeds: [(name: String, bytes: [UInt8])] = []
    for (i, text) in texts.enumerated() {
        seeds.append(("share-\(i + 1)", [0] + Array(text.utf8)))
        seeds.append(("share-body-\(i + 1)", [1] + Array(body(text).utf8)))
    }
    seeds.append(("share-whitespace", [0] + Array("  \(texts[0])\n".utf8)))
    seeds.append(("envelope", [2] + Array(json)))
    let devOnly = try MasterKey.create(passphrase: nil, shares: nil, dev: true).envelope.serialized()
    seeds.append(("envelope-dev", [2] + Array(devOnly)))
    seeds.append(("unseal-2of3", [3, 0] + Array((texts[0] + "\n" + texts[2]).utf8)))
    seeds.append(("unseal-3of3", [3, 0] + Array(texts.joined(separator: "\n").utf8)))
    seeds.append(("unseal-duplicate", [3, 0] + Array((texts[1] + "\n" + texts[1]).utf8)))
    seeds.append(("unseal-bodies", [3, 1] + Array((body(texts[1]) + "\n" + body(texts[2])).utf8)))
    return seeds
}
