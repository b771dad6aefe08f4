import Foundation
import GRPCCore
import Redoubt
import RedoubtCrypto
@testable import RedoubtClient
@testable import RedoubtBroker
import RedoubtProto
import RedoubtTesting
import SwiftProtobuf
import Synchronization
import Testing

/// Resource abuse against the deployed broker: oversized and malformed messages, batches over
/// the limit, floods of sessions and calls, clients that stall — and the server must answer
/// everyone else promptly, keep its memory bounded, and never crash.
@Suite("Adversarial: resource abuse", .serialized)
struct AdversarialAbuseTests {
    typealias A = AdversarialArena

    /// Small limits so abuse is cheap: 64 KiB messages, 1 KiB payloads, 8-item batches.
    static var tight: BrokerConfiguration.Limits {
        var limits = A.unlimited
        limits.maximumMessageBytes = 64 << 10
        limits.maximumPayloadBytes = 1024
        limits.maximumBatchItems = 8
        limits.maximumStreamInFlight = 16
        return limits
    }

    /// How long another client's call may take while the server is under abuse.
    static let promptly = Duration.seconds(2)

    /// How a message over the transport's maximum is refused. grpc-swift-nio-transport's server
    /// decoder raises RESOURCE_EXHAUSTED, but its stream handler then resets the HTTP/2 stream
    /// (RST_STREAM CANCEL) instead of sending that status, so a client sees UNAVAILABLE
    /// "Stream unexpectedly closed". Either is a refusal by the transport, before any handler.
    static func isTransportRefusal(_ r: Refusal) -> Bool {
        r.code == .resourceExhausted || (r.code == .unavailable && r.message.contains("RST_STREAM"))
    }

    static func sign(_ key: String, _ bytes: Int) -> Redoubt_V1_SignRequest {
        Redoubt_V1_SignRequest(key: key, input: .message(Data(repeating: 0x5a, count: bytes)), scheme: .ed25519)
    }

    /// A GetKey on a connection of its own, timed; fails the test if it fails or is slow.
    static func bystander(_ arena: A, _ person: A.Tenant.Person, _ key: String, _ what: String) async throws -> Duration {
        let (_, elapsed) = try await timed {
            try await arena.connection { c in _ = try await A.keys(c).getKey(.init(keyID: key), metadata: person.metadata) }
        }
        #expect(elapsed < promptly, "\(what): another client waited \(elapsed)")
        return elapsed
    }

    @Test("over the message size: refused by the transport, never reaching the HSM; over the payload or batch limit: INVALID_ARGUMENT naming it; still serving")
    func sizeLimits() async throws {
        try await A.run(limits: Self.tight) { arena in
            let a = try await arena.tenant("tenant-a", operator: try await arena.operatorSession())
            let key = try await arena.key(a.user, .ed25519)
            let m = a.user.metadata

            let auditBefore = try await arena.snapshot(a).audit.count
            let tooBig = await refusal("a 100 KiB message") { _ = try await arena.crypto.sign(Self.sign(key.id, 100 << 10), metadata: m) }
            #expect(tooBig.map(Self.isTransportRefusal) == true, "\(tooBig.map(\.description) ?? "")")
            // It never reached the HSM (no key use audited), and the same connection goes on.
            #expect(try await arena.snapshot(a).audit.count == auditBefore)
            #expect(try await arena.crypto.sign(Self.sign(key.id, 16), metadata: m).signature.count == 64)

            let payload = await refusal("a 2000-byte payload") { _ = try await arena.crypto.sign(Self.sign(key.id, 2000), metadata: m) }
            #expect(payload?.code == .invalidArgument)
            #expect(payload?.message.contains("input.message is 2000 bytes; the limit is 1024") == true, "\(payload.map(\.description) ?? "")")

            let nine = Redoubt_V1_SignBatchRequest(items: Array(repeating: Self.sign(key.id, 16), count: 9))
            let batch = await refusal("a 9-item batch") { _ = try await arena.crypto.signBatch(nine, metadata: m) }
            #expect(batch?.code == .invalidArgument)
            #expect(batch?.message.contains("items has 9 items; the limit is 8") == true, "\(batch.map(\.description) ?? "")")

            let bigItem = Redoubt_V1_SignBatchRequest(items: [Self.sign(key.id, 16), Self.sign(key.id, 1025)])
            let item = await refusal("a batch with a 1025-byte item") { _ = try await arena.crypto.signBatch(bigItem, metadata: m) }
            #expect(item?.code == .invalidArgument)
            #expect(item?.message.contains("items[1].input.message is 1025 bytes; the limit is 1024") == true, "\(item.map(\.description) ?? "")")

            let eight = Redoubt_V1_SignBatchRequest(items: Array(repeating: Self.sign(key.id, 16), count: 8))
            #expect(try await arena.crypto.signBatch(eight, metadata: m).items.allSatisfy { (try? $0.outcome?.get()) != nil })
        }
    }

    @Test("garbage, deeply nested and unknown-field-flooded protobuf bytes: refused or ignored, never a crash; still serving")
    func malformedMessages() async throws {
        try await A.run(limits: Self.tight) { arena in
            let a = try await arena.tenant("tenant-a", operator: try await arena.operatorSession())
            let key = try await arena.key(a.user, .ed25519)
            let m = a.user.metadata
            let valid: [UInt8] = try Self.sign(key.id, 16).serializedBytes()
            var unknownFlood = valid
            for _ in 0..<20_000 { unknownFlood += [0xf8, 0x07, 0x01] }  // field 127, varint 1 — unknown, 60 KB of it
            var rng = SystemRandomNumberGenerator()
            let inputs: [(String, [UInt8])] = [
                ("random bytes", (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }),
                ("60,000 nested start-group tags", [UInt8](repeating: 0x0b, count: 60_000)),
                ("nested groups inside the scheme", [0x1a, 0x80, 0xd4, 0x03] + [UInt8](repeating: 0x0b, count: 60_000)),
                ("a length of 4 GiB", [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41]),
                ("a truncated varint", [0x08, 0xff, 0xff]),
                ("wire type 7", [0x0f, 0x00]),
                ("an end-group without a start", [0x0c]),
                ("a string of invalid UTF-8", [0x0a, 0x04, 0xff, 0xfe, 0xc0, 0x80]),
                ("a valid request, truncated", Array(valid.dropLast(3))),
                ("a valid request drowned in unknown fields", unknownFlood),
            ]
            for (what, bytes) in inputs {
                do {
                    let answer = try await AdversarialWire.call(arena.grpc, Redoubt_V1_CryptoService.Method.Sign.descriptor, bytes: bytes, metadata: m)
                    // Only the flood of unknown fields may be accepted: proto3 ignores them.
                    #expect(what.contains("unknown fields"), "\(what) was accepted")
                    #expect(try Redoubt_V1_SignResponse(serializedBytes: answer).signature.count == 64, "\(what)")
                } catch let error as RPCError {
                    #expect([.invalidArgument, .internalError].contains(error.code), "\(what): \(error)")
                }
                // The same connection, and a fresh one, are served at once.
                #expect(try await arena.crypto.sign(Self.sign(key.id, 16), metadata: m).signature.count == 64, "after \(what)")
                _ = try await Self.bystander(arena, a.user, key.id, what)
            }
        }
    }

    @Test("500 sessions open; another client's call still answers promptly, and every session works")
    func manySessions() async throws {
        try await A.run { arena in
            let a = try await arena.tenant("tenant-a", operator: try await arena.operatorSession())
            let key = try await arena.key(a.user, .ed25519)
            let rssBefore = residentBytes()
            let (tokens, opening) = try await timed {
                try await withThrowingTaskGroup(of: [String].self) { group in
                    for worker in 0..<20 {
                        group.addTask {
                            try await arena.connection { c in
                                var mine: [String] = []
                                for _ in stride(from: worker, to: 500, by: 20) {
                                    mine.append(try await arena.open("tenant-a", apiKey: a.user.apiKey, on: c).token)
                                }
                                return mine
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            #expect(Set(tokens).count == 500)
            let latency = try await Self.bystander(arena, a.officer, key.id, "500 sessions open")
            // Every one of them is a working session.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: 500, by: 50) {
                    group.addTask {
                        for token in tokens[chunk..<chunk + 50] {
                            _ = try await arena.keys.getKey(.init(keyID: key.id), metadata: A.bearer(token))
                        }
                    }
                }
                try await group.waitForAll()
            }
            print("adversarial: opened 500 sessions in \(opening); a bystander's GetKey took \(latency); RSS grew \((residentBytes() - rssBefore) >> 10) KiB")
        }
    }

    @Test("a principal over its rate gets RESOURCE_EXHAUSTED while another session is served; a forged token naming that session spends nothing of its budget")
    func rateLimit() async throws {
        var limits = A.unlimited
        limits.requestsPerSecond = 2
        limits.burst = 20
        // The limiter's time stands still but when the test moves it, so what it refuses does
        // not depend on how fast this machine makes calls.
        let clock = ManualClock()
        try await A.run(limits: limits, clock: clock) { arena in
            let a = try await arena.tenant("tenant-a", operator: try await arena.operatorSession())
            let key = try await arena.key(a.user, .ed25519)
            let get = Redoubt_V1_GetKeyRequest(keyID: key.id)

            // The attacker's own session floods: 100 calls, as fast as they go.
            var codes: [RPCError.Code?] = []
            for _ in 0..<100 {
                do {
                    _ = try await arena.keys.getKey(get, metadata: a.user.metadata)
                    codes.append(nil)
                } catch let e as RPCError { codes.append(e.code) } catch { codes.append(.unknown) }
            }
            // Exactly the burst is served (less the key's creation above, a call of this session
            // too), then every call is refused: no time passes to refill a token.
            let served = codes.prefix { $0 == nil }.count
            #expect(served == 20 - 1, "\(codes)")
            #expect(codes.dropFirst(served).allSatisfy { $0 == .resourceExhausted }, "\(codes)")
            let message = await refusal("one more") { _ = try await arena.keys.getKey(get, metadata: a.user.metadata) }
            #expect(message?.code == .resourceExhausted)
            #expect(message?.message.contains("rate limit") == true)
            // Another session of the same partition, on the same connection, is served.
            _ = try await arena.keys.getKey(get, metadata: a.officer.metadata)

            // A forged token with the officer's session id and a made-up secret: refused, and it
            // takes nothing from the officer's own budget.
            let forged = A.bearer("rds1.\(a.officer.session.sessionID).made-up-secret")
            for _ in 0..<60 { _ = try? await arena.keys.getKey(get, metadata: forged) }
            let officer = await outcome { _ = try await arena.keys.getKey(get, metadata: a.officer.metadata) }
            #expect(officer == nil, "the officer was throttled by someone else's forged token: \(officer.map(\.description) ?? "")")

            // Time refills the bucket at the rate: half a second later, one call and no more.
            clock.advance(by: .milliseconds(499))
            #expect(await outcome { _ = try await arena.keys.getKey(get, metadata: a.user.metadata) }?.code == .resourceExhausted)
            clock.advance(by: .milliseconds(1))
            #expect(await outcome { _ = try await arena.keys.getKey(get, metadata: a.user.metadata) } == nil)
            #expect(await outcome { _ = try await arena.keys.getKey(get, metadata: a.user.metadata) }?.code == .resourceExhausted)
        }
    }

    @Test("a SignStream never read, empty streams, and connections stalled mid-message do not hold up other clients")
    func slowClients() async throws {
        try await A.run(limits: Self.tight) { arena in
            let a = try await arena.tenant("tenant-a", operator: try await arena.operatorSession())
            let key = try await arena.key(a.user, .ed25519)
            let request = Self.sign(key.id, 512)
            let written = Counter()
            let latencies = try await withThrowingTaskGroup(of: Void.self, returning: [Duration].self) { group in
                // 1. A stream that sends sign requests as fast as it may and never reads an answer.
                group.addTask {
                    try? await arena.connection { c in
                        try await A.crypto(c).signStream(
                            metadata: a.user.metadata,
                            requestProducer: { writer in
                                for i in 0..<1_000_000 {
                                    try await writer.write(Redoubt_V1_SignStreamRequest(id: UInt64(i), request: request))
                                    written.add()
                                }
                            }, onResponse: { _ in try await Task.sleep(for: .seconds(120)) })
                    }
                }
                // 2. Streams that are opened and then say nothing.
                for _ in 0..<20 {
                    group.addTask {
                        try? await arena.connection { c in
                            try await A.crypto(c).signStream(
                                metadata: a.user.metadata, requestProducer: { _ in try await Task.sleep(for: .seconds(120)) },
                                onResponse: { _ in try await Task.sleep(for: .seconds(120)) })
                        }
                    }
                }
                // 3. Raw connections that announce a 4 KiB message, send 10 bytes of it, and stall;
                //    and raw connections that stop halfway through the HTTP/2 preface.
                var sockets: [AdversarialWire.Socket] = []
                defer { sockets.forEach { $0.close() } }
                for i in 0..<40 {
                    let socket = try AdversarialWire.Socket(port: arena.port)
                    sockets.append(socket)
                    if i % 2 == 0 {
                        socket.write(AdversarialWire.halfCall(path: "/redoubt.v1.CryptoService/Sign", token: a.user.token, announced: 4096, sent: 10))
                        #expect(socket.readSome() > 0, "the broker did not answer the stalled connection's preface")
                    } else {
                        socket.write(Array(AdversarialWire.preface.prefix(10)))
                    }
                }
                // Give the unread stream time to fill every window and buffer (a bounded wait, not an assertion).
                let deadline = ContinuousClock.now + .seconds(10)
                var last = -1
                while ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    let now = written.value
                    if now == last { break }
                    last = now
                }
                #expect(written.value < 1_000_000, "the unread stream was never held back")
                var latencies: [Duration] = []
                for i in 0..<5 { latencies.append(try await Self.bystander(arena, a.officer, key.id, "slow clients #\(i)")) }
                // The main connection, with its own session, signs too.
                let (_, signing) = try await timed { _ = try await arena.crypto.sign(Self.sign(key.id, 16), metadata: a.user.metadata) }
                #expect(signing < Self.promptly)
                group.cancelAll()
                return latencies + [signing]
            }
            print("adversarial: with stalled clients (unread stream held back after \(written.value) requests), other calls took \(latencies)")
        }
    }

    @Test("a flood of oversized requests leaves resident memory bounded, and a bystander is served throughout")
    func memoryUnderFlood() async throws {
        try await A.run(limits: Self.tight) { arena in
            let a = try await arena.tenant("tenant-a", operator: try await arena.operatorSession())
            let key = try await arena.key(a.user, .ed25519)
            let huge = Self.sign(key.id, 1 << 20)  // 1 MiB against a 64 KiB limit
            func flood(_ count: Int) async throws -> Int {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for worker in 0..<4 {
                        group.addTask {
                            try await arena.connection { c in
                                var refused = 0
                                for _ in stride(from: worker, to: count, by: 4) {
                                    let r = await outcome { _ = try await A.crypto(c).sign(huge, metadata: a.user.metadata) }
                                    if let r, Self.isTransportRefusal(r) { refused += 1 }
                                }
                                return refused
                            }
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            #expect(try await flood(40) == 40)  // warm-up: the allocator and NIO reach their working sizes
            let before = residentBytes()
            let (refused, bystanders) = try await withThrowingTaskGroup(of: Void.self, returning: (Int, [Duration]).self) { group in
                let slowest = Slowest()
                group.addTask {
                    while !Task.isCancelled {
                        slowest.record(try await Self.bystander(arena, a.officer, key.id, "during the flood"))
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                let refused = try await flood(400)
                group.cancelAll()
                return (refused, slowest.all)
            }
            let growth = residentBytes() - before
            // 400 MiB was sent. A server that kept even half of every refused message would grow by
            // 200 MiB; a bounded one holds at most a few in-flight frames (4 connections × 64 KiB
            // window) plus allocator slack — a few MiB.
            #expect(refused == 400)
            #expect(growth < 200 << 20, "resident memory grew \(growth >> 20) MiB over 400 MiB of oversized requests")
            #expect(try await arena.crypto.sign(Self.sign(key.id, 16), metadata: a.user.metadata).signature.count == 64)
            print(
                "adversarial: 400 × 1 MiB oversized requests refused; RSS grew \(growth >> 10) KiB; bystander calls \(bystanders.count), slowest \(bystanders.max() ?? .zero)"
            )
        }
    }
}

/// The refusal of `body`, or nil if it succeeded.
func outcome(_ body: () async throws -> Void) async -> Refusal? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return Refusal(code: error.code, message: error.message)
    } catch {
        return Refusal(code: .unknown, message: "\(error)")
    }
}

/// A count shared between tasks.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// Durations recorded from several tasks.
final class Slowest: Sendable {
    private let durations = Mutex<[Duration]>([])
    func record(_ d: Duration) { durations.withLock { $0.append(d) } }
    var all: [Duration] { durations.withLock { $0 } }
}
