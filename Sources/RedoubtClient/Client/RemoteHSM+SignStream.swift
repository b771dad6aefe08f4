import Foundation
import GRPCCore
import RedoubtCore
import RedoubtProto

extension RemoteHSM {
    /// Runs `body` with one `SignStream` RPC open under `session`: every ``SignStream/sign(key:input:scheme:)``
    /// made through it, from any number of tasks, travels on that one bidirectional stream, and its
    /// answer comes back as soon as the broker has it (in whatever order). The fastest way for a
    /// Swift caller to sign many things at once under one session; the broker keeps up to its
    /// `limits.maximumStreamInFlight` (256) requests in progress.
    ///
    /// Each signature's outcome is what ``sign(_:key:input:scheme:)`` gives, errors and pending
    /// approvals included. The stream has no deadline of its own (it lives as long as `body`); a
    /// session that stops being valid, or a lost connection, fails every signature waiting and
    /// every later one with that error. When `body` returns, the stream is closed once the
    /// signatures in flight are answered, and the stream refuses new ones.
    ///
    /// ```swift
    /// let signatures = try await hsm.withSignStream(session) { stream in
    ///     try await withThrowingTaskGroup(of: SignatureResult.self) { group in
    ///         for message in messages {
    ///             group.addTask { try await stream.sign(key: keyID, input: .message(message), scheme: .ecdsa(.sha256)) }
    ///         }
    ///         return try await group.reduce(into: []) { $0.append($1) }
    ///     }
    /// }
    /// ```
    public func withSignStream<Result: Sendable>(
        _ session: SessionToken, _ body: (SignStream) async throws -> Result
    ) async throws -> Result {
        let metadata = try Bearer.session(session).metadata()
        let stream = SignStream()
        let options: CallOptions = {
            var options = CallOptions.defaults
            options.timeout = nil
            return options
        }()
        let crypto = self.crypto
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await crypto.signStream(metadata: metadata, options: options) { writer in
                        for await request in stream.requests { try await writer.write(request) }
                    } onResponse: { response in
                        for try await message in response.messages { stream.answer(message) }
                    }
                    stream.end(HSMError(.unavailable, "the broker ended the sign stream"))
                } catch {
                    stream.end(StatusMapping.modelError(forCall: error))
                }
            }
            let result: Result
            do {
                result = try await body(stream)
            } catch {
                stream.finish()
                try? await group.waitForAll()
                throw error
            }
            stream.finish()
            try await group.waitForAll()
            return result
        }
    }
}

/// One `SignStream` RPC shared by concurrent signers; made by ``RemoteHSM/withSignStream(_:_:)``.
public final class SignStream: Sendable {
    private struct State {
        var nextID: UInt64 = 0
        var waiting: [UInt64: CheckedContinuation<SignatureResult, any Error>] = [:]
        /// Why the stream takes no more requests (set once it has ended or was finished).
        var ended: (any Error)?
        /// Whether the caller's body returned: the requests end once nothing waits.
        var finishing = false
    }

    private let state = ContendedLock(State())
    let requests: AsyncStream<Redoubt_V1_SignStreamRequest>
    private let sink: AsyncStream<Redoubt_V1_SignStreamRequest>.Continuation

    init() {
        (requests, sink) = AsyncStream.makeStream(of: Redoubt_V1_SignStreamRequest.self)
    }

    /// Signs on the stream with the key's latest version: the outcome of
    /// ``RemoteHSM/sign(_:key:input:scheme:)`` with the stream's session.
    public func sign(key: String, input: SigningInput, scheme: SignatureScheme) async throws -> SignatureResult {
        let request = Redoubt_V1_SignRequest(key: key, input: input, scheme: scheme)
        return try await withCheckedThrowingContinuation { continuation in
            let admitted = state.withLock { s -> Swift.Result<UInt64, any Error> in
                if s.finishing { return .failure(HSMError(.failedPrecondition, "the sign stream is closed: its body returned")) }
                if let ended = s.ended { return .failure(ended) }
                s.nextID += 1
                s.waiting[s.nextID] = continuation
                return .success(s.nextID)
            }
            switch admitted {
            case .success(let id): sink.yield(Redoubt_V1_SignStreamRequest(id: id, request: request))
            case .failure(let refusal): continuation.resume(throwing: refusal)
            }
        }
    }

    /// Hands an answer to the signer waiting for it.
    func answer(_ message: Redoubt_V1_SignStreamResponse) {
        let (continuation, last) = state.withLock { s in
            (s.waiting.removeValue(forKey: message.id), s.finishing && s.waiting.isEmpty)
        }
        let outcome: Swift.Result<SignatureResult, any Error>
        switch message.result {
        case .response(let response):
            do {
                if let pending = try StatusMapping.pendingError(for: response) {
                    outcome = .failure(pending)
                } else {
                    outcome = .success(response.model)
                }
            } catch {
                outcome = .failure(StatusMapping.malformedResponse(error))
            }
        case .error(let detail):
            outcome = .failure(HSMError(detail))
        case nil:
            outcome = .failure(HSMError(.internalError, "the server sent a stream answer without a result"))
        }
        continuation?.resume(with: outcome)
        if last { sink.finish() }
    }

    /// The caller's body returned: no new requests; the stream ends once the waiting ones are answered.
    func finish() {
        let idle = state.withLock { s in
            s.finishing = true
            return s.waiting.isEmpty
        }
        if idle { sink.finish() }
    }

    /// The RPC ended: every waiting signer gets `error`, and so does every later one.
    func end(_ error: any Error) {
        let waiting = state.withLock { s in
            if s.ended == nil { s.ended = error }
            defer { s.waiting.removeAll() }
            return Array(s.waiting.values)
        }
        sink.finish()
        for continuation in waiting { continuation.resume(throwing: error) }
    }
}
