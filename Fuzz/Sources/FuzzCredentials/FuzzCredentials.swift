// Credential and session-token parsing of LocalHSM: openSession with API keys (rdk1.<id>.<secret>),
// passwords and JWTs, and calls with session tokens (rds1.<id>.<secret>).
//
// One LocalHSM over SQLiteStore.temporary() is set up once: the operator, partition "p1" with its
// security officer, user "alice" (crypto user, API key and password), and a token issuer bound to
// "p1" (an Ed25519 key set inline, so no fetch; the fuzzer has no private key). Locked credentials unlock
// after a second, so fuzzing keeps reaching both the lockout and the secret comparison.
//
// Input layout:
//   byte 0 (mod 4): 0 API key, 1 password (text up to the first newline is the user name, the rest
//                   the password), 2 session token (used for HSM.random and closeSession), 3 JWT
//   byte 1 (mod 4): partition: "", "p1", "p2" (none such), or a short field
//   rest: the text (UTF-8, repaired), where %o, %f, %a name the operator's, officer's and alice's
//         API-key credential ids, %s a live session id and %u "alice", so the fuzzer reaches
//         existing ids it could never guess; %h and %c the base64url of a header and of claims the
//         bound issuer would accept (so a JWT reaches the signature check and the claim checks)
//
// Invariants:
//   - every attempt fails with HSMError .unauthenticated "invalid credentials", locked or not
//     (a lock looks like a wrong secret): never success, never another error, code or message,
//     never a trap;
//   - a rejected attempt changes nothing (malformed: refused before any lookup) or makes exactly
//     one commit, the failed-login bookkeeping: for a credential that exists where it was named,
//     it bumps that credential's revision and appends one audit entry to that partition; for one
//     that does not, it appends one audit entry to the named partition when it exists, else to the
//     operator's log, and touches nothing else; a JWT appends one audit entry the same way (to
//     "p1" or the operator's log) and touches nothing else; session tokens change nothing at all.
import Crypto
import Foundation
import FuzzSupport
import Redoubt
import RedoubtCrypto
import RedoubtStore

private struct World: Sendable {
    var store: SQLiteStore
    var hsm: LocalHSM
    /// API-key credential ids: operator (partition ""), officer and alice (partition "p1").
    var operatorCredential: String
    var officerCredential: String
    var aliceCredential: String
    var sessionID: String
    /// (partition, credential id) of every credential that exists.
    var existing: Set<[String]>
}

private func credentialID(ofAPIKey key: String) -> String {
    let parts = key.split(separator: ".")
    return parts.count == 3 ? String(parts[1]) : ""
}

private let world: World = runBlockingOrDie("LocalHSM setup") {
    let store = try SQLiteStore.temporary()
    var configuration = LocalHSM.Configuration.defaults
    configuration.passwordCostLog2 = 10
    configuration.lockoutThreshold = 3
    configuration.lockoutDuration = 1
    // Refusals would each wait 20 ms (equal timing); the fuzzer needs its speed, not that.
    configuration.failedSignInMinimum = 0
    // A failed sign-in makes exactly one commit; the audit head is signed only at export, verify and close.
    configuration.auditCheckpointInterval = .infinity
    let initialized = try await LocalHSM.initialize(store: store, passphrase: "fuzzing passphrase, not secret", configuration: configuration)
    let hsm = initialized.hsm
    let operatorSession = try await hsm.openSession(partition: "", credential: .apiKey(initialized.operatorAPIKey))
    let created = try await hsm.createPartition(operatorSession.token, id: "p1", settings: .defaults)
    let officer = try await hsm.openSession(partition: "p1", credential: .apiKey(created.securityOfficerAPIKey))
    let alice = try await hsm.addUser(officer.token, name: "alice", role: .cryptoUser, password: "correct horse battery staple")
    let x = base64URL(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)
    _ = try await hsm.bindTokenIssuer(
        officer.token,
        issuer: TokenIssuer(
            name: "corp", issuer: "https://idp.example", audiences: ["redoubt"],
            keys: .inline(#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "\#(x)"}]}"#)))
    let ids = (
        credentialID(ofAPIKey: initialized.operatorAPIKey), credentialID(ofAPIKey: created.securityOfficerAPIKey),
        credentialID(ofAPIKey: alice.apiKey)
    )
    return World(
        store: store, hsm: hsm, operatorCredential: ids.0, officerCredential: ids.1, aliceCredential: ids.2,
        sessionID: officer.id, existing: [["", ids.0], ["p1", ids.1], ["p1", ids.2], ["p1", "pw.alice"]])
}

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.preferMemoryTemporaryDirectory()
    Warmup.prepare(
        target: "FuzzCredentials",
        build: {
            _ = world.sessionID
        }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzCredentials(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzCredentials(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 4
    let partition: String
    switch input.byte() % 4 {
    case 0: partition = ""
    case 1: partition = "p1"
    case 2: partition = "p2"
    default: partition = String(decoding: input.shortField(), as: UTF8.self)
    }
    let world = world
    let text = String(decoding: input.rest(), as: UTF8.self)
        .replacingOccurrences(of: "%o", with: world.operatorCredential)
        .replacingOccurrences(of: "%f", with: world.officerCredential)
        .replacingOccurrences(of: "%a", with: world.aliceCredential)
        .replacingOccurrences(of: "%s", with: world.sessionID)
        .replacingOccurrences(of: "%u", with: "alice")
        .replacingOccurrences(of: "%h", with: jwtHeader)
        .replacingOccurrences(of: "%c", with: jwtClaims)

    switch mode {
    case 0:
        attempt(.apiKey(text), partition: partition, names: named(apiKey: text))
    case 1:
        let user = String(text.prefix(while: { $0 != "\n" }))
        let password = String(text.dropFirst(user.count + 1))
        attempt(.password(user: user, password: password), partition: partition, names: "pw.\(user)")
    case 2:
        token(SessionToken(text))
    default:
        attempt(.jwt(text), partition: partition, names: nil)
    }
    return 0
}

private func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// A JWT header and claims the issuer bound to "p1" accepts, base64url (for %h and %c).
private let jwtHeader = base64URL(Data(#"{"alg":"EdDSA","kid":"k1","typ":"JWT"}"#.utf8))
private let jwtClaims = base64URL(Data(#"{"iss":"https://idp.example","aud":"redoubt","sub":"alice","exp":4102444800}"#.utf8))

/// The credential id an API key text names, parsed the documented way.
private func named(apiKey text: String) -> String? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0] == "rdk1" else { return nil }
    return String(parts[1])
}

/// What the store looks like, for "nothing changed" checks.
private struct Snapshot: Sendable, Equatable {
    var counter: Int64
    var credentialRevision: Int64?
    /// The head of the audit log the bookkeeping of this attempt writes to.
    var auditHead: Int64?
}

/// The partitions of the world: the operator's ("") and "p1".
private let partitions: Set<String> = ["", "p1"]

private func snapshot(partition: String, credential: String?) -> Snapshot {
    let store = world.store
    let log = partitions.contains(partition) ? partition : ""
    return runBlockingOrDie("snapshot") {
        let counter = try await store.changeCounter()
        var revision: Int64?
        if let credential {
            revision = try await store.get(ObjectKey(partition: partition, kind: "credential", id: credential))?.revision
        }
        let head = try await store.auditHead(partition: log)?.sequence
        return Snapshot(counter: counter, credentialRevision: revision, auditHead: head)
    }
}

private func attempt(_ credential: Credential, partition: String, names id: String?) {
    let exists = id.map { world.existing.contains([partition, $0]) } ?? false
    let before = snapshot(partition: partition, credential: exists ? id : nil)
    let hsm = world.hsm
    let result = runBlocking { try await hsm.openSession(partition: partition, credential: credential) }
    switch result {
    case .success:
        fuzzFail("openSession succeeded for a fuzzed \(credential) in partition \"\(partition)\"")
    case .failure(let error as HSMError):
        fuzzCheck(
            error.code == .unauthenticated && error.message == "invalid credentials",
            "openSession failed with \(error.code) (\(error.message)), expected UNAUTHENTICATED \"invalid credentials\"")
    case .failure(let error):
        fuzzFail("openSession threw \(type(of: error)): \(error); only HSMError may escape")
    }
    let after = snapshot(partition: partition, credential: exists ? id : nil)
    if before == after { return }
    fuzzCheck(after.counter == before.counter + 1, "failed-login bookkeeping made \(after.counter - before.counter) commits, not 1")
    fuzzCheck(
        after.credentialRevision == before.credentialRevision.map { $0 + 1 },
        "failed-login bookkeeping did not bump the named credential's revision by one (or touched one that does not exist)")
    fuzzCheck(after.auditHead == (before.auditHead ?? 0) + 1, "failed-login bookkeeping did not append exactly one audit entry")
}

private func token(_ token: SessionToken) {
    let before = snapshot(partition: "", credential: nil)
    let hsm = world.hsm
    let calls: [(String, @Sendable () async throws -> Void)] = [
        ("random", { @Sendable in _ = try await hsm.random(token, count: 1) }),
        ("closeSession", { @Sendable in try await hsm.closeSession(token) }),
    ]
    for (name, call) in calls {
        switch runBlocking({ try await call() }) {
        case .success:
            fuzzFail("\(name) accepted a fuzzed session token")
        case .failure(let error as HSMError):
            fuzzCheck(error.code == .unauthenticated, "\(name) with a fuzzed token failed with \(error.code) (\(error.message))")
        case .failure(let error):
            fuzzFail("\(name) threw \(type(of: error)): \(error); only HSMError may escape")
        }
    }
    let after = snapshot(partition: "", credential: nil)
    fuzzCheck(before.counter == after.counter, "a rejected session token changed the store")
}

// MARK: Seeds

private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    func seed(_ mode: UInt8, _ partition: UInt8, _ text: String) -> [UInt8] { [mode, partition] + Array(text.utf8) }
    return [
        ("apikey-alice-wrong", seed(0, 1, "rdk1.%a.bm90IHRoZSBzZWNyZXQ")),
        ("apikey-operator-wrong", seed(0, 0, "rdk1.%o.bm90IHRoZSBzZWNyZXQ")),
        ("apikey-officer-elsewhere", seed(0, 2, "rdk1.%f.x")),
        ("apikey-unknown", seed(0, 1, "rdk1.c00112233445566778899aabb.RmFrZVNlY3JldEZha2VTZWNyZXQ")),
        ("apikey-wrong-prefix", seed(0, 0, "rdk2.%o.secret")),
        ("apikey-partition-field", [0, 3, 2] + Array("p1".utf8) + Array("rdk1.%a.secret".utf8)),
        ("password-alice-wrong", seed(1, 1, "%u\nnot alice's password")),
        ("password-unknown-user", seed(1, 1, "bob\ncorrect horse battery")),
        ("password-operator", seed(1, 0, "operator\nx")),
        ("token-live-wrong-secret", seed(2, 0, "rds1.%s.bm90IHRoZSBzZWNyZXQ")),
        ("token-unknown", seed(2, 0, "rds1.s00112233445566778899aabb.x")),
        ("token-apikey-shape", seed(2, 0, "rdk1.%a.x")),
        ("jwt-forged-signature", seed(3, 1, "%h.%c.bm90IGEgc2lnbmF0dXJl")),
        ("jwt-alg-none", seed(3, 1, "eyJhbGciOiJub25lIn0.%c.")),
        ("jwt-operator", seed(3, 0, "%h.%c.x")),
        ("jwt-garbage", seed(3, 1, "a.b.c")),
    ]
}
