import Foundation

/// A certificate to store in a partition, beside the keys (PKCS#11 `CKO_CERTIFICATE`, X.509).
///
/// A partition stores certificates so that software that expects one beside each private key
/// (Java's keystore, TLS servers, code signers) finds it on the token: pair a certificate with a
/// key by giving both the same ``applicationID`` (`CKA_ID`). The HSM reads the certificate's
/// serial number, issuer, subject and public key, and otherwise stores it as given: it does not
/// check its signature, chain or validity period.
///
/// ```swift
/// let cert = try await hsm.createCertificate(session, spec: CertificateSpec(
///     label: "web", certificateDER: der, applicationID: key.applicationID))
/// ```
public struct CertificateSpec: Sendable, Hashable {
    /// A label, 1 to 128 printable characters, not unique.
    public var label: String
    /// The DER X.509 certificate, at most 64 KiB.
    public var certificateDER: Data
    /// The application's identifier (`CKA_ID`), 0 to 128 bytes, not unique; empty: none.
    public var applicationID: Data

    /// A spec.
    public init(label: String, certificateDER: Data, applicationID: Data = Data()) {
        self.label = label
        self.certificateDER = certificateDER
        self.applicationID = applicationID
    }
}

/// A stored certificate: the certificate and what the HSM read from it. Certificates are public;
/// every field may be shown.
public struct CertificateInfo: Sendable, Hashable {
    /// The certificate's id in its partition: `c` and 32 hex digits.
    public var id: String
    /// The label.
    public var label: String
    /// The application's identifier (`CKA_ID`); empty: none.
    public var applicationID: Data
    /// The DER X.509 certificate, as stored.
    public var certificateDER: Data
    /// The subject's DER `Name` (`CKA_SUBJECT`).
    public var subject: Data
    /// The issuer's DER `Name` (`CKA_ISSUER`).
    public var issuer: Data
    /// The serial number as a whole DER INTEGER (`CKA_SERIAL_NUMBER`).
    public var serialNumber: Data
    /// When it was stored.
    public var createdAt: Date

    /// Creates a value (for ``HSM`` implementations and tests).
    public init(
        id: String, label: String, applicationID: Data, certificateDER: Data, subject: Data, issuer: Data, serialNumber: Data,
        createdAt: Date
    ) {
        self.id = id
        self.label = label
        self.applicationID = applicationID
        self.certificateDER = certificateDER
        self.subject = subject
        self.issuer = issuer
        self.serialNumber = serialNumber
        self.createdAt = createdAt
    }
}

/// Which certificates to list: a page, ordered by id.
public struct CertificateFilter: Sendable, Hashable {
    /// Only certificates with exactly this label.
    public var label: String?
    /// Only certificates with exactly this application identifier; `nil` or empty: any.
    public var applicationID: Data?
    /// Continue after this certificate id (the previous page's last).
    public var after: String?
    /// At most this many (1–1000).
    public var limit: Int

    /// A filter.
    public init(label: String? = nil, applicationID: Data? = nil, after: String? = nil, limit: Int = 100) {
        self.label = label
        self.applicationID = applicationID
        self.after = after
        self.limit = limit
    }
}

extension HSMArgumentChecks {
    /// ``HSM/createCertificate(_:spec:)``: a label of 1 to 128 printable characters, a certificate of
    /// 1 byte to 64 KiB, an identifier of at most 128 bytes (the certificate itself is read by the HSM).
    public static func certificateSpec(_ spec: CertificateSpec) throws {
        guard (1...128).contains(spec.label.count), !spec.label.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw HSMError.invalid("label must be 1 to 128 printable characters")
        }
        try certificateSize(spec.certificateDER)
        try keyIdentifiers(applicationID: spec.applicationID, subject: nil)
    }

    /// A certificate of 1 byte to 64 KiB (`certificate_der`, after `prefix`).
    public static func certificateSize(_ der: Data, prefix: String = "") throws {
        guard !der.isEmpty else { throw HSMError.invalid("\(prefix)certificate_der is empty; send a DER X.509 certificate") }
        guard der.count <= maximumCertificateByteCount else {
            throw HSMError.invalid("\(prefix)certificate_der is \(der.count) bytes; the limit is \(maximumCertificateByteCount)")
        }
    }

    /// ``HSM/listCertificates(_:filter:)``: ``CertificateFilter/limit`` 1 to 1000, an identifier of at most 128 bytes.
    public static func certificateList(_ filter: CertificateFilter) throws {
        guard (1...maximumPageSize).contains(filter.limit) else { throw HSMError.invalid("limit must be 1 to \(maximumPageSize)") }
        try keyIdentifiers(applicationID: filter.applicationID, subject: nil)
    }

    /// The largest certificate stored: 64 KiB.
    public static let maximumCertificateByteCount = 64 * 1024
}
