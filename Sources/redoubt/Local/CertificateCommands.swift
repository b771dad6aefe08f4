import ArgumentParser
import Foundation
import Redoubt

/// `redoubt certs …`.
struct CertificatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", abstract: "Store, list and delete the partition's X.509 certificates.",
        discussion: """
            A partition keeps certificates beside its keys, so that software expecting one next to each private \
            key (Java's keystore, TLS servers, code signers, through PKCS#11) finds it. Pair a certificate with a \
            key by giving both the same application id (--app-id, PKCS#11 CKA_ID). The HSM reads the serial \
            number, issuer and subject and stores the certificate as given: it does not check its signature, \
            chain or validity.

            \(examples(
            "redoubt keys create --algorithm EC-P256 --label web --app-id 01",
            "redoubt certs create --label web --in web.pem --app-id 01",
            "redoubt certs list --app-id 01 --json"))
            """,
        subcommands: [Create.self, List.self, Show.self, Delete.self])

    struct Create: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a certificate (PEM or DER).",
            discussion: examples(
                "redoubt certs create --label web --in web.pem --app-id 01",
                "openssl x509 -in web.pem -outform DER | redoubt certs create --label web --in -"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("Label (1-128 printable characters; need not be unique).", valueName: "label")) var label: String
        @Option(name: .customLong("in"), help: ArgumentHelp("The certificate, PEM or DER (- for standard input).", valueName: "file"))
        var input: String
        @Option(help: ArgumentHelp("Application identifier (PKCS#11 CKA_ID) in hex, shared with the key it belongs to.", valueName: "hex"))
        var appId: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            let bytes = try readInput(input)
            let der: Data
            if let text = String(data: bytes, encoding: .utf8), text.contains("-----BEGIN") {
                do { der = try CertificateFields.der(pem: text) } catch let error as CryptoError {
                    throw ValidationError("\(input): \(error.message)")
                }
            } else {
                der = bytes
            }
            let spec = CertificateSpec(
                label: label, certificateDER: der, applicationID: try appId.map { try parseApplicationID($0) } ?? Data())
            let certificate = try await hsm.createCertificate(session, spec: spec)
            try output.show(CertificateJSON(certificate), describe(certificate))
        }
    }

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "List certificates: id, application id, label.",
            discussion: examples("redoubt certs list", "redoubt certs list --app-id 01 --json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("Only certificates with this label.", valueName: "label")) var label: String?
        @Option(help: ArgumentHelp("Only certificates with this application identifier, in hex.", valueName: "hex")) var appId: String?

        func run(hsm: any HSM, session: SessionToken) async throws {
            var filter = CertificateFilter(label: label, applicationID: try appId.map { try parseApplicationID($0) }, limit: 1000)
            var certificates: [CertificateInfo] = []
            while true {
                let page = try await hsm.listCertificates(session, filter: filter)
                certificates += page
                guard page.count == filter.limit, let last = page.last else { break }
                filter.after = last.id
            }
            try output.list(certificates, as: "certificates", headers: ["ID", "APP-ID", "LABEL"], json: CertificateJSON.init) { c in
                [c.id, c.applicationID.isEmpty ? "-" : hex(c.applicationID), c.label]
            }
        }
    }

    struct Show: HSMCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Print a certificate as PEM (with --json, every field).",
            discussion: examples("redoubt certs get c0123… > web.pem", "redoubt certs get c0123… --json"),
            aliases: ["show"])
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Certificate id.") var id: String

        func run(hsm: any HSM, session: SessionToken) async throws {
            let certificate = try await hsm.getCertificate(session, id: id)
            if output.json {
                try output.show(CertificateJSON(certificate), "")
            } else {
                print(CertificateFields.pem(der: certificate.certificateDER), terminator: "")
            }
        }
    }

    struct Delete: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a certificate for good.", discussion: examples("redoubt certs delete c0123…"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "Certificate id.") var id: String
        func run(hsm: any HSM, session: SessionToken) async throws {
            try await hsm.deleteCertificate(session, id: id)
            print("deleted \(id)")
        }
    }
}

/// A stored certificate as JSON: the PEM and the fields read from it (bytes in hex).
struct CertificateJSON: Encodable {
    var id: String
    var label: String
    var applicationId: String?
    var certificate: String
    var subject: String
    var issuer: String
    var serialNumber: String
    var createdAt: Date

    init(_ c: CertificateInfo) {
        id = c.id
        label = c.label
        applicationId = c.applicationID.isEmpty ? nil : hex(c.applicationID)
        certificate = CertificateFields.pem(der: c.certificateDER)
        subject = hex(c.subject)
        issuer = hex(c.issuer)
        serialNumber = hex(c.serialNumber)
        createdAt = c.createdAt
    }
}

func describe(_ c: CertificateInfo) -> String {
    var lines = ["id: \(c.id)", "label: \(c.label)"]
    if !c.applicationID.isEmpty { lines.append("application_id: \(hex(c.applicationID))") }
    lines += ["subject: \(hex(c.subject))", "serial_number: \(hex(c.serialNumber))", "created_at: \(c.createdAt)"]
    return lines.joined(separator: "\n")
}
