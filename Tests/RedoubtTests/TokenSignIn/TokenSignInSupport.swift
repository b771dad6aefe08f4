import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
@testable import RedoubtTesting
import Synchronization
import _CryptoExtras

/// A signing key of a test token issuer, its public JWK, and tokens made with it by hand
/// (base64url JSON and swift-crypto signatures: no JWT library, so the HSM's is checked against
/// an independent maker).
struct IssuerKey: Sendable {
    enum Signer: Sendable {
        case rsa(_RSA.Signing.PrivateKey, pss: Bool)
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    let kid: String
    let alg: String
    let signer: Signer
    /// The public JWK (`alg` included when `declareAlgorithm`).
    let jwk: [String: String]

    static func rsa(kid: String, pss: Bool = false, declareAlgorithm: Bool = true) throws -> IssuerKey {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let primitives = try key.publicKey.getKeyPrimitives()
        var jwk = ["kty": "RSA", "kid": kid, "use": "sig", "n": b64(primitives.modulus), "e": b64(primitives.publicExponent)]
        let alg = pss ? "PS256" : "RS256"
        if declareAlgorithm { jwk["alg"] = alg }
        return IssuerKey(kid: kid, alg: alg, signer: .rsa(key, pss: pss), jwk: jwk)
    }

    static func p256(kid: String) -> IssuerKey {
        let key = P256.Signing.PrivateKey()
        let raw = key.publicKey.rawRepresentation
        return IssuerKey(
            kid: kid, alg: "ES256", signer: .p256(key),
            jwk: ["kty": "EC", "crv": "P-256", "kid": kid, "x": b64(raw.prefix(32)), "y": b64(raw.suffix(32))])
    }

    static func p384(kid: String) -> IssuerKey {
        let key = P384.Signing.PrivateKey()
        let raw = key.publicKey.rawRepresentation
        return IssuerKey(
            kid: kid, alg: "ES384", signer: .p384(key),
            jwk: ["kty": "EC", "crv": "P-384", "kid": kid, "x": b64(raw.prefix(48)), "y": b64(raw.suffix(48)), "alg": "ES384"])
    }

    static func ed25519(kid: String) -> IssuerKey {
        let key = Curve25519.Signing.PrivateKey()
        return IssuerKey(
            kid: kid, alg: "EdDSA", signer: .ed25519(key),
            jwk: ["kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(key.publicKey.rawRepresentation)])
    }

    /// The RSA public key's PEM (what an HMAC-confusion attacker signs with).
    var publicPEM: String? {
        if case .rsa(let key, _) = signer { return key.publicKey.pemRepresentation }
        return nil
    }

    func sign(_ input: Data) throws -> Data {
        switch signer {
        case .rsa(let key, let pss):
            return try key.signature(for: SHA256.hash(data: input), padding: pss ? .PSS : .insecurePKCS1v1_5).rawRepresentation
        case .p256(let key): return try key.signature(for: input).rawRepresentation
        case .p384(let key): return try key.signature(for: input).rawRepresentation
        case .ed25519(let key): return try key.signature(for: input)
        }
    }

    /// A token signed by this key; `header` entries override `alg`, `kid` and `typ`.
    func token(_ claims: [String: Any], header: [String: Any] = [:]) throws -> String {
        var h: [String: Any] = ["alg": alg, "kid": kid, "typ": "JWT"]
        for (name, value) in header { h[name] = value }
        let input = try IssuerKey.b64(IssuerKey.json(h)) + "." + IssuerKey.b64(IssuerKey.json(claims))
        return input + "." + IssuerKey.b64(try sign(Data(input.utf8)))
    }

    static func b64(_ data: some DataProtocol) -> String { HSMFixture.base64URL(data) }

    static func json(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// A key set of `keys`, as JSON.
    static func keySet(_ keys: [IssuerKey]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: ["keys": keys.map(\.jwk)], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A local HTTP server for key sets and OpenID configurations: documents by path, a count of
/// requests per path, and an optional delay before each answer (a slow issuer).
final class KeySetServer: Sendable {
    private struct State {
        var documents: [String: String] = [:]
        var hits: [String: Int] = [:]
        var delay: TimeAmount = .zero
    }

    private let state = Mutex(State())
    private let channel: any Channel
    let port: Int
    let scheme: String
    var base: String { "\(scheme)://127.0.0.1:\(port)" }

    private init(channel: any Channel, scheme: String) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.scheme = scheme
    }

    /// A server over plain HTTP, or over HTTPS with `tls` (a certificate chain and key, PEM files).
    static func start(tls: (certificate: String, key: String)? = nil) async throws -> KeySetServer {
        let box = Mutex<KeySetServer?>(nil)
        let context = try tls.map {
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile($0.certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: $0.key, format: .pem))))
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let context { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                }.flatMap { child.pipeline.configureHTTPServerPipeline() }.flatMapThrowing {
                    guard let server = box.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try child.pipeline.syncOperations.addHandler(Responder(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = KeySetServer(channel: channel, scheme: tls == nil ? "http" : "https")
        box.withLock { $0 = server }
        return server
    }

    func serve(_ path: String, _ body: String) { state.withLock { $0.documents[path] = body } }
    func remove(_ path: String) { state.withLock { $0.documents[path] = nil } }
    func hits(_ path: String) -> Int { state.withLock { $0.hits[path] ?? 0 } }
    func delay(_ amount: TimeAmount) { state.withLock { $0.delay = amount } }

    func stop() async {
        try? await channel.close()
    }

    fileprivate func answer(_ path: String) -> (String?, TimeAmount) {
        state.withLock {
            $0.hits[path, default: 0] += 1
            return ($0.documents[path], $0.delay)
        }
    }

    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: KeySetServer
        init(server: KeySetServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            let (document, delay) = server.answer(head.uri)
            let channel = context.channel
            channel.eventLoop.scheduleTask(in: delay) {
                let body = document ?? "not found"
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                headers.add(name: "Connection", value: "close")
                let status: HTTPResponseStatus = document == nil ? .notFound : .ok
                channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)), promise: nil)
                channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
                channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
