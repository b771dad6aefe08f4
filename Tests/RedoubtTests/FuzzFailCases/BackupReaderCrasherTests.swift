import Foundation
@testable import Redoubt
import RedoubtCrypto
import RedoubtStore
import Testing

/// Crashers of `FuzzBackupReader`: correctly sealed backups whose records a restore refuses (an
/// object twice, a request id twice, a revision below 1). `Backup.verify` used to accept them,
/// breaking its promise that a file that verifies restores; it must refuse them as damaged, naming
/// the chunk, and a restore of them must leave the store empty.
@Suite("Fuzz crashers: the backup reader")
struct FuzzFailCaseBackupReaderTests {
    @Test(
        "Backup.verify refuses what a restore refuses",
        arguments: [
            ("verify-accepts-object-twice", #"object p/k/a appears twice or has revision 1: a restore would be refused"#),
            ("verify-accepts-request-id-twice", #"request id "r" of partition "p" appears twice: a restore would be refused"#),
            ("verify-accepts-revision-zero", #"object p/k/a appears twice or has revision 0: a restore would be refused"#),
        ])
    func verifyRefuses(name: String, message: String) async throws {
        let chunk = try structuredChunk(try fuzzCrasher("FuzzBackupReader", name))
        let directory = try ScratchDirectory()
        let master = try makeMaster()
        let path = directory.path(name + ".backup")
        try sealedBackup(chunk: chunk.plaintext, recordCount: chunk.recordCount, master: master)
            .write(to: URL(fileURLWithPath: path))

        // The file itself is sound: its header reads and its one chunk authenticates and decodes.
        #expect(try Backup.readHeader(from: path).recordCount == chunk.recordCount)
        var read = 0
        for try await _ in Backup.read(from: path, master: master) { read += 1 }
        #expect(read == chunk.recordCount)

        // Its content is what verify refuses, naming the chunk.
        await #expect {
            try await Backup.verify(at: path, master: master)
        } throws: { error in
            guard let error = error as? BackupError else { return false }
            return error.code == .damaged && error.chunk == 0 && error.message == message
        }

        // And it is what a restore into an empty store refuses (the store's import checks), all or nothing.
        let (error, recordsAfter) = try await restoreFailure(path, master: master)
        #expect((error as? StoreError)?.code == .corrupt, "the restore ended with \(String(describing: error))")
        #expect(recordsAfter == 0)
    }
}

/// FuzzBackupReader's structured mode as these crashers use it: byte 0 bit 0 set (structured; bits 1
/// and 2, restore-always and skip-deep-checks, change no outcome here), byte flags 0x01 (compress the
/// chunk, mark it the last, no envelope, scope "store", record count = the elements of the chunk's
/// JSON array, no trailing bytes), byte chunk count 0 (mod 4, plus 1: one chunk), then the chunk's
/// plaintext as a field (2-byte big-endian length).
private func structuredChunk(_ bytes: [UInt8]) throws -> (plaintext: [UInt8], recordCount: Int) {
    var input = FuzzCrasherReader(bytes)
    try #require(input.byte() & 1 == 1, "not FuzzBackupReader's structured mode")
    try #require(input.byte() == 0x01, "flags other than \"compress\": this test builds only that file")
    try #require(input.byte() % 4 == 0, "more than one chunk")
    let plaintext = input.field()
    try #require(input.remaining == 0)
    let elements = try #require(try JSONSerialization.jsonObject(with: Data(plaintext)) as? [Any])
    return (plaintext, elements.count)
}

/// A backup file as `Backup.write` lays it out (``BackupFormat``), holding `chunk` as its one and
/// final chunk: zstd-compressed and sealed under the backup key of `master`, bound to the header.
private func sealedBackup(chunk: [UInt8], recordCount: Int, master: MasterKey) throws -> Data {
    let header = BackupHeader(
        formatVersion: BackupFormat.version, createdAt: Date(timeIntervalSince1970: 1_800_000_000), scope: .store,
        masterKeyID: master.keyID, recordCount: recordCount, salt: Data(repeating: 0x5a, count: BackupFormat.saltByteCount))
    let preamble = try BackupFormat.preamble(header)
    let key = try BackupFormat.backupKey(master: master, salt: header.salt)
    let sealed = try key.encrypt(
        try Zstd.compress(Data(chunk)), scheme: .aesGCM,
        aad: BackupFormat.chunkAAD(headerHash: BackupFormat.hash(preamble), index: 0, last: true))
    var file = preamble
    withUnsafeBytes(of: UInt32(sealed.count).bigEndian) { file.append(contentsOf: $0) }
    file.append(sealed)
    return file
}
