import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var certificateCases: [Case] {
        [
            Case("a certificate is stored beside the keys, read back with its fields, found by label and identifier, and deleted") {
                try await $0.certificates()
            },
            Case("certificates: roles, bounds, malformed certificates, another partition's") {
                try await $0.certificateRules()
            },
        ]
    }

    /// A self-signed P-256 certificate: subject and issuer CN=redoubt-test, serial 0x1234 (made by
    /// `openssl req -x509 -set_serial 0x1234`; public data).
    package static let testCertificate = Data(
        base64Encoded:
            "MIIBcTCCARegAwIBAgICEjQwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMcmVkb3VidC10ZXN0MB4XDTI2MTIwMjExMzExM1oXDTM2MTEyOTExMzExM1owFzEVMBMGA1UEAwwMcmVkb3VidC10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERkTcB1u0YR/x5Kdmupi+VynQQ5PftXcSwTVlEmKEZXasp3+beL+0fcDa9RjTas1U2Bc2NnXzZ61kICshtux9qKNTMFEwHQYDVR0OBBYEFH+rLEz7KXlOO8E5OPaAtDeH25QRMB8GA1UdIwQYMBaAFH+rLEz7KXlOO8E5OPaAtDeH25QRMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgIrUOc5WWFtU8y4sSR15aQfvUVoeOHxD1HjQ5PggSvRcCIQC4xfZ7sa+yvKy/40sUvpbdYbhq7Plr/E1jFy7H1h2fkw=="
    )!
    /// The DER Name CN=redoubt-test, as the certificate holds it.
    package static let testCertificateName =
        Data([0x30, 0x17, 0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0c]) + Data("redoubt-test".utf8)
}

extension HSMFixture {
    func certificateIDs(_ token: SessionToken, _ filter: CertificateFilter) async throws -> [String] {
        var filter = filter
        var ids: [String] = []
        while true {
            let page = try await hsm.listCertificates(token, filter: filter)
            #expect(page.count <= filter.limit)
            ids += page.map(\.id)
            guard page.count == filter.limit, let last = page.last else { return ids }
            filter.after = last.id
        }
    }

    func certificates() async throws {
        let officer = alpha.officer.token
        let user = alpha.user.token
        let der = HSMBehaviour.testCertificate
        let key = try await hsm.generateKey(user, spec: KeySpec(algorithm: .p256, label: "web", applicationID: Data([0x42])))
        let paired = try await hsm.createCertificate(
            user, spec: CertificateSpec(label: "web", certificateDER: der, applicationID: key.applicationID))
        #expect(paired.id.hasPrefix("c") && paired.id.count == 33)
        #expect(paired.certificateDER == der && paired.applicationID == Data([0x42]) && paired.label == "web")
        #expect(paired.subject == HSMBehaviour.testCertificateName && paired.issuer == HSMBehaviour.testCertificateName)
        #expect(paired.serialNumber == Data([0x02, 0x02, 0x12, 0x34]), "serial \(paired.serialNumber.map { $0 })")
        let other = try await hsm.createCertificate(officer, spec: CertificateSpec(label: "ca", certificateDER: der))
        #expect(other.applicationID.isEmpty)

        // Read back by anyone who reads keys; found by identifier (the key's), by label, and in full.
        #expect(try await hsm.getCertificate(alpha.auditor.token, id: paired.id) == paired)
        #expect(try await certificateIDs(user, CertificateFilter(applicationID: key.applicationID)) == [paired.id])
        #expect(try await certificateIDs(user, CertificateFilter(label: "ca")) == [other.id])
        #expect(try await certificateIDs(user, CertificateFilter(limit: 1)) == [paired.id, other.id].sorted())
        #expect(try await certificateIDs(user, CertificateFilter(applicationID: Data([0x43]))).isEmpty)
        // Keys and certificates stay apart: the key listing shows no certificate.
        #expect(try await hsm.listKeys(user, filter: KeyFilter(limit: 1000)).map(\.id) == [key.id])

        // Deleted for good, index entry included; the key stays.
        try await hsm.deleteCertificate(user, id: paired.id)
        await expectHSMError(.notFound, "certificate") { _ = try await hsm.getCertificate(user, id: paired.id) }
        #expect(try await certificateIDs(user, CertificateFilter(applicationID: key.applicationID)).isEmpty)
        await expectHSMError(.notFound) { try await hsm.deleteCertificate(officer, id: paired.id) }
        #expect(try await hsm.getKey(user, id: key.id).id == key.id)
        #expect(try await certificateIDs(user, CertificateFilter()) == [other.id])
    }

    func certificateRules() async throws {
        let officer = alpha.officer.token
        let der = HSMBehaviour.testCertificate
        let stored = try await hsm.createCertificate(officer, spec: CertificateSpec(label: "kept", certificateDER: der))
        // Auditors read but do not write; another partition sees nothing of alpha's.
        await expectHSMError(.permissionDenied) {
            _ = try await hsm.createCertificate(alpha.auditor.token, spec: CertificateSpec(label: "x", certificateDER: der))
        }
        await expectHSMError(.permissionDenied) { try await hsm.deleteCertificate(alpha.auditor.token, id: stored.id) }
        await expectHSMError(.notFound) { _ = try await hsm.getCertificate(beta.officer.token, id: stored.id) }
        await expectHSMError(.notFound) { try await hsm.deleteCertificate(beta.officer.token, id: stored.id) }
        #expect(try await hsm.listCertificates(beta.user.token, filter: CertificateFilter()).isEmpty)
        await expectHSMError(.notFound) { _ = try await hsm.getCertificate(officer, id: "not-a-certificate-id") }

        // Malformed and oversized certificates, long identifiers and bad labels are refused; nothing is stored.
        for (bad, fragment) in [
            (Data(), "certificate_der is empty"),
            (Data([0x30, 0x03, 0x02, 0x01, 0x01]), "not a DER X.509 certificate"),
            (der + Data([0x00]), "not a DER X.509 certificate"),
            (der.prefix(der.count - 1), "not a DER X.509 certificate"),
            (Data(repeating: 0x30, count: HSMArgumentChecks.maximumCertificateByteCount + 1), "the limit is 65536"),
        ] {
            await expectHSMError(.invalidArgument, fragment) {
                _ = try await hsm.createCertificate(officer, spec: CertificateSpec(label: "bad", certificateDER: bad))
            }
        }
        await expectHSMError(.invalidArgument, "application_id") {
            _ = try await hsm.createCertificate(
                officer, spec: CertificateSpec(label: "bad", certificateDER: der, applicationID: Data(repeating: 1, count: 129)))
        }
        await expectHSMError(.invalidArgument, "label") {
            _ = try await hsm.createCertificate(officer, spec: CertificateSpec(label: "", certificateDER: der))
        }
        await expectHSMError(.invalidArgument, "limit") {
            _ = try await hsm.listCertificates(officer, filter: CertificateFilter(limit: 0))
        }
        #expect(try await hsm.listCertificates(officer, filter: CertificateFilter()).map(\.id) == [stored.id])
    }
}
