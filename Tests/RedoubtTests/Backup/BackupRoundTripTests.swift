import Foundation
@testable import Redoubt
@testable import RedoubtCore
import RedoubtStore
import Testing

@Suite("Backup: write, verify, read, restore")
struct BackupRoundTripTests {
    @Test("a restored store holds every record of the original")
    func roundTrip() async throws {
        let directory = try ScratchDirectory()
        let path = directory.path("store.backup")
        let master = try makeMaster()
        let source = try await makeFilledStore(objects: 2000)
        let original = try await allRecords(source)
        #expect(original.count == 2000 + 2000 + 400)

        let writing = ProgressLog()
        let summary = try await Backup.write(
            records: source.exportAll(), to: path, master: master, scope: .store, progress: writing.callback)
        #expect(summary.header.recordCount == original.count)
        #expect(summary.header.masterKeyID == master.keyID)
        #expect(summary.header.scope == .store)
        #expect(summary.chunkCount == 5)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)
        #expect(summary.byteCount == size.int64Value)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["store.backup"])

        let last = try #require(writing.all.last)
        #expect(last.phase == .writing)
        #expect(last.recordsDone == original.count)
        #expect(last.recordsTotal == original.count)
        #expect(last.bytesDone == summary.byteCount)
        #expect(last.bytesTotal == summary.byteCount)
        #expect(writing.all.contains { $0.phase == .exporting })

        let verified = try await Backup.verify(at: path, master: master)
        #expect(verified == summary)
        #expect(try Backup.readHeader(from: path) == summary.header)

        let reading = ProgressLog()
        let target = try SQLiteStore.temporary()
        try await target.importAll(Backup.read(from: path, master: master, progress: reading.callback))
        #expect(try await allRecords(target) == original)
        #expect(reading.all.last?.recordsDone == original.count)
        #expect(reading.all.last?.bytesDone == summary.byteCount)
        try await target.close()
        try await source.close()
    }

    @Test("the backup file never contains a stored object's bytes in the clear")
    func encrypted() async throws {
        let directory = try ScratchDirectory()
        let path = directory.path("store.backup")
        let source = try await makeFilledStore(objects: 50)
        try await Backup.write(records: source.exportAll(), to: path, master: try makeMaster(), scope: .store)
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(file.range(of: backupMarker) == nil)
        #expect(file.range(of: Data(backupMarker.base64EncodedString().utf8)) == nil)
        #expect(file.range(of: Data("tenant-1".utf8)) == nil)
        #expect(file.starts(with: Data("REDOUBT-BACKUP\n".utf8)))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        try await source.close()
    }

    @Test("an empty store backs up and restores, with one final chunk")
    func empty() async throws {
        let directory = try ScratchDirectory()
        let path = directory.path("empty.backup")
        let master = try makeMaster()
        let source = try SQLiteStore.temporary()
        let summary = try await Backup.write(
            records: source.exportAll(), to: path, master: master, scope: .partition("tenant:a"))
        #expect(summary.chunkCount == 1)
        #expect(summary.header.recordCount == 0)
        #expect(try Backup.readHeader(from: path).scope == .partition("tenant:a"))
        let target = try SQLiteStore.temporary()
        try await target.importAll(Backup.read(from: path, master: master))
        #expect(try await allRecords(target).isEmpty)
        try await target.close()
        try await source.close()
    }

    @Test("an existing file is replaced only when asked")
    func overwrite() async throws {
        let directory = try ScratchDirectory()
        let path = directory.path("store.backup")
        let master = try makeMaster()
        let source = try await makeFilledStore(objects: 10)
        try await Backup.write(records: source.exportAll(), to: path, master: master, scope: .store)
        await #expect {
            try await Backup.write(records: source.exportAll(), to: path, master: master, scope: .store)
        } throws: { backupCode($0) == .fileAccess }
        try await Backup.write(records: source.exportAll(), to: path, master: master, scope: .store, overwrite: true)
        try await Backup.verify(at: path, master: master)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["store.backup"])
        try await source.close()
    }

    @Test("a failing record source leaves no file behind")
    func failingSource() async throws {
        struct SourceFailure: Error {}
        let directory = try ScratchDirectory()
        let path = directory.path("store.backup")
        let records = AsyncThrowingStream<StoreRecord, Error> { continuation in
            continuation.yield(.requestClaim(partition: "p", requestID: "r", object: ObjectKey(partition: "p", kind: "k", id: "i")))
            continuation.finish(throwing: SourceFailure())
        }
        await #expect(throws: SourceFailure.self) {
            try await Backup.write(records: records, to: path, master: try makeMaster(), scope: .store)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }

    @Test("decompression refuses frames larger than the limit (no zip bombs)")
    func boundedDecompression() throws {
        let large = Data(repeating: 0x41, count: 1 << 20)
        let compressed = try Zstd.compress(large)
        #expect(compressed.count < 1024)
        #expect(try Zstd.decompress(compressed, limit: 1 << 20) == large)
        #expect(throws: Zstd.Failure.self) { try Zstd.decompress(compressed, limit: (1 << 20) - 1) }
        #expect(throws: Zstd.Failure.self) { try Zstd.decompress(Data("not zstd".utf8), limit: 1 << 20) }
        // A frame header that declares no content size is refused before allocating.
        let unknownSize = Data([0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00, 0x01, 0x00, 0x00])
        #expect { try Zstd.decompress(unknownSize, limit: 1 << 20) } throws: { error in
            (error as? Zstd.Failure)?.reason.contains("does not declare its size") == true
        }
    }
}
