import Foundation
import Testing

/// Java's SunPKCS11 provider over libredoubt-pkcs11: a key on the token with its certificate
/// beside it (same CKA_ID) is a PrivateKeyEntry that keytool lists and jarsigner signs a jar
/// with; the signature verifies. (OpenJDK 17 from Debian, installed by scripts/bootstrap.)
@Suite("Java keytool and jarsigner through SunPKCS11 (process)", .serialized)
struct PKCS11JavaTests {
    typealias Fixture = PKCS11ToolTests.Fixture

    /// `tool` from the JDK with REDOUBT_PKCS11_CONFIG set.
    static func java(_ f: Fixture, _ tool: String, _ arguments: [String]) async throws -> PKCS11ToolTests.Output {
        var env = ProcessInfo.processInfo.environment
        env["REDOUBT_PKCS11_CONFIG"] = f.config
        env["HOME"] = f.home.path
        env["XDG_CONFIG_HOME"] = f.home.path
        return try await PKCS11ToolTests.run(
            try PKCS11ToolTests.installed(tool, package: "openjdk-17-jdk-headless"), arguments, environment: env, scratch: f.scratch)
    }

    @Test("keytool lists the token's key with its certificate; jarsigner signs a jar with it and the jar verifies")
    func keytoolAndJarsigner() async throws {
        try await PKCS11ToolTests.withBroker { f in
            try await f.generate("EC:prime256v1", id: "0d01", label: "java-ec")
            let pem = try await f.publicKeyPEM(id: "0d01")
            // A certificate for the token's public key, issued by a throw-away CA (the CA's key is local).
            let caKey = f.file("ca.key"), caCert = f.file("ca.pem"), request = f.file("req.pem"), cert = f.file("java-ec.pem")
            let certDER = f.file("java-ec.der")
            for step in [
                ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey],
                ["req", "-new", "-x509", "-key", caKey, "-subj", "/CN=Redoubt test CA", "-days", "2", "-out", caCert],
                ["req", "-new", "-key", caKey, "-subj", "/CN=java-ec", "-out", request],
                [
                    "x509", "-req", "-in", request, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial", "-force_pubkey", pem, "-days", "2",
                    "-out", cert,
                ],
                ["x509", "-in", cert, "-outform", "DER", "-out", certDER],
            ] {
                let out = try await f.openssl(step)
                try #require(out.status == 0, "\(out)")
            }
            let write = try await f.loggedIn(["--write-object", certDER, "--type", "cert", "--id", "0d01", "--label", "java-ec"])
            try #require(write.status == 0, "\(write)")

            let providerConfig = f.file("redoubt-pkcs11.cfg")
            try "name = Redoubt\nlibrary = \(f.module)\nslot = 0\n".write(toFile: providerConfig, atomically: true, encoding: .utf8)
            let store = ["-keystore", "NONE", "-storetype", "PKCS11", "-providerClass", "sun.security.pkcs11.SunPKCS11", "-providerArg", providerConfig]
            let list = try await Self.java(f, "keytool", ["-list"] + store + ["-storepass", f.pin])
            #expect(list.status == 0, "\(list)")
            #expect(list.stdout.contains("java-ec") && list.stdout.contains("PrivateKeyEntry"), "\(list)")

            // A jar to sign (the JDK's jar tool), signed on the token, then verified.
            let classes = f.scratch.appendingPathComponent("classes")
            try FileManager.default.createDirectory(at: classes, withIntermediateDirectories: true)
            try "Redoubt signs this jar through PKCS #11\n".write(to: classes.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)
            let jar = f.file("app.jar")
            let made = try await Self.java(f, "jar", ["cf", jar, "-C", classes.path, "."])
            try #require(made.status == 0, "\(made)")
            let sign = try await Self.java(f, "jarsigner", store + ["-storepass", f.pin, "-sigalg", "SHA256withECDSA", jar, "java-ec"])
            #expect(sign.status == 0 && sign.all.contains("jar signed"), "\(sign)")
            let verify = try await Self.java(f, "jarsigner", ["-verify", "-verbose", "-certs", jar])
            #expect(verify.status == 0 && verify.all.contains("jar verified"), "\(verify)")
            #expect(verify.all.contains("CN=java-ec"), "the signer is the token's certificate: \(verify)")
        }
    }
}
