import Foundation
import Redoubt
import RedoubtStore
import Testing

@Suite("Backup: damaged, foreign and truncated files are refused, and restore is all-or-nothing")
struct BackupTamperTests {
    /// A backup of 1,000 objects (2,200 records: chunks of 1,000, 1,000 and 200) and its master key.
    struct Fixture {
        let directory: ScratchDirectory
        let path: String
        let master: MasterKey
        let file: Data
        let layout: BackupLayout

        init() async throws {
            directory = try ScratchDirectory()
            path = directory.path("store.backup")
            master = try makeMaster()
            let source = try await makeFilledStore(objects: 1000)
            try await Backup.write(records: source.exportAll(), to: path, master: master, scope: .store)
            try await source.close()
            file = try Data(contentsOf: URL(fileURLWithPath: path))
            layout = try BackupLayout(file)
        }

        /// Writes `bytes` as a new file and returns its path.
        func variant(_ name: String, _ bytes: Data) throws -> String {
            let path = directory.path(name)
            try bytes.write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    @Test("the fixture has three chunks, the first two full")
    func fixtureShape() async throws {
        let fixture = try await Fixture()
        #expect(fixture.layout.chunks.count == 3)
        #expect(fixture.layout.chunks.last?.upperBound == fixture.file.count)
    }

    @Test("a backup made under another master key is refused, and nothing is imported")
    func otherMaster() async throws {
        let fixture = try await Fixture()
        let stranger = try makeMaster()
        await #expect { try await Backup.verify(at: fixture.path, master: stranger) } throws: { backupCode($0) == .wrongCluster }
        let (error, after) = try await restoreFailure(fixture.path, master: stranger)
        #expect(backupCode(error) == .wrongCluster)
        #expect(after == 0)
    }

    @Test("flipping any byte of the header is refused")
    func headerFlips() async throws {
        let fixture = try await Fixture()
        for position in fixture.layout.preamble {
            var altered = fixture.file
            altered[position] ^= 0x01
            let path = try fixture.variant("header-\(position)", altered)
            await #expect("byte \(position)") { try await Backup.verify(at: path, master: fixture.master) } throws: { $0 is BackupError }
        }
        // Specific diagnoses for the fixed fields.
        var magic = fixture.file
        magic[0] ^= 0x01
        await #expect { try await Backup.verify(at: try fixture.variant("magic", magic), master: fixture.master) } throws: { backupCode($0) == .notABackup }
        var version = fixture.file
        version[16] = 2
        await #expect { try await Backup.verify(at: try fixture.variant("version", version), master: fixture.master) } throws: {
            backupCode($0) == .unsupportedVersion
        }
    }

    @Test("flipping bytes anywhere in a chunk is refused, naming the chunk")
    func chunkFlips() async throws {
        let fixture = try await Fixture()
        for (index, chunk) in fixture.layout.chunks.enumerated() {
            // Length prefix, nonce, ciphertext start/middle/end, tag.
            let positions = [
                chunk.lowerBound, chunk.lowerBound + 3, chunk.lowerBound + 4, chunk.lowerBound + 10,
                chunk.lowerBound + 20, (chunk.lowerBound + chunk.upperBound) / 2, chunk.upperBound - 17,
                chunk.upperBound - 1,
            ]
            for position in positions {
                var altered = fixture.file
                altered[position] ^= 0x04
                let path = try fixture.variant("chunk-\(position)", altered)
                await #expect("byte \(position)") { try await Backup.verify(at: path, master: fixture.master) } throws: { $0 is BackupError }
                let offsetInChunk = position - chunk.lowerBound
                if offsetInChunk >= 4 {
                    await #expect { try await Backup.verify(at: path, master: fixture.master) } throws: { error in
                        (error as? BackupError).map { $0.code == .damaged && $0.chunk == index && $0.message.contains("chunk \(index)") } ?? false
                    }
                }
            }
        }
    }

    @Test("a damaged last chunk rolls back a restore that already received two chunks of records")
    func allOrNothing() async throws {
        let fixture = try await Fixture()
        let lastChunk = try #require(fixture.layout.chunks.last)
        var altered = fixture.file
        altered[lastChunk.upperBound - 5] ^= 0xFF
        let path = try fixture.variant("late-damage", altered)

        // The stream does yield the first chunk's records before failing…
        var yielded = 0
        await #expect(throws: BackupError.self) {
            for try await _ in Backup.read(from: path, master: fixture.master) { yielded += 1 }
        }
        #expect(yielded == 2000)
        // …and the restore still leaves the target empty.
        let (error, after) = try await restoreFailure(path, master: fixture.master)
        #expect(backupCode(error) == .damaged)
        #expect(after == 0)
    }

    @Test("truncating the file anywhere is refused, and nothing is imported")
    func truncation() async throws {
        let fixture = try await Fixture()
        let firstChunk = fixture.layout.chunks[0]
        let cuts: [(Int, BackupError.Code)] = [
            (10, .notABackup),
            (fixture.layout.preamble.upperBound - 5, .truncated),
            (fixture.layout.preamble.upperBound, .truncated),
            (firstChunk.lowerBound + 2, .truncated),
            (firstChunk.lowerBound + 100, .truncated),
            (firstChunk.upperBound, .truncated),
            (fixture.file.count - 1, .truncated),
        ]
        for (length, code) in cuts {
            let path = try fixture.variant("cut-\(length)", fixture.file.prefix(length))
            await #expect("cut at \(length)") { try await Backup.verify(at: path, master: fixture.master) } throws: { backupCode($0) == code }
            let (error, after) = try await restoreFailure(path, master: fixture.master)
            #expect(backupCode(error) == code, "cut at \(length)")
            #expect(after == 0)
        }
    }

    @Test("swapped, dropped, duplicated or extra chunks are refused")
    func reordering() async throws {
        let fixture = try await Fixture()
        let preamble = fixture.file[fixture.layout.preamble]
        let first = fixture.file[fixture.layout.chunks[0]]
        let second = fixture.file[fixture.layout.chunks[1]]
        let third = fixture.file[fixture.layout.chunks[2]]
        let variants: [(String, Data)] = [
            ("swapped", preamble + second + first + third),  // same record counts: only the index tells
            ("swapped-last", preamble + first + third + second),
            ("dropped-first", preamble + second + third),
            ("dropped-middle", preamble + first + third),
            ("duplicated", preamble + first + first + third),
            ("trailing-garbage", fixture.file + Data([0, 0, 0, 1, 0x42])),
            ("final-twice", fixture.file + third),
        ]
        for (name, bytes) in variants {
            let path = try fixture.variant(name, bytes)
            await #expect("\(name)") { try await Backup.verify(at: path, master: fixture.master) } throws: { error in
                let code = backupCode(error)
                return code == .damaged || code == .truncated
            }
            let (error, after) = try await restoreFailure(path, master: fixture.master)
            #expect(error is BackupError, "\(name)")
            #expect(after == 0, "\(name)")
        }
    }

    @Test("a file that is not a backup is named as such")
    func notABackup() async throws {
        let fixture = try await Fixture()
        let path = try fixture.variant("random", try Random.bytes(count: 4096))
        await #expect { try await Backup.verify(at: path, master: fixture.master) } throws: { backupCode($0) == .notABackup }
        #expect { try Backup.readHeader(from: path) } throws: { backupCode($0) == .notABackup }
        await #expect { try await Backup.verify(at: fixture.directory.path("missing"), master: fixture.master) } throws: {
            backupCode($0) == .fileAccess
        }
    }
}
