import Foundation
import Testing

/// Replays every file of `Fuzz/FailCases/<Target>/` through the fuzz target's own one-input
/// function (`Targets/` are symlinks to `Fuzz/Sources/<Target>/<Target>.swift`, compiled here
/// without their libFuzzer entry points). Each input runs every invariant the target checks while
/// fuzzing; a broken one stops the process with "INVARIANT FAILED …", so each target replays in
/// a child process (an exit test) that must exit cleanly.
///
/// The files are read from the checkout (`#filePath`), not bundled: adding a FailCase needs no
/// manifest change. The main package never depends on the Fuzz package.
@Suite("Fuzz FailCases")
struct FuzzFailCaseTests {
    @Test("every FailCases directory belongs to a target replayed here or listed as fuzz-only")
    func everyDirectoryIsReplayed() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: fuzzFailCasesDirectory.path)
        #expect(!names.isEmpty)
        for name in names where !name.hasPrefix(".") {
            #expect(
                fuzzReplayers[name] != nil || fuzzOnlyTargets[name] != nil,
                "FailCases/\(name) has no replayer in FuzzFailCaseTests")
        }
        // The replayers' own directories exist, so a renamed target cannot silently replay nothing.
        for name in fuzzReplayers.keys {
            #expect(names.contains(name), "no Fuzz/FailCases/\(name)/")
        }
    }

    @Test("FailCases replay without breaking an invariant", arguments: fuzzReplayers.keys.sorted())
    func replay(target: String) async throws {
        guard try !failCases(of: target).isEmpty else { return }
        // A failure names the target only (Swift Testing does not show the child's standard error):
        // `Fuzz/run --replay <Target>` prints the broken invariant.
        await #expect(processExitsWith: .success) { [target] in
            // On a thread of its own, like libFuzzer's callback: targets block on async work.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    replayFailCases(of: target)
                    done.resume()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
        }
    }
}

/// The one-input function of every fuzz target, by target name.
private let fuzzReplayers: [String: @Sendable (UnsafePointer<UInt8>, Int) -> CInt] = [
    "FuzzApprovalChallenge": fuzzApprovalChallenge,
    "FuzzAuditChain": fuzzAuditChain,
    "FuzzBackupReader": fuzzBackupReader,
    "FuzzBrokerRequest": fuzzBrokerRequest,
    "FuzzCiphertexts": fuzzCiphertexts,
    "FuzzCredentials": fuzzCredentials,
    "FuzzMasterKeyShare": fuzzMasterKeyShare,
    "FuzzPrivateKeyImport": fuzzPrivateKeyImport,
    "FuzzPublicKeyImport": fuzzPublicKeyImport,
    "FuzzSealedBlob": fuzzSealedBlob,
    "FuzzSignatureVerify": fuzzSignatureVerify,
]

/// Targets whose FailCases only `Fuzz/run` replays, and why.
private let fuzzOnlyTargets: [String: String] = [
    "FuzzProtoDifferential": "compares with protobuf-c (C code generated into the Fuzz package), which the main package does not build"
]

private var fuzzFailCasesDirectory: URL {
    Seeds.fuzzDirectory.appendingPathComponent("FailCases")
}

/// The FailCases of `target`, sorted, without placeholders.
private func failCases(of target: String) throws -> [URL] {
    let directory = fuzzFailCasesDirectory.appendingPathComponent(target)
    return try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .filter { !$0.hasPrefix(".") }
        .sorted()
        .map { directory.appendingPathComponent($0) }
}

/// Runs each FailCase of `target` through its one-input function; exits the process with an
/// error if one cannot be read. A broken invariant aborts inside the target (`fuzzFail`).
private func replayFailCases(of target: String) {
    guard let entry = fuzzReplayers[target], let cases = try? failCases(of: target) else {
        writeToStandardError("no replayer or no FailCases directory for \(target)\n")
        exit(2)
    }
    for file in cases {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            writeToStandardError("cannot read \(file.path)\n")
            exit(2)
        }
        Warmup.replaying = "FailCases/\(target)/\(file.lastPathComponent)"
        let padded = [UInt8](data) + [0]  // never empty, so it has an address; the target sees data.count bytes
        let status = padded.withUnsafeBufferPointer { buffer in buffer.baseAddress.map { entry($0, data.count) } }
        guard status == 0 else {
            writeToStandardError("FailCases/\(target)/\(file.lastPathComponent): the target returned \(String(describing: status))\n")
            exit(3)
        }
        writeToStandardError("replayed FailCases/\(target)/\(file.lastPathComponent)\n")
    }
    Warmup.replaying = nil
}
