import Foundation
import SwiftASN1

/// The fields of an X.509 certificate that a token keeps beside it (PKCS#11 `CKA_SERIAL_NUMBER`,
/// `CKA_ISSUER`, `CKA_SUBJECT`, and the public key that pairs it with a key), each as the exact
/// DER bytes found in the certificate, read without judging the certificate otherwise (no chain,
/// no validity period, no signature check: a token stores certificates, it does not trust them).
///
/// ```swift
/// let fields = try CertificateFields(der: certificateDER)
/// let pairsWith = try PublicKey(spkiDER: fields.subjectPublicKeyInfo)
/// ```
public struct CertificateFields: Sendable, Hashable {
    /// The serial number: the whole DER INTEGER (tag, length, value), as `CKA_SERIAL_NUMBER` holds it.
    public var serialNumber: Data
    /// The issuer's DER `Name`.
    public var issuer: Data
    /// The subject's DER `Name`.
    public var subject: Data
    /// The DER `SubjectPublicKeyInfo`.
    public var subjectPublicKeyInfo: Data

    /// The largest certificate read: 64 KiB.
    public static let maximumByteCount = 64 * 1024

    /// Reads the fields of a DER X.509 certificate (RFC 5280 §4.1).
    ///
    /// - Throws: ``CryptoError/Code/invalidInput`` for anything that is not one DER `Certificate`
    ///   of at most 64 KiB, with nothing after it.
    public init(der: some DataProtocol) throws {
        let bytes = Array(der)
        guard !bytes.isEmpty else { throw CryptoError.invalidInput("the certificate is empty") }
        guard bytes.count <= Self.maximumByteCount else {
            throw CryptoError.invalidInput("the certificate is \(bytes.count) bytes; the limit is \(Self.maximumByteCount)")
        }
        do {
            let root = try DER.parse(bytes)
            guard root.encodedBytes.count == bytes.count else { throw ASN1Error.invalidASN1Object(reason: "trailing bytes") }
            self = try DER.sequence(root, identifier: .sequence) { certificate in
                guard let tbs = certificate.next(), let algorithm = certificate.next(), let signature = certificate.next(),
                    certificate.next() == nil, algorithm.identifier == .sequence, signature.identifier == .bitString
                else { throw ASN1Error.invalidASN1Object(reason: "not tbsCertificate, signatureAlgorithm, signature") }
                return try DER.sequence(tbs, identifier: .sequence) { fields in
                    var next = fields.next()
                    if next?.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) { next = fields.next() }
                    guard let serial = next, serial.identifier == .integer,
                        let signatureAlgorithm = fields.next(), signatureAlgorithm.identifier == .sequence,
                        let issuer = fields.next(), issuer.identifier == .sequence,
                        let validity = fields.next(), validity.identifier == .sequence,
                        let subject = fields.next(), subject.identifier == .sequence,
                        let spki = fields.next(), spki.identifier == .sequence
                    else { throw ASN1Error.invalidASN1Object(reason: "tbsCertificate fields") }
                    while fields.next() != nil {}
                    return CertificateFields(
                        serialNumber: Data(serial.encodedBytes), issuer: Data(issuer.encodedBytes), subject: Data(subject.encodedBytes),
                        subjectPublicKeyInfo: Data(spki.encodedBytes))
                }
            }
        } catch let error as CryptoError {
            throw error
        } catch {
            throw CryptoError.invalidInput("not a DER X.509 certificate")
        }
    }

    /// The DER of one PEM block labelled `CERTIFICATE`.
    public static func der(pem: String) throws -> Data { Data(try PEM.decode(pem, label: "CERTIFICATE")) }

    /// `der` as a PEM block labelled `CERTIFICATE`.
    public static func pem(der: some DataProtocol) -> String { PEM.encode(der, label: "CERTIFICATE") }

    private init(serialNumber: Data, issuer: Data, subject: Data, subjectPublicKeyInfo: Data) {
        self.serialNumber = serialNumber
        self.issuer = issuer
        self.subject = subject
        self.subjectPublicKeyInfo = subjectPublicKeyInfo
    }
}
