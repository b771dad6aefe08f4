import Foundation

// Batch operations: many calls of one kind under one session, in one call. Each item gets its own
// outcome, exactly what the single call would have returned or thrown; the batch as a whole throws
// only when no item can run (the session is not valid, the connection is gone).

/// One request of ``HSM/signBatch(_:_:)``: the arguments of ``HSM/sign(_:key:input:scheme:)``.
public struct SignItem: Sendable, Hashable {
    /// The key's id.
    public var key: String
    /// What to sign.
    public var input: SigningInput
    /// The signature scheme.
    public var scheme: SignatureScheme

    /// An item signing `input` with `key`.
    public init(key: String, input: SigningInput, scheme: SignatureScheme) {
        self.key = key
        self.input = input
        self.scheme = scheme
    }
}

/// One request of ``HSM/verifyBatch(_:_:)``: the arguments of ``HSM/verify(_:key:input:signature:scheme:version:)``.
public struct VerifyItem: Sendable, Hashable {
    /// The key's id.
    public var key: String
    /// What was signed.
    public var input: SigningInput
    /// The signature to check.
    public var signature: Data
    /// The signature scheme.
    public var scheme: SignatureScheme
    /// The key version (latest if nil).
    public var version: Int?

    /// An item checking `signature` over `input` with `key`.
    public init(key: String, input: SigningInput, signature: Data, scheme: SignatureScheme, version: Int? = nil) {
        self.key = key
        self.input = input
        self.signature = signature
        self.scheme = scheme
        self.version = version
    }
}

/// One request of ``HSM/encryptBatch(_:_:)``: the arguments of ``HSM/encrypt(_:key:plaintext:scheme:aad:)``.
public struct EncryptItem: Sendable, Hashable {
    /// The key's id.
    public var key: String
    /// What to encrypt.
    public var plaintext: Data
    /// The scheme.
    public var scheme: EncryptionScheme
    /// Additional authenticated data (AEAD schemes only).
    public var aad: Data

    /// An item encrypting `plaintext` with `key`.
    public init(key: String, plaintext: Data, scheme: EncryptionScheme, aad: Data = Data()) {
        self.key = key
        self.plaintext = plaintext
        self.scheme = scheme
        self.aad = aad
    }
}

/// One request of ``HSM/decryptBatch(_:_:)``: the arguments of ``HSM/decrypt(_:key:ciphertext:scheme:aad:)``.
public struct DecryptItem: Sendable, Hashable {
    /// The key's id.
    public var key: String
    /// What ``HSM/encrypt(_:key:plaintext:scheme:aad:)`` returned.
    public var ciphertext: Data
    /// The scheme.
    public var scheme: EncryptionScheme
    /// Additional authenticated data (AEAD schemes only).
    public var aad: Data

    /// An item decrypting `ciphertext` with `key`.
    public init(key: String, ciphertext: Data, scheme: EncryptionScheme, aad: Data = Data()) {
        self.key = key
        self.ciphertext = ciphertext
        self.scheme = scheme
        self.aad = aad
    }
}

/// One request of ``HSM/macBatch(_:_:)``: the arguments of ``HSM/mac(_:key:data:hash:)``.
public struct MACItem: Sendable, Hashable {
    /// The key's id.
    public var key: String
    /// What to authenticate.
    public var data: Data
    /// The HMAC hash.
    public var hash: HashAlgorithm

    /// An item computing the MAC of `data` with `key`.
    public init(key: String, data: Data, hash: HashAlgorithm) {
        self.key = key
        self.data = data
        self.hash = hash
    }
}

extension HSM {
    /// Signs every item under one session; see ``HSMBatch`` for what a batch returns and throws.
    public func signBatch(_ session: SessionToken, _ items: [SignItem]) async throws -> [Result<SignatureResult, HSMError>] {
        try await HSMBatch.perform(items) { try await self.sign(session, key: $0.key, input: $0.input, scheme: $0.scheme) }
    }

    /// Verifies every item under one session; see ``HSMBatch``.
    public func verifyBatch(_ session: SessionToken, _ items: [VerifyItem]) async throws -> [Result<Bool, HSMError>] {
        try await HSMBatch.perform(items) {
            try await self.verify(session, key: $0.key, input: $0.input, signature: $0.signature, scheme: $0.scheme, version: $0.version)
        }
    }

    /// Encrypts every item under one session; see ``HSMBatch``.
    public func encryptBatch(_ session: SessionToken, _ items: [EncryptItem]) async throws -> [Result<Data, HSMError>] {
        try await HSMBatch.perform(items) { try await self.encrypt(session, key: $0.key, plaintext: $0.plaintext, scheme: $0.scheme, aad: $0.aad) }
    }

    /// Decrypts every item under one session; see ``HSMBatch``.
    public func decryptBatch(_ session: SessionToken, _ items: [DecryptItem]) async throws -> [Result<Data, HSMError>] {
        try await HSMBatch.perform(items) { try await self.decrypt(session, key: $0.key, ciphertext: $0.ciphertext, scheme: $0.scheme, aad: $0.aad) }
    }

    /// Computes every item's MAC under one session; see ``HSMBatch``.
    public func macBatch(_ session: SessionToken, _ items: [MACItem]) async throws -> [Result<Data, HSMError>] {
        try await HSMBatch.perform(items) { try await self.mac(session, key: $0.key, data: $0.data, hash: $0.hash) }
    }
}

/// How the batch operations of ``HSM`` behave, on every implementation:
///
/// - The result has one outcome per item, in the items' order: what the single call returns, or
///   the ``HSMError`` it throws (a refused key, a wrong scheme, an approval policy's
///   ``HSMError/approvalPending(_:)``…). One item's failure does not affect the others.
/// - The batch throws only when no item could run: the session is not valid (UNAUTHENTICATED,
///   found on the first item), or the HSM cannot be reached. An empty batch returns no outcomes.
/// - Every item is authorised, counted and audited as its single call is.
///
/// ``LocalHSM`` runs the first item alone and the others about one worker per core, with no task
/// per item; `RemoteHSM` sends them as the broker's batch RPCs (`SignBatch`…), as many items per
/// call as its configuration allows; `FailoverHSM` sends a batch to one node and, as for a single
/// call, to the next if that node cannot be reached.
public enum HSMBatch {
    /// The outcomes of `operation` on each of `items`: the first alone (an UNAUTHENTICATED
    /// failure there throws), the rest concurrently. A failure other than an ``HSMError`` (the
    /// task was cancelled) throws.
    public static func perform<Item: Sendable, Output: Sendable>(
        _ items: [Item], _ operation: @escaping @Sendable (Item) async throws -> Output
    ) async throws -> [Result<Output, HSMError>] {
        try await outcomes(items, operation).map { outcome in
            switch outcome {
            case .success(let output): return .success(output)
            case .failure(let error as HSMError): return .failure(error)
            case .failure(let error): throw error
            }
        }
    }

    /// ``perform(_:_:)`` with every item's failure as it was thrown (the broker maps each to an
    /// `ErrorDetail`): the first item alone, whose UNAUTHENTICATED ``HSMError`` throws (the session
    /// is not valid: no item can run), the rest about one worker per core.
    public static func outcomes<Item: Sendable, Output: Sendable>(
        _ items: [Item], _ operation: @escaping @Sendable (Item) async throws -> Output
    ) async throws -> [Result<Output, any Error>] {
        guard let head = items.first else { return [] }
        let first: Result<Output, any Error>
        do {
            first = .success(try await operation(head))
        } catch let error as HSMError where error.code == .unauthenticated {
            throw error
        } catch {
            first = .failure(error)
        }
        let rest = try await concurrentMap(count: items.count - 1) { i -> Result<Output, any Error> in
            do {
                return .success(try await operation(items[i + 1]))
            } catch {
                return .failure(error)
            }
        }
        return [first] + rest
    }

    /// `transform(0..<count)` in order, run by about one worker per core, each taking every
    /// n-th index (no task per item). Checks for cancellation every few items; throws
    /// `CancellationError` if the task was cancelled.
    public static func concurrentMap<R: Sendable>(count: Int, _ transform: @escaping @Sendable (Int) async -> R) async throws -> [R] {
        guard count > 0 else { return [] }
        let workers = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount))
        if workers == 1 {
            var out: [R] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                if i % 16 == 0 { try Task.checkCancellation() }
                out.append(await transform(i))
            }
            return out
        }
        var slots = [R?](repeating: nil, count: count)
        try await withThrowingTaskGroup(of: [(Int, R)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var done: [(Int, R)] = []
                    done.reserveCapacity(count / workers + 1)
                    for (n, i) in stride(from: worker, to: count, by: workers).enumerated() {
                        if n % 16 == 0 { try Task.checkCancellation() }
                        done.append((i, await transform(i)))
                    }
                    return done
                }
            }
            for try await done in group {
                for (i, r) in done { slots[i] = r }
            }
        }
        let results = slots.compactMap { $0 }
        guard results.count == count else { throw CancellationError() }
        return results
    }
}
