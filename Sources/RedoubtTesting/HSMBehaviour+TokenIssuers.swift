import Crypto
import Foundation
import RedoubtCore
import Testing

extension HSMBehaviour {
    static var tokenIssuerCases: [Case] {
        [
            Case("a JWT from a bound issuer opens a session until unbound") { try await $0.jwtSignIn() }
        ]
    }
}

extension HSMFixture {
    /// An EdDSA token (made by hand: base64url JSON and a Curve25519 signature) of `claims`.
    static func jwt(_ claims: [String: Any], key: Curve25519.Signing.PrivateKey, kid: String) throws -> String {
        func b64(_ data: Data) -> String { base64URL(data) }
        let header = try JSONSerialization.data(withJSONObject: ["alg": "EdDSA", "kid": kid, "typ": "JWT"], options: .sortedKeys)
        let body = try JSONSerialization.data(withJSONObject: claims, options: .sortedKeys)
        let input = b64(header) + "." + b64(body)
        return input + "." + b64(try key.signature(for: Data(input.utf8)))
    }

    /// Unpadded base64url (RFC 4648 §5), as JOSE writes bytes.
    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func jwtSignIn() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let x = Self.base64URL(key.publicKey.rawRepresentation)
        let issuer = TokenIssuer(
            name: "corp", issuer: "https://idp.example.com", audiences: ["redoubt"], requiredClaims: ["team": "payments"],
            keys: .inline(#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","use":"sig","x":"\#(x)"}]}"#),
            refreshInterval: 300, maximumStaleness: 3600)
        let bound = try await hsm.bindTokenIssuer(alpha.officer.token, issuer: issuer)
        #expect(bound == issuer)
        #expect(try await hsm.listTokenIssuers(alpha.auditor.token) == [issuer])
        let exp = Int(Date().timeIntervalSince1970) + 900
        let token = try Self.jwt(
            ["iss": issuer.issuer, "aud": "redoubt", "sub": Self.userName, "team": "payments", "exp": exp], key: key, kid: "k1")

        let session = try await hsm.openSession(partition: alpha.id, credential: .jwt(token))
        #expect(session.user == alpha.user.user.id)
        #expect(session.partition == alpha.id)
        #expect(session.expiresAt <= Date(timeIntervalSince1970: TimeInterval(exp)))
        _ = try await hsm.random(session.token, count: 4)
        // Only the partition that bound the issuer trusts it.
        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: beta.id, credential: .jwt(token))
        }
        await expectHSMError(.permissionDenied) { try await hsm.bindTokenIssuer(alpha.user.token, issuer: issuer) }
        try await hsm.unbindTokenIssuer(alpha.officer.token, name: "corp")
        await expectHSMError(.unauthenticated, "invalid credentials") {
            try await hsm.openSession(partition: alpha.id, credential: .jwt(token))
        }
        // A session it opened runs on until it ends.
        _ = try await hsm.random(session.token, count: 4)
    }
}
