import CPKCS11
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `libredoubt-pkcs11.so` loaded with dlopen and driven through its C function list only.
/// C_Initialize and C_Finalize are process-wide, so every test (in every nested suite) runs
/// alone, initialises the module itself and finalises it before it ends.
@Suite("libredoubt-pkcs11 through dlopen and its function list", .serialized)
struct RedoubtPKCS11Tests {}

extension RedoubtPKCS11Tests {
    @Suite("C_Initialize and C_Finalize")
    struct Initialization {
        // REDOUBT_PKCS11_CONFIG is exercised in child processes (PKCS11ToolTests and the consumer
        // tests set it for pkcs11-tool, OpenSSL, nginx…): setenv in this process raced with other
        // suites' Process.run(), which copies the environment (a crash in a fresh-clone run).

        @Test("C_Initialize with CK_C_INITIALIZE_ARGS whose pReserved names the configuration")
        func reservedArgument() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.uninitialized()
            let rv = p11.initialize(config: fx.configPath)
            try requireRV(rv, CKR_OK, "C_Initialize(pReserved = config, CKF_OS_LOCKING_OK)")
            defer { p11.finalize() }
            var count: CK_ULONG = 0
            expectRV(p11.f.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, &count), CKR_OK, "C_GetSlotList (count)")
            #expect(count == 1)
            expectRV(p11.initialize(config: fx.configPath), CKR_CRYPTOKI_ALREADY_INITIALIZED, "a second C_Initialize")
        }

        @Test("locking: OS locking with no callbacks is fine; callbacks alone are CKR_CANT_LOCK; some callbacks are CKR_ARGUMENTS_BAD")
        func locking() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.uninitialized()
            var info = CK_INFO()

            // All four callbacks, without CKF_OS_LOCKING_OK: the module cannot use them.
            var all = CK_C_INITIALIZE_ARGS()
            all.CreateMutex = { _ in CK_RV(CKR_OK) }
            all.DestroyMutex = { _ in CK_RV(CKR_OK) }
            all.LockMutex = { _ in CK_RV(CKR_OK) }
            all.UnlockMutex = { _ in CK_RV(CKR_OK) }
            all.flags = 0
            expectRV(
                fx.configPath.withCString { path in
                    all.pReserved = UnsafeMutableRawPointer(mutating: path)
                    return p11.initialize(args: all)
                }, CKR_CANT_LOCK, "C_Initialize with mutex callbacks and no CKF_OS_LOCKING_OK")
            expectRV(p11.f.C_GetInfo!(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo after a refused C_Initialize")

            // Only some callbacks: inconsistent, with or without CKF_OS_LOCKING_OK.
            for flags in [CK_FLAGS(0), CK_FLAGS(CKF_OS_LOCKING_OK)] {
                var some = CK_C_INITIALIZE_ARGS()
                some.CreateMutex = { _ in CK_RV(CKR_OK) }
                some.LockMutex = { _ in CK_RV(CKR_OK) }
                some.flags = flags
                expectRV(
                    fx.configPath.withCString { path in
                        some.pReserved = UnsafeMutableRawPointer(mutating: path)
                        return p11.initialize(args: some)
                    }, CKR_ARGUMENTS_BAD, "C_Initialize with two of the four mutex callbacks (flags \(flags))")
                expectRV(p11.f.C_GetInfo!(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo after a refused C_Initialize")
            }

            // CKF_OS_LOCKING_OK with null callbacks.
            expectRV(p11.initialize(config: fx.configPath, flags: UInt(CKF_OS_LOCKING_OK)), CKR_OK, "C_Initialize(CKF_OS_LOCKING_OK, no callbacks)")
            expectRV(p11.f.C_GetInfo!(&info), CKR_OK, "C_GetInfo once initialised")
            p11.finalize()
        }

        @Test("C_Finalize: a non-null argument is CKR_ARGUMENTS_BAD; a second C_Finalize is CKR_CRYPTOKI_NOT_INITIALIZED")
        func finalize() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.initialized(config: fx.configPath)
            var reserved: UInt = 0
            expectRV(p11.f.C_Finalize!(&reserved), CKR_ARGUMENTS_BAD, "C_Finalize(non-null)")
            var info = CK_INFO()
            expectRV(p11.f.C_GetInfo!(&info), CKR_OK, "C_GetInfo after a refused C_Finalize (still initialised)")
            expectRV(p11.f.C_Finalize!(nil), CKR_OK, "C_Finalize")
            expectRV(p11.f.C_Finalize!(nil), CKR_CRYPTOKI_NOT_INITIALIZED, "a second C_Finalize")
            expectRV(p11.f.C_GetInfo!(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo after C_Finalize")
            // The module starts again after a finalisation.
            try requireRV(p11.initialize(config: fx.configPath), CKR_OK, "C_Initialize after C_Finalize")
            p11.finalize()
        }

        @Test("every call before C_Initialize is CKR_CRYPTOKI_NOT_INITIALIZED")
        func beforeInitialize() throws {
            let p11 = try Cryptoki.uninitialized()
            var info = CK_INFO()
            expectRV(p11.f.C_GetInfo!(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo")
            var count: CK_ULONG = 0
            expectRV(p11.f.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, &count), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetSlotList")
            var token = CK_TOKEN_INFO()
            expectRV(p11.f.C_GetTokenInfo!(0, &token), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetTokenInfo")
            var session: CK_SESSION_HANDLE = 0
            expectRV(
                p11.f.C_OpenSession!(0, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &session), CKR_CRYPTOKI_NOT_INITIALIZED, "C_OpenSession")
            expectRV(p11.f.C_CloseSession!(1), CKR_CRYPTOKI_NOT_INITIALIZED, "C_CloseSession")
            var m = mechanism(UInt(CKM_SHA256))
            expectRV(p11.f.C_DigestInit!(1, &m), CKR_CRYPTOKI_NOT_INITIALIZED, "C_DigestInit")
            expectRV(p11.f.C_Finalize!(nil), CKR_CRYPTOKI_NOT_INITIALIZED, "C_Finalize")
        }

        @Test("a configuration others may write, a malformed one, an empty one or a missing one fails C_Initialize and leaves the module uninitialised")
        func refusedConfigurations() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.uninitialized()
            let good = try fx.configuration()
            let cases: [(String, String)] = [
                ("mode 0666", try fx.writeConfig(good, name: "world.json", mode: 0o666)),
                ("mode 0620 (group-writable)", try fx.writeConfig(good, name: "group.json", mode: 0o620)),
                ("malformed JSON", try fx.writeConfig("{\"slots\": [", name: "malformed.json")),
                (
                    "a slot without a backend",
                    try fx.writeConfig("{\"slots\":[{\"label\":\"p11\",\"partition\":\"p11\",\"backend\":{}}]}", name: "nobackend.json")
                ),
                ("no slots", try fx.writeConfig("{\"slots\":[]}", name: "empty.json")),
                ("a missing file", fx.dir + "/missing.json"),
            ]
            var info = CK_INFO()
            for (what, path) in cases {
                let rv = p11.initialize(config: path)
                #expect(rv != CK_RV(CKR_OK), "C_Initialize with \(what) returned CKR_OK")
                if rv == CK_RV(CKR_OK) { _ = p11.f.C_Finalize!(nil) }
                expectRV(p11.f.C_GetInfo!(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo after C_Initialize with \(what)")
                expectRV(p11.f.C_Finalize!(nil), CKR_CRYPTOKI_NOT_INITIALIZED, "C_Finalize after C_Initialize with \(what)")
            }
            // The same text with mode 0600 is accepted: the mode was the reason.
            expectRV(p11.initialize(config: try fx.writeConfig(good, name: "private.json")), CKR_OK, "C_Initialize with the same file at 0600")
            p11.finalize()
        }
        @Test("twenty C_Initialize/C_Finalize cycles in a row, some with a call to the HSM in between")
        func cycles() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.uninitialized()
            for round in 0..<20 {
                try requireRV(p11.initialize(config: fx.configPath), CKR_OK, "C_Initialize (round \(round))")
                if round % 5 == 4 {
                    let s = try p11.openSession()
                    expectRV(p11.login(s, UInt(CKU_USER), fx.userAPIKey), CKR_OK, "C_Login (round \(round))")
                }
                expectRV(p11.f.C_Finalize!(nil), CKR_OK, "C_Finalize (round \(round))")
            }
        }
    }
}
