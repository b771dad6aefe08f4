import Foundation
import GRPCCore
import RedoubtCore
import RedoubtProto

// Certificates (KeyService's certificate RPCs) of RemoteHSM.

extension RemoteHSM {
    public func createCertificate(_ session: SessionToken, spec: CertificateSpec) async throws -> CertificateInfo {
        try HSMArgumentChecks.certificateSpec(spec)
        let request = Redoubt_V1_CreateCertificateRequest(spec: spec)
        return try await call(.session(session)) {
            try await keys.createCertificate(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedCertificate()
        }
    }

    public func getCertificate(_ session: SessionToken, id: String) async throws -> CertificateInfo {
        let request = Redoubt_V1_GetCertificateRequest(certificateID: id)
        return try await call(.session(session)) {
            try await keys.getCertificate(request, metadata: $0, options: $1)
        } decode: {
            try $0.decodedCertificate()
        }
    }

    public func listCertificates(_ session: SessionToken, filter: CertificateFilter) async throws -> [CertificateInfo] {
        try HSMArgumentChecks.certificateList(filter)
        let request = Redoubt_V1_ListCertificatesRequest(filter)
        return try await call(.session(session)) {
            try await keys.listCertificates(request, metadata: $0, options: $1)
        } decode: {
            try $0.decoded().certificates
        }
    }

    public func deleteCertificate(_ session: SessionToken, id: String) async throws {
        let request = Redoubt_V1_DeleteCertificateRequest(certificateID: id)
        try await call(.session(session)) {
            try await keys.deleteCertificate(request, metadata: $0, options: $1)
        } decode: { _ in
        }
    }
}
