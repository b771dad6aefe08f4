import Foundation
import Redoubt
import Testing

@Suite("Master key: M-of-N shares")
struct MasterKeySharesTests {
    /// Every subset of `items` with exactly `size` elements.
    static func subsets<T>(_ items: [T], size: Int) -> [[T]] {
        guard size > 0 else { return [[]] }
        guard items.count >= size else { return [] }
        let head = items[0], tail = Array(items.dropFirst())
        return subsets(tail, size: size - 1).map { [head] + $0 } + subsets(tail, size: size)
    }

    @Test("any M of N shares unseal, and so do more")
    func anySubset() throws {
        let (master, envelope, shares) = try MasterKey.create(passphrase: nil, shares: (threshold: 3, count: 5), dev: false)
        #expect(shares.count == 5)
        #expect(shares.map(\.index) == [1, 2, 3, 4, 5])
        #expect(envelope.shares?.checkValues.count == 5)
        for size in 3...5 {
            for subset in Self.subsets(shares, size: size) {
                #expect(try MasterKey.unseal(envelope: envelope, shares: subset.reversed()) == master)
            }
        }
    }

    @Test("M − 1 shares are refused, and a duplicate counts once")
    func tooFew() throws {
        let (master, envelope, shares) = try MasterKey.create(passphrase: nil, shares: (threshold: 3, count: 4), dev: false)
        for subset in Self.subsets(shares, size: 2) {
            let error = expectSealingError(.insufficientShares) { try MasterKey.unseal(envelope: envelope, shares: subset) }
            #expect(error?.message.contains("3 distinct shares") == true)
        }
        let duplicated = [shares[0], shares[0], shares[1]]
        let error = expectSealingError(.insufficientShares) { try MasterKey.unseal(envelope: envelope, shares: duplicated) }
        #expect(error?.message.contains("got 2") == true)
        #expect(try MasterKey.unseal(envelope: envelope, shares: duplicated + [shares[3]]) == master)
        expectSealingError(.insufficientShares) { try MasterKey.unseal(envelope: envelope, shares: []) }
    }

    @Test("the text form round-trips and survives surrounding whitespace")
    func textRoundTrip() throws {
        let (master, envelope, shares) = try MasterKey.create(passphrase: nil, shares: (threshold: 2, count: 3), dev: false)
        let parsed = try shares.map { try MasterKeyShare(textRepresentation: "  \n" + $0.textRepresentation + "\n") }
        #expect(parsed == shares)
        #expect(parsed[1].keyID == envelope.keyID)
        #expect(parsed[1].index == 2)
        #expect(parsed[1].threshold == 2)
        #expect(shares[0].textRepresentation.hasPrefix("redoubt-share-1-\(envelope.keyID)-1-2-"))
        #expect(try MasterKey.unseal(envelope: envelope, shares: Array(parsed.prefix(2))) == master)
    }

    @Test("any mistyped character in a share's text is refused")
    func corruptedText() throws {
        let (_, _, shares) = try MasterKey.create(passphrase: nil, shares: (threshold: 2, count: 2), dev: false)
        let text = Array(shares[0].textRepresentation)
        for position in text.indices {
            var altered = text
            altered[position] = altered[position] == "A" ? "B" : "A"
            expectSealingError(.invalidShare) { try MasterKeyShare(textRepresentation: String(altered)) }
        }
        for cut in [1, 8, 9, 20, text.count / 2] {
            expectSealingError(.invalidShare) { try MasterKeyShare(textRepresentation: String(text.dropLast(cut))) }
        }
        expectSealingError(.invalidShare) { try MasterKeyShare(textRepresentation: "") }
        expectSealingError(.invalidShare) { try MasterKeyShare(textRepresentation: "hello-world") }
        let badChecksum = expectSealingError(.invalidShare) {
            try MasterKeyShare(textRepresentation: String(text.dropLast(8)) + "00000000")
        }
        #expect(badChecksum?.message.contains("checksum") == true)
    }

    @Test("a share of another cluster is refused")
    func otherCluster() throws {
        let (_, envelope, shares) = try MasterKey.create(passphrase: nil, shares: (threshold: 2, count: 3), dev: false)
        let (_, _, foreign) = try MasterKey.create(passphrase: nil, shares: (threshold: 2, count: 3), dev: false)
        let error = expectSealingError(.wrongCluster) { try MasterKey.unseal(envelope: envelope, shares: [shares[0], foreign[1]]) }
        #expect(error?.message.contains(envelope.keyID) == true)
    }

    @Test("a share whose bytes or threshold were altered, with a valid checksum, is named and refused")
    func alteredShare() throws {
        let (master, envelope, shares) = try MasterKey.create(passphrase: nil, shares: (threshold: 2, count: 3), dev: false)
        var bytes = shares[1].bytes.exportedBytes()
        bytes[5] ^= 0x01
        let forged = try MasterKeyShare(textRepresentation: shareText(keyID: envelope.keyID, index: 2, threshold: 2, bytes: bytes))
        let error = expectSealingError(.invalidShare) { try MasterKey.unseal(envelope: envelope, shares: [shares[0], forged]) }
        #expect(error?.message.contains("share 2") == true)

        // Share 2's bytes presented as share 3.
        let moved = try MasterKeyShare(
            textRepresentation: shareText(
                keyID: envelope.keyID, index: 3, threshold: 2, bytes: shares[1].bytes.exportedBytes()))
        expectSealingError(.invalidShare) { try MasterKey.unseal(envelope: envelope, shares: [shares[0], moved]) }

        let wrongThreshold = try MasterKeyShare(
            textRepresentation: shareText(
                keyID: envelope.keyID, index: 2, threshold: 3, bytes: shares[1].bytes.exportedBytes()))
        expectSealingError(.invalidShare) { try MasterKey.unseal(envelope: envelope, shares: [shares[0], wrongThreshold]) }

        let outOfRange = try MasterKeyShare(
            textRepresentation: shareText(
                keyID: envelope.keyID, index: 9, threshold: 2, bytes: shares[1].bytes.exportedBytes()))
        expectSealingError(.invalidShare) { try MasterKey.unseal(envelope: envelope, shares: [shares[0], outOfRange]) }

        // The genuine shares still work.
        #expect(try MasterKey.unseal(envelope: envelope, shares: [shares[2], shares[1]]) == master)
    }

    @Test("passphrase and shares both unseal the same key")
    func bothMethods() throws {
        let (master, envelope, shares) = try MasterKey.create(
            passphrase: testPassphrase, shares: (threshold: 2, count: 2), dev: false, scrypt: fastScrypt)
        #expect(try MasterKey.unseal(envelope: envelope, passphrase: testPassphrase) == master)
        #expect(try MasterKey.unseal(envelope: envelope, shares: shares) == master)
    }

    @Test("an envelope without shares says how to unseal instead")
    func noShareConfiguration() throws {
        let (_, envelope, _) = try MasterKey.create(passphrase: testPassphrase, shares: nil, dev: false, scrypt: fastScrypt)
        let (_, _, shares) = try MasterKey.create(passphrase: nil, shares: (2, 2), dev: false)
        let error = expectSealingError(.invalidArgument) { try MasterKey.unseal(envelope: envelope, shares: shares) }
        #expect(error?.message.contains("passphrase") == true)
    }
}
