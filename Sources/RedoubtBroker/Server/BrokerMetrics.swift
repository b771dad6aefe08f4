import Foundation
import GRPCCore
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Redoubt
import RedoubtClient
import Synchronization

/// The broker's metrics, through swift-metrics into a Prometheus registry of its own (no
/// process-wide bootstrap, so several brokers can live in one process):
///
/// - `redoubt_rpc_calls_total{method, code}`: calls by method and gRPC status;
/// - `redoubt_rpc_duration_seconds{method}`: latency histogram by method.
public final class BrokerMetrics: Sendable {
    /// The registry that holds every metric; ``prometheusText()`` renders it.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let counters = ContendedLock<[String: Metrics.Counter]>([:])
    private let timers = ContendedLock<[String: Metrics.Timer]>([:])
    private let refreshers = Mutex<[@Sendable (BrokerMetrics) -> Void]>([])

    /// Metrics in a new registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        self.factory = factory
    }

    /// Counts one finished call.
    func record(method: String, code: Status.Code, duration: Duration) {
        let codeName = "\(code)"
        let key = method + "\u{0}" + codeName
        let counter = counters.withLock { c in
            if let existing = c[key] { return existing }
            let new = Metrics.Counter(label: "redoubt_rpc_calls_total", dimensions: [("method", method), ("code", codeName)], factory: factory)
            c[key] = new
            return new
        }
        counter.increment()
        let timer = timers.withLock { t in
            if let existing = t[method] { return existing }
            let new = Metrics.Timer(label: "redoubt_rpc_duration_seconds", dimensions: [("method", method)], factory: factory)
            t[method] = new
            return new
        }
        timer.record(duration: duration)
    }

    /// The Prometheus text exposition of every metric, after running every refresher
    /// (``refreshOnScrape(_:)``) so that gauges of state show it as of this call.
    public func prometheusText() -> String {
        for refresh in refreshers.withLock({ $0 }) { refresh(self) }
        return registry.emitToString()
    }

    /// Adds `refresh`, run at the start of every ``prometheusText()`` (every scrape): for gauges
    /// that mirror state read cheaply on demand, such as a router's node states
    /// (``recordRouter(_:)``), instead of a task that copies it on a timer.
    public func refreshOnScrape(_ refresh: @escaping @Sendable (BrokerMetrics) -> Void) {
        refreshers.withLock { $0.append(refresh) }
    }
}

/// A minimal HTTP/1.1 server for `GET /metrics` (Prometheus text format); anything else is 404.
final class MetricsEndpoint: Sendable {
    private let channel: any Channel

    /// The bound address (port 0 resolved).
    var port: Int? { channel.localAddress?.port }

    private init(channel: any Channel) { self.channel = channel }

    /// Binds and starts serving.
    static func start(host: String, port: Int, metrics: BrokerMetrics) async throws -> MetricsEndpoint {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(metrics: metrics))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return MetricsEndpoint(channel: channel)
    }

    /// Stops listening.
    func close() async {
        try? await channel.close()
    }
}

private final class MetricsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: BrokerMetrics
    private var path: String?
    private var keepAlive = false

    init(metrics: BrokerMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.method == .GET ? head.uri : nil
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let found = path == "/metrics"
            let body = found ? metrics.prometheusText() : "not found: the metrics are at GET /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: "\(body.utf8.count)")
            headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let promise = context.eventLoop.makePromise(of: Void.self)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
                let channel = context.channel
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

extension BrokerMetrics {
    /// Records one scheduled backup:
    ///
    /// - `redoubt_backups_total{result}`: backups written (`ok`) or failed (`error`);
    /// - `redoubt_backup_duration_seconds`: how long each took;
    /// - `redoubt_backup_last_success_timestamp_seconds`, `redoubt_backup_last_size_bytes`: the
    ///   latest good one (alert when the timestamp grows old).
    func recordBackup(ok: Bool, duration: Duration, bytes: Int64, finishedAt: Date) {
        Metrics.Counter(label: "redoubt_backups_total", dimensions: [("result", ok ? "ok" : "error")], factory: factory).increment()
        Metrics.Timer(label: "redoubt_backup_duration_seconds", dimensions: [], factory: factory).record(duration: duration)
        guard ok else { return }
        Metrics.Gauge(label: "redoubt_backup_last_success_timestamp_seconds", dimensions: [], factory: factory)
            .record(finishedAt.timeIntervalSince1970)
        Metrics.Gauge(label: "redoubt_backup_last_size_bytes", dimensions: [], factory: factory).record(Double(bytes))
    }
}

extension BrokerMetrics {
    /// Records the state of a router's nodes (a broker in front of nodes):
    ///
    /// - `redoubt_router_node_up{node, site}`: 1 while the node takes calls (healthy, not ejected);
    /// - `redoubt_router_node_ejected{node, site}`: 1 while ejected after consecutive failures;
    /// - `redoubt_router_node_requests{node, site}`, `redoubt_router_node_failures{node, site}`: attempts sent and failed.
    public func recordRouter(_ statuses: [FailoverEndpointStatus]) {
        for s in statuses {
            let dimensions = [("node", s.name), ("site", s.site)]
            Metrics.Gauge(label: "redoubt_router_node_up", dimensions: dimensions, factory: factory).record(s.healthy && !s.ejected ? 1 : 0)
            Metrics.Gauge(label: "redoubt_router_node_ejected", dimensions: dimensions, factory: factory).record(s.ejected ? 1 : 0)
            Metrics.Gauge(label: "redoubt_router_node_requests", dimensions: dimensions, factory: factory).record(Double(s.requests))
            Metrics.Gauge(label: "redoubt_router_node_failures", dimensions: dimensions, factory: factory).record(Double(s.failures))
        }
    }
}
