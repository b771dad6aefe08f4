// The broker's request path: bytes decoded as each unary redoubt.v1 request message and dispatched
// to the broker's services (RedoubtBroker's BrokerServices) over an in-process LocalHSM and a
// throwaway SQLite store: decode → validate → HSM dispatch → error mapping.
//
// Dispatch: a GRPCServer with the broker's services and a GRPCClient over grpc-swift-2's in-process
// transport: the message is serialised, routed, decoded by the server's ProtobufDeserializer,
// handled, and its status travels back as a client sees it (an error other than RPCError in a
// handler would arrive as UNKNOWN). With FUZZ_BROKER_DIRECT=1 the services' handler methods are
// called directly instead, with a ServerRequest and ServerContext built here: the same decode →
// validate → HSM → error-mapping code, about 20 % faster; Fuzz/README.md ("FuzzBrokerRequest") has
// the numbers.
//
// World (built lazily, rebuilt when it has grown — see `maximumInputsPerWorld` and `grown`):
// LocalHSM over a SQLite store in a temporary directory (unsealed by 2-of-2 shares: no scrypt), behind a store
// wrapper that records every committed batch; a frozen clock (no idle-timeout bookkeeping, no
// time-driven audit flushes, no cache refreshes: every commit is caused by a call); partition
// "p1" with a security officer, crypto user "alice" and a spare crypto user "bob", open sessions
// for the operator, the officer and alice; keys P-256, Ed25519, AES-256 (extractable) and
// ML-KEM-768 generated, an HMAC generic secret (not sensitive, known bytes) and RSA-2048 imported.
//
// Input layout:
//   byte 0 (mod 41): the RPC, in the order of `rpcs` below (every unary RPC; CreateBackup and
//                    SignStream are streaming and not here)
//   byte 1: bits 0–2 (mod 6) the `authorization` bearer: alice's session, the officer's, the
//           operator's, a garbage token (alice's live session id, wrong secret), none, or alice's
//           API key (what OpenSession takes);
//           bit 3: put the id of a prepared key into the message's key id fields (every item of a
//           batch; Unwrap's and ImportKey's wrapping key id; RemoveUser's user id gets bob's id);
//           bits 4–6 (mod 6): which prepared key;
//           bit 7: put a second prepared key into the wrapping key id of Wrap and ExportWrapped
//           (AES-256, or RSA-2048 when the first is AES-256)
//   the rest: the request message (swift-protobuf); inputs that do not decode are skipped
//
// Invariants:
//   - every call succeeds, or fails with an RPCError whose code is one the broker documents
//     (StatusMapping: the nine HSMError codes); never UNKNOWN; INTERNAL only with the message
//     "internal error" (its cause, which the broker logs, is printed to stderr on every INTERNAL);
//     the ErrorDetails of batch items obey the same rules;
//   - no error message (nor batch item error) contains a prepared secret: the API keys, the session
//     tokens and their secret parts, the HMAC key's bytes (hex, base64); no successful response
//     contains an API key or a session token of the fixture;
//   - a rejected request changed nothing: the HSM's view (the partition's keys with state and
//     latest version, its users, every partition's settings, read as the officer and the operator)
//     is equal before and after (it is read from the store, so it is re-read only when the call
//     committed something; otherwise the unchanged change counter stands for it), and every batch the store committed during the call (and the audit
//     flush after it) holds only `appendAudit` operations and writes of the audit checkpoint — LocalHSM audits every key use, refused
//     ones too ("probing leaves a trace"), in group commits; the change counter moved by exactly
//     the number of those batches.
//
// Successful calls may change the fixture; after one, `repair` puts it back: a blocked prepared key
// is unblocked, a destroyed one restored, one whose attributes changed (UpdateKey) or that is gone
// is replaced by a new key of the same kind, a closed fixture session is reopened, the partition's
// changed settings are reset, a removed bob is added again. Excluded before dispatch (documented,
// not fuzzed here): generating RSA keys (CreateKey of RSA algorithms, RotateKey of the RSA
// fixture) — seconds per key under ASan. Growth (created keys, users, partitions, sessions, the
// audit chain) is bounded by rebuilding the world; see `grown`.
import Foundation
import FuzzSupport
import GRPCCore
import Redoubt
import RedoubtCrypto
import RedoubtProto
import RedoubtStore
import Synchronization
import SwiftProtobuf

// The target is three files: this one (input layout, entry points, the one-input function and
// its invariants, seeds), BrokerWorld.swift (the LocalHSM fixture, its snapshot and repair) and
// BrokerRPCs.swift (every unary RPC, how it is called, and which outcomes it may have).

// MARK: Selectors

enum Bearer: Int, CaseIterable { case alice, officer, operatorSession, garbage, none, aliceAPIKey }

/// What byte 1 selects.
struct Selector {
    var bearer: Bearer
    var substitute: Bool
    var keyIndex: Int
    var substituteWrapping: Bool

    init(_ byte: UInt8) {
        bearer = Bearer(rawValue: Int(byte & 7) % Bearer.allCases.count)!
        substitute = byte & 8 != 0
        keyIndex = Int((byte >> 4) & 7) % 6
        substituteWrapping = byte & 0x80 != 0
    }
}

/// The ids the selector puts into a message.
struct Substitution {
    var key: String?
    var wrappingKey: String?
    var user: String?
}

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.preferMemoryTemporaryDirectory()
    Warmup.prepare(target: "FuzzBrokerRequest", build: { _ = world.inputs }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzBrokerRequest(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzBrokerRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let call = input.pick(rpcs)
    let selector = Selector(input.byte())
    let bytes = input.rest()

    var w = world
    w.inputs += 1
    world = w

    let key = w.keys[selector.keyIndex]
    let wrapping = key.info.algorithm == .aes256 ? w.keys[4].id : w.keys[2].id
    let substitution = Substitution(
        key: selector.substitute ? key.id : nil,
        wrappingKey: selector.substituteWrapping ? wrapping : nil,
        user: selector.substitute ? w.bobID : nil)
    var metadata: Metadata = [:]
    switch selector.bearer {
    case .alice: metadata.addString("Bearer \(w.aliceToken.value)", forKey: "authorization")
    case .officer: metadata.addString("Bearer \(w.officerToken.value)", forKey: "authorization")
    case .operatorSession: metadata.addString("Bearer \(w.operatorToken.value)", forKey: "authorization")
    case .garbage: metadata.addString("Bearer \(w.garbageToken.value)", forKey: "authorization")
    case .none: break
    case .aliceAPIKey: metadata.addString("Bearer \(w.aliceAPIKey)", forKey: "authorization")
    }

    // Before: no queued audit records, a current view of the fixture. The view stays valid while
    // the store commits nothing (every commit passes through the recording wrapper).
    flushAudit(w)
    let before: Snapshot
    if let cached = w.snapshot, w.store.take().isEmpty {
        before = cached
    } else {
        do { before = try takeSnapshot(w) } catch { fuzzFail("the fixture cannot be read before the call: \(error)") }
    }
    CapturingLogHandler.last.withLock { $0 = nil }

    guard let outcome = call.run(bytes, substitution, metadata, w) else {  // undecodable or excluded
        w.snapshot = before
        world = w
        return 0
    }
    if verbose {
        switch outcome {
        case .success(_, let details): writeToStandardError("\(call.name) [\(selector.bearer)]: ok, \(details.count) item errors\n")
        case .failure(let error): writeToStandardError("\(call.name) [\(selector.bearer)]: \(error.code): \(error.message)\n")
        }
    }
    flushAudit(w)
    let batches = w.store.take()
    let auditOnly = batches.allSatisfy { $0.operations.allSatisfy(isAuditWrite) }

    switch outcome {
    case .failure(let error):
        check(error.code, error.message, call.name, w)
        for batch in batches {
            for operation in batch.operations {
                guard isAuditWrite(operation) else {
                    fuzzFail("\(call.name) was rejected (\(error.code): \(error.message)) but committed \(describe(operation))")
                }
            }
        }
        // The view is read from the store; when nothing was committed it cannot have changed, and
        // only the change counter is read. Otherwise (audit batches) the whole view is compared.
        var after = before
        if batches.isEmpty {
            let store = w.store
            guard case .success(let counter) = runBlocking({ try await store.changeCounter() }) else {
                fuzzFail("\(call.name) was rejected (\(error.code)) and the store's change counter can no longer be read")
            }
            after.counter = counter
        } else {
            do { after = try takeSnapshot(w) } catch let failure {
                fuzzFail("\(call.name) was rejected (\(error.code)) and the fixture can no longer be read: \(failure)")
            }
        }
        fuzzCheck(
            after.counter == before.counter + Int64(batches.count),
            "\(call.name) was rejected, and the change counter moved by \(after.counter - before.counter) for \(batches.count) audit batches")
        fuzzCheck(after.keys == before.keys, "\(call.name) was rejected (\(error.code): \(error.message)) but the partition's keys changed")
        fuzzCheck(after.users == before.users, "\(call.name) was rejected (\(error.code): \(error.message)) but the users changed")
        fuzzCheck(after.partitions == before.partitions, "\(call.name) was rejected (\(error.code): \(error.message)) but partition settings changed")
        w.snapshot = after
        world = w
        if w.inputs > maximumInputsPerWorld { rebuild(w) }
    case .success(let response, let details):
        for detail in details {
            guard let code = rpcCode(detail.code) else {
                fuzzFail("\(call.name): a batch item failed with error code \(detail.code) (\(detail.code.rawValue)), not one the broker documents")
            }
            check(code, detail.message, "\(call.name) (batch item)", w)
        }
        if call.name != "OpenSession", let encoded: [UInt8] = try? response.serializedBytes() {
            for secret in w.credentialSecrets where contains(encoded, secret) {
                fuzzFail("\(call.name)'s response contains a fixture credential")
            }
        }
        if call.mutating || !auditOnly {
            repair(after: call.name, selector: selector)
        } else {
            // Only key-use audit records: the view is the same, the counter moved by the batches.
            w.snapshot = before
            w.snapshot?.counter += Int64(batches.count)
            world = w
            if w.inputs > maximumInputsPerWorld { rebuild(w) }
        }
    }
    return 0
}

/// An audit record, or the signed checkpoint of a partition's audit chain (which `close()`, the
/// flush after every call, advances): the audit's own writes, which leave the HSM's view as it was.
private func isAuditWrite(_ operation: WriteOperation) -> Bool {
    switch operation {
    case .appendAudit: true
    case .insert(let key, _, _), .update(let key, _, _, _): key.kind == "audit-checkpoint"
    default: false
    }
}

/// Whether `needle` (not empty) occurs in `haystack`.
private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
    }
    return false
}

/// A rejected call's committed operation, for the failure message (never its data).
private func describe(_ operation: WriteOperation) -> String {
    switch operation {
    case .insert(let key, _, _): return "an insert of \(key.kind) \(key.id)"
    case .update(let key, _, _, _): return "an update of \(key.kind) \(key.id)"
    case .delete(let key, _): return "a delete of \(key.kind) \(key.id)"
    case .require(let key, _): return "a precondition on \(key.kind) \(key.id)"
    case .appendAudit: return "an audit record"
    case .claimRequestID(_, let id, _): return "a request-id claim \(id)"
    }
}

// MARK: Seeds

/// One valid request per RPC, with the selector set to the caller and prepared key it needs.
private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    func sel(_ bearer: Bearer, key: Int? = nil, wrapping: Bool = false) -> UInt8 {
        var b = UInt8(bearer.rawValue)
        if let key { b |= 8 | UInt8(key) << 4 }
        if wrapping { b |= 0x80 }
        return b
    }
    let (p256, ed25519, aes, hmac, rsa, mlkem) = (0, 1, 2, 3, 4, 5)
    _ = (ed25519, rsa)
    var seeds: [(String, UInt8, any Message)] = []
    func add(_ name: String, _ selector: UInt8, _ message: any Message) { seeds.append((name, selector, message)) }
    func spec(_ algorithm: Redoubt_V1_KeyAlgorithm, _ label: String, persistent: Bool = true) -> Redoubt_V1_KeySpec {
        var s = Redoubt_V1_KeySpec()
        s.algorithm = algorithm
        s.label = label
        if !persistent { s.persistent = false }
        return s
    }
    let k = "k_placeholder"
    /// Redoubt's versioned ciphertext/tag format: 0x01, a 4-byte key version, the body.
    func versioned(_ body: Data) -> Data { Data([1, 0, 0, 0, 1]) + body }

    add("OpenSession", sel(.aliceAPIKey), Redoubt_V1_OpenSessionRequest.with { $0.partitionID = partitionID })
    add(
        "OpenSession-password", sel(.none),
        Redoubt_V1_OpenSessionRequest.with {
            $0.partitionID = partitionID
            $0.password = .with {
                $0.username = "alice"
                $0.password = "a long enough password"
            }
        })
    add("CloseSession", sel(.garbage), Redoubt_V1_CloseSessionRequest())
    add(
        "CreatePartition", sel(.operatorSession),
        Redoubt_V1_CreatePartitionRequest.with {
            $0.partitionID = "p2"
            $0.settings.readOnly = false
            $0.settings.maximumObjects = 10
            $0.settings.maximumSessionLifetime = .init(seconds: 3600)
            $0.settings.sessionIdleTimeout = .init(seconds: 600)
            $0.settings.allowedSources.cidrs = ["10.0.0.0/8", "2001:db8::/32"]
        })
    add("ListPartitions", sel(.operatorSession), Redoubt_V1_ListPartitionsRequest.with { $0.pageSize = 10 })
    add(
        "UpdatePartition", sel(.operatorSession),
        Redoubt_V1_UpdatePartitionRequest.with {
            $0.partitionID = partitionID
            $0.settings.exportAllowed = false
            $0.settings.sessionIdleTimeout = .init(seconds: 900)
        })
    add(
        "AddUser", sel(.officer),
        Redoubt_V1_AddUserRequest.with {
            $0.name = "carol"
            $0.role = .auditor
            $0.password = "a long enough password"
        })
    add(
        "AddUser-certificate", sel(.officer),
        Redoubt_V1_AddUserRequest.with {
            $0.name = "dave"
            $0.role = .cryptoUser
            $0.clientCertificateSha256 = Data(repeating: 0xCE, count: 32)
        })
    add("ListUsers", sel(.officer), Redoubt_V1_ListUsersRequest.with { $0.pageSize = 5 })
    add("RemoveUser", sel(.officer, key: 0), Redoubt_V1_RemoveUserRequest.with { $0.userID = "u_placeholder" })
    add(
        "CreateKey", sel(.alice),
        Redoubt_V1_CreateKeyRequest.with {
            $0.spec = spec(.ecP256, "created", persistent: false)
            $0.spec.usages = [.sign, .verify]
            $0.requestID = "req-1"
        })
    add(
        "ImportKey", sel(.alice),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.genericSecret, "imported", persistent: false)
            $0.secret = Data(repeating: 0x42, count: 32)
        })
    add(
        "ImportKey-wrapped", sel(.alice, key: aes),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.aes128, "unwrapped", persistent: false)
            $0.wrapped = .with {
                $0.wrappingKeyID = k
                $0.scheme = .aesKw
                $0.blob = versioned(Data(repeating: 0xA6, count: 24))
            }
        })
    add(
        "ImportKey-spki", sel(.alice),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.ecP256, "public", persistent: false)
            $0.spkiDer = FixedKeys.privateKey(.p256).publicKey.spkiDER
        })
    add(
        "ImportKey-pkcs8", sel(.alice),
        Redoubt_V1_ImportKeyRequest.with {
            $0.spec = spec(.ed25519, "private", persistent: false)
            $0.pkcs8Der = (try? FixedKeys.privateKey(.ed25519).pkcs8Representation().exportedBytes()) ?? Data()
        })
    add("GetKey", sel(.alice, key: p256), Redoubt_V1_GetKeyRequest.with { $0.keyID = k })
    add(
        "ListKeys", sel(.alice),
        Redoubt_V1_ListKeysRequest.with {
            $0.pageSize = 3
            $0.includeDestroyed = true
        })
    add(
        "ListKeys-page", sel(.officer),
        Redoubt_V1_ListKeysRequest.with {
            $0.pageSize = 2
            $0.pageToken = "a2V5OmsxMjM"
            $0.label = "fixture-aes"
        })
    add(
        "UpdateKey", sel(.officer, key: hmac),
        Redoubt_V1_UpdateKeyRequest.with {
            $0.keyID = k
            $0.label = "renamed"
            $0.usages.usages = [.mac]
            $0.modifiable = true
        })
    add("RotateKey", sel(.officer, key: p256), Redoubt_V1_RotateKeyRequest.with { $0.keyID = k })
    add("BlockKey", sel(.officer, key: ed25519), Redoubt_V1_BlockKeyRequest.with { $0.keyID = k })
    add("UnblockKey", sel(.officer, key: ed25519), Redoubt_V1_UnblockKeyRequest.with { $0.keyID = k })
    add("DestroyKey", sel(.officer, key: mlkem), Redoubt_V1_DestroyKeyRequest.with { $0.keyID = k })
    add("RestoreKey", sel(.officer, key: mlkem), Redoubt_V1_RestoreKeyRequest.with { $0.keyID = k })
    add("PurgeKey", sel(.officer, key: p256), Redoubt_V1_PurgeKeyRequest.with { $0.keyID = k })
    add(
        "ExportPublicKey", sel(.alice, key: rsa),
        Redoubt_V1_ExportPublicKeyRequest.with {
            $0.keyID = k
            $0.keyVersion = 1
        })
    add(
        "ExportWrapped", sel(.alice, key: hmac, wrapping: true),
        Redoubt_V1_ExportWrappedRequest.with {
            $0.keyID = k
            $0.wrappingKeyID = k
            $0.scheme = .aesKwp
        })
    add("ExportPlaintext", sel(.alice, key: hmac), Redoubt_V1_ExportPlaintextRequest.with { $0.keyID = k })
    func signing(_ key: String) -> Redoubt_V1_SignRequest {
        .with {
            $0.keyID = key
            $0.input.message = Data("hello".utf8)
            $0.scheme.ecdsa = .with {
                $0.hash = .sha256
                $0.encoding = .der
                $0.lowS = .standard
            }
        }
    }
    add("Sign", sel(.alice, key: p256), signing(k))
    add(
        "Sign-ed25519", sel(.alice, key: ed25519),
        Redoubt_V1_SignRequest.with {
            $0.keyID = k
            $0.input.message = Data("hello".utf8)
            $0.scheme.ed25519 = .init()
        })
    add(
        "Sign-rsa-pss", sel(.alice, key: rsa),
        Redoubt_V1_SignRequest.with {
            $0.keyID = k
            $0.input.digest = Data(repeating: 1, count: 32)
            $0.scheme.rsaPss = .with { $0.hash = .sha256 }
        })
    add(
        "Verify", sel(.alice, key: p256),
        Redoubt_V1_VerifyRequest.with {
            $0.keyID = k
            $0.input.message = Data("hello".utf8)
            $0.signature = Data(MiniDER.ecdsaDER(fromRaw: [UInt8](repeating: 1, count: 64)))
            $0.scheme.ecdsa = .with {
                $0.hash = .sha256
                $0.encoding = .der
            }
            $0.keyVersion = 1
        })
    add(
        "Encrypt", sel(.alice, key: aes),
        Redoubt_V1_EncryptRequest.with {
            $0.keyID = k
            $0.plaintext = Data("secret message".utf8)
            $0.scheme = .aesGcm
            $0.aad = Data("aad".utf8)
        })
    add(
        "Decrypt", sel(.alice, key: aes),
        Redoubt_V1_DecryptRequest.with {
            $0.keyID = k
            $0.ciphertext = versioned(Data(repeating: 7, count: 40))
            $0.scheme = .aesGcm
        })
    add(
        "Decrypt-rsa", sel(.alice, key: rsa),
        Redoubt_V1_DecryptRequest.with {
            $0.keyID = k
            $0.ciphertext = versioned(Data(repeating: 7, count: 256))
            $0.scheme = .rsaOaepSha256
        })
    add(
        "Mac", sel(.alice, key: hmac),
        Redoubt_V1_MacRequest.with {
            $0.keyID = k
            $0.data = Data("data".utf8)
            $0.hash = .sha256
        })
    add(
        "VerifyMac", sel(.alice, key: hmac),
        Redoubt_V1_VerifyMacRequest.with {
            $0.keyID = k
            $0.data = Data("data".utf8)
            $0.tag = versioned(Data(repeating: 0, count: 32))
            $0.hash = .sha256
        })
    add(
        "Wrap", sel(.alice, key: hmac, wrapping: true),
        Redoubt_V1_WrapRequest.with {
            $0.keyID = k
            $0.wrappingKeyID = k
            $0.scheme = .aesGcm
        })
    add(
        "Unwrap", sel(.alice, key: aes),
        Redoubt_V1_UnwrapRequest.with {
            $0.wrappingKeyID = k
            $0.scheme = .aesKw
            $0.wrappedKey = versioned(Data(repeating: 0xA6, count: 40))
            $0.spec = spec(.aes256, "unwrapped", persistent: false)
        })
    add(
        "DeriveKey", sel(.alice, key: p256),
        Redoubt_V1_DeriveKeyRequest.with {
            $0.keyID = k
            $0.peerPublicKey.algorithm = .ecP256
            $0.peerPublicKey.spkiDer = FixedKeys.privateKey(.p256).publicKey.spkiDER
            $0.derivation.hkdf = .with {
                $0.hash = .sha256
                $0.info = Data("info".utf8)
                $0.outputLengthBytes = 32
            }
            $0.spec = spec(.aes256, "derived", persistent: false)
        })
    add("Random", sel(.alice), Redoubt_V1_RandomRequest.with { $0.lengthBytes = 32 })
    add(
        "Encapsulate", sel(.alice, key: mlkem),
        Redoubt_V1_EncapsulateRequest.with {
            $0.keyID = k
            $0.spec = spec(.aes256, "shared", persistent: false)
        })
    add(
        "Decapsulate", sel(.alice, key: mlkem),
        Redoubt_V1_DecapsulateRequest.with {
            $0.keyID = k
            $0.encapsulatedKey = Data(repeating: 3, count: 1088)
            $0.spec = spec(.aes256, "shared", persistent: false)
        })
    add("SignBatch", sel(.alice, key: p256), Redoubt_V1_SignBatchRequest.with { $0.items = [signing(k), signing("missing")] })
    add(
        "VerifyBatch", sel(.alice, key: ed25519),
        Redoubt_V1_VerifyBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.input.message = Data("m".utf8)
                    $0.signature = Data(repeating: 0, count: 64)
                    $0.scheme.ed25519 = .init()
                }
            ]
        })
    add(
        "EncryptBatch", sel(.alice, key: aes),
        Redoubt_V1_EncryptBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.plaintext = Data("a".utf8)
                    $0.scheme = .aesGcm
                },
                .with {
                    $0.keyID = k
                    $0.plaintext = Data(repeating: 0, count: 16)
                    $0.scheme = .aesCbcPkcs7
                },
            ]
        })
    add(
        "DecryptBatch", sel(.alice, key: aes),
        Redoubt_V1_DecryptBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.ciphertext = versioned(Data(repeating: 9, count: 32))
                    $0.scheme = .aesCbcPkcs7
                }
            ]
        })
    add(
        "MacBatch", sel(.alice, key: hmac),
        Redoubt_V1_MacBatchRequest.with {
            $0.items = [
                .with {
                    $0.keyID = k
                    $0.data = Data("x".utf8)
                    $0.hash = .sha512
                }
            ]
        })
    add(
        "ListAuditRecords", sel(.officer),
        Redoubt_V1_ListAuditRecordsRequest.with {
            $0.fromSequence = 1
            $0.limit = 10
        })
    add("VerifyAudit", sel(.officer), Redoubt_V1_VerifyAuditRequest())

    return try seeds.map { name, selector, message in
        let base = name.split(separator: "-").first.map(String.init) ?? name
        guard let index = rpcs.firstIndex(where: { $0.name == base }) else { fuzzFail("seed \(name): no RPC \(base)") }
        return (name, [UInt8(index), selector] + (try message.serializedBytes() as [UInt8]))
    }
}
