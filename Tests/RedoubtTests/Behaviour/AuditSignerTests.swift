import Foundation
@testable import Redoubt
import Testing

/// Record MACs: the queued key-use records are signed from bytes, management records from `Data`;
/// both must be the same record, and one an auditor's check accepts.
@Suite("AuditSigner: record MACs")
struct AuditSignerTests {
    let signer: AuditSigner

    init() throws {
        signer = try AuditSigner(master: try MasterKey.create(passphrase: nil, shares: (2, 2), dev: false).key)
    }

    @Test(
        "signing bytes and signing Data give the same record, and it checks valid",
        arguments: [
            #"{"actor":"alice","object":"k1","operation":"sign","result":"ok","role":"crypto-user","session":"s","time":1}"#,
            #"{"a":"\u00e9\"\\"}"#,
            "{}",
        ])
    func bytesEqualData(_ json: String) {
        let fromData = signer.signed(Data(json.utf8), partition: "p1")
        let fromBytes = signer.signed(Array(json.utf8), partition: "p1")
        #expect(fromBytes == fromData)
        #expect(signer.check(fromBytes, partition: "p1") == .valid)
        // The MAC covers the partition: the same record under another one does not check.
        #expect(signer.check(fromBytes, partition: "p2") == .invalid)
        #expect(String(decoding: fromBytes, as: UTF8.self).hasSuffix("\"}"))
    }

    @Test("a record changed after signing, or without its MAC, does not check valid")
    func changedRecord() {
        var record = signer.signed(Array(#"{"actor":"alice","result":"ok"}"#.utf8), partition: "p1")
        #expect(signer.check(Data(#"{"actor":"alice","result":"ok"}"#.utf8), partition: "p1") == .absent)
        let at = record.firstIndex(of: UInt8(ascii: "a"))!
        record[at] = UInt8(ascii: "b")
        #expect(signer.check(record, partition: "p1") == .invalid)
    }
}
