import Foundation

/// Seed corpora are made by each target's own `LLVMFuzzerInitialize`, since the
/// target knows its input layout: with `FUZZ_WRITE_SEEDS=<dir>` in the environment
/// the target writes its seeds there and exits (`Fuzz/run --make-seeds`).
public enum Seeds {
    /// The directory seeds are requested into, if any.
    public static var requestedDirectory: String? {
        ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// If seeds are requested, writes `make()`'s seeds (name → bytes) and exits the process.
    public static func writeIfRequested(_ make: () throws -> [(name: String, bytes: [UInt8])]) {
        guard let directory = requestedDirectory else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let seeds = try make()
            for seed in seeds {
                let path = (directory as NSString).appendingPathComponent(seed.name)
                try Data(seed.bytes).write(to: URL(fileURLWithPath: path))
            }
            writeToStandardError("wrote \(seeds.count) seeds to \(directory)\n")
            _exit(0)  // skip the at-exit leak check: fixtures held in enum payloads look unreachable to LSan
        } catch {
            writeToStandardError("cannot write seeds: \(error)\n")
            exit(1)
        }
    }

    /// `Fuzz/` itself, found from this source file (targets run from the source tree).
    public static var fuzzDirectory: URL {
        URL(fileURLWithPath: #filePath)  // Fuzz/Sources/FuzzSupport/Seeds.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
