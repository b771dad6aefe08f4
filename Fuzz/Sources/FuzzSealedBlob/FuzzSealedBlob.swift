// Sealed object blobs (ObjectSealer) and wrapped partition keys (MasterKey.unwrap).
//
// Input layout:
//   byte 0 (mod 4): mode
//     0 open:       rest is a blob, opened for the fixed identity
//     1 open as:    identity (see below), rest is a blob
//     2 round trip: identity, 2 bytes position, byte XOR mask, byte identity change, rest plaintext
//     3 partition key: short field partition id, 2 bytes position, byte XOR mask, rest wrapped key
//   identity: short fields partition, kind, object id (UTF-8, repaired), then 8 bytes version (Int64)
//
// Invariants:
//   - open/openData/unwrap return or throw SealingError only; bytes that are not a blob
//     sealed for that identity never open (a blob that opens was sealed here: its plaintext
//     re-seals and opens to the same bytes);
//   - seal → open gives the plaintext back (open and openData agree);
//   - any one-byte change of a blob fails: malformedBlob or unsupportedVersion in the header,
//     the coarse authenticationFailure elsewhere; a blob never opens for another identity;
//   - wrap → unwrap of a partition key round-trips; a changed byte or another partition fails.
import Foundation
import FuzzSupport
import Redoubt
import RedoubtCrypto

private let sealer: ObjectSealer = {
    do { return ObjectSealer(try PartitionKey(FixedKeys.secretKey(.aes256))) } catch { fuzzFail("fixed partition key: \(error)") }
}()
private let fixedIdentity = SealIdentity(partition: "tenant-a", kind: "key", objectID: "k1", version: 1)

/// A master key for the wrap/unwrap mode (cheap scrypt: only the wrapping is under test).
private let master: MasterKey = {
    do {
        return try MasterKey.create(
            passphrase: "fuzzing passphrase, not secret", shares: nil, dev: false,
            scrypt: ScryptParameters(n: 1 << 10, r: 1, p: 1)
        ).key
    } catch {
        fuzzFail("master key: \(error)")
    }
}()

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.prepare(
        target: "FuzzSealedBlob",
        build: {
            _ = (sealer.description, master.keyID)
        }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzSealedBlob(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzSealedBlob(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.byte() % 4 {
    case 0:
        openArbitrary(input.rest(), identity: fixedIdentity)
    case 1:
        let identity = readIdentity(&input)
        openArbitrary(input.rest(), identity: identity)
    case 2:
        let identity = readIdentity(&input)
        let position = Int(input.uint16()), mask = input.byte(), change = input.byte()
        roundTrip(Data(input.rest()), identity: identity, position: position, mask: mask, change: change)
    default:
        let partition = String(decoding: input.shortField(), as: UTF8.self)
        let position = Int(input.uint16()), mask = input.byte()
        partitionKeys(Data(input.rest()), partition: partition, position: position, mask: mask)
    }
    return 0
}

private func readIdentity(_ input: inout FuzzInput) -> SealIdentity {
    let partition = String(decoding: input.shortField(), as: UTF8.self)
    let kind = String(decoding: input.shortField(), as: UTF8.self)
    let objectID = String(decoding: input.shortField(), as: UTF8.self)
    return SealIdentity(partition: partition, kind: kind, objectID: objectID, version: Int(input.integer(Int64.self)))
}

private func openArbitrary(_ blob: [UInt8], identity: SealIdentity) {
    let opened = expectOnly(SealingError.self, "open") { try sealer.open(blob, identity: identity) }
    let openedData = expectOnly(SealingError.self, "openData") { try sealer.openData(blob, identity: identity) }
    fuzzCheck((opened == nil) == (openedData == nil), "open and openData disagree on whether a blob opens")
    guard let opened, let openedData else { return }
    // It opened, so it is a real blob for this identity: its plaintext must survive a fresh seal.
    fuzzCheck(opened.exportedBytes() == openedData, "open and openData give different plaintexts")
    roundTrip(openedData, identity: identity, position: 0, mask: 0, change: 0)
}

private func roundTrip(_ plaintext: Data, identity: SealIdentity, position: Int, mask: UInt8, change: UInt8) {
    guard let blob = expectOnly(SealingError.self, "seal", { try sealer.seal(plaintext, identity: identity) }) else {
        // Only an invalid identity (negative version, over-long field) may be refused.
        fuzzCheck(
            identity.version < 0 || [identity.partition, identity.kind, identity.objectID].contains { $0.utf8.count > SealIdentity.maximumFieldByteCount },
            "seal refused a valid identity")
        return
    }
    let secretBlob = expectOnly(SealingError.self, "seal SecretBytes") { try sealer.seal(SecretBytes(plaintext), identity: identity) }
    fuzzCheck(secretBlob != nil && secretBlob?.count == blob.count, "sealing Data and SecretBytes differ")
    let back = expectOnly(SealingError.self, "open own blob") { try sealer.openData(blob, identity: identity) }
    fuzzCheck(back == plaintext, "openData(seal(x)) != x")
    if let secretBlob {
        let secretBack = expectOnly(SealingError.self, "open own SecretBytes blob") { try sealer.open(secretBlob, identity: identity) }
        fuzzCheck(secretBack?.exportedBytes() == plaintext, "open(seal(SecretBytes x)) != x")
    }
    fuzzCheck(blob.count == plaintext.count + 32, "a blob is not plaintext + 32 bytes")

    if mask != 0 {
        var tampered = Array(blob)
        let index = position % tampered.count
        tampered[index] ^= mask
        switch outcome(SealingError.self, "open tampered", { try sealer.openData(tampered, identity: identity) }) {
        case .success:
            fuzzFail("a blob with byte \(index) changed still opens")
        case .failure(let error):
            let expected: SealingError.Code = index < 3 ? .malformedBlob : index == 3 ? .unsupportedVersion : .authenticationFailure
            fuzzCheck(error.code == expected, "a blob with byte \(index) changed fails with \(error.code), expected \(expected)")
        }
    }
    if change != 0 {
        var other = identity
        switch change % 4 {
        case 0: other.partition += "\u{0}"
        case 1: other.kind = String(other.kind.dropLast()) + (other.kind.hasSuffix("x") ? "y" : "x")
        case 2:
            other.objectID = other.kind + other.objectID
            other.kind = ""
        default: other.version = identity.version == Int.max ? 0 : identity.version + 1
        }
        if other != identity {
            switch outcome(SealingError.self, "open for another identity", { try sealer.openData(blob, identity: other) }) {
            case .success: fuzzFail("a blob sealed for \(identity) opens for \(other)")
            case .failure(let error):
                fuzzCheck(
                    error.code == .authenticationFailure || error.code == .invalidArgument,
                    "opening for another identity fails with \(error.code)")
            }
        }
    }
}

private func partitionKeys(_ wrapped: Data, partition: String, position: Int, mask: UInt8) {
    expectOnly(SealingError.self, "unwrap arbitrary") { try master.unwrap(wrapped, partitionID: partition) }
    let key = FixedKeys.secretKey(.aes256)
    guard let partitionKey = expectOnly(SealingError.self, "PartitionKey", { try PartitionKey(key) }) else { fuzzFail("partition key") }
    guard let own = expectOnly(SealingError.self, "wrap", { try master.wrap(partitionKey, partitionID: partition) }) else {
        fuzzFail("wrap of a partition key failed")
    }
    let back = expectOnly(SealingError.self, "unwrap own") { try master.unwrap(own, partitionID: partition) }
    fuzzCheck(back == partitionKey, "unwrap(wrap(k)) != k")
    let elsewhere = expectOnly(SealingError.self, "unwrap for another partition") { try master.unwrap(own, partitionID: partition + "x") }
    fuzzCheck(elsewhere == nil, "a partition key unwraps for another partition")
    if mask != 0 {
        var tampered = Array(own)
        tampered[position % tampered.count] ^= mask
        switch outcome(SealingError.self, "unwrap tampered", { try master.unwrap(tampered, partitionID: partition) }) {
        case .success: fuzzFail("a wrapped partition key with a changed byte unwraps")
        case .failure(let error): fuzzCheck(error.code == .authenticationFailure, "a changed wrapped key fails with \(error.code)")
        }
    }
}

// MARK: Seeds

private func identityBytes(_ identity: SealIdentity) -> [UInt8] {
    var out: [UInt8] = []
    for field in [identity.partition, identity.kind, identity.objectID] { out += [UInt8(field.utf8.count)] + Array(field.utf8) }
    return out + withUnsafeBytes(of: Int64(identity.version).bigEndian) { Array($0) }
}

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    var seeds: [(name: String, bytes: [UInt8])] = []
    let plaintexts: [(String, Data)] = [
        ("empty", Data()),
        ("key32", Data(FixedKeys.bytes("sealed key", count: 32))),
        ("pkcs8-p256", try FixedKeys.privateKey(.p256).pkcs8Representation().exportedBytes()),
    ]
    for (name, plaintext) in plaintexts {
        seeds.append(("open-\(name)", [0] + Array(try sealer.seal(plaintext, identity: fixedIdentity))))
    }
    let other = SealIdentity(partition: "p", kind: "session", objectID: "s0123456789", version: 7)
    seeds.append(("open-as-session", [1] + identityBytes(other) + Array(try sealer.seal(Data("record".utf8), identity: other))))
    seeds.append(("roundtrip", [2] + identityBytes(fixedIdentity) + [0, 40, 0x01, 3] + Array("some plaintext".utf8)))
    seeds.append(("roundtrip-header", [2] + identityBytes(other) + [0, 3, 0x02, 1] + Array("x".utf8)))
    let wrapped = try master.wrap(try PartitionKey(FixedKeys.secretKey(.aes256)), partitionID: "tenant-a")
    seeds.append(("partition-key", [3, 8] + Array("tenant-a".utf8) + [0, 20, 0x10] + Array(wrapped)))
    return seeds
}
