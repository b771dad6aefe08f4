import Foundation
import RedoubtCore
import RedoubtProto
import SwiftProtobuf

// Token issuer bindings of UserService, both directions.

extension TokenIssuer {
    /// A binding of a request: the name, issuer, audiences and one key source required; the HSM
    /// judges the values (``TokenIssuer/validate(field:)``), naming the field.
    package init(proto p: Redoubt_V1_TokenIssuer, isSet: Bool, at path: FieldPath) throws {
        guard isSet else { throw path.invalid("is unset; send the binding (name, issuer, audiences and keys)") }
        try (path + "name").checkSize(p.name, limit: 64)
        try (path + "issuer").checkSize(p.issuer, limit: 512)
        guard p.audiences.count <= 16 else { throw (path + "audiences").invalid("holds \(p.audiences.count) audiences; the limit is 16") }
        guard p.requiredClaims.count <= 16 else {
            throw (path + "required_claims").invalid("holds \(p.requiredClaims.count) claims; the limit is 16")
        }
        let keys: Keys
        switch p.keys {
        case .jwks(let json)?:
            try (path + "jwks").checkSize(json, limit: TokenIssuer.maximumKeySetBytes)
            keys = .inline(json)
        case .jwksFile(let file)?: keys = .file(file)
        case .jwksURL(let url)?: keys = .url(url)
        case .discovery(true)?: keys = .discovery
        case .discovery(false)?, nil:
            throw path.invalid("has no key source; set one of jwks, jwks_file, jwks_url or discovery")
        }
        self.init(
            name: p.name, issuer: p.issuer, audiences: p.audiences, userClaim: p.userClaim.isEmpty ? "sub" : p.userClaim,
            requiredClaims: p.requiredClaims, keys: keys,
            refreshInterval: p.hasRefreshInterval ? try p.refreshInterval.timeInterval(at: path + "refresh_interval") : 600,
            maximumStaleness: p.hasMaximumStaleness ? try p.maximumStaleness.timeInterval(at: path + "maximum_staleness") : 86_400)
    }

    /// The proto binding (every field set).
    package var proto: Redoubt_V1_TokenIssuer {
        var p = Redoubt_V1_TokenIssuer()
        p.name = name
        p.issuer = issuer
        p.audiences = audiences
        p.userClaim = userClaim
        p.requiredClaims = requiredClaims
        switch keys {
        case .inline(let json): p.jwks = json
        case .file(let path): p.jwksFile = path
        case .url(let url): p.jwksURL = url
        case .discovery: p.discovery = true
        }
        p.refreshInterval = Google_Protobuf_Duration(refreshInterval)
        p.maximumStaleness = Google_Protobuf_Duration(maximumStaleness)
        return p
    }
}
