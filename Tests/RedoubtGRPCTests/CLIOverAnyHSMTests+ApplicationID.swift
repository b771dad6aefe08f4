import Foundation
import Testing

extension CLIOverAnyHSMTests {
    /// `keys create --app-id` sets a key's application identifier (CKA_ID); `keys list --app-id`
    /// finds exactly the keys with it; `keys get` and `--json` show it; bad hex is refused. A
    /// certificate made by openssl is stored with the same identifier, found by it, read back
    /// byte for byte, and deleted.
    static func applicationIDs(_ user: [String], in scratch: URL) async throws {
        let created = try await succeed(
            ["keys", "create", "--algorithm", "ED25519", "--label", "ssh", "--app-id", "01A2", "--json"] + user
        ).json()
        let id = try #require(created["id"] as? String)
        #expect(created["application_id"] as? String == "01a2", "\(created)")
        let other = try await succeed(["keys", "create", "--algorithm", "ED25519", "--label", "ssh", "--app-id", "01a203", "--json"] + user).json()
        #expect(other["application_id"] as? String == "01a203")
        let found = try #require(try await succeed(["keys", "list", "--app-id", "01a2", "--json"] + user).json()["keys"] as? [[String: Any]])
        #expect(found.compactMap { $0["id"] as? String } == [id], "\(found)")
        let shown = try await succeed(["keys", "get", id] + user)
        #expect(shown.stdout.contains("application_id: 01a2"), "\(shown)")
        for bad in ["01a", "zz", String(repeating: "00", count: 129)] {
            let refused = try await redoubt(["keys", "list", "--app-id", bad] + user)
            #expect(refused.status != 0 && refused.stderr.contains("--app-id"), "\(refused)")
        }

        // A certificate beside the key: openssl makes it, the CLI stores it (PEM) and gives it back.
        let keyFile = scratch.appendingPathComponent("web-key.pem").path
        let certFile = scratch.appendingPathComponent("web-cert.pem").path
        let made = try await run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-subj",
                "/CN=web.example", "-days", "1", "-set_serial", "77", "-out", certFile,
            ])
        #expect(made.status == 0, "\(made)")
        let stored = try await succeed(["certs", "create", "--label", "web", "--in", certFile, "--app-id", "01a2", "--json"] + user).json()
        let certID = try #require(stored["id"] as? String, "\(stored)")
        #expect(stored["application_id"] as? String == "01a2" && stored["serial_number"] as? String == "02014d", "\(stored)")
        let listed = try #require(try await succeed(["certs", "list", "--app-id", "01a2", "--json"] + user).json()["certificates"] as? [[String: Any]])
        #expect(listed.compactMap { $0["id"] as? String } == [certID], "\(listed)")
        let pem = try await succeed(["certs", "get", certID] + user)
        #expect(pem.stdout == (try String(contentsOfFile: certFile, encoding: .utf8)), "\(pem.stdout)")
        let notACertificate = try await redoubt(["certs", "create", "--label", "bad", "--in", keyFile] + user)
        #expect(notACertificate.status != 0 && notACertificate.stderr.contains("CERTIFICATE"), "\(notACertificate)")
        #expect(try await succeed(["certs", "delete", certID] + user).line == "deleted \(certID)")
        let gone = try #require(try await succeed(["certs", "list", "--json"] + user).json()["certificates"] as? [[String: Any]])
        #expect(gone.isEmpty, "\(gone)")
    }
}
