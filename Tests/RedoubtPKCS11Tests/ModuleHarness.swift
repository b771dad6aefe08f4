import CPKCS11
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A test failure with a message (setup that cannot go on).
struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The built `libredoubt-pkcs11.so`, loaded once with `dlopen` and reached only through the
/// function list that `C_GetFunctionList` hands out (never by linking the module's targets).
struct LoadedModule: @unchecked Sendable {
    let path: String
    let handle: UnsafeMutableRawPointer
    let list: UnsafeMutablePointer<CK_FUNCTION_LIST>

    /// The 2.40 function list (a copy of the table; its function pointers are the module's).
    var f: CK_FUNCTION_LIST { list.pointee }

    /// The loaded module, or the reason it could not be loaded.
    static let shared: Result<LoadedModule, HarnessFailure> = load()

    /// The module, or a failure that says how to build it.
    static func get() throws -> LoadedModule { try shared.get() }

    /// Where the module is: beside the test executable (`.build/<triple>/debug/`).
    static func modulePath() -> String {
        var executable = CommandLine.arguments.first ?? ""
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            executable = resolved
        } else if let main = Bundle.main.executablePath {
            executable = main
        }
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("libredoubt-pkcs11.so").path
    }

    private static func load() -> Result<LoadedModule, HarnessFailure> {
        let path = modulePath()
        guard FileManager.default.fileExists(atPath: path) else {
            return .failure(HarnessFailure("\(path) is missing: build it with swift build (product redoubt-pkcs11)"))
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(HarnessFailure("dlopen(\(path)) failed: \(String(cString: dlerror()))"))
        }
        guard let symbol = dlsym(handle, "C_GetFunctionList") else {
            return .failure(HarnessFailure("\(path) exports no C_GetFunctionList"))
        }
        let getFunctionList = unsafeBitCast(symbol, to: GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let rv = getFunctionList(&list)
        guard rv == CK_RV(CKR_OK), let list else {
            return .failure(HarnessFailure("C_GetFunctionList returned \(rvName(rv))"))
        }
        return .success(LoadedModule(path: path, handle: handle, list: list))
    }

    /// An exported symbol of the module, as a C function of type `T`.
    func symbol<T>(_ name: String, as type: T.Type) throws -> T {
        guard let symbol = dlsym(handle, name) else { throw HarnessFailure("\(path) exports no \(name)") }
        return unsafeBitCast(symbol, to: type)
    }
}

typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
typealias GetInterfaceList = @convention(c) (UnsafeMutablePointer<CK_INTERFACE>?, UnsafeMutablePointer<CK_ULONG>?) -> CK_RV
typealias GetInterface =
    @convention(c) (UnsafeMutablePointer<CK_UTF8CHAR>?, UnsafeMutablePointer<CK_VERSION>?, UnsafeMutablePointer<UnsafeMutablePointer<CK_INTERFACE>?>?, CK_FLAGS)
    -> CK_RV

// MARK: Return values

/// Expects `got` to be exactly `want`, naming both on failure.
func expectRV(_ got: CK_RV, _ want: UInt, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got == CK_RV(want), "\(what): got \(rvName(got)), expected \(rvName(CK_RV(want)))", sourceLocation: sourceLocation)
}

/// Requires `got` to be exactly `want` (the test cannot go on otherwise).
func requireRV(_ got: CK_RV, _ want: UInt, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(got == CK_RV(want), "\(what): got \(rvName(got)), expected \(rvName(CK_RV(want)))", sourceLocation: sourceLocation)
}

// MARK: Templates

/// An attribute template whose values live as long as it does.
final class AttributeTemplate {
    private(set) var attributes: [CK_ATTRIBUTE] = []
    private var buffers: [UnsafeMutableRawPointer] = []

    init() {}

    deinit { for b in buffers { b.deallocate() } }

    @discardableResult
    func bytes(_ type: UInt, _ value: [UInt8]) -> AttributeTemplate {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(value.count, 1), alignment: 8)
        buffers.append(p)
        value.withUnsafeBytes { if let base = $0.baseAddress { p.copyMemory(from: base, byteCount: value.count) } }
        attributes.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: p, ulValueLen: CK_ULONG(value.count)))
        return self
    }

    @discardableResult
    func bool(_ type: UInt, _ value: Bool) -> AttributeTemplate { bytes(type, [value ? 1 : 0]) }

    @discardableResult
    func ulong(_ type: UInt, _ value: UInt) -> AttributeTemplate { bytes(type, withUnsafeBytes(of: CK_ULONG(value)) { Array($0) }) }

    @discardableResult
    func string(_ type: UInt, _ value: String) -> AttributeTemplate { bytes(type, Array(value.utf8)) }

    /// An entry with an arbitrary pointer and length (for bad-argument tests).
    @discardableResult
    func raw(_ type: UInt, _ pointer: UnsafeMutableRawPointer?, _ length: UInt) -> AttributeTemplate {
        attributes.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: pointer, ulValueLen: CK_ULONG(length)))
        return self
    }

    func with<R>(_ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws -> R) rethrows -> R {
        try attributes.withUnsafeMutableBufferPointer { try body($0.count == 0 ? nil : $0.baseAddress, CK_ULONG($0.count)) }
    }
}

// MARK: Values

/// The bytes of a fixed-size C text field (a tuple of CK_UTF8CHAR).
func fieldBytes<T>(_ field: T) -> [UInt8] {
    withUnsafeBytes(of: field) { Array($0) }
}

/// `text` blank-padded to `count` bytes, as PKCS #11 text fields are.
func padded(_ text: String, _ count: Int) -> [UInt8] {
    Array(text.utf8) + Array(repeating: 0x20, count: count - text.utf8.count)
}

func ulongBytes(_ v: UInt) -> [UInt8] { withUnsafeBytes(of: CK_ULONG(v)) { Array($0) } }

func ulongValue(_ bytes: [UInt8]) -> UInt? {
    guard bytes.count == MemoryLayout<CK_ULONG>.size else { return nil }
    return bytes.withUnsafeBytes { UInt($0.loadUnaligned(as: CK_ULONG.self)) }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// The DER OID of P-256 and Ed25519 (CKA_EC_PARAMS).
let p256Parameters: [UInt8] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
let ed25519Parameters: [UInt8] = [0x06, 0x03, 0x2b, 0x65, 0x70]

/// A mechanism without parameter.
func mechanism(_ type: UInt) -> CK_MECHANISM {
    CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(type), pParameter: nil, ulParameterLen: 0)
}

/// Runs `body` with a mechanism whose parameter is `parameter`'s bytes.
func withMechanism<P, R>(_ type: UInt, parameter: P, _ body: (UnsafeMutablePointer<CK_MECHANISM>) throws -> R) rethrows -> R {
    var parameter = parameter
    return try withUnsafeMutableBytes(of: &parameter) { raw in
        var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(type), pParameter: raw.baseAddress, ulParameterLen: CK_ULONG(raw.count))
        return try body(&m)
    }
}
