import Foundation
import RedoubtCore
import Testing

/// The behaviour every ``HSM`` must have, written against the protocol only, as a reusable suite.
///
/// Each way of reaching keys runs every case against its own factory — `LocalHSM` in-process,
/// `RemoteHSM` through a real broker, `FailoverHSM` over three LocalHSMs on one store in every
/// routing mode. It is a library product, `RedoubtTesting`, so that a third-party implementation
/// of ``HSM`` runs the same cases from its own Swift Testing target:
///
/// ```swift
/// import RedoubtTesting
/// import Testing
///
/// @Test(arguments: HSMBehaviour.cases)
/// func behaviour(_ testCase: HSMBehaviour.Case) async throws {
///     try await testCase.run(HSMBehaviour {
///         let (hsm, operatorAPIKey) = try await MyHSM.makeEmptyForTest()
///         return HSMBehaviour.Environment(hsm: hsm, operatorAPIKey: operatorAPIKey, shutdown: { try await hsm.close() })
///     })
/// }
/// ```
///
/// The factory must return a new, empty, initialised HSM on every call, with the API key of its
/// first operator. Each case gets a fresh ``HSMFixture`` (two partitions and their users) and may
/// change anything in it; clock control and restarts belong to implementation-specific tests.
public struct HSMBehaviour: Sendable {
    /// A new HSM, its first operator's API key, and how to shut it down.
    public struct Environment: Sendable {
        /// The HSM under test: new, empty, initialised.
        public var hsm: any HSM
        /// The API key of its first operator.
        public var operatorAPIKey: String
        /// Shuts the HSM down after a case.
        public var shutdown: @Sendable () async throws -> Void

        /// An environment.
        public init(hsm: any HSM, operatorAPIKey: String, shutdown: @escaping @Sendable () async throws -> Void) {
            self.hsm = hsm
            self.operatorAPIKey = operatorAPIKey
            self.shutdown = shutdown
        }
    }

    /// Makes a new environment for each case.
    public typealias Factory = @Sendable () async throws -> Environment

    /// One named behaviour of the suite.
    public struct Case: Sendable, CustomTestStringConvertible {
        /// What the case checks, in words.
        public var name: String
        var body: @Sendable (HSMFixture) async throws -> Void

        init(_ name: String, _ body: @escaping @Sendable (HSMFixture) async throws -> Void) {
            self.name = name
            self.body = body
        }

        /// The case's name, as Swift Testing shows it.
        public var testDescription: String { name }

        /// Runs the case against a fresh environment of `suite`.
        public func run(_ suite: HSMBehaviour) async throws {
            try await suite.withFixture(body)
        }
    }

    let makeEnvironment: Factory

    /// A suite over the environments `makeEnvironment` makes.
    public init(makeEnvironment: @escaping Factory) {
        self.makeEnvironment = makeEnvironment
    }

    /// Every case, in a stable order.
    public static var cases: [Case] {
        roleCases + sessionCases + attributeCases + lifecycleCases + cryptoCases + standardFormatCases + governedCases + importCases + partitionCases
            + auditCases + auditCheckpointCases + applicationIDCases + certificateCases + tokenIssuerCases + batchCases
    }

    /// Runs `body` with a fresh fixture, shutting the HSM down afterwards.
    func withFixture(_ body: (HSMFixture) async throws -> Void) async throws {
        let environment = try await makeEnvironment()
        do {
            let fixture = try await HSMFixture.make(environment.hsm, operatorAPIKey: environment.operatorAPIKey)
            try await body(fixture)
            try await environment.shutdown()
        } catch {
            try? await environment.shutdown()
            throw error
        }
    }
}

/// An HSM with an operator session and two partitions, each with a security officer, a crypto
/// user (who also has a password), an auditor and an approver, every one with an open session.
struct HSMFixture: Sendable {
    /// A user with its API key and an open session.
    struct Member: Sendable {
        var user: UserInfo
        var apiKey: String
        var session: SessionInfo
        var token: SessionToken { session.token }
    }

    /// A partition and its users.
    struct Tenant: Sendable {
        var id: String
        var officer: Member
        var user: Member
        var auditor: Member
        var approver: Member
    }

    /// The crypto users' password (scrypt at the configured cost).
    static let userPassword = "correct horse battery staple"
    /// The crypto users' name in both partitions.
    static let userName = "carol"

    let hsm: any HSM
    let operatorAPIKey: String
    let operatorSession: SessionInfo
    /// The partition most cases work in.
    let alpha: Tenant
    /// A second partition, for isolation.
    let beta: Tenant

    var operatorToken: SessionToken { operatorSession.token }

    static func make(_ hsm: any HSM, operatorAPIKey: String) async throws -> HSMFixture {
        let operatorSession = try await hsm.openSession(partition: "", credential: .apiKey(operatorAPIKey))
        func tenant(_ id: String) async throws -> Tenant {
            let created = try await hsm.createPartition(operatorSession.token, id: id, settings: .defaults)
            let officerSession = try await hsm.openSession(partition: id, credential: .apiKey(created.securityOfficerAPIKey))
            let officer = Member(user: created.securityOfficer, apiKey: created.securityOfficerAPIKey, session: officerSession)
            func add(_ name: String, _ role: Role, password: String? = nil) async throws -> Member {
                let new = try await hsm.addUser(officer.token, name: name, role: role, password: password)
                let session = try await hsm.openSession(partition: id, credential: .apiKey(new.apiKey))
                return Member(user: new.user, apiKey: new.apiKey, session: session)
            }
            return Tenant(
                id: id, officer: officer, user: try await add(userName, .cryptoUser, password: userPassword),
                auditor: try await add("audrey", .auditor), approver: try await add("april", .approver))
        }
        let alpha = try await tenant("alpha")
        let beta = try await tenant("beta")
        return HSMFixture(hsm: hsm, operatorAPIKey: operatorAPIKey, operatorSession: operatorSession, alpha: alpha, beta: beta)
    }

    /// The same users and sessions, reached through another HSM (a restarted or a second node).
    func on(_ other: any HSM) -> HSMFixture {
        HSMFixture(hsm: other, operatorAPIKey: operatorAPIKey, operatorSession: operatorSession, alpha: alpha, beta: beta)
    }

    // MARK: Shorthands (protocol calls only)

    /// Generates a key as `member` (alpha's crypto user by default).
    func generate(_ spec: KeySpec, by member: Member? = nil) async throws -> KeyInfo {
        try await hsm.generateKey((member ?? alpha.user).token, spec: spec)
    }

    /// Opens another session for `member` with its API key.
    func newSession(_ member: Member, in tenant: Tenant? = nil) async throws -> SessionToken {
        try await hsm.openSession(partition: (tenant ?? alpha).id, credential: .apiKey(member.apiKey)).token
    }

    /// Changes alpha's (or another partition's) switches as the operator.
    @discardableResult
    func updateSettings(_ partition: String = "alpha", _ change: (inout PartitionSettings) -> Void) async throws -> PartitionInfo {
        let current = try await hsm.listPartitions(operatorToken).first { $0.id == partition }
        var settings = try #require(current).settings
        change(&settings)
        return try await hsm.updatePartition(operatorToken, id: partition, settings: settings)
    }

    /// The ids of the keys `member` lists.
    func listedIDs(_ member: Member? = nil, includeDestroyed: Bool = false) async throws -> Set<String> {
        Set(try await hsm.listKeys((member ?? alpha.user).token, filter: KeyFilter(includeDestroyed: includeDestroyed, limit: 1000)).map(\.id))
    }

    /// Whether two secret keys hold the same bytes, judged by their MACs of the same data (both at version 1).
    func sameSecret(_ a: String, _ b: String, as member: Member? = nil) async throws -> Bool {
        let token = (member ?? alpha.user).token
        let data = Data("compare".utf8)
        return try await hsm.mac(token, key: a, data: data, hash: .sha256) == hsm.mac(token, key: b, data: data, hash: .sha256)
    }
}

// MARK: - Helpers shared by the cases

/// A message to sign or encrypt.
let message = Data("attack at dawn".utf8)

/// A well-formed key id that names no key.
func unknownKeyID() -> String {
    "k" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}

/// Runs `body`, expecting an ``HSMError`` with `code` whose message contains every fragment;
/// returns it for more checks. Any other error type is a failure too (it would leak past the
/// one mapping place).
@discardableResult
func expectHSMError<T>(
    _ code: HSMError.Code, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async -> HSMError? {
    do {
        _ = try await body()
        Issue.record("expected \(code) (\(fragments.joined(separator: ", "))), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as HSMError {
        #expect(error.code == code, "expected \(code), got \(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                error.message.contains(fragment), "message \"\(error.message)\" does not name \"\(fragment)\"",
                sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected HSMError \(code), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects `body`, a direct operation on a governed key, to throw ``HSMError/approvalPending(_:)``:
/// FAILED_PRECONDITION naming the request, carrying a well-formed PENDING request for `kind` on
/// `key`. Returns that request.
@discardableResult
func expectApprovalPending<T>(
    _ kind: ApprovalOperation.Kind, key: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async throws -> ApprovalRequest {
    let error = await expectHSMError(
        .failedPrecondition, "governed by an approval policy", "PENDING",
        sourceLocation: sourceLocation, body)
    let request = try #require(error?.pendingRequest, "the error carries no pending request", sourceLocation: sourceLocation)
    #expect(request.status == .pending, sourceLocation: sourceLocation)
    #expect(ApprovalRequest.isRequestID(request.id), "'\(request.id)' is not a request id", sourceLocation: sourceLocation)
    #expect(request.keyID == key, sourceLocation: sourceLocation)
    #expect(request.operation.kind == kind, sourceLocation: sourceLocation)
    #expect(request.result == nil, sourceLocation: sourceLocation)
    #expect(error?.message.contains(request.id) == true, sourceLocation: sourceLocation)
    return request
}

/// Now plus `offset`, in whole seconds (stored dates keep milliseconds at best).
func wholeSeconds(_ offset: TimeInterval = 0, from now: Date = Date()) -> Date {
    Date(timeIntervalSince1970: (now.timeIntervalSince1970 + offset).rounded(.down))
}

/// What a key change can affect, without the creation time (its precision is the implementation's).
struct KeyAttributes: Equatable, CustomStringConvertible {
    var label: String
    var usage: KeyUsage
    var flags: [Bool]
    var notBefore: Date?
    var expiresAt: Date?
    var state: KeyState
    var versions: ClosedRange<Int>
    var publicKey: PublicKey?

    init(_ key: KeyInfo) {
        label = key.label
        usage = key.usage
        flags = [
            key.extractable, key.sensitive, key.neverExtractable, key.alwaysSensitive, key.modifiable, key.destroyable, key.local,
            key.persistent,
        ]
        notBefore = key.notBefore
        expiresAt = key.expiresAt
        state = key.state
        versions = key.minimumVersion...max(key.minimumVersion, key.latestVersion)
        publicKey = key.publicKey
    }

    var description: String { "\(label) \(usage.rawValue) \(flags) \(state) v\(versions)" }
}

extension Data {
    /// A copy with the last byte's low bit flipped.
    var tampered: Data {
        var copy = self
        if let last = copy.indices.last { copy[last] ^= 1 } else { copy.append(1) }
        return copy
    }
}
