import CPKCS11
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PKCS #11 module loaded with `dlopen` and reached only through the function list that its
/// `C_GetFunctionList` hands out: `libredoubt-pkcs11.so` and SoftHSM2 alike, through the same code.
struct P11Module: @unchecked Sendable {
    /// Where the module was loaded from.
    let path: String
    /// The module's function list (its pointers stay valid while the module is loaded; it never is unloaded).
    let list: UnsafeMutablePointer<CK_FUNCTION_LIST>

    /// A copy of the function table.
    var f: CK_FUNCTION_LIST { list.pointee }

    /// Loads `path` (`RTLD_NOW | RTLD_LOCAL`) and asks it for its function list.
    static func load(_ path: String) throws -> P11Module {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw BenchError("dlopen(\(path)) failed: \(String(cString: dlerror()))")
        }
        guard let symbol = dlsym(handle, "C_GetFunctionList") else { throw BenchError("\(path) exports no C_GetFunctionList") }
        let getFunctionList = unsafeBitCast(symbol, to: CK_C_GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let rv = getFunctionList(&list)
        guard rv == CK_RV(CKR_OK), let list else { throw BenchError("\(path): C_GetFunctionList returned \(P11Module.name(rv))") }
        return P11Module(path: path, list: list)
    }

    /// A return value as the hexadecimal number the standard lists.
    static func name(_ rv: CK_RV) -> String { "CKR 0x" + String(UInt(rv), radix: 16) }

    /// Throws unless `rv` is CKR_OK, naming the call.
    func check(_ rv: CK_RV, _ what: String) throws {
        guard rv == CK_RV(CKR_OK) else { throw BenchError("\(URL(fileURLWithPath: path).lastPathComponent): \(what) returned \(Self.name(rv))") }
    }

    /// C_Initialize with CKF_OS_LOCKING_OK and, when given, a configuration path in pReserved.
    func initialize(config: String?) throws {
        var args = CK_C_INITIALIZE_ARGS()
        args.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
        let rv: CK_RV
        if let config {
            rv = config.withCString { path in
                args.pReserved = UnsafeMutableRawPointer(mutating: path)
                return withUnsafeMutablePointer(to: &args) { f.C_Initialize!(UnsafeMutableRawPointer($0)) }
            }
        } else {
            rv = withUnsafeMutablePointer(to: &args) { f.C_Initialize!(UnsafeMutableRawPointer($0)) }
        }
        try check(rv, "C_Initialize")
    }

    func finalize() throws { try check(f.C_Finalize!(nil), "C_Finalize") }

    /// The slots with a token (C_GetSlotList twice: the count, then the list).
    func slots() throws -> [CK_SLOT_ID] {
        var count: CK_ULONG = 0
        try check(f.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, &count), "C_GetSlotList (count)")
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        try check(f.C_GetSlotList!(CK_BBOOL(CK_TRUE), &slots, &count), "C_GetSlotList")
        return Array(slots.prefix(Int(count)))
    }

    /// The slot whose token has `label`.
    func slot(label: String) throws -> CK_SLOT_ID {
        for slot in try slots() {
            var info = CK_TOKEN_INFO()
            try check(f.C_GetTokenInfo!(slot, &info), "C_GetTokenInfo")
            let text = withUnsafeBytes(of: info.label) { String(decoding: $0, as: UTF8.self) }
            if text.trimmingCharacters(in: .whitespaces) == label { return slot }
        }
        throw BenchError("\(path): no token labelled '\(label)'")
    }

    /// A read-write serial session.
    func openSession(slot: CK_SLOT_ID) throws -> CK_SESSION_HANDLE {
        var handle: CK_SESSION_HANDLE = 0
        try check(f.C_OpenSession!(slot, CK_FLAGS(CKF_SERIAL_SESSION) | CK_FLAGS(CKF_RW_SESSION), nil, nil, &handle), "C_OpenSession")
        return handle
    }

    /// C_Login as CKU_USER.
    func login(_ session: CK_SESSION_HANDLE, pin: String) throws {
        var bytes = Array(pin.utf8)
        try check(bytes.withUnsafeMutableBufferPointer { f.C_Login!(session, CK_USER_TYPE(CKU_USER), $0.baseAddress, CK_ULONG($0.count)) }, "C_Login")
    }

    /// The DER OID of P-256 (CKA_EC_PARAMS).
    static let p256Parameters: [UInt8] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]

    /// A P-256 key pair made with C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN); the private key's handle.
    func generateP256(_ session: CK_SESSION_HANDLE, token: Bool, label: String, id: [UInt8]) throws -> CK_OBJECT_HANDLE {
        let pub = P11Template().bool(CKA_TOKEN, token).bytes(CKA_EC_PARAMS, Self.p256Parameters).bool(CKA_VERIFY, true)
            .bytes(CKA_LABEL, Array(label.utf8)).bytes(CKA_ID, id)
        let priv = P11Template().bool(CKA_TOKEN, token).bool(CKA_PRIVATE, true).bool(CKA_SENSITIVE, true).bool(CKA_SIGN, true)
            .bytes(CKA_LABEL, Array(label.utf8)).bytes(CKA_ID, id)
        var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_EC_KEY_PAIR_GEN), pParameter: nil, ulParameterLen: 0)
        var hPub: CK_OBJECT_HANDLE = 0
        var hPriv: CK_OBJECT_HANDLE = 0
        let rv = pub.with { pp, pc in
            priv.with { vp, vc in f.C_GenerateKeyPair!(session, &mechanism, pp, pc, vp, vc, &hPub, &hPriv) }
        }
        try check(rv, "C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN)")
        return hPriv
    }
}

/// An attribute template whose values live as long as it does.
final class P11Template {
    private var attributes: [CK_ATTRIBUTE] = []
    private var buffers: [UnsafeMutableRawPointer] = []

    deinit { for b in buffers { b.deallocate() } }

    @discardableResult
    func bytes(_ type: some BinaryInteger, _ value: [UInt8]) -> P11Template {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(value.count, 1), alignment: 8)
        buffers.append(p)
        value.withUnsafeBytes { if let base = $0.baseAddress { p.copyMemory(from: base, byteCount: value.count) } }
        attributes.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: p, ulValueLen: CK_ULONG(value.count)))
        return self
    }

    @discardableResult
    func bool(_ type: some BinaryInteger, _ value: Bool) -> P11Template { bytes(type, [value ? 1 : 0]) }

    func with<R>(_ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws -> R) rethrows -> R {
        try attributes.withUnsafeMutableBufferPointer { try body($0.baseAddress, CK_ULONG($0.count)) }
    }
}

/// The C-ABI loops of `redoubt bench pkcs11`: each runs on a thread of its own (never on the
/// cooperative pool, which the in-process broker and the Swift-side callers need).
enum PKCS11Driver {
    /// Runs `body(i)` on `count` new threads and returns their results in order, without
    /// blocking a cooperative thread while they run.
    static func onThreads<T: Sendable>(_ count: Int = 1, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
        let outcomes = await withCheckedContinuation { (continuation: CheckedContinuation<[Result<T, any Error>], Never>) in
            let collector = ThreadResults<T>(count: count, continuation: continuation)
            for i in 0..<count {
                let thread = Thread {
                    // A name of its own, so that a profile can tell the C loop's thread from the rest.
                    Thread.current.name = "p11-driver-\(i)"
                    collector.set(i, Result { try body(i) })
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
        }
        return try outcomes.map { try $0.get() }
    }

    /// One call on a thread of its own.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await onThreads(1) { _ in try body() }[0]
    }

    static func microseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }

    /// C_SignInit(CKM_ECDSA) + C_Sign of a 32-byte digest, back to back until `end`: the latency
    /// (µs) of every pair started at or after `start`. The same loop for every module.
    static func signLoop(
        _ p11: P11Module, session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, start: ContinuousClock.Instant, end: ContinuousClock.Instant
    ) throws -> [Double] {
        guard let signInit = p11.list.pointee.C_SignInit, let sign = p11.list.pointee.C_Sign else { throw BenchError("no C_Sign") }
        var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_ECDSA), pParameter: nil, ulParameterLen: 0)
        let digest = UnsafeMutablePointer<CK_BYTE>.allocate(capacity: 32)
        digest.initialize(repeating: 0x5a, count: 32)
        let signature = UnsafeMutablePointer<CK_BYTE>.allocate(capacity: 256)
        defer {
            digest.deallocate()
            signature.deallocate()
        }
        return try timed(start: start, end: end) {
            var rv = signInit(session, &mechanism, key)
            if rv == CK_RV(CKR_OK) {
                var length: CK_ULONG = 256
                rv = sign(session, digest, 32, signature, &length)
                if rv == CK_RV(CKR_OK) && length != 64 { throw BenchError("C_Sign gave \(length) bytes, not 64") }
            }
            try p11.check(rv, "C_SignInit/C_Sign(CKM_ECDSA)")
        }
    }

    /// `body` back to back until `end`: the latency (µs) of every run started at or after `start`.
    static func timed(start: ContinuousClock.Instant, end: ContinuousClock.Instant, _ body: () throws -> Void) throws -> [Double] {
        let clock = ContinuousClock()
        var latencies: [Double] = []
        latencies.reserveCapacity(1 << 16)
        while true {
            let t0 = clock.now
            if t0 >= end { break }
            try body()
            if t0 >= start { latencies.append(microseconds(clock.now - t0)) }
        }
        return latencies
    }

    /// `runs` rounds (after 20 unmeasured) of C_FindObjectsInit({CKA_ID: id}) + C_FindObjects +
    /// C_FindObjectsFinal: each round's latency (µs) and the seconds all the measured rounds took.
    static func findLoop(_ p11: P11Module, session: CK_SESSION_HANDLE, id: [UInt8], runs: Int) throws -> (latencies: [Double], seconds: Double) {
        let f = p11.f
        let template = P11Template().bytes(CKA_ID, id)
        var found = [CK_OBJECT_HANDLE](repeating: 0, count: 16)
        let clock = ContinuousClock()
        var latencies: [Double] = []
        let begin = clock.now
        var measuredFrom = begin
        for round in 0..<(runs + 20) {
            if round == 20 { measuredFrom = clock.now }
            let t0 = clock.now
            try p11.check(template.with { f.C_FindObjectsInit!(session, $0, $1) }, "C_FindObjectsInit(CKA_ID)")
            var count: CK_ULONG = 0
            try p11.check(f.C_FindObjects!(session, &found, CK_ULONG(found.count), &count), "C_FindObjects")
            try p11.check(f.C_FindObjectsFinal!(session), "C_FindObjectsFinal")
            if count == 0 { throw BenchError("C_FindObjects found no object with the key's CKA_ID") }
            if round >= 20 { latencies.append(microseconds(clock.now - t0)) }
        }
        return (latencies, microseconds(clock.now - measuredFrom) / 1e6)
    }

    /// `cycles` rounds of C_Initialize + C_GetSlotList (timed, µs) and C_Finalize (not timed).
    static func initCycles(_ p11: P11Module, config: String?, cycles: Int) throws -> [Double] {
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<cycles {
            let t0 = clock.now
            try p11.initialize(config: config)
            let slots = try p11.slots()
            times.append(microseconds(clock.now - t0))
            try p11.finalize()
            if slots.isEmpty { throw BenchError("\(p11.path) lists no slot") }
        }
        return times
    }

    /// An executable on PATH, if any.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a child process to its end (stdout discarded); its wall time in µs. Throws with its
    /// stderr when it fails.
    static func runChild(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let clock = ContinuousClock()
        let t0 = clock.now
        try process.run()
        process.waitUntilExit()
        let elapsed = microseconds(clock.now - t0)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(message)")
        }
        return elapsed
    }

    /// SoftHSM2's Debian path.
    static let softHSMPath = "/usr/lib/softhsm/libsofthsm2.so"

    /// A SoftHSM2 token `bench` (PIN 1234) in `dir`, its configuration in `SOFTHSM2_CONF` (set in
    /// this process before SoftHSM is loaded); the configuration's path.
    static func prepareSoftHSM(dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "/tokens", withIntermediateDirectories: true)
        let conf = dir + "/softhsm2.conf"
        let text = """
            directories.tokendir = \(dir)/tokens
            objectstore.backend = file
            log.level = ERROR
            slots.removable = false
            slots.mechanisms = ALL
            library.reset_on_fork = false

            """
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        setenv("SOFTHSM2_CONF", conf, 1)
        guard let util = which("softhsm2-util") else { throw BenchError("softhsm2-util is not on PATH (apt-get install -y softhsm2)") }
        _ = try runChild(
            util, ["--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678"], environment: ["SOFTHSM2_CONF": conf])
        return conf
    }
}

/// The results of ``PKCS11Driver/onThreads(_:_:)``'s threads, handed back when the last ends.
private final class ThreadResults<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<T, any Error>?]
    private var remaining: Int
    private let continuation: CheckedContinuation<[Result<T, any Error>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<T, any Error>], Never>) {
        results = Array(repeating: nil, count: count)
        remaining = count
        self.continuation = continuation
    }

    func set(_ index: Int, _ result: Result<T, any Error>) {
        lock.lock()
        results[index] = result
        remaining -= 1
        let all = remaining == 0 ? results.map { $0! } : nil
        lock.unlock()
        if let all { continuation.resume(returning: all) }
    }
}
