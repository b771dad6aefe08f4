import Foundation
@testable import Redoubt
@testable import RedoubtCore
import Testing

@Suite("Sealing types never print secrets")
struct SealingSecrecyTests {
    /// Everything a person might print: description, debugDescription, interpolation, dump.
    static func renderings(_ value: Any) -> String {
        var dumped = ""
        dump(value, to: &dumped)
        return [String(describing: value), String(reflecting: value), "\(value)", dumped].joined(separator: "\n")
    }

    @Test("master key, shares, partition key and sealer describe themselves without key bytes")
    func descriptions() throws {
        let (master, envelope, shares) = try MasterKey.create(
            passphrase: testPassphrase, shares: (threshold: 2, count: 3), dev: false, scrypt: fastScrypt)
        let masterBytes = try masterBytes(from: shares)
        let text = Self.renderings(master)
        #expect(!leaks(masterBytes, in: text))
        #expect(text.contains(master.keyID))
        #expect(!leaks(masterBytes, in: Self.renderings(envelope)))

        for share in shares {
            let shareText = Self.renderings(share)
            #expect(!leaks(share.bytes.exportedBytes(), in: shareText))
            #expect(!shareText.contains(share.textRepresentation))
            #expect(!leaks(masterBytes, in: shareText))
        }

        let partitionKey = try PartitionKey.generate()
        let partitionBytes = partitionKey.key.material.exportedBytes()
        #expect(!leaks(partitionBytes, in: Self.renderings(partitionKey)))
        #expect(!leaks(partitionBytes, in: Self.renderings(ObjectSealer(partitionKey))))
    }

    @Test("error messages never carry passphrases or key bytes")
    func errors() throws {
        let (_, envelope, shares) = try MasterKey.create(
            passphrase: testPassphrase, shares: (threshold: 2, count: 2), dev: false, scrypt: fastScrypt)
        let guess = "my secret guess 12345"
        let wrong = expectSealingError(.authenticationFailure) { try MasterKey.unseal(envelope: envelope, passphrase: guess) }
        #expect(wrong.map { !Self.renderings($0).contains(guess) } == true)
        let short = "tiny pw"
        let tooShort = expectSealingError(.invalidArgument) { try MasterKey.create(passphrase: short, shares: nil, dev: false) }
        #expect(tooShort.map { !Self.renderings($0).contains(short) } == true)

        var bytes = shares[0].bytes.exportedBytes()
        bytes[0] ^= 1
        let forged = try MasterKeyShare(textRepresentation: shareText(keyID: envelope.keyID, index: 1, threshold: 2, bytes: bytes))
        let bad = expectSealingError(.invalidShare) { try MasterKey.unseal(envelope: envelope, shares: [forged, shares[1]]) }
        #expect(bad.map { !leaks(bytes, in: Self.renderings($0)) && !leaks(shares[0].bytes.exportedBytes(), in: Self.renderings($0)) } == true)
    }
}
