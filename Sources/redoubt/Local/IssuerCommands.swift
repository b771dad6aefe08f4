import ArgumentParser
import Foundation
import Redoubt

/// `redoubt issuers …`: the token issuers whose JWTs open sessions in the partition (security officer).
struct IssuersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issuers", abstract: "Bind, list and unbind the token issuers (OIDC providers) the partition trusts.",
        discussion: """
            A binding names an issuer (the tokens' `iss`), the audiences accepted, the claim that names \
            the Redoubt user (default `sub`), optional required claims, and where the issuer's signing \
            keys come from: a JWKS file inline in the binding (--jwks), a file each node reads \
            (--jwks-file), a URL (--jwks-url), or OpenID Connect discovery (--discovery). A JWT from a \
            bound issuer then opens a session: `--jwt-file`, or `authorization: Bearer <jwt>` on OpenSession.

            \(examples(
            "redoubt issuers bind corp --issuer https://login.example.com --audience redoubt --discovery \\\n--partition payments --api-key $OFFICER_KEY",
            "redoubt issuers bind ci --issuer https://ci.example.com --audience redoubt \\\n--user-claim repository --require environment=production --jwks-url https://ci.example.com/jwks",
            "redoubt keys list --partition payments --jwt-file token.jwt"))
            """,
        subcommands: [Bind.self, List.self, Unbind.self])

    struct Bind: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind a token issuer to the partition.",
            discussion: examples(
                "redoubt issuers bind corp --issuer https://login.example.com --audience redoubt --discovery",
                "redoubt issuers bind local --issuer https://idp.internal --audience hsm --jwks jwks.json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Binding name (1-64 of A-Z a-z 0-9 . _ -).") var name: String
        @Option(help: ArgumentHelp("The `iss` of the tokens, exactly.", valueName: "url")) var issuer: String
        @Option(name: .customLong("audience"), help: ArgumentHelp("An accepted `aud` (repeat for more).", valueName: "aud"))
        var audiences: [String] = []
        @Option(help: ArgumentHelp("The claim naming the Redoubt user.", valueName: "claim")) var userClaim = "sub"
        @Option(name: .customLong("require"), help: ArgumentHelp("A claim the token must carry, as name=value (repeat for more).", valueName: "claim=value"))
        var required: [String] = []
        @Option(help: ArgumentHelp("A JWKS file whose keys are stored in the binding.", valueName: "file")) var jwks: String?
        @Option(help: ArgumentHelp("An absolute path to a JWKS file each node reads (and re-reads).", valueName: "path")) var jwksFile: String?
        @Option(help: ArgumentHelp("The URL of the issuer's JWKS (https://).", valueName: "url")) var jwksURL: String?
        @Flag(help: "Find the keys by OpenID Connect discovery on the issuer URL.") var discovery = false
        @Option(help: ArgumentHelp("Seconds between refetches of the keys (default 600).", valueName: "seconds")) var refreshInterval: Double = 600
        @Option(help: ArgumentHelp("Seconds fetched keys stay in use while refetching fails (default 86400).", valueName: "seconds"))
        var maximumStaleness: Double = 86_400

        func validate() throws {
            let sources = [jwks != nil, jwksFile != nil, jwksURL != nil, discovery].filter { $0 }.count
            guard sources == 1 else { throw ValidationError("give exactly one of --jwks, --jwks-file, --jwks-url, --discovery") }
            guard !audiences.isEmpty else { throw ValidationError("give at least one --audience") }
            for claim in required where !claim.contains("=") { throw ValidationError("--require takes name=value, not \(claim)") }
        }

        func run(hsm: any HSM, session: SessionToken) async throws {
            let keys: TokenIssuer.Keys
            if let jwks {
                guard let text = try? String(contentsOfFile: jwks, encoding: .utf8) else { throw ValidationError("cannot read \(jwks)") }
                keys = .inline(text)
            } else if let jwksFile {
                keys = .file(jwksFile)
            } else if let jwksURL {
                keys = .url(jwksURL)
            } else {
                keys = .discovery
            }
            var claims: [String: String] = [:]
            for entry in required {
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                claims[String(parts[0])] = String(parts[1])
            }
            let bound = try await hsm.bindTokenIssuer(
                session,
                issuer: TokenIssuer(
                    name: name, issuer: issuer, audiences: audiences, userClaim: userClaim, requiredClaims: claims, keys: keys,
                    refreshInterval: refreshInterval, maximumStaleness: maximumStaleness))
            try output.show(IssuerJSON(bound), "token issuer \(bound.name) bound (\(bound.issuer), keys \(IssuerJSON(bound).keys))")
        }
    }

    struct List: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the partition's token issuers: name, issuer, audiences, user claim, keys.",
            discussion: examples("redoubt issuers list", "redoubt issuers list --json"))
        @OptionGroup var options: HSMOptions
        @OptionGroup var output: OutputOptions

        func run(hsm: any HSM, session: SessionToken) async throws {
            let issuers = try await hsm.listTokenIssuers(session).sorted { $0.name < $1.name }
            try output.list(issuers, as: "issuers", headers: ["NAME", "ISSUER", "AUDIENCES", "USER CLAIM", "KEYS"], json: IssuerJSON.init) {
                [$0.name, $0.issuer, $0.audiences.joined(separator: ","), $0.userClaim, IssuerJSON($0).keys]
            }
        }
    }

    struct Unbind: HSMCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unbind a token issuer: its tokens no longer open sessions.",
            discussion: examples("redoubt issuers unbind corp"))
        @OptionGroup var options: HSMOptions
        @Argument(help: "Binding name.") var name: String

        func run(hsm: any HSM, session: SessionToken) async throws {
            try await hsm.unbindTokenIssuer(session, name: name)
            print("unbound token issuer \(name)")
        }
    }
}

/// A binding as `--json` shows it (an inline key set by its size only).
struct IssuerJSON: Encodable {
    var name: String
    var issuer: String
    var audiences: [String]
    var userClaim: String
    var requiredClaims: [String: String]
    var keys: String
    var refreshInterval: Double
    var maximumStaleness: Double

    init(_ i: TokenIssuer) {
        name = i.name
        issuer = i.issuer
        audiences = i.audiences
        userClaim = i.userClaim
        requiredClaims = i.requiredClaims
        switch i.keys {
        case .inline(let json): keys = "inline (\(json.utf8.count) bytes)"
        case .file(let path): keys = "file \(path)"
        case .url(let url): keys = "url \(url)"
        case .discovery: keys = "discovery"
        }
        refreshInterval = i.refreshInterval
        maximumStaleness = i.maximumStaleness
    }
}
