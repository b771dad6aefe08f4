import CPKCS11
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The loaded module between one C_Initialize and its C_Finalize, with the calls the tests
/// repeat. No deinit: every test calls ``finalize()`` itself (in a `defer`).
struct Cryptoki {
    let module: LoadedModule
    var f: CK_FUNCTION_LIST { module.f }

    /// Loads the module (if needed), ends an initialisation a failed earlier test may have left,
    /// and calls C_Initialize with `config` in pReserved, which must succeed.
    static func initialized(config: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Cryptoki {
        let p11 = try uninitialized()
        try requireRV(p11.initialize(config: config), CKR_OK, "C_Initialize(pReserved = \(config))", sourceLocation: sourceLocation)
        return p11
    }

    /// The module, not initialised (a leftover initialisation is ended first).
    static func uninitialized() throws -> Cryptoki {
        let p11 = Cryptoki(module: try LoadedModule.get())
        _ = p11.f.C_Finalize!(nil)
        return p11
    }

    /// C_Initialize with CKF_OS_LOCKING_OK and the configuration path in pReserved.
    func initialize(config: String, flags: UInt = UInt(CKF_OS_LOCKING_OK)) -> CK_RV {
        var args = CK_C_INITIALIZE_ARGS()
        args.flags = CK_FLAGS(flags)
        return config.withCString { path in
            args.pReserved = UnsafeMutableRawPointer(mutating: path)
            return withUnsafeMutablePointer(to: &args) { f.C_Initialize!(UnsafeMutableRawPointer($0)) }
        }
    }

    /// C_Initialize with `args` as given.
    func initialize(args: CK_C_INITIALIZE_ARGS) -> CK_RV {
        var args = args
        return withUnsafeMutablePointer(to: &args) { f.C_Initialize!(UnsafeMutableRawPointer($0)) }
    }

    /// C_Finalize, expected to succeed.
    func finalize(sourceLocation: SourceLocation = #_sourceLocation) {
        expectRV(f.C_Finalize!(nil), CKR_OK, "C_Finalize", sourceLocation: sourceLocation)
    }

    // MARK: Sessions

    func openSession(slot: UInt = 0, readWrite: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws -> CK_SESSION_HANDLE {
        var handle: CK_SESSION_HANDLE = 0
        let flags = CK_FLAGS(CKF_SERIAL_SESSION) | (readWrite ? CK_FLAGS(CKF_RW_SESSION) : 0)
        try requireRV(f.C_OpenSession!(CK_SLOT_ID(slot), flags, nil, nil, &handle), CKR_OK, "C_OpenSession", sourceLocation: sourceLocation)
        return handle
    }

    func login(_ session: CK_SESSION_HANDLE, _ userType: UInt, _ pin: String) -> CK_RV {
        var bytes = Array(pin.utf8)
        return bytes.withUnsafeMutableBufferPointer { f.C_Login!(session, CK_USER_TYPE(userType), $0.baseAddress, CK_ULONG($0.count)) }
    }

    /// A RW session logged in as the crypto user.
    func userSession(_ fixture: Fixture, sourceLocation: SourceLocation = #_sourceLocation) throws -> CK_SESSION_HANDLE {
        let s = try openSession(sourceLocation: sourceLocation)
        try requireRV(login(s, UInt(CKU_USER), fixture.userAPIKey), CKR_OK, "C_Login(CKU_USER, API key)", sourceLocation: sourceLocation)
        return s
    }

    func sessionState(_ session: CK_SESSION_HANDLE, sourceLocation: SourceLocation = #_sourceLocation) throws -> UInt {
        var info = CK_SESSION_INFO()
        try requireRV(f.C_GetSessionInfo!(session, &info), CKR_OK, "C_GetSessionInfo", sourceLocation: sourceLocation)
        return UInt(info.state)
    }

    // MARK: Objects

    /// One attribute's value: a size query, then the value (nil with the failing code).
    func attribute(_ session: CK_SESSION_HANDLE, _ object: CK_OBJECT_HANDLE, _ type: UInt) -> (rv: CK_RV, value: [UInt8]?) {
        var query = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: nil, ulValueLen: 0)
        let rv = f.C_GetAttributeValue!(session, object, &query, 1)
        guard rv == CK_RV(CKR_OK) else { return (rv, nil) }
        guard query.ulValueLen < 1 << 20 else { return (CK_RV(CKR_GENERAL_ERROR), nil) }
        var buffer = [UInt8](repeating: 0, count: Int(query.ulValueLen))
        let rv2 = buffer.withUnsafeMutableBytes { raw -> CK_RV in
            var a = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: raw.baseAddress, ulValueLen: CK_ULONG(raw.count))
            return f.C_GetAttributeValue!(session, object, &a, 1)
        }
        return rv2 == CK_RV(CKR_OK) ? (rv2, buffer) : (rv2, nil)
    }

    /// An attribute that must be readable.
    func requireAttribute(
        _ session: CK_SESSION_HANDLE, _ object: CK_OBJECT_HANDLE, _ type: UInt, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [UInt8] {
        let (rv, value) = attribute(session, object, type)
        try requireRV(rv, CKR_OK, "C_GetAttributeValue(\(name))", sourceLocation: sourceLocation)
        return try #require(value, sourceLocation: sourceLocation)
    }

    /// Every object matching `template` (C_FindObjectsInit, C_FindObjects in batches of 3, Final).
    func find(_ session: CK_SESSION_HANDLE, _ template: AttributeTemplate, sourceLocation: SourceLocation = #_sourceLocation) throws -> [CK_OBJECT_HANDLE] {
        try requireRV(template.with { f.C_FindObjectsInit!(session, $0, $1) }, CKR_OK, "C_FindObjectsInit", sourceLocation: sourceLocation)
        var found: [CK_OBJECT_HANDLE] = []
        while true {
            var batch = [CK_OBJECT_HANDLE](repeating: 0, count: 3)
            var count: CK_ULONG = 0
            try requireRV(
                f.C_FindObjects!(session, &batch, CK_ULONG(batch.count), &count), CKR_OK, "C_FindObjects", sourceLocation: sourceLocation)
            found += batch.prefix(Int(count))
            if count == 0 { break }
        }
        try requireRV(f.C_FindObjectsFinal!(session), CKR_OK, "C_FindObjectsFinal", sourceLocation: sourceLocation)
        return found
    }

    /// C_GenerateKeyPair with `pub` and `priv`.
    func generateKeyPair(
        _ session: CK_SESSION_HANDLE, _ mechanismType: UInt, pub: AttributeTemplate, priv: AttributeTemplate
    ) -> (rv: CK_RV, pub: CK_OBJECT_HANDLE, priv: CK_OBJECT_HANDLE) {
        var m = mechanism(mechanismType)
        var hPub: CK_OBJECT_HANDLE = 0
        var hPriv: CK_OBJECT_HANDLE = 0
        let rv = pub.with { pp, pc in priv.with { vp, vc in f.C_GenerateKeyPair!(session, &m, pp, pc, vp, vc, &hPub, &hPriv) } }
        return (rv, hPub, hPriv)
    }

    /// The standard templates of a signing key pair: token objects, private, sensitive, with a label and an id.
    static func signingTemplates(ecParameters: [UInt8]?, label: String, id: [UInt8], token: Bool = true) -> (AttributeTemplate, AttributeTemplate) {
        let pub = AttributeTemplate().bool(UInt(CKA_TOKEN), token).bool(UInt(CKA_VERIFY), true)
        if let ecParameters { pub.bytes(UInt(CKA_EC_PARAMS), ecParameters) }
        pub.string(UInt(CKA_LABEL), label).bytes(UInt(CKA_ID), id)
        let priv = AttributeTemplate().bool(UInt(CKA_TOKEN), token).bool(UInt(CKA_PRIVATE), true).bool(UInt(CKA_SENSITIVE), true)
            .bool(UInt(CKA_SIGN), true).string(UInt(CKA_LABEL), label).bytes(UInt(CKA_ID), id)
        return (pub, priv)
    }

    /// A P-256 key pair from the standard templates, which must succeed.
    func generateP256(
        _ session: CK_SESSION_HANDLE, label: String = "p11-ec", id: [UInt8] = [0x01, 0x02], token: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (pub: CK_OBJECT_HANDLE, priv: CK_OBJECT_HANDLE) {
        let (pub, priv) = Self.signingTemplates(ecParameters: p256Parameters, label: label, id: id, token: token)
        let made = generateKeyPair(session, UInt(CKM_EC_KEY_PAIR_GEN), pub: pub, priv: priv)
        try requireRV(made.rv, CKR_OK, "C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN)", sourceLocation: sourceLocation)
        return (made.pub, made.priv)
    }

    // MARK: Signing

    /// C_SignInit and a single C_Sign into a buffer of the length a size query gave.
    func sign(
        _ session: CK_SESSION_HANDLE, _ m: UnsafeMutablePointer<CK_MECHANISM>, _ key: CK_OBJECT_HANDLE, _ data: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [UInt8] {
        try requireRV(f.C_SignInit!(session, m, key), CKR_OK, "C_SignInit", sourceLocation: sourceLocation)
        var input = data
        var length: CK_ULONG = 0
        try requireRV(f.C_Sign!(session, &input, CK_ULONG(input.count), nil, &length), CKR_OK, "C_Sign (size query)", sourceLocation: sourceLocation)
        var signature = [UInt8](repeating: 0, count: Int(length))
        try requireRV(f.C_Sign!(session, &input, CK_ULONG(input.count), &signature, &length), CKR_OK, "C_Sign", sourceLocation: sourceLocation)
        return Array(signature.prefix(Int(length)))
    }

    /// C_VerifyInit (must succeed) and C_Verify's answer.
    func verify(
        _ session: CK_SESSION_HANDLE, _ m: UnsafeMutablePointer<CK_MECHANISM>, _ key: CK_OBJECT_HANDLE, _ data: [UInt8], _ signature: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> CK_RV {
        try requireRV(f.C_VerifyInit!(session, m, key), CKR_OK, "C_VerifyInit", sourceLocation: sourceLocation)
        var input = data
        var sig = signature
        return f.C_Verify!(session, &input, CK_ULONG(input.count), &sig, CK_ULONG(sig.count))
    }
}

/// The raw EC point inside CKA_EC_POINT (a DER OCTET STRING with a one-byte length).
func ecPointContents(_ der: [UInt8]) -> [UInt8]? {
    guard der.count >= 2, der[0] == 0x04, Int(der[1]) == der.count - 2, der[1] < 0x80 else { return nil }
    return Array(der.dropFirst(2))
}
