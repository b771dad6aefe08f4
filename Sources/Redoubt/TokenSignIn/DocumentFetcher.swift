import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Fetches one small JSON document (an OpenID configuration, a key set) with `GET` over
/// HTTP/1.1: TLS with the system's trust roots (or the CA file given) for `https://`, plain TCP for `http://` (which
/// ``TokenIssuer/checkFetchURL(_:field:)`` allows only on loopback). Connection, TLS handshake
/// and response together must finish within the timeout; a body beyond the limit, a status other
/// than 200 or a redirect fails. NIO's HTTP codec parses the response.
enum DocumentFetcher {
    /// Why a fetch failed, in words fit for a log (never any response body).
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func get(_ address: String, timeout: TimeInterval, limit: Int, trustRoots: String? = nil) async throws -> Data {
        guard let url = URLComponents(string: address), let host = url.host, !host.isEmpty,
            let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http"
        else { throw Failure(description: "not an http(s) URL") }
        let tls = scheme == "https"
        let port = url.port ?? (tls ? 443 : 80)
        var target = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        if let query = url.percentEncodedQuery { target += "?" + query }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let isAddress = (try? SocketAddress(ipAddress: bareHost, port: port)) != nil
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let trustRoots { configuration.trustRoots = .file(trustRoots) }
        let context = tls ? try NIOSSLContext(configuration: configuration) : nil

        let budget = TimeAmount.nanoseconds(Int64(max(timeout, 0.001) * 1_000_000_000))
        let deadline = NIODeadline.now() + budget
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Data.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(budget)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : bareHost)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, limit: limit))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: bareHost, port: port).get()
        } catch {
            promise.fail(error)
            throw Failure(description: "cannot connect to \(host):\(port) (\(Self.describe(error)))")
        }
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(Failure(description: "no complete answer from \(host):\(port) within \(timeout) s"))
            channel.close(promise: nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "redoubt")
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            let body = try await promise.futureResult.get()
            timer.cancel()
            channel.close(promise: nil)
            return body
        } catch let failure as Failure {
            timer.cancel()
            channel.close(promise: nil)
            throw failure
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            throw Failure(description: "fetching from \(host):\(port) failed (\(Self.describe(error)))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        String(describing: error).prefix(200).description
    }
}

/// Collects one response: status 200, a body of at most `limit` bytes.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<Data>
    private let limit: Int
    private var body = Data()

    init(promise: EventLoopPromise<Data>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status == .ok else {
                fail(context, "the server answered \(head.status.code) \(head.status.reasonPhrase), not 200")
                return
            }
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= limit else {
                fail(context, "the document is larger than \(limit) bytes")
                return
            }
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            promise.succeed(body)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DocumentFetcher.Failure(description: "the connection closed before the answer was complete"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(String(describing: error).prefix(200))")
    }

    private func fail(_ context: ChannelHandlerContext, _ why: String) {
        promise.fail(DocumentFetcher.Failure(description: why))
        context.close(promise: nil)
    }
}
