import Foundation

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call, with what was being done; callers map it to their own error.
struct SystemCallFailure: Error {
    var operation: String
    var errno: Int32

    /// `"<operation>: <strerror>"`.
    var reason: String { "\(operation): \(String(cString: strerror(errno)))" }
}

/// An open POSIX file, closed when the value goes away.
///
/// Used for files whose permissions matter (key files, backups): they are
/// created with `O_EXCL` and mode 0600 from the start, never widened later.
final class FileDescriptor {
    private(set) var fd: Int32

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        if fd >= 0 { _ = systemClose(fd) }
    }

    /// Creates a new file that must not exist yet, readable and writable by the owner only.
    static func createExclusive(path: String) throws -> FileDescriptor {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { throw SystemCallFailure(operation: "cannot create \(path)", errno: errno) }
        let file = FileDescriptor(fd: fd)
        // The umask can only remove bits; make the mode exactly 0600 regardless.
        guard fchmod(fd, mode_t(0o600)) == 0 else { throw SystemCallFailure(operation: "cannot set the mode of \(path)", errno: errno) }
        return file
    }

    /// Takes an exclusive `flock(2)` on the file without waiting; false when another open file holds
    /// one. The lock ends when the file is closed or its process dies (see
    /// ``Backup/removeLeftovers(in:olderThan:)``, which leaves locked files alone).
    @discardableResult
    func lockExclusively() -> Bool {
        flock(fd, LOCK_EX | LOCK_NB) == 0
    }

    /// Opens an existing file for reading.
    static func openForReading(path: String) throws -> FileDescriptor {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallFailure(operation: "cannot open \(path)", errno: errno) }
        return FileDescriptor(fd: fd)
    }

    /// The file's size and permission bits.
    func status() throws -> (size: Int64, mode: UInt32) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemCallFailure(operation: "cannot stat the file", errno: errno) }
        return (Int64(info.st_size), UInt32(info.st_mode) & 0o7777)
    }

    /// Writes all of `bytes`.
    func write(_ data: Data) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SystemCallFailure(operation: "cannot write", errno: errno)
                }
                offset += written
            }
        }
    }

    /// Reads up to `count` bytes; fewer only at the end of the file.
    func read(upTo count: Int) throws -> Data {
        var out = Data(count: count)
        var filled = 0
        try out.withUnsafeMutableBytes { buffer in
            while filled < count {
                let got = systemRead(fd, buffer.baseAddress.map { $0 + filled }, count - filled)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw SystemCallFailure(operation: "cannot read", errno: errno)
                }
                if got == 0 { break }
                filled += got
            }
        }
        out.count = filled
        return out
    }

    /// Flushes the file to stable storage.
    func sync() throws {
        guard fsync(fd) == 0 else { throw SystemCallFailure(operation: "cannot flush the file to disk", errno: errno) }
    }

    /// Closes the file, reporting a failed close (which can mean lost writes).
    func close() throws {
        guard fd >= 0 else { return }
        let result = systemClose(fd)
        fd = -1
        guard result == 0 else { throw SystemCallFailure(operation: "cannot close the file", errno: errno) }
    }

    /// Moves `source` to `destination`: replacing it, or failing if it exists when `replace` is false.
    static func move(_ source: String, to destination: String, replace: Bool) throws {
        if replace {
            guard rename(source, destination) == 0 else {
                throw SystemCallFailure(operation: "cannot move the file into place at \(destination)", errno: errno)
            }
        } else {
            // link(2) fails with EEXIST instead of replacing: an atomic "create if absent".
            if link(source, destination) == 0 {
                _ = unlink(source)
            } else {
                let linkError = errno
                // Some file systems have no hard links: fall back to check-then-rename.
                guard linkError != EEXIST, access(destination, F_OK) != 0 else {
                    throw SystemCallFailure(operation: "cannot create \(destination)", errno: EEXIST)
                }
                guard rename(source, destination) == 0 else {
                    throw SystemCallFailure(operation: "cannot move the file into place at \(destination)", errno: errno)
                }
            }
        }
        syncDirectory(of: destination)
    }

    /// Removes a file, ignoring errors (cleanup after a failure).
    static func removeQuietly(_ path: String) {
        _ = unlink(path)
    }

    /// Flushes the directory entry of `path` (best effort).
    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = systemClose(fd)
    }

    /// A sibling path of `path` for a temporary file: same directory, hidden, unique.
    static func temporarySibling(of path: String, purpose: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let unique = ".\(name).\(purpose)-\(UUID().uuidString)"
        return directory.isEmpty ? unique : (directory as NSString).appendingPathComponent(unique)
    }
}

// The C functions under names that do not collide with the methods above.
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
