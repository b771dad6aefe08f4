import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates for TLS and mutual-TLS tests, made fresh per test run with swift-certificates
/// and written as PEM files into a temporary directory: a CA, a server certificate for
/// 127.0.0.1/localhost, a client certificate from the same CA, one from a rogue CA, and an
/// expired one from the right CA.
struct TLSFixtures: Sendable {
    struct Identity: Sendable {
        var certificatePEM: String
        var keyPEM: String
        var certificatePath: String
        var keyPath: String
        /// SHA-256 of the certificate's DER encoding (what a user registers).
        var sha256: Data
    }

    let directory: URL
    let caPath: String
    let caPEM: String
    let server: Identity
    let client: Identity
    let rogueClient: Identity
    let expiredClient: Identity

    static func make() throws -> TLSFixtures {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let now = Date()

        func authority(_ name: String) throws -> (Certificate, P256.Signing.PrivateKey) {
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName { CommonName(name) }
            let cert = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true))
                },
                issuerPrivateKey: .init(key))
            return (cert, key)
        }

        func issue(
            _ name: String, by ca: (Certificate, P256.Signing.PrivateKey), server: Bool,
            validFrom: Date = now.addingTimeInterval(-3600), until: Date = now.addingTimeInterval(86400)
        ) throws -> (Certificate, P256.Signing.PrivateKey) {
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName { CommonName(name) }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([server ? .serverAuth : .clientAuth])
                if server {
                    SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                }
            }
            let cert = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: validFrom, notValidAfter: until,
                issuer: ca.0.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: .init(ca.1))
            return (cert, key)
        }

        func write(_ name: String, _ pair: (Certificate, P256.Signing.PrivateKey)) throws -> Identity {
            let certPEM = try pair.0.serializeAsPEM().pemString
            let keyPEM = pair.1.pemRepresentation
            let certPath = directory.appendingPathComponent("\(name).pem").path
            let keyPath = directory.appendingPathComponent("\(name).key").path
            try certPEM.write(toFile: certPath, atomically: true, encoding: .utf8)
            try keyPEM.write(toFile: keyPath, atomically: true, encoding: .utf8)
            var serializer = DER.Serializer()
            try serializer.serialize(pair.0)
            return Identity(
                certificatePEM: certPEM, keyPEM: keyPEM, certificatePath: certPath, keyPath: keyPath,
                sha256: Data(SHA256.hash(data: serializer.serializedBytes)))
        }

        let ca = try authority("Redoubt Test CA")
        let rogue = try authority("Rogue CA")
        let caPEM = try ca.0.serializeAsPEM().pemString
        let caPath = directory.appendingPathComponent("ca.pem").path
        try caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)
        return TLSFixtures(
            directory: directory, caPath: caPath, caPEM: caPEM,
            server: try write("server", try issue("redoubt broker", by: ca, server: true)),
            client: try write("client", try issue("payments-service", by: ca, server: false)),
            rogueClient: try write("rogue", try issue("payments-service", by: rogue, server: false)),
            expiredClient: try write(
                "expired",
                try issue(
                    "old-service", by: ca, server: false,
                    validFrom: now.addingTimeInterval(-7200), until: now.addingTimeInterval(-3600))))
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
