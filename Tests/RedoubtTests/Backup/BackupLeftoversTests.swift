import Foundation
@testable import Redoubt
import RedoubtStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a backup writer killed mid-way (SIGKILL, a crash) leaves: its hidden spool and temporary
/// files, removed before the next backup unless a live writer still holds them.
@Suite("Backup: leftovers of interrupted writers")
struct BackupLeftoversTests {
    static let spoolName = ".daily.rbk.spool-\(UUID().uuidString)"
    static let tmpName = ".daily.rbk.tmp-\(UUID().uuidString)"

    /// Writes `name` in `directory`, last modified `age` seconds ago.
    static func leftover(_ directory: ScratchDirectory, _ name: String, age: TimeInterval) throws -> String {
        let path = directory.path(name)
        try Data(repeating: 0xA5, count: 4096).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: path)
        return path
    }

    @Test("names: only a writer's `.NAME.spool-UUID` and `.NAME.tmp-UUID`")
    func names() {
        #expect(Backup.isLeftoverName(Self.spoolName))
        #expect(Backup.isLeftoverName(Self.tmpName))
        #expect(Backup.isLeftoverName("..partial-redoubt-20261202.rbk.tmp-\(UUID().uuidString)"))
        for name in ["daily.rbk", ".daily.rbk", ".daily.rbk.spool-", ".daily.rbk.spool-not-a-uuid", "daily.rbk.tmp-\(UUID().uuidString)", ".spool-x"] {
            #expect(!Backup.isLeftoverName(name), "\(name)")
        }
    }

    @Test("a dead writer's old files go; a live writer's locked file, a fresh one, a link and other files stay")
    func removesOnlyDeadWritersFiles() throws {
        let directory = try ScratchDirectory()
        let dead = try Self.leftover(directory, Self.spoolName, age: 3600)
        let deadTmp = try Self.leftover(directory, Self.tmpName, age: 3600)
        let liveName = ".weekly.rbk.spool-\(UUID().uuidString)"
        let live = try Self.leftover(directory, liveName, age: 3600)
        let freshName = ".monthly.rbk.tmp-\(UUID().uuidString)"
        _ = try Self.leftover(directory, freshName, age: 0)
        let linkName = ".link.rbk.spool-\(UUID().uuidString)"
        try FileManager.default.createSymbolicLink(atPath: directory.path(linkName), withDestinationPath: dead)
        _ = try Self.leftover(directory, "keep.rbk", age: 3600)
        _ = try Self.leftover(directory, ".notes", age: 3600)

        // A writer in another process holds its lock exactly like this until it dies.
        // The descriptor is closed exactly once: a second close would close whatever file another
        // test running at the same time has opened under the same number since (a store's database).
        var fd = open(live, O_RDONLY)
        #expect(fd >= 0)
        defer { if fd >= 0 { close(fd) } }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)

        let removed = Backup.removeLeftovers(in: directory.url.path)
        #expect(Set(removed) == [Self.spoolName, Self.tmpName])
        #expect(!FileManager.default.fileExists(atPath: dead) && !FileManager.default.fileExists(atPath: deadTmp))
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory.url.path))
        #expect(left == [liveName, freshName, linkName, "keep.rbk", ".notes"])

        // Once the live writer is gone (its lock with it), its file goes too.
        close(fd)
        fd = -1
        #expect(Backup.removeLeftovers(in: directory.url.path) == [liveName])
        #expect(Backup.removeLeftovers(in: directory.path("missing")) == [])
    }

    @Test("writing a backup removes what a killed writer left beside it, and leaves nothing of its own")
    func writeCleansUp() async throws {
        let directory = try ScratchDirectory()
        _ = try Self.leftover(directory, Self.spoolName, age: 3600)
        _ = try Self.leftover(directory, Self.tmpName, age: 3600)
        let source = try await makeFilledStore(objects: 10)
        try await Backup.write(records: source.exportAll(), to: directory.path("daily.rbk"), master: try makeMaster(), scope: .store)
        try await source.close()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["daily.rbk"])
    }
}
