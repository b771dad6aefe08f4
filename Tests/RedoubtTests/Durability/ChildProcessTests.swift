import Foundation
@testable import RedoubtTesting
import Testing

#if canImport(Glibc)
import Glibc

/// The tests' child processes (RedoubtTesting's `ChildProcess`, used instead of Foundation's
/// `Process`, which crashed the test process once it held ~1,400 descriptors).
@Suite("Child processes of the tests")
struct ChildProcessTests {
    static func shell(_ script: String, output: Pipe? = nil) throws -> ChildProcess {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", script]
        child.standardOutput = output
        try child.run()
        return child
    }

    @Test("exit codes, signals and output come back")
    func exitAndSignal() async throws {
        let out = Pipe()
        let exits = try Self.shell("echo hello; exit 3", output: out)
        await exits.exited()
        #expect(exits.terminationReason == .exit)
        #expect(exits.terminationStatus == 3)
        #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "hello\n")

        // An hour: among every other test the 100 ms wait below can end much later (once, 30 s).
        let sleeper = try Self.shell("exec sleep 3600")  // exec: the signal below ends the sleep itself
        #expect(sleeper.isRunning)
        #expect(await !sleeper.exited(within: .milliseconds(100)), "an hour's sleep ended already")
        kill(sleeper.processIdentifier, SIGKILL)
        #expect(await sleeper.exited(within: .seconds(60)))
        #expect(sleeper.terminationReason == .uncaughtSignal)
        #expect(sleeper.terminationStatus == SIGKILL)
    }

    @Test("the child inherits no descriptor but its standard streams")
    func noInheritedDescriptors() async throws {
        // A few more than the rest of the run holds, without O_CLOEXEC on purpose (not thousands:
        // every other test runs beside this one, within the same descriptor limit).
        var extra: [Int32] = []
        defer { extra.forEach { close($0) } }
        for _ in 0..<64 {
            let fd = open("/dev/null", O_RDONLY)
            try #require(fd >= 0)
            extra.append(fd)
        }
        let out = Pipe()
        let child = try Self.shell("ls /proc/self/fd", output: out)
        await child.exited()
        #expect(child.terminationStatus == 0)
        let listed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n").compactMap { Int($0) }
        // 0, 1, 2 and the descriptor ls reads the directory with.
        #expect(listed.count <= 4, "the child saw descriptors \(listed.prefix(20))…")
        #expect(Set(listed).isSuperset(of: [0, 1, 2]))
    }

    @Test("FileHandle.nullDevice and an unset input are /dev/null, not this process's input")
    func nullDevice() async throws {
        for input in [FileHandle.nullDevice, nil] as [FileHandle?] {
            let child = ChildProcess()
            child.executableURL = URL(fileURLWithPath: "/bin/sh")
            // /proc/self/fd/0 names what the child reads: /dev/null, not a terminal, pipe or socket.
            child.arguments = ["-c", "readlink /proc/self/fd/0; cat"]
            child.standardInput = input
            let out = Pipe()
            child.standardOutput = out
            child.standardError = FileHandle.nullDevice
            try child.run()
            #expect(await child.exited(within: .seconds(60)), "cat did not end: its input is not /dev/null")
            #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "/dev/null\n")
        }
    }

    @Test("a missing executable is an error, not a crash")
    func missingExecutable() {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/nonexistent/redoubt-test-tool")
        #expect(throws: ChildProcess.SpawnError.self) { try child.run() }
        #expect(!child.isRunning)
    }
}
#endif
