import Foundation

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Backup {
    /// How old a writer's hidden file must be before ``removeLeftovers(in:olderThan:)`` may take it:
    /// it only guards the instant between a writer creating its file and locking it.
    public static let leftoverAge: TimeInterval = 60

    /// Removes what interrupted backups left in `directory`: the hidden spool and temporary files
    /// (`.NAME.spool-UUID`, `.NAME.tmp-UUID`) of a writer that was killed before it could clean up.
    ///
    /// A writer holds an exclusive `flock(2)` on each of its files while it writes, and the kernel
    /// drops that lock when the writer's process dies, however it dies. A file is therefore removed
    /// only when it is a regular file, at least `age` seconds old, and nobody holds its lock: a
    /// backup being written — by this process or another one sharing the directory — is never
    /// touched. ``write(records:to:master:scope:envelope:overwrite:progress:)`` calls it for its
    /// file's directory before it starts; the broker's backup scheduler also calls it when it
    /// starts.
    ///
    /// - Returns: The names removed. A directory that cannot be read gives none (it is best effort:
    ///   the backup that follows reports any real problem with the directory).
    @discardableResult
    public static func removeLeftovers(in directory: String, olderThan age: TimeInterval = leftoverAge) -> [String] {
        let path = directory.isEmpty ? "." : directory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        let now = Date()
        var removed: [String] = []
        for name in names where isLeftoverName(name) {
            let file = (path as NSString).appendingPathComponent(name)
            // (attributesOfItem does not follow a symbolic link: one is never a writer's file.)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                attributes[.type] as? FileAttributeType == .typeRegular,
                let modified = attributes[.modificationDate] as? Date, now.timeIntervalSince(modified) >= age
            else { continue }
            let fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // Locked: a live writer's. Ours now: its writer is gone.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if unlink(file) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Whether `name` is a writer's hidden file: `.` + a name + `.spool-` or `.tmp-` + a UUID.
    static func isLeftoverName(_ name: String) -> Bool {
        guard name.hasPrefix("."), let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        let suffix = name[name.index(after: dot)...]
        for purpose in ["spool-", "tmp-"] where suffix.hasPrefix(purpose) {
            return UUID(uuidString: String(suffix.dropFirst(purpose.count))) != nil
        }
        return false
    }
}
