import Foundation

@_silgen_name("__lsan_disable") private func lsanDisable()
@_silgen_name("__lsan_enable") private func lsanEnable()

/// Long-lived state, built before fuzzing with leak checking off.
///
/// Swift keeps class references inside multi-payload enums (the engine's key storage, `Data`'s
/// representation…) with tag bits in the pointer's spare bits, where LeakSanitizer does not
/// recognise them as pointers. Fixtures and lazily created statics that live for the whole
/// process would then be reported as leaks as soon as libFuzzer runs a leak check. So each
/// target builds its fixtures here, and replays its committed seeds once, while LeakSanitizer
/// ignores allocations; what an input allocates and loses afterwards is still reported.
public enum Warmup {
    /// The seed being replayed during warm-up, named by ``fuzzFail(_:file:line:)`` if it fails.
    nonisolated(unsafe) static var replaying: String?

    /// Runs `build`, then `entry` over every file of `Corpus/<target>`, with leak checking off.
    /// Points TMPDIR at /dev/shm when it exists and TMPDIR is unset: targets that create files
    /// and temporary stores per input then pay no disk flushes (SQLite and backups fsync).
    public static func preferMemoryTemporaryDirectory() {
        guard ProcessInfo.processInfo.environment["TMPDIR"] == nil, access("/dev/shm", W_OK) == 0 else { return }
        setenv("TMPDIR", "/dev/shm", 1)
    }

    /// `FUZZ_NO_WARMUP=1` skips the replay (to minimise a crash that a seed also triggers).
    public static func prepare(target: String, build: () -> Void = {}, entry: (UnsafePointer<UInt8>, Int) -> CInt) {
        lsanDisable()
        defer { lsanEnable() }
        build()
        guard ProcessInfo.processInfo.environment["FUZZ_NO_WARMUP"] == nil else { return }
        let directory = Seeds.fuzzDirectory.appendingPathComponent("Corpus/\(target)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in files.sorted() where !name.hasPrefix(".") {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { continue }
            let bytes = [UInt8](data)
            replaying = "Corpus/\(target)/\(name), in the warm-up before fuzzing"
            defer { replaying = nil }
            bytes.withUnsafeBufferPointer { buffer in
                let base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
                _ = entry(base, buffer.count)
            }
        }
    }
}
