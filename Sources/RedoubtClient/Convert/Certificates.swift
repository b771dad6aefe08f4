import Foundation
import RedoubtCore
import RedoubtProto
import SwiftProtobuf

// Certificates (KeyService's certificate RPCs), both directions.

extension CertificateInfo {
    /// A certificate from a response.
    package init(proto p: Redoubt_V1_CertificateInfo, at path: FieldPath) throws {
        self.init(
            id: p.id, label: p.label, applicationID: p.applicationID, certificateDER: p.certificateDer, subject: p.subject,
            issuer: p.issuer, serialNumber: p.serialNumber, createdAt: try p.createTime.date(at: path + "create_time"))
    }

    /// The proto certificate.
    package var proto: Redoubt_V1_CertificateInfo {
        var p = Redoubt_V1_CertificateInfo()
        p.id = id
        p.label = label
        p.applicationID = applicationID
        p.certificateDer = certificateDER
        p.subject = subject
        p.issuer = issuer
        p.serialNumber = serialNumber
        p.createTime = Google_Protobuf_Timestamp(createdAt)
        return p
    }
}

/// A response that carries one certificate.
package protocol CertificateResponse: Sendable {
    init()
    var certificate: Redoubt_V1_CertificateInfo { get set }
    var hasCertificate: Bool { get }
}

extension CertificateResponse {
    /// The response holding `certificate`.
    package init(_ certificate: CertificateInfo) {
        self.init()
        self.certificate = certificate.proto
    }

    /// The certificate; an unset one is a malformed response.
    package func decodedCertificate(at path: FieldPath = .root) throws -> CertificateInfo {
        guard hasCertificate else { throw (path + "certificate").invalid("is unset") }
        return try CertificateInfo(proto: certificate, at: path + "certificate")
    }
}

extension Redoubt_V1_CreateCertificateResponse: CertificateResponse {}
extension Redoubt_V1_GetCertificateResponse: CertificateResponse {}

extension Redoubt_V1_CreateCertificateRequest {
    /// The request storing `spec`.
    package init(spec: CertificateSpec) {
        self.init()
        label = spec.label
        certificateDer = spec.certificateDER
        applicationID = spec.applicationID
    }

    /// The spec; the certificate's size and the identifier's are checked here, the rest by the HSM.
    package func decoded(at path: FieldPath = .root) throws -> CertificateSpec {
        try HSMArgumentChecks.certificateSize(certificateDer, prefix: path.fieldPrefix)
        try KeyIdentifierFields.check(applicationID: applicationID, subject: nil, at: path)
        return CertificateSpec(label: label, certificateDER: certificateDer, applicationID: applicationID)
    }
}

/// A request naming one certificate.
package protocol CertificateIDRequest: Sendable {
    init()
    var certificateID: String { get set }
}

extension CertificateIDRequest {
    /// The request for certificate `id`.
    package init(certificateID id: String) {
        self.init()
        certificateID = id
    }

    /// The certificate id; empty is INVALID_ARGUMENT.
    package func decodedCertificateID(at path: FieldPath = .root) throws -> String {
        try requiredID(certificateID, at: path + "certificate_id")
    }
}

extension Redoubt_V1_GetCertificateRequest: CertificateIDRequest {}
extension Redoubt_V1_DeleteCertificateRequest: CertificateIDRequest {}

extension Redoubt_V1_ListCertificatesRequest {
    /// The request for the page `filter` describes.
    package init(_ filter: CertificateFilter) {
        self.init()
        pageSize = Int32(clamping: filter.limit)
        pageToken = filter.after.map(Paging.token(after:)) ?? ""
        label = filter.label ?? ""
        applicationID = filter.applicationID ?? Data()
    }

    /// The filter (its `after` from the page token, its `limit` the page size).
    package func decoded(at path: FieldPath = .root) throws -> CertificateFilter {
        let page = try PageRequest(pageSize: pageSize, pageToken: pageToken, at: path)
        try KeyIdentifierFields.check(applicationID: applicationID, subject: nil, at: path)
        return CertificateFilter(
            label: label.isEmpty ? nil : label, applicationID: applicationID.isEmpty ? nil : applicationID, after: page.after,
            limit: page.size)
    }
}

extension Redoubt_V1_ListCertificatesResponse {
    /// A page of certificates.
    package init(_ certificates: [CertificateInfo], nextPageToken: String) {
        self.init()
        self.certificates = certificates.map(\.proto)
        self.nextPageToken = nextPageToken
    }

    /// The certificates of the page, and the id the next page starts after (`nil` on the last page).
    package func decoded(at path: FieldPath = .root) throws -> (certificates: [CertificateInfo], after: String?) {
        (
            try certificates.enumerated().map { try CertificateInfo(proto: $1, at: (path + "certificates")[$0]) },
            try Paging.lastID(nextPageToken, at: path + "next_page_token")
        )
    }
}
