import Foundation
import RedoubtStore
import Testing

/// Crashers of `FuzzAuditChain`: runs of entries that need a sequence past `Int64.max`. The verifier
/// used to wrap its expected sequence to `Int64.min` and report such a run broken at a negative
/// position (or not where the documented rule says); it must be broken at `Int64.max`.
@Suite("Fuzz crashers: the audit chain verifier")
struct FuzzFailCaseAuditChainTests {
    @Test(
        "a run past Int64.max is broken at Int64.max",
        arguments: ["sequence-wrap-accepted-minimised", "sequence-wrap-negative-position"])
    func sequenceWrap(name: String) throws {
        var input = FuzzCrasherReader(try fuzzCrasher("FuzzAuditChain", name))
        try #require(input.byte() % 2 == 0, "not FuzzAuditChain's arbitrary-entries mode")
        let (entries, previous) = arbitraryEntries(&input)

        // What the bytes hold: a correctly hashed entry at Int64.max − 1 in "p", then one at Int64.max,
        // then whatever would follow it.
        let before = try #require(previous)
        #expect(before.partition == "p" && before.sequence == .max - 1)
        try #require(entries.count >= 2)
        #expect(entries[0].sequence == .max)

        // Reaching Int64.max is fine; anything after it is broken there, saying why.
        #expect(verifyAuditChain([entries[0]], previous: before) == .valid)
        let verdict = verifyAuditChain(entries, previous: before)
        guard case .broken(let at, let reason) = verdict else {
            Issue.record("verifyAuditChain accepted a run past Int64.max: \(verdict)")
            return
        }
        #expect(at == .max)
        #expect(reason == "entry \(Int64.max) is the last possible sequence (Int64.max); nothing can follow it")
    }
}

/// FuzzAuditChain's mode 0 ("arbitrary entries"): byte flags (bit 0: the first entry is `previous`),
/// then entries until the input ends (at most 32), each: byte partition (mod 4: "", "p", "q", or a
/// short field), byte sequence kind (mod 4: 1 + byte, any Int64 from 8 bytes, the one after the last,
/// Int64.max − byte), short field payload, byte hash kind (even: the correct chain hash, odd: a short field).
private func arbitraryEntries(_ input: inout FuzzCrasherReader) -> (entries: [AuditEntry], previous: AuditEntry?) {
    var wantPrevious = input.byte() & 1 == 1
    var entries: [AuditEntry] = []
    var previous: AuditEntry?
    var lastHash = AuditEntry.genesisHash
    var lastSequence: Int64 = 0
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
    return (entries, previous)
}
