import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

/// One attribute's value as the module answers it.
enum AttributeValue: Equatable {
    case bytes(Data)
    /// A secret the token never reveals (CKR_ATTRIBUTE_SENSITIVE).
    case sensitive

    static func bool(_ b: Bool) -> AttributeValue { .bytes(Data([b ? 1 : 0])) }
    static func ulong(_ v: CK_ULONG) -> AttributeValue { withUnsafeBytes(of: v) { .bytes(Data($0)) } }
    static func ulongs(_ vs: [CK_ULONG]) -> AttributeValue { vs.withUnsafeBytes { .bytes(Data($0)) } }
    static func string(_ s: String) -> AttributeValue { .bytes(Data(s.utf8)) }
}

/// Every standard attribute of an object, computed from what the HSM said about it.
enum ObjectAttributes {
    static func all(_ ref: ObjectRef, _ snapshot: ObjectSnapshot) -> [CK_ATTRIBUTE_TYPE: AttributeValue] {
        switch snapshot {
        case .key(let key): return keyAttributes(ref.kind, key)
        case .certificate(let certificate): return certificateAttributes(certificate)
        }
    }

    private static func a(_ type: UInt) -> CK_ATTRIBUTE_TYPE { CK_ATTRIBUTE_TYPE(type) }

    private static func keyAttributes(_ kind: ObjectRef.Kind, _ key: KeyInfo) -> [CK_ATTRIBUTE_TYPE: AttributeValue] {
        let usage = key.usage
        let algorithm = key.algorithm
        let objectClass: UInt
        switch kind {
        case .privateKey: objectClass = CKO_PRIVATE_KEY
        case .publicKey: objectClass = CKO_PUBLIC_KEY
        default: objectClass = CKO_SECRET_KEY
        }
        var v: [CK_ATTRIBUTE_TYPE: AttributeValue] = [
            a(CKA_CLASS): .ulong(CK_ULONG(objectClass)),
            a(CKA_TOKEN): .bool(key.persistent),
            a(CKA_PRIVATE): .bool(kind != .publicKey),
            a(CKA_MODIFIABLE): .bool(key.modifiable),
            a(CKA_COPYABLE): .bool(false),
            a(CKA_DESTROYABLE): .bool(key.destroyable),
            a(CKA_LABEL): .string(key.label),
            a(CKA_UNIQUE_ID): .string(kind == .publicKey ? key.id + ".pub" : key.id),
            a(CKA_KEY_TYPE): .ulong(algorithm.keyType),
            a(CKA_ID): .bytes(key.applicationID),
            a(CKA_START_DATE): .bytes(date(key.notBefore)),
            a(CKA_END_DATE): .bytes(date(key.expiresAt)),
            a(CKA_DERIVE): .bool(usage.contains(.derive)),
            a(CKA_LOCAL): .bool(key.local),
            a(CKA_KEY_GEN_MECHANISM): .ulong(key.local ? algorithm.generationMechanism : CK_ULONG.max),
            a(CKA_ALLOWED_MECHANISMS): .ulongs(Mechanisms.allowed(for: algorithm)),
        ]
        switch kind {
        case .publicKey:
            v[a(CKA_SUBJECT)] = .bytes(key.subject)
            v[a(CKA_ENCRYPT)] = .bool(usage.contains(.encrypt))
            v[a(CKA_VERIFY)] = .bool(usage.contains(.verify) || usage.contains(.sign))
            v[a(CKA_VERIFY_RECOVER)] = .bool(false)
            v[a(CKA_WRAP)] = .bool(usage.contains(.wrap))
            v[a(CKA_ENCAPSULATE)] = .bool(usage.contains(.encapsulate))
            v[a(CKA_TRUSTED)] = .bool(false)
            v[a(CKA_WRAP_TEMPLATE)] = .bytes(Data())
        case .privateKey:
            v[a(CKA_SUBJECT)] = .bytes(key.subject)
            v[a(CKA_SENSITIVE)] = .bool(key.sensitive)
            v[a(CKA_DECRYPT)] = .bool(usage.contains(.decrypt))
            v[a(CKA_SIGN)] = .bool(usage.contains(.sign))
            v[a(CKA_SIGN_RECOVER)] = .bool(false)
            v[a(CKA_UNWRAP)] = .bool(usage.contains(.unwrap))
            v[a(CKA_DECAPSULATE)] = .bool(usage.contains(.decapsulate))
            v[a(CKA_EXTRACTABLE)] = .bool(key.extractable)
            v[a(CKA_ALWAYS_SENSITIVE)] = .bool(key.alwaysSensitive)
            v[a(CKA_NEVER_EXTRACTABLE)] = .bool(key.neverExtractable)
            v[a(CKA_WRAP_WITH_TRUSTED)] = .bool(false)
            v[a(CKA_ALWAYS_AUTHENTICATE)] = .bool(false)
            v[a(CKA_UNWRAP_TEMPLATE)] = .bytes(Data())
        default:
            v[a(CKA_SENSITIVE)] = .bool(key.sensitive)
            v[a(CKA_ENCRYPT)] = .bool(usage.contains(.encrypt))
            v[a(CKA_DECRYPT)] = .bool(usage.contains(.decrypt))
            v[a(CKA_SIGN)] = .bool(usage.contains(.mac))
            v[a(CKA_VERIFY)] = .bool(usage.contains(.mac))
            v[a(CKA_WRAP)] = .bool(usage.contains(.wrap))
            v[a(CKA_UNWRAP)] = .bool(usage.contains(.unwrap))
            v[a(CKA_EXTRACTABLE)] = .bool(key.extractable)
            v[a(CKA_ALWAYS_SENSITIVE)] = .bool(key.alwaysSensitive)
            v[a(CKA_NEVER_EXTRACTABLE)] = .bool(key.neverExtractable)
            v[a(CKA_TRUSTED)] = .bool(false)
            v[a(CKA_WRAP_WITH_TRUSTED)] = .bool(false)
            v[a(CKA_ALWAYS_AUTHENTICATE)] = .bool(false)
            v[a(CKA_CHECK_VALUE)] = .bytes(Data())
            v[a(CKA_VALUE)] = .sensitive
            if algorithm != .genericSecret { v[a(CKA_VALUE_LEN)] = .ulong(CK_ULONG(algorithm.bitSize / 8)) }
        }
        if let publicKey = key.publicKey {
            v[a(CKA_PUBLIC_KEY_INFO)] = .bytes(publicKey.spkiDER)
            if let parameters = algorithm.ecParameters {
                v[a(CKA_EC_PARAMS)] = .bytes(parameters)
                v[a(CKA_EC_POINT)] = .bytes(DER.octetString(publicKey.rawRepresentation))
            }
            if algorithm.isRSA, let numbers = DER.rsaNumbers(spki: publicKey.spkiDER) {
                v[a(CKA_MODULUS)] = .bytes(numbers.modulus)
                v[a(CKA_MODULUS_BITS)] = .ulong(CK_ULONG(algorithm.bitSize))
                v[a(CKA_PUBLIC_EXPONENT)] = .bytes(numbers.exponent)
            }
            if let set = algorithm.parameterSet {
                v[a(CKA_PARAMETER_SET)] = .ulong(set)
                if kind == .publicKey { v[a(CKA_VALUE)] = .bytes(publicKey.rawRepresentation) }
            }
        }
        if kind == .privateKey {
            if algorithm.isRSA {
                for secret in [CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT] {
                    v[a(secret)] = .sensitive
                }
            } else {
                v[a(CKA_VALUE)] = .sensitive
            }
        }
        return v
    }

    private static func certificateAttributes(_ c: CertificateInfo) -> [CK_ATTRIBUTE_TYPE: AttributeValue] {
        [
            a(CKA_CLASS): .ulong(CK_ULONG(CKO_CERTIFICATE)),
            a(CKA_TOKEN): .bool(true),
            a(CKA_PRIVATE): .bool(false),
            a(CKA_MODIFIABLE): .bool(false),
            a(CKA_COPYABLE): .bool(false),
            a(CKA_DESTROYABLE): .bool(true),
            a(CKA_LABEL): .string(c.label),
            a(CKA_UNIQUE_ID): .string(c.id),
            a(CKA_CERTIFICATE_TYPE): .ulong(CK_ULONG(CKC_X_509)),
            a(CKA_TRUSTED): .bool(false),
            a(CKA_CERTIFICATE_CATEGORY): .ulong(0),
            a(CKA_START_DATE): .bytes(Data()),
            a(CKA_END_DATE): .bytes(Data()),
            a(CKA_SUBJECT): .bytes(c.subject),
            a(CKA_ID): .bytes(c.applicationID),
            a(CKA_ISSUER): .bytes(c.issuer),
            a(CKA_SERIAL_NUMBER): .bytes(c.serialNumber),
            a(CKA_VALUE): .bytes(c.certificateDER),
            a(CKA_URL): .bytes(Data()),
            a(CKA_HASH_OF_SUBJECT_PUBLIC_KEY): .bytes(Data()),
            a(CKA_HASH_OF_ISSUER_PUBLIC_KEY): .bytes(Data()),
            a(CKA_JAVA_MIDP_SECURITY_DOMAIN): .ulong(0),
        ]
    }

    /// A CK_DATE (`YYYYMMDD` in ASCII), or empty for none.
    static func date(_ d: Date?) -> Data {
        guard let d else { return Data() }
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: d)
        return Data(String(format: "%04d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0).utf8)
    }
}

/// A caller's attribute template, read and bounds-checked once.
struct Template {
    var values: [(type: CK_ATTRIBUTE_TYPE, value: Data)]

    static let maximumCount = 256
    static let maximumValueLength = 64 * 1024

    /// Reads `count` attributes; a null array with a count, a null value with a length, or more
    /// than the limits is CKR_ARGUMENTS_BAD.
    init(_ pointer: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ count: CK_ULONG) throws(P11Error) {
        values = []
        guard count > 0 else { return }
        guard let pointer, count <= CK_ULONG(Self.maximumCount) else { throw .argumentsBad }
        for i in 0..<Int(count) {
            let attribute = pointer[i]
            let length = Int(attribute.ulValueLen)
            guard attribute.ulValueLen <= CK_ULONG(Self.maximumValueLength) else {
                throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "attribute 0x\(String(UInt(attribute.type), radix: 16)) is longer than 64 KiB")
            }
            if length == 0 {
                values.append((attribute.type, Data()))
                continue
            }
            guard let raw = attribute.pValue else { throw .argumentsBad }
            values.append((attribute.type, Data(bytes: raw, count: length)))
        }
    }

    func has(_ type: UInt) -> Bool { values.contains { $0.type == CK_ATTRIBUTE_TYPE(type) } }

    func bytes(_ type: UInt) -> Data? { values.last { $0.type == CK_ATTRIBUTE_TYPE(type) }?.value }

    func bool(_ type: UInt) throws(P11Error) -> Bool? {
        guard let d = bytes(type) else { return nil }
        guard d.count == 1 else { throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "attribute 0x\(String(type, radix: 16)) must be a CK_BBOOL") }
        return d[d.startIndex] != 0
    }

    func ulong(_ type: UInt) throws(P11Error) -> CK_ULONG? {
        guard let d = bytes(type) else { return nil }
        guard d.count == MemoryLayout<CK_ULONG>.size else {
            throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "attribute 0x\(String(type, radix: 16)) must be a CK_ULONG")
        }
        return d.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) }
    }

    func string(_ type: UInt) throws(P11Error) -> String? {
        guard let d = bytes(type) else { return nil }
        guard let s = String(data: d, encoding: .utf8) else {
            throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "attribute 0x\(String(type, radix: 16)) must be UTF-8")
        }
        return s
    }

    /// Whether an object with `attributes` matches every attribute of this template (C_FindObjects).
    func matches(_ attributes: [CK_ATTRIBUTE_TYPE: AttributeValue]) -> Bool {
        values.allSatisfy { attributes[$0.type] == .bytes($0.value) }
    }

    /// Refuses attributes outside `allowed` (CKR_ATTRIBUTE_TYPE_INVALID).
    func only(_ allowed: Set<UInt>) throws(P11Error) {
        if let extra = values.first(where: { !allowed.contains(UInt($0.type)) }) {
            throw P11Error(CK_RV(CKR_ATTRIBUTE_TYPE_INVALID), "attribute 0x\(String(UInt(extra.type), radix: 16)) cannot be set here")
        }
    }
}
