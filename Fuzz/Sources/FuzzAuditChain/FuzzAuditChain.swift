// The audit chain verifier: verifyAuditChain(_:previous:) and AuditEntry.chainHash.
//
// Input layout:
//   byte 0 (mod 2): mode
//   0 arbitrary entries: byte flags (bit 0: a previous entry comes first), then entries until the
//     input ends (at most 32), each: byte partition (mod 4: "", "p", "q", or a short field),
//     byte sequence kind (mod 4: 1 + byte, any Int64 from 8 bytes, the expected next one,
//     Int64.max − byte), short field payload, byte hash kind (even: the correct chain hash,
//     odd: a short field)
//   1 a chain built correctly: short field partition, byte flags (bit 0: it continues a previous
//     entry; bit 1: that entry's sequence is any Int64 from 8 bytes, else 1 + 2 bytes), byte entry
//     count (mod 8, plus 1), a short field payload per entry, then byte index and byte XOR mask
//     for the damage
//
// Invariants:
//   - the verifier never traps, and agrees with an independent reference implementation of the
//     documented rule (sequences from 1, or from previous + 1, without gaps or overflow; one
//     partition; hash = SHA-256(previous hash ‖ UInt64 BE sequence ‖ payload));
//   - a correctly built chain is .valid, and so is every prefix, and every suffix given the entry
//     before it;
//   - one changed payload or hash byte, a dropped or swapped entry, or an entry moved to another
//     partition gives .broken at that entry's sequence (dropping the last entry is undetectable,
//     as documented, and stays .valid).
import Crypto
import Foundation
import FuzzSupport
import RedoubtStore

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.prepare(target: "FuzzAuditChain", entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzAuditChain(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzAuditChain(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    if input.byte() % 2 == 0 {
        arbitrary(&input)
    } else {
        built(&input)
    }
    return 0
}

// MARK: Reference

/// The documented rule, written independently of the library.
private func reference(_ entries: [AuditEntry], previous: AuditEntry?) -> AuditChainVerdict {
    var expected: Int64 = 1
    var previousHash = Data(repeating: 0, count: 32)
    if let previous {
        guard previous.sequence >= 1, previous.sequence < Int64.max else {
            return .broken(at: previous.sequence, reason: "")
        }
        expected = previous.sequence + 1
        previousHash = previous.hash
    }
    guard let partition = previous?.partition ?? entries.first?.partition else { return .valid }
    for (i, entry) in entries.enumerated() {
        guard entry.partition == partition, entry.sequence == expected else { return .broken(at: expected, reason: "") }
        var message = previousHash
        withUnsafeBytes(of: UInt64(entry.sequence).bigEndian) { message.append(contentsOf: $0) }
        message.append(entry.payload)
        guard entry.hash == Data(SHA256.hash(data: message)) else { return .broken(at: entry.sequence, reason: "") }
        previousHash = entry.hash
        if i < entries.count - 1 {
            // No successor of Int64.max exists: a further entry is out of place.
            guard expected < Int64.max else { return .broken(at: expected, reason: "sequence overflow") }
            expected += 1
        }
    }
    return .valid
}

private func position(_ verdict: AuditChainVerdict) -> Int64? {
    if case .broken(let at, _) = verdict { return at }
    return nil
}

private func checkAgainstReference(_ entries: [AuditEntry], previous: AuditEntry?) {
    let actual = verifyAuditChain(entries, previous: previous)
    let expected = reference(entries, previous: previous)
    fuzzCheck(
        position(actual) == position(expected),
        "verifyAuditChain says \(actual), the reference \(expected), for \(entries.count) entries starting at \(entries.first.map { String($0.sequence) } ?? "-") after \(previous.map { String($0.sequence) } ?? "none")"
    )
}

// MARK: Arbitrary entries

private func arbitrary(_ input: inout FuzzInput) {
    let flags = input.byte()
    var entries: [AuditEntry] = []
    var previous: AuditEntry?
    var lastHash = AuditEntry.genesisHash
    var lastSequence: Int64 = 0
    var wantPrevious = flags & 1 == 1
    while input.remaining > 0 && entries.count < 32 {
        let partition: String
        switch input.byte() % 4 {
        case 0: partition = ""
        case 1: partition = "p"
        case 2: partition = "q"
        default: partition = String(decoding: input.shortField(), as: UTF8.self)
        }
        let sequence: Int64
        switch input.byte() % 4 {
        case 0: sequence = 1 + Int64(input.byte())
        case 1: sequence = input.integer(Int64.self)
        case 2: sequence = lastSequence &+ 1
        default: sequence = Int64.max - Int64(input.byte())
        }
        let payload = Data(input.shortField())
        let hash =
            input.byte() % 2 == 0
            ? AuditEntry.chainHash(previousHash: lastHash, sequence: sequence, payload: payload)
            : Data(input.shortField())
        let entry = AuditEntry(partition: partition, sequence: sequence, payload: payload, hash: hash)
        if wantPrevious {
            previous = entry
            wantPrevious = false
        } else {
            entries.append(entry)
        }
        lastHash = hash
        lastSequence = sequence
    }
    checkAgainstReference(entries, previous: previous)
}

// MARK: Built chains

private func built(_ input: inout FuzzInput) {
    let partition = String(decoding: input.shortField(), as: UTF8.self)
    let flags = input.byte()
    var previous: AuditEntry?
    if flags & 1 != 0 {
        let sequence = flags & 2 != 0 ? input.integer(Int64.self) : 1 + Int64(input.uint16())
        let payload = Data("previous".utf8)
        previous = AuditEntry(
            partition: partition, sequence: sequence, payload: payload,
            hash: AuditEntry.chainHash(previousHash: Data(FixedKeys.bytes("chain", count: 32)), sequence: sequence, payload: payload))
    }
    let count = Int(input.byte() % 8) + 1
    var entries: [AuditEntry] = []
    var hash = previous?.hash ?? AuditEntry.genesisHash
    var sequence = previous?.sequence ?? 0
    for _ in 0..<count {
        let (next, overflow) = sequence.addingReportingOverflow(1)
        guard !overflow else { break }
        sequence = next
        let payload = Data(input.shortField())
        hash = AuditEntry.chainHash(previousHash: hash, sequence: sequence, payload: payload)
        entries.append(AuditEntry(partition: partition, sequence: sequence, payload: payload, hash: hash))
    }
    let index = entries.isEmpty ? 0 : Int(input.byte()) % entries.count
    let mask = input.byte() | 1
    checkAgainstReference(entries, previous: previous)
    if let previous, previous.sequence < 1 || previous.sequence == Int64.max {
        return  // nothing can follow it: the reference comparison above is all there is to check
    }
    fuzzCheck(verifyAuditChain(entries, previous: previous) == .valid, "a correctly built chain is not valid")
    guard !entries.isEmpty else { return }
    for k in 0...entries.count {
        let head = Array(entries[..<k]), tail = Array(entries[k...])
        fuzzCheck(verifyAuditChain(head, previous: previous) == .valid, "a prefix of a valid chain is not valid")
        let before = k == 0 ? previous : entries[k - 1]
        if before?.sequence == Int64.max { continue }  // an entry at Int64.max has no successor, so it cannot be `previous`
        fuzzCheck(
            verifyAuditChain(tail, previous: before) == .valid,
            "a suffix of a valid chain, given the entry before it, is not valid")
    }
    let at = entries[index].sequence
    func expectBroken(_ damaged: [AuditEntry], _ what: String) {
        let verdict = verifyAuditChain(damaged, previous: previous)
        fuzzCheck(position(verdict) == at, "\(what) of entry \(at): verdict \(verdict), expected broken at \(at)")
        checkAgainstReference(damaged, previous: previous)
    }
    var damaged = entries
    if damaged[index].payload.isEmpty {
        damaged[index].payload = Data([mask])
    } else {
        damaged[index].payload[damaged[index].payload.startIndex + Int(mask) % damaged[index].payload.count] ^= mask
    }
    expectBroken(damaged, "a changed payload")
    damaged = entries
    damaged[index].hash[damaged[index].hash.startIndex + Int(mask) % 32] ^= mask
    expectBroken(damaged, "a changed hash")
    damaged = entries
    damaged[index].partition += "x"
    if previous != nil || index > 0 { expectBroken(damaged, "another partition") }
    damaged = entries
    damaged.remove(at: index)
    if index < entries.count - 1 {
        expectBroken(damaged, "dropping")
    } else {
        fuzzCheck(verifyAuditChain(damaged, previous: previous) == .valid, "dropping the last entry is not undetectable as documented")
    }
    if index < entries.count - 1 {
        damaged = entries
        damaged.swapAt(index, index + 1)
        expectBroken(damaged, "swapping")
    }
}

// MARK: Seeds

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    func short(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
    let payloads = [#"{"actor":"u1","operation":"key.generate"}"#, #"{"operation":"sign"}"#, "", "x"]
    var seeds: [(name: String, bytes: [UInt8])] = []
    seeds.append(("built-4", [1] + short("tenant-a") + [0, 3] + payloads.flatMap(short) + [2, 0x10]))
    seeds.append(("built-continues", [1] + short("p") + [1, 0x01, 0x00, 1] + payloads.prefix(2).flatMap(short) + [1, 0x80]))
    seeds.append(
        (
            "built-near-max",
            [1] + short("") + [3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 3]
                + payloads.flatMap(short) + [0, 1]
        ))
    // Arbitrary: a correct run of "p" (sequence kind 2 = the next one, hash kind 0 = correct).
    var run: [UInt8] = [0, 0]
    for payload in payloads { run += [1, 2] + short(payload) + [0] }
    seeds.append(("arbitrary-valid", run))
    var wrapping: [UInt8] = [0, 1, 1, 3, 1] + short("a") + [0]  // previous at Int64.max − 1
    wrapping += [1, 2] + short("b") + [0] + [1, 2] + short("c") + [0]
    seeds.append(("arbitrary-near-max", wrapping))
    return seeds
}
