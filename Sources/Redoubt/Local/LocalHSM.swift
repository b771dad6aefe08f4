import Foundation
import Logging
import RedoubtStore
import Synchronization

/// The HSM in-process: the engine over a durable, sealed store.
///
/// A `LocalHSM` unseals the cluster master key at start, keeps unsealed keys and sessions in
/// memory caches, and writes every change — with its audit record — to the store in one
/// atomic, durable commit before it answers. Key-use audit records are group-committed.
/// Several `LocalHSM`s (in several processes) may share one store: each notices the others'
/// changes within ``Configuration/cacheRefreshInterval``.
///
/// The per-call cryptographic operations (``sign(_:key:input:scheme:)`` and the others the
/// ``HSM`` protocol marks `nonisolated(nonsending)`) run on the caller's executor: call them from
/// a task or a `@concurrent` function, not from an actor (such as the main actor) that must not
/// wait for a signature.
///
/// ```swift
/// let store = try SQLiteStore(path: "hsm.sqlite")
/// let hsm = try await LocalHSM.open(store: store, unseal: .passphrase("correct horse battery staple"))
/// ```
public final class LocalHSM: HSM, Sendable {
    /// Tunables; plain values with defaults.
    public struct Configuration: Sendable {
        /// How often the store's change counter is read to notice other nodes' writes (≤ 1 s).
        public var cacheRefreshInterval: TimeInterval
        /// Key-use audit records are committed when this many are waiting…
        public var auditBatchSize: Int
        /// …or when the oldest has waited this long.
        public var auditMaxDelay: TimeInterval
        /// Consecutive failed logins that lock a credential.
        public var lockoutThreshold: Int
        /// How long a locked credential stays locked.
        public var lockoutDuration: TimeInterval
        /// scrypt cost (log2 N) for new passwords.
        public var passwordCostLog2: Int
        /// The least time a refused sign-in takes (seconds): a refusal that is quicker waits out
        /// the rest, so an API key id that exists and one that does not answer alike in time too.
        /// Password refusals take scrypt's time, which is the same for every name. 0 turns it off.
        public var failedSignInMinimum: TimeInterval = 0.02
        /// How often (seconds) ``run()`` signs the head of a partition's audit chain while records
        /// are written to it; an auditor's export or verify signs it at once, and ``close()`` too. `.infinity` signs only on
        /// export, verify and ``close()``.
        public var auditCheckpointInterval: TimeInterval = 1
        /// The scrypt cost of the passphrase that seals a new store's master key
        /// (``LocalHSM/initialize(store:passphrase:shares:devKeyFile:configuration:logger:)``);
        /// the cost is kept in the store, so opening uses what the store was made with. Keep
        /// ``ScryptParameters/defaults`` (N = 2^15, r = 8: ~32 MiB) outside tests.
        public var passphraseScrypt: ScryptParameters = .defaults
        /// How long (seconds) each HTTP request for a token issuer's keys may take, connection
        /// and TLS included: a JWT sign-in waiting on a slow issuer is refused after it.
        public var tokenKeyFetchTimeout: TimeInterval = 5
        /// The least time (seconds) between two fetches of one issuer's keys beyond its refresh
        /// interval: after a failed fetch, and for tokens naming a `kid` the keys lack.
        public var tokenKeyRetryInterval: TimeInterval = 30
        /// A PEM file of the CA certificates trusted when fetching token issuers' keys over
        /// `https://` (an identity provider with a private CA); `nil`: the system's trust roots.
        public var tokenKeyTrustRoots: String?
        /// How many unsealed stored keys this node keeps in memory. Past it, the keys least
        /// recently used are dropped and unsealed again from the store on their next use, so a node
        /// serving a million keys holds only those in use. A cached P-256 key costs about
        /// 2.7 KB (measured by `redoubt bench scale`: ~270 MB at the default), an RSA key more.
        public var keyCacheCapacity: Int = 100_000
        /// The clock (injectable for tests).
        public var clock: @Sendable () -> Date

        /// 250 ms refresh, audit batches of 256 or 100 ms, lockout after 5 failures for 5 minutes,
        /// scrypt N = 2^14, refused sign-ins taking at least 20 ms, the system clock.
        public static var defaults: Configuration {
            Configuration(
                cacheRefreshInterval: 0.25, auditBatchSize: 256, auditMaxDelay: 0.1, lockoutThreshold: 5,
                lockoutDuration: 300, passwordCostLog2: 14, clock: { Date() })
        }
    }

    let store: any ObjectStore
    let master: MasterKey
    let configuration: Configuration
    let logger: Logger
    let state = ContendedLock(State())
    let auditBuffer = ContendedLock(AuditBuffer())
    let flusherRunning = Mutex(0)
    /// The flush a caller that found the queue full started in the background, while it runs.
    let backgroundFlush = Mutex<Task<Void, Never>?>(nil)
    let auditSigner: AuditSigner
    let checkpoints = ContendedLock(CheckpointBook())
    /// Token issuers' key sets, fetched by this node.
    let tokenKeys = TokenKeyCache()

    struct State: Sendable {
        var sealers: [String: ObjectSealer] = [:]
        var sessions: [String: SessionRecord] = [:]
        /// Token texts this node has verified, to their session ids.
        var validTokens: [String: String] = [:]
        /// When each session's last use was last written to the store.
        var sessionPersisted: [String: Date] = [:]
        /// Stored keys, unsealed, by ``LocalHSM/cacheKey(_:_:)``: at most ``Configuration/keyCacheCapacity``.
        var keys = BoundedCache<KeyCacheKey, LoadedKey>(capacity: Configuration.defaults.keyCacheCapacity)
        var sessionObjects: [String: [String: LoadedKey]] = [:]
        var partitions: [String: (record: PartitionRecord, revision: Int64)] = [:]
        /// Stored keys per partition, counted once and then kept up to date by this node's creates and purges.
        var keyCounts: [String: Int] = [:]
        /// Keys other nodes changed per partition since it was counted: each may be a new one, so
        /// count + slack bounds the true count from above, and a partition is counted again only
        /// when that bound reaches its quota (not at every other node's change: counting is O(keys)).
        var keyCountSlack: [String: Int] = [:]
        /// Every commit up to this counter is accounted for: this node's own, or another node's
        /// whose objects were dropped from the caches.
        var knownChangeCounter: Int64 = 0
        /// This node's own commits above ``knownChangeCounter``: concurrent callers' commits end
        /// out of order, and one that ends before an earlier one must not be taken for another
        /// node's (dropping what this node just cached, and recounting its partition's keys).
        var ownCommits: Set<Int64> = []
        var lastRefresh: Date = .distantPast
        /// Counts the refreshes that dropped entries: a reader that read the store before a drop
        /// does not cache what it read (it may predate the change the drop was for).
        var dropGeneration: UInt64 = 0

        /// Records this node's commit of `counter`, and moves past it and any own commits that follow.
        mutating func noteOwnCommit(_ counter: Int64) {
            guard counter > knownChangeCounter else { return }
            ownCommits.insert(counter)
            advanceKnown(to: knownChangeCounter)
        }

        /// Accounts for every commit up to `counter` (and this node's own after it, in a row).
        mutating func advanceKnown(to counter: Int64) {
            knownChangeCounter = max(knownChangeCounter, counter)
            while ownCommits.remove(knownChangeCounter + 1) != nil { knownChangeCounter += 1 }
            if ownCommits.contains(where: { $0 <= knownChangeCounter }) { ownCommits = ownCommits.filter { $0 > knownChangeCounter } }
        }

        /// Whether the commit of `counter` is accounted for already (so its objects need no drop).
        func accountedFor(_ counter: Int64) -> Bool { counter <= knownChangeCounter || ownCommits.contains(counter) }

        /// Counts a new key of `partition` under `maximum`: true if there is room, false if the
        /// exact count is at the quota, nil if the partition must be counted first.
        mutating func reserveKey(_ partition: String, maximum: Int) -> Bool? {
            guard let n = keyCounts[partition] else { return nil }
            let slack = keyCountSlack[partition] ?? 0
            guard n + slack < maximum else { return slack > 0 ? nil : false }
            keyCounts[partition] = n + 1
            return true
        }

        /// Drops every cache entry read from the store (session objects and partition keys stay:
        /// the first live only here, the second never change).
        mutating func dropCaches() {
            dropGeneration &+= 1
            keys.removeAll()
            sessions.removeAll()
            validTokens.removeAll()
            sessionPersisted.removeAll()
            partitions.removeAll()
            keyCounts.removeAll()
            keyCountSlack.removeAll()
        }

        /// Drops the cache entries of `objects`, changed by another node.
        mutating func drop(_ objects: [ObjectKey]) {
            for object in objects {
                switch object.kind {
                case ObjectKind.key, ObjectKind.session, ObjectKind.partition: dropGeneration &+= 1
                default: break
                }
                switch object.kind {
                case ObjectKind.key:
                    keys[LocalHSM.cacheKey(object.partition, object.id)] = nil
                    // Perhaps created elsewhere: the count may be one more.
                    if keyCounts[object.partition] != nil { keyCountSlack[object.partition, default: 0] += 1 }
                case ObjectKind.session:
                    sessions[object.id] = nil
                    sessionPersisted[object.id] = nil
                    validTokens = validTokens.filter { $0.value != object.id }
                case ObjectKind.partition:
                    partitions[object.id] = nil
                default:
                    // Users, credentials, approvers, requests, certificates, indexes and checkpoints
                    // are read from the store each time; nothing cached to drop.
                    break
                }
            }
        }
    }

    init(store: any ObjectStore, master: MasterKey, configuration: Configuration, logger: Logger) async throws {
        self.store = store
        self.master = master
        self.auditSigner = try AuditSigner(master: master)
        self.configuration = configuration
        self.logger = logger
        let counter = try await Self.storeCall { try await store.changeCounter() }
        let now = configuration.clock()
        state.withLock {
            $0.knownChangeCounter = counter
            $0.lastRefresh = now
            $0.keys = BoundedCache(capacity: configuration.keyCacheCapacity)
        }
    }

    /// The clock, in whole milliseconds: the precision records keep in the store, so what a call
    /// returns equals what any node later reads back.
    var now: Date {
        Date(timeIntervalSince1970: (configuration.clock().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    /// Flushes pending audit records. Call before shutting down (``close()`` does).
    public func close() async throws {
        try await flushAudit(force: true)
        await signDueCheckpoints(force: true)
    }

    // MARK: Store access

    /// The message of a lost optimistic race (a store conflict).
    static let conflictMessage = "the object changed concurrently; retry"

    /// Whether `error` is a lost optimistic race (``HSMError/Code/aborted``).
    static func isConflict(_ error: any Error) -> Bool {
        (error as? HSMError)?.code == .aborted
    }

    /// Runs a store call, turning store failures into HSM errors.
    static func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as StoreError {
            switch error.code {
            case .conflict: throw HSMError(.aborted, conflictMessage, underlying: error)
            case .notFound: throw HSMError(.notFound, "no such object", underlying: error)
            case .duplicateRequest: throw HSMError(.alreadyExists, "request id already used", underlying: error)
            case .invalidArgument: throw HSMError(.invalidArgument, error.message, underlying: error)
            default: throw HSMError(.unavailable, "the store is unavailable: \(error.message)", underlying: error)
            }
        } catch let error as HSMError {
            throw error
        } catch {
            throw HSMError(.unavailable, "the store is unavailable", underlying: error)
        }
    }

    /// Commits a batch; when only this node changed the store since the last look, caches stay valid.
    @discardableResult
    func commit(_ batch: WriteBatch) async throws -> CommitResult {
        var batch = batch
        let audited = signAuditRecords(&batch)
        return try await commitSigned(batch, audited: audited)
    }

    /// ``commit(_:)`` of a batch whose audit records are signed already: those it appends to the
    /// partitions `audited`.
    func commitSigned(_ batch: WriteBatch, audited: Set<String>) async throws -> CommitResult {
        try await ensureCheckpoints(audited)
        let result = try await Self.storeCall { [batch] in try await store.commit(batch) }
        state.withLock { $0.noteOwnCommit(result.changeCounter) }
        if !audited.isEmpty {
            extendVerified(batch, result)
            noteAudited(audited)
        }
        return result
    }

    /// Drops what another node changed from the caches (checked at most every refresh interval):
    /// the entries of the objects the store's change log names — nothing for commits that only
    /// appended audit records — or everything when the log does not reach back far enough.
    nonisolated(nonsending) func refreshIfStale() async throws {
        let now = self.now
        guard state.withLock({ refreshDue(&$0, now: now) }) else { return }
        try await refresh()
    }

    /// Whether a refresh is due at `now` (then marked as started, so one caller does it).
    func refreshDue(_ s: inout State, now: Date) -> Bool {
        guard now.timeIntervalSince(s.lastRefresh) >= configuration.cacheRefreshInterval else { return false }
        s.lastRefresh = now
        return true
    }

    /// Reads what other nodes changed since the last refresh and drops those cache entries.
    nonisolated(nonsending) func refresh() async throws {
        // What this node knew before it reads the counter: the counter can only be behind it if the
        // store went back. (Known may pass the counter read below as this node's own commits end
        // meanwhile; that is no reason to drop anything.)
        var known = state.withLock { $0.knownChangeCounter }
        let counter = try await Self.storeCall { try await store.changeCounter() }
        if counter < known {
            // The store went back (replaced by a restore): nothing cached can be trusted.
            state.withLock { s in
                s.dropCaches()
                s.knownChangeCounter = counter
                s.ownCommits = []
            }
            return
        }
        while known < counter {
            let changes = try await Self.storeCall { try await store.changes(after: known, limit: Self.changesPerRead) }
            guard let changes, let last = changes.last else {
                state.withLock { s in
                    s.dropCaches()
                    s.advanceKnown(to: counter)
                }
                return
            }
            known = state.withLock { s -> Int64 in
                // This node's own commits (and whatever is accounted for) drop nothing.
                for change in changes where !s.accountedFor(change.counter) { s.drop(change.objects) }
                s.advanceKnown(to: last.counter)
                return s.knownChangeCounter
            }
        }
    }

    /// How many commits one read of the change log covers.
    static let changesPerRead = 1000

    // MARK: Partition keys

    func sealer(for partition: String) async throws -> ObjectSealer {
        if let cached = state.withLock({ $0.sealers[partition] }) { return cached }
        guard let object = try await Self.storeCall({ try await store.get(ObjectKey(partition: "", kind: ObjectKind.partition, id: partition)) }) else {
            throw HSMError.notFound("no partition '\(partition)'")
        }
        let record = try RecordCoding.decode(PartitionRecord.self, object.data)
        let key: PartitionKey
        do { key = try master.unwrap(record.wrappedKey, partitionID: partition) } catch {
            logger.error("partition key does not unwrap", metadata: ["partition": "\(partition)"])
            throw HSMError(.internalError, "the partition key cannot be unsealed")
        }
        let sealer = ObjectSealer(key)
        state.withLock { $0.sealers[partition] = sealer }
        return sealer
    }

    func partitionRecord(_ id: String) async throws -> (PartitionRecord, Int64) {
        let (cached, generation) = state.withLock { ($0.partitions[id], $0.dropGeneration) }
        if let cached { return cached }
        guard let object = try await Self.storeCall({ try await store.get(ObjectKey(partition: "", kind: ObjectKind.partition, id: id)) }) else {
            throw HSMError.notFound("no partition '\(id)'")
        }
        let record = try RecordCoding.decode(PartitionRecord.self, object.data)
        state.withLock { if $0.dropGeneration == generation { $0.partitions[id] = (record, object.revision) } }
        return (record, object.revision)
    }
}

/// Identifiers: unguessable, URL-safe.
enum Identifiers {
    static func random(_ prefix: String, bytes: Int = 16) -> String {
        var rng = SystemRandomNumberGenerator()
        var out = prefix
        for _ in 0..<bytes { out += String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }
        return out
    }

    static func secret(bytes: Int = 32) -> String {
        var rng = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Data(raw).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Partition ids and user names: 1–64 of [A-Za-z0-9._-], starting alphanumeric.
    static func isValidName(_ s: String) -> Bool {
        guard (1...64).contains(s.utf8.count), let first = s.unicodeScalars.first,
            CharacterSet.alphanumerics.contains(first), first.isASCII
        else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}
