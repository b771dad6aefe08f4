import Foundation
import Redoubt
@testable import RedoubtTesting
import RedoubtStore
import Testing

/// A child process creates keys in a loop and is killed with SIGKILL at random points;
/// every key it acknowledged must be present and usable, and the store must open cleanly.
@Suite("Crash durability")
struct CrashTests {
    /// The `redoubt` tool built beside the test bundle.
    static func redoubtBinary() -> URL? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("redoubt")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    @Test("SIGKILL at random points loses no acknowledged key", .timeLimit(.minutes(3)))
    func killLoop() async throws {
        let binary = try #require(Self.redoubtBinary(), "build the redoubt tool first (swift build builds it)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("redoubt.sqlite").path
        let devKey = dir.appendingPathComponent("dev-unseal.key").path

        // Set up: a partition and a crypto user.
        let store = try SQLiteStore(path: db)
        let created = try await LocalHSM.initialize(store: store, passphrase: nil, devKeyFile: devKey)
        let op = try await created.hsm.openSession(partition: "", credential: .apiKey(created.operatorAPIKey))
        let partition = try await created.hsm.createPartition(op.token, id: "crash", settings: .defaults)
        let so = try await created.hsm.openSession(partition: "crash", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await created.hsm.addUser(so.token, name: "writer", role: .cryptoUser, password: nil)
        try await created.hsm.close()
        try await store.close()

        var acknowledged: [String] = []
        var rng = SystemRandomNumberGenerator()
        let rounds = 12
        for round in 0..<rounds {
            let process = ChildProcess()
            process.executableURL = binary
            process.arguments = ["debug", "keygen-loop", "--data", dir.path, "--dev", "--api-key", user.apiKey, "--partition", "crash"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            // The output, chunk by chunk as it comes, until the pipe's end of file.
            let (chunks, arrival) = AsyncStream.makeStream(of: Data.self)
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let chunk = handle.availableData
                if chunk.isEmpty {
                    handle.readabilityHandler = nil
                    arrival.finish()
                } else {
                    arrival.yield(chunk)
                }
            }
            try process.run()
            var incoming = chunks.makeAsyncIterator()
            var data = Data()
            // Once it has made its first key (starting a debug build among every other test can
            // take longer than the whole random while), let it run for a random while, then kill
            // it mid-flight.
            while !data.contains(UInt8(ascii: "\n")), let chunk = await incoming.next() { data.append(chunk) }
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...700, using: &rng)))
            kill(process.processIdentifier, SIGKILL)
            await process.exited()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): the child should have been killed")
            while let chunk = await incoming.next() { data.append(chunk) }
            let output = String(decoding: data, as: UTF8.self)
            // A line is acknowledged only when complete (the kill may cut the last one).
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            acknowledged += lines.dropLast().map(String.init).filter { !$0.isEmpty }

            // The store opens cleanly and holds every acknowledged key, usable.
            let reopened = try SQLiteStore(path: db)
            let hsm = try await LocalHSM.open(store: reopened, unseal: .devKeyFile(devKey))
            let session = try await hsm.openSession(partition: "crash", credential: .apiKey(user.apiKey))
            for id in acknowledged.suffix(40) {
                let sig = try await hsm.sign(session.token, key: id, input: .message(Data(id.utf8)), scheme: .ecdsa(.sha256))
                #expect(
                    try await hsm.verify(
                        session.token, key: id, input: .message(Data(id.utf8)), signature: sig.signature,
                        scheme: .ecdsa(.sha256), version: sig.version))
            }
            let listed = Set(try await hsm.listKeys(session.token, filter: KeyFilter(limit: 1000)).map(\.id))
            var all = listed
            var after = listed.max()
            while let a = after, listed.count == 1000 {
                let page = try await hsm.listKeys(session.token, filter: KeyFilter(after: a, limit: 1000)).map(\.id)
                all.formUnion(page)
                after = page.count == 1000 ? page.max() : nil
            }
            let missing = acknowledged.filter { !all.contains($0) }
            #expect(missing.isEmpty, "round \(round): \(missing.count) acknowledged keys lost")
            #expect(try await hsm.verifyAudit(so.token).isValid, "round \(round): the audit chain must survive the kill")
            try await hsm.close()
            try await reopened.close()
        }
        #expect(acknowledged.count > rounds, "the child should have acknowledged keys before being killed")
        print("crash test: \(rounds) SIGKILLs, \(acknowledged.count) acknowledged keys, every one present and usable")
    }
}
