import Foundation
import Redoubt
@testable import RedoubtClient
import RedoubtCrypto
import Synchronization
import Testing

/// ``RemoteHSMConfiguration/Coalescing``: the coalescer alone over stand-in sends (what waits,
/// what goes together, who gets which outcome), then RemoteHSM's concurrent calls through a real
/// broker. No sleeps: a test holds a call in flight itself and waits for the others to queue.
@Suite("RemoteHSM coalescing", .timeLimit(.minutes(1)))
struct RemoteHSMCoalescingTests {
    /// A call that stays in flight until ``release()``.
    final class Hold: Sendable {
        private let stream: AsyncStream<Void>
        private let sink: AsyncStream<Void>.Continuation

        init() { (stream, sink) = AsyncStream.makeStream(of: Void.self) }

        func wait() async {
            for await _ in stream { return }
        }

        func release() { sink.finish() }
    }

    /// Yields until `condition` holds (the test's time limit bounds it).
    static func until(_ condition: () -> Bool) async {
        while !condition() { await Task.yield() }
    }

    static let session = SessionToken("session-a")

    /// Occupies the session's one slot of `coalescer` (limit 1) with a call that returns `value`
    /// once the returned hold is released; returns when the slot is taken.
    static func holdSlot<Output: Sendable>(
        _ coalescer: Coalescer<Int, Output>, batch: @escaping Coalescer<Int, Output>.Batch, returning value: Output
    ) async -> (Hold, Task<Output, any Error>) {
        let hold = Hold()
        let first = Task {
            try await coalescer.perform(session, 0, batch: batch) {
                await hold.wait()
                return value
            }
        }
        await until { coalescer.counts(session).inFlight == 1 }
        return (hold, first)
    }

    @Test("calls beyond the limit wait and go in batches of at most batchItems, in order; each gets its own outcome")
    func queuedCallsGoInBatches() async throws {
        let coalescer = Coalescer<Int, String>(limit: 1, batchItems: 4)
        let batches = Mutex<[[Int]]>([])
        let batch: Coalescer<Int, String>.Batch = { _, items in
            batches.withLock { $0.append(items) }
            return items.map { $0 % 5 == 0 ? .failure(HSMError(.notFound, "item \($0) refused")) : .success("item \($0)") }
        }
        let (hold, first) = await Self.holdSlot(coalescer, batch: batch, returning: "single 0")
        let waiting = (1...10).map { i in
            Task {
                try await coalescer.perform(Self.session, i, batch: batch) {
                    Issue.record("call \(i) went alone")
                    return ""
                }
            }
        }
        await Self.until { coalescer.counts(Self.session).waiting == 10 }
        #expect(batches.withLock { $0.isEmpty }, "nothing is sent while the one call is in flight")
        hold.release()
        #expect(try await first.value == "single 0")
        for (i, task) in zip(1..., waiting) {
            let outcome = await task.result
            if i % 5 == 0 {
                #expect((outcome.failure as? HSMError) == HSMError(.notFound, "item \(i) refused"))
            } else {
                #expect(try outcome.get() == "item \(i)")
            }
        }
        // One batch at a time (the limit is 1), the waiting calls in arrival order, 4 at most.
        let sent = batches.withLock { $0 }
        #expect(sent.allSatisfy { $0.count <= 4 } && sent.count == 3)
        #expect(sent.flatMap { $0 }.sorted() == Array(1...10))
        await Self.until { coalescer.counts(Self.session) == (0, 0) }
        #expect(try await coalescer.perform(Self.session, 11, batch: batch) { "alone again" } == "alone again")
    }

    @Test("a batch that fails hands its error to every call in it; another session's calls do not wait")
    func failedBatchAndSessions() async throws {
        let coalescer = Coalescer<Int, Int>(limit: 1, batchItems: 100)
        let batch: Coalescer<Int, Int>.Batch = { _, _ in throw HSMError(.unavailable, "the broker went away") }
        let (hold, first) = await Self.holdSlot(coalescer, batch: batch, returning: 0)
        let waiting = (1...3).map { i in Task { try await coalescer.perform(Self.session, i, batch: batch) { i } } }
        await Self.until { coalescer.counts(Self.session).waiting == 3 }
        // Another session has its own lane: it goes at once.
        #expect(try await coalescer.perform(SessionToken("session-b"), 9, batch: batch) { 9 } == 9)
        hold.release()
        #expect(try await first.value == 0)
        for task in waiting {
            #expect((await task.result.failure as? HSMError) == HSMError(.unavailable, "the broker went away"))
        }
        await Self.until { coalescer.counts(Self.session) == (0, 0) }
    }

    @Test("a caller cancelled while it waits stops waiting (CANCELLED) and its item is not sent; the others go on")
    func cancelledWaiter() async throws {
        let coalescer = Coalescer<Int, Int>(limit: 1, batchItems: 100)
        let sent = Mutex<[[Int]]>([])
        let batch: Coalescer<Int, Int>.Batch = { _, items in
            sent.withLock { $0.append(items) }
            return items.map { .success($0 * 10) }
        }
        let (hold, first) = await Self.holdSlot(coalescer, batch: batch, returning: 0)
        let waiting = (1...3).map { i in Task { try await coalescer.perform(Self.session, i, batch: batch) { i } } }
        await Self.until { coalescer.counts(Self.session).waiting == 3 }
        waiting[1].cancel()
        #expect((await waiting[1].result.failure as? HSMError) == HSMError(.cancelled, "the call was cancelled"))
        #expect(coalescer.counts(Self.session).waiting == 2)
        // A task cancelled before it queues is refused at once.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await coalescer.perform(Self.session, 9, batch: batch) { 9 }
        }
        #expect((await early.result.failure as? HSMError)?.code == .cancelled)
        hold.release()
        #expect(try await first.value == 0)
        #expect(try await waiting[0].value == 10)
        #expect(try await waiting[2].value == 30)
        #expect(sent.withLock { $0 } == [[1, 3]])
        await Self.until { coalescer.counts(Self.session) == (0, 0) }
    }

    @Test(
        "64 concurrent signs through a coalescing RemoteHSM: all in batches while one call is held, each signature valid, a bad key's error as its single call's; a batch of 40 in RPCs of 16, in order"
    )
    func remoteSignsCoalesce() async throws {
        let served = try await RemoteHSMSupport.serve()
        var configuration = RemoteHSMConfiguration(endpoint: "127.0.0.1:\(served.port)")
        configuration.coalescing = .after(inFlight: 1)
        configuration.batchItems = 16
        let remote: RemoteHSM
        do {
            remote = try RemoteHSM(configuration: configuration).start()
        } catch {
            await served.stop()
            throw error
        }
        do {
            try await Self.signsCoalesce(remote, served)
        } catch {
            Issue.record(error)
        }
        await remote.close()
        await served.stop()
    }

    static func signsCoalesce(_ remote: RemoteHSM, _ served: RemoteHSMSupport.Served) async throws {
        let op = try await remote.openSession(partition: "", credential: .apiKey(served.operatorAPIKey))
        let partition = try await remote.createPartition(op.token, id: "co", settings: .defaults)
        let so = try await remote.openSession(partition: "co", credential: .apiKey(partition.securityOfficerAPIKey))
        let user = try await remote.addUser(so.token, name: "u", role: .cryptoUser, password: nil)
        let session = try await remote.openSession(partition: "co", credential: .apiKey(user.apiKey)).token
        let key = try await remote.generateKey(session, spec: KeySpec(algorithm: .p256, label: "co"))
        let verifying = try VerifyingKey(try await remote.exportPublicKey(session, id: key.id, version: nil))
        let missing = "k" + String(repeating: "0", count: 32)
        let singleError = await #expect(throws: HSMError.self) {
            try await remote.sign(session, key: missing, input: .message(Data("x".utf8)), scheme: .ecdsa(.sha256))
        }

        // Hold the session's one slot, as a slow call would.
        let coalescer = try #require(remote.coalescers?.sign)
        let hold = Hold()
        let held = Task {
            try await coalescer.perform(session, SignItem(key: key.id, input: .message(Data()), scheme: .ecdsa(.sha256)), batch: { _, _ in [] }) {
                await hold.wait()
                return SignatureResult(signature: Data(), version: 0)
            }
        }
        await Self.until { coalescer.counts(session).inFlight == 1 }
        // A call with a deadline is never held back.
        let urgent = try await HSMCallContext.$deadline.withValue(Date().addingTimeInterval(30)) {
            try await remote.sign(session, key: key.id, input: .message(Data("urgent".utf8)), scheme: .ecdsa(.sha256))
        }
        #expect(try verifying.isValidSignature(urgent.signature, for: .message(Data("urgent".utf8)), scheme: .ecdsa(.sha256)))
        let messages = (0..<64).map { Data("message \($0)".utf8) }
        let calls = messages.enumerated().map { i, message in
            Task { try await remote.sign(session, key: i % 16 == 7 ? missing : key.id, input: .message(message), scheme: .ecdsa(.sha256)) }
        }
        await Self.until { coalescer.counts(session).waiting == 64 }
        hold.release()
        _ = try await held.value
        for (i, call) in calls.enumerated() {
            let outcome = await call.result
            if i % 16 == 7 {
                #expect((outcome.failure as? HSMError) == singleError, "call \(i)")
            } else {
                let signature = try outcome.get()
                #expect(signature.version == 1)
                #expect(try verifying.isValidSignature(signature.signature, for: .message(messages[i]), scheme: .ecdsa(.sha256)), "call \(i)")
            }
        }
        await Self.until { coalescer.counts(session) == (0, 0) }

        // A batch larger than batchItems (16) goes in several RPCs; the outcomes stay in order.
        let many = (0..<40).map { Data("batch item \($0)".utf8) }
        let outcomes = try await remote.signBatch(session, many.map { SignItem(key: key.id, input: .message($0), scheme: .ecdsa(.sha256)) })
        #expect(outcomes.count == 40)
        for (i, outcome) in outcomes.enumerated() {
            #expect(try verifying.isValidSignature(try outcome.get().signature, for: .message(many[i]), scheme: .ecdsa(.sha256)), "item \(i)")
        }

        // A closed session: the call fails as a single call does.
        try await remote.closeSession(session)
        let afterClose = await #expect(throws: HSMError.self) {
            try await remote.sign(session, key: key.id, input: .message(Data("y".utf8)), scheme: .ecdsa(.sha256))
        }
        #expect(afterClose?.code == .unauthenticated)
    }

    @Test("configuration: batchItems and coalescing out of range are refused")
    func configurationChecks() {
        var configuration = RemoteHSMConfiguration(endpoint: "127.0.0.1:1")
        configuration.batchItems = 0
        #expect(throws: HSMError(.invalidArgument, "batchItems must be 1 to 100000; got 0")) { try RemoteHSM(configuration: configuration) }
        configuration.batchItems = 10
        configuration.coalescing = .after(inFlight: 0)
        #expect(throws: HSMError(.invalidArgument, "coalescing needs at least 1 call in flight; got 0")) { try RemoteHSM(configuration: configuration) }
    }
}

extension Result {
    /// The error of a failure, `nil` for a success.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
