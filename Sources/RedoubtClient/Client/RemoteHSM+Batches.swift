import Foundation
import GRPCCore
import RedoubtCore
import RedoubtProto

// The batch operations of `HSM` as the broker's batch RPCs, and the coalescing of concurrent
// single calls onto them.

/// One coalescer per operation (``RemoteHSMConfiguration/Coalescing``).
struct Coalescers: Sendable {
    let sign: Coalescer<SignItem, SignatureResult>
    let verify: Coalescer<VerifyItem, Bool>
    let encrypt: Coalescer<EncryptItem, Data>
    let decrypt: Coalescer<DecryptItem, Data>
    let mac: Coalescer<MACItem, Data>

    init(limit: Int, batchItems: Int) {
        sign = Coalescer(limit: limit, batchItems: batchItems)
        verify = Coalescer(limit: limit, batchItems: batchItems)
        encrypt = Coalescer(limit: limit, batchItems: batchItems)
        decrypt = Coalescer(limit: limit, batchItems: batchItems)
        mac = Coalescer(limit: limit, batchItems: batchItems)
    }
}

extension RemoteHSM {
    /// The most request data one batch RPC carries (the broker's default message limit is 4 MiB).
    static let batchBytes = 2 << 20

    public func signBatch(_ session: SessionToken, _ items: [SignItem]) async throws -> [Result<SignatureResult, HSMError>] {
        try await chunked(items, bytes: { $0.input.byteCount }) { chunk in
            let request = Redoubt_V1_SignBatchRequest(items: chunk.map { Redoubt_V1_SignRequest(key: $0.key, input: $0.input, scheme: $0.scheme) })
            return try await call(.session(session)) {
                try await crypto.signBatch(request, metadata: $0, options: $1)
            } decode: {
                try Self.outcomes($0, count: chunk.count) { try StatusMapping.pendingError(for: $0).map { .failure($0) } ?? .success($0.model) }
            }
        }
    }

    public func verifyBatch(_ session: SessionToken, _ items: [VerifyItem]) async throws -> [Result<Bool, HSMError>] {
        try await chunked(items, bytes: { $0.input.byteCount + $0.signature.count }) { chunk in
            let request = Redoubt_V1_VerifyBatchRequest(
                items: chunk.map {
                    Redoubt_V1_VerifyRequest(key: $0.key, input: $0.input, signature: $0.signature, scheme: $0.scheme, version: $0.version)
                })
            return try await call(.session(session)) {
                try await crypto.verifyBatch(request, metadata: $0, options: $1)
            } decode: {
                try Self.outcomes($0, count: chunk.count) { .success($0.valid) }
            }
        }
    }

    public func encryptBatch(_ session: SessionToken, _ items: [EncryptItem]) async throws -> [Result<Data, HSMError>] {
        try await chunked(items, bytes: { $0.plaintext.count + $0.aad.count }) { chunk in
            let request = Redoubt_V1_EncryptBatchRequest(
                items: chunk.map { Redoubt_V1_EncryptRequest(key: $0.key, plaintext: $0.plaintext, scheme: $0.scheme, aad: $0.aad) })
            return try await call(.session(session)) {
                try await crypto.encryptBatch(request, metadata: $0, options: $1)
            } decode: {
                try Self.outcomes($0, count: chunk.count) { .success($0.ciphertext) }
            }
        }
    }

    public func decryptBatch(_ session: SessionToken, _ items: [DecryptItem]) async throws -> [Result<Data, HSMError>] {
        try await chunked(items, bytes: { $0.ciphertext.count + $0.aad.count }) { chunk in
            let request = Redoubt_V1_DecryptBatchRequest(
                items: chunk.map { Redoubt_V1_DecryptRequest(key: $0.key, ciphertext: $0.ciphertext, scheme: $0.scheme, aad: $0.aad) })
            return try await call(.session(session)) {
                try await crypto.decryptBatch(request, metadata: $0, options: $1)
            } decode: {
                try Self.outcomes($0, count: chunk.count) { try StatusMapping.pendingError(for: $0).map { .failure($0) } ?? .success($0.plaintext) }
            }
        }
    }

    public func macBatch(_ session: SessionToken, _ items: [MACItem]) async throws -> [Result<Data, HSMError>] {
        try await chunked(items, bytes: { $0.data.count }) { chunk in
            let request = Redoubt_V1_MacBatchRequest(items: chunk.map { Redoubt_V1_MacRequest(key: $0.key, data: $0.data, hash: $0.hash) })
            return try await call(.session(session)) {
                try await crypto.macBatch(request, metadata: $0, options: $1)
            } decode: {
                try Self.outcomes($0, count: chunk.count) { try StatusMapping.pendingError(for: $0).map { .failure($0) } ?? .success($0.tag) }
            }
        }
    }

    // MARK: - Helpers

    /// `items` sent in consecutive RPCs of at most ``RemoteHSMConfiguration/batchItems`` items and
    /// about ``batchBytes`` of data each; the outcomes in order.
    func chunked<Item, Output>(
        _ items: [Item], bytes: (Item) -> Int,
        _ send: ([Item]) async throws -> [Result<Output, HSMError>]
    ) async throws -> [Result<Output, HSMError>] {
        var outcomes: [Result<Output, HSMError>] = []
        outcomes.reserveCapacity(items.count)
        var start = 0
        while start < items.count {
            var end = start
            var size = 0
            while end < items.count, end - start < configuration.batchItems {
                let n = bytes(items[end]) + 64
                if end > start, size + n > Self.batchBytes { break }
                size += n
                end += 1
            }
            outcomes += try await send(Array(items[start..<end]))
            start = end
        }
        return outcomes
    }

    /// Each item's outcome of a batch `response` to `count` items, successes read by `decode`.
    static func outcomes<Response: BatchResponse, Output>(
        _ response: Response, count: Int, _ decode: (Response.Item.Response) throws -> Result<Output, HSMError>
    ) throws -> [Result<Output, HSMError>] {
        guard response.items.count == count else {
            throw HSMError(.internalError, "the server answered \(response.items.count) batch items for \(count)")
        }
        return try response.outcomes.map { outcome in
            switch outcome {
            case .success(let item): try decode(item)
            case .failure(let error): .failure(error)
            }
        }
    }

    /// `single()`, or through `coalescer` when coalescing is on and the caller set no deadline.
    func coalesced<Item: Sendable, Output: Sendable>(
        _ coalescer: Coalescer<Item, Output>?, _ session: SessionToken, _ item: Item,
        batch: @escaping @Sendable (RemoteHSM, SessionToken, [Item]) async throws -> [Result<Output, HSMError>],
        single: () async throws -> Output
    ) async throws -> Output {
        guard let coalescer, HSMCallContext.deadline == nil else { return try await single() }
        return try await coalescer.perform(session, item, batch: { [self] in try await batch(self, $0, $1) }, single: single)
    }
}

extension SigningInput {
    /// The bytes of the message or digest.
    var byteCount: Int {
        switch self {
        case .message(let data), .digest(let data): data.count
        }
    }
}
