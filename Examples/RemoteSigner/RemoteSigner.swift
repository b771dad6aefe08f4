// RemoteSigner: EmbeddedSigner's signing, against a broker (`redoubt serve`) instead of an
// embedded HSM. Only the line that makes the HSM differs:
//
//   let hsm = try await LocalHSM.open(store: store, unseal: .passphrase(passphrase))   // embedded
//   try await withRemoteHSM(configuration: .init(endpoint: endpoint, tls: tls)) { hsm in … }  // remote
//
//   REDOUBT_API_KEY=rdk1.… swift run RemoteSigner HOST:PORT PARTITION [CA.pem]
//
// The API key (a crypto user's) comes from the environment, not the command line, so that it
// does not show in `ps`. Without CA.pem the connection is plaintext, allowed only to loopback.
import Foundation
import RedoubtClient

@main
struct RemoteSigner {
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        guard arguments.count == 2 || arguments.count == 3, let apiKey = ProcessInfo.processInfo.environment["REDOUBT_API_KEY"] else {
            FileHandle.standardError.write(Data("usage: REDOUBT_API_KEY=rdk1.… RemoteSigner HOST:PORT PARTITION [CA.pem]\n".utf8))
            exit(2)
        }
        let endpoint = arguments[arguments.startIndex]
        let partition = arguments[arguments.startIndex + 1]
        let tls = arguments.count == 3 ? RemoteHSMConfiguration.TLS(trustRoots: .file(arguments[arguments.startIndex + 2])) : nil
        do {
            try await withRemoteHSM(configuration: .init(endpoint: endpoint, tls: tls)) { hsm in
                try await sign(with: hsm, partition: partition, apiKey: apiKey)
            }
        } catch {
            FileHandle.standardError.write(Data("RemoteSigner: \(error)\n".utf8))
            exit(1)
        }
    }

    /// The same calls as an embedded app makes: only `hsm` came from elsewhere.
    static func sign(with hsm: any HSM, partition: String, apiKey: String) async throws {
        let session = try await hsm.openSession(partition: partition, credential: .apiKey(apiKey))
        let key = try await hsm.generateKey(session.token, spec: KeySpec(algorithm: .p256, label: "invoice-signer", persistent: false))
        let message = Data("pay 100 EUR to ACME".utf8)
        let signed = try await hsm.sign(session.token, key: key.id, input: .message(message), scheme: .ecdsa(.sha256))
        let ok = try await hsm.verify(
            session.token, key: key.id, input: .message(message), signature: signed.signature,
            scheme: .ecdsa(.sha256), version: signed.version)
        print("session key \(key.id) (\(key.algorithm)) signed \(message.count) bytes: \(signed.signature.count)-byte signature, valid: \(ok)")
        try await hsm.closeSession(session.token)
    }
}
