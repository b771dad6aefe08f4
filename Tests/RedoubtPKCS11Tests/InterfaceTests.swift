import CPKCS11
import Foundation
import Testing

extension RedoubtPKCS11Tests {
    @Suite("C_GetInterfaceList and C_GetInterface (PKCS #11 3.0)")
    struct Interfaces {
        /// The version at the start of an interface's function list.
        static func version(_ interface: CK_INTERFACE) -> (UInt8, UInt8)? {
            guard let list = interface.pFunctionList else { return nil }
            let v = list.assumingMemoryBound(to: CK_VERSION.self).pointee
            return (v.major, v.minor)
        }

        static func name(_ interface: CK_INTERFACE) -> String? {
            interface.pInterfaceName.map { String(cString: $0) }
        }

        @Test("C_GetInterfaceList lists \"PKCS 11\" 3.0, 3.2 and 2.40; C_GetInterface finds them by name and version")
        func interfaces() async throws {
            let module = try LoadedModule.get()
            let getList = try module.symbol("C_GetInterfaceList", as: GetInterfaceList.self)
            let getInterface = try module.symbol("C_GetInterface", as: GetInterface.self)

            var count: CK_ULONG = 0
            expectRV(getList(nil, &count), CKR_OK, "C_GetInterfaceList (count)")
            #expect(count == 3)
            expectRV(getList(nil, nil), CKR_ARGUMENTS_BAD, "C_GetInterfaceList(NULL, NULL)")
            var interfaces = [CK_INTERFACE](repeating: CK_INTERFACE(), count: 3)
            var short: CK_ULONG = 2
            expectRV(getList(&interfaces, &short), CKR_BUFFER_TOO_SMALL, "C_GetInterfaceList into room for two")
            #expect(short == 3, "the count needed is returned with CKR_BUFFER_TOO_SMALL")
            count = 3
            try requireRV(getList(&interfaces, &count), CKR_OK, "C_GetInterfaceList")
            #expect(count == 3)
            #expect(interfaces.map(Self.name) == ["PKCS 11", "PKCS 11", "PKCS 11"])
            let versions = interfaces.compactMap(Self.version)
            #expect(versions.count == 3 && versions[0] == (3, 0) && versions[1] == (3, 2) && versions[2] == (2, 40), "versions \(versions)")

            // No name and no version: the first, 3.0 (what every 3.x caller knows).
            var found: UnsafeMutablePointer<CK_INTERFACE>?
            try requireRV(getInterface(nil, nil, &found, 0), CKR_OK, "C_GetInterface(NULL, NULL)")
            let newest = try #require(found)
            #expect(Self.name(newest.pointee) == "PKCS 11")
            #expect(Self.version(newest.pointee).map { $0 == (3, 0) } == true, "C_GetInterface(NULL, NULL) gives 3.0")

            // "PKCS 11" 2.40: the same table C_GetFunctionList gives.
            var name = Array("PKCS 11".utf8CString).map { CK_UTF8CHAR(bitPattern: $0) }
            var v240 = CK_VERSION(major: 2, minor: 40)
            found = nil
            try requireRV(getInterface(&name, &v240, &found, 0), CKR_OK, "C_GetInterface(\"PKCS 11\", 2.40)")
            let old = try #require(found)
            #expect(Self.version(old.pointee).map { $0 == (2, 40) } == true)
            #expect(old.pointee.pFunctionList == UnsafeMutableRawPointer(module.list), "2.40 is C_GetFunctionList's table")

            var v30 = CK_VERSION(major: 3, minor: 0)
            found = nil
            expectRV(getInterface(&name, &v30, &found, 0), CKR_OK, "C_GetInterface(\"PKCS 11\", 3.0)")
            #expect(found.flatMap { Self.version($0.pointee) }.map { $0 == (3, 0) } == true)

            var v32 = CK_VERSION(major: 3, minor: 2)
            found = nil
            expectRV(getInterface(&name, &v32, &found, 0), CKR_OK, "C_GetInterface(\"PKCS 11\", 3.2)")
            let list32 = try #require(found?.pointee.pFunctionList).assumingMemoryBound(to: CK_FUNCTION_LIST_3_2.self)
            #expect(list32.pointee.base.base.version.major == 3 && list32.pointee.base.base.version.minor == 2)
            #expect(list32.pointee.C_EncapsulateKey != nil && list32.pointee.C_DecapsulateKey != nil)
            #expect(list32.pointee.more.0 != nil && list32.pointee.more.9 != nil, "every 3.2 slot is filled")

            var unknown = Array("PKCS 12".utf8CString).map { CK_UTF8CHAR(bitPattern: $0) }
            found = nil
            expectRV(getInterface(&unknown, nil, &found, 0), CKR_ARGUMENTS_BAD, "C_GetInterface(\"PKCS 12\")")
            #expect(found == nil)
            expectRV(getInterface(nil, nil, nil, 0), CKR_ARGUMENTS_BAD, "C_GetInterface with no output pointer")

            // The 3.0 table's own C_GetInterfaceList and C_GetInterface work.
            let list30 = try #require(newest.pointee.pFunctionList).assumingMemoryBound(to: CK_FUNCTION_LIST_3_0.self)
            var count30: CK_ULONG = 0
            expectRV(list30.pointee.C_GetInterfaceList!(nil, &count30), CKR_OK, "3.0 table: C_GetInterfaceList (count)")
            #expect(count30 == 3)
            found = nil
            expectRV(list30.pointee.C_GetInterface!(nil, nil, &found, 0), CKR_OK, "3.0 table: C_GetInterface")
            #expect(found == newest)
        }

        @Test("the 3.0 table drives the module: C_Initialize, C_GetInfo (3.0), C_LoginUser with a user name and password, C_Finalize")
        func table30() async throws {
            let fx = try await Fixture.make()
            defer { fx.remove() }
            let p11 = try Cryptoki.uninitialized()
            let getInterface = try p11.module.symbol("C_GetInterface", as: GetInterface.self)
            var found: UnsafeMutablePointer<CK_INTERFACE>?
            try requireRV(getInterface(nil, nil, &found, 0), CKR_OK, "C_GetInterface(NULL, NULL)")
            let list30 = try #require(found?.pointee.pFunctionList).assumingMemoryBound(to: CK_FUNCTION_LIST_3_0.self)
            let f = list30.pointee.base
            var args = CK_C_INITIALIZE_ARGS()
            args.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
            let rv = fx.configPath.withCString { path in
                args.pReserved = UnsafeMutableRawPointer(mutating: path)
                return f.C_Initialize!(&args)
            }
            try requireRV(rv, CKR_OK, "3.0 table: C_Initialize")
            defer { expectRV(f.C_Finalize!(nil), CKR_OK, "3.0 table: C_Finalize") }
            var info = CK_INFO()
            expectRV(f.C_GetInfo!(&info), CKR_OK, "3.0 table: C_GetInfo")
            #expect(info.cryptokiVersion.major == 3 && info.cryptokiVersion.minor == 0)

            let session = try p11.openSession()
            var password = Array(Fixture.password.utf8)
            var user = Array(Fixture.passwordUser.utf8)
            let loginRV = password.withUnsafeMutableBufferPointer { p in
                user.withUnsafeMutableBufferPointer { u in
                    list30.pointee.C_LoginUser!(session, CK_USER_TYPE(CKU_USER), p.baseAddress, CK_ULONG(p.count), u.baseAddress, CK_ULONG(u.count))
                }
            }
            expectRV(loginRV, CKR_OK, "C_LoginUser(CKU_USER, password, user name)")
            #expect(try p11.sessionState(session) == UInt(CKS_RW_USER_FUNCTIONS))
        }
    }
}
