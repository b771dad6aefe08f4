// The backup file reader: Backup.readHeader, Backup.verify and Backup.read.
//
// Input layout:
//   byte 0 bit 1: also restore a file that does not verify (slow: a temporary store per input)
//   byte 0 bit 2: skip the deep checks of a file that verifies (re-write, restore), for speed
//   byte 0 bit 0 clear: raw mode, the rest is the whole file.
//   byte 0 bit 0 set:   structured mode, the target writes a correctly sealed file around fuzzed chunk
//                  plaintexts, so the fuzzer reaches decompression, record decoding and the audit checks:
//     byte flags: bit 0 zstd-compress each chunk (else the bytes are the compressed frame itself);
//                 bit 1 mark no chunk as the last one; bit 2 carry the master envelope in the header;
//                 bit 3 scope from a short field (else "store"); bit 4 record count from 2 bytes (else the
//                 number of elements of the chunks' JSON arrays); bit 5 append the rest as trailing bytes
//     byte chunk count (mod 4, plus 1), then per chunk a field (2-byte length) of plaintext
//
// The master key is fixed: Fuzz/Fixtures/backup-master-envelope.json, unsealed with the passphrase
// below (cheap scrypt), so committed seed backups stay readable. The target derives the same
// backup key the writer does (HKDF-SHA256 over the master key and the header salt) from the
// documented format alone.
//
// Invariants:
//   - readHeader, verify and read throw BackupError only, and never trap;
//   - a file that verifies reads back exactly its declared number of records, and readHeader
//     agrees with verify on the header;
//   - what verifies re-encodes: the records written again by Backup.write verify and read
//     back equal;
//   - verify's promise holds: a file that verifies imports into an empty store, and the store
//     then exports the same records; a file that does not verify is refused by a restore, which
//     leaves the store empty (all or nothing), with BackupError or StoreError only.
import CFuzzZstd
import Crypto
import Foundation
import FuzzSupport
import Redoubt
import RedoubtCrypto
import RedoubtStore
import _CryptoExtras

private let passphrase = "redoubt fuzzing fixture passphrase"
private let envelopePath = Seeds.fuzzDirectory.appendingPathComponent("Fixtures/backup-master-envelope.json").path

private struct Fixture: Sendable {
    var master: MasterKey
    var envelope: MasterKeyEnvelope
    var masterBytes: SymmetricKey
    var directory: String
}

private let fixture: Fixture = {
    do {
        let envelope = try MasterKeyEnvelope(serialized: try Data(contentsOf: URL(fileURLWithPath: envelopePath)))
        return try makeFixture(envelope)
    } catch {
        fuzzFail("cannot load \(envelopePath) (regenerate with Fuzz/run --make-seeds): \(error)")
    }
}()

private func makeFixture(_ envelope: MasterKeyEnvelope) throws -> Fixture {
    let master = try MasterKey.unseal(envelope: envelope, passphrase: passphrase)
    guard let slot = envelope.passphrase else { fuzzFail("fixture envelope has no passphrase slot") }
    // The documented passphrase slot: scrypt(NFC passphrase, salt) seals the key, AAD "redoubt/master/v1" 0x00 key id.
    let kek = try _CryptoExtras.KDF.Scrypt.deriveKey(
        from: Data(passphrase.utf8), salt: slot.salt, outputByteCount: 32,
        rounds: slot.scrypt.n, blockSize: slot.scrypt.r, parallelism: slot.scrypt.p)
    let aad = Data("redoubt/master/v1".utf8) + [0] + Data(envelope.keyID.utf8)
    let bytes = try AES.GCM.open(try AES.GCM.SealedBox(combined: slot.sealedKey), using: kek, authenticating: aad)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redoubt-fuzz-backup-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return Fixture(master: master, envelope: envelope, masterBytes: SymmetricKey(data: bytes), directory: directory)
}

// The libFuzzer entry points.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(makeSeeds)
    Warmup.preferMemoryTemporaryDirectory()
    Warmup.prepare(
        target: "FuzzBackupReader",
        build: {
            _ = fixture.directory
        }, entry: fuzzTestOneInput)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzBackupReader(data, size)
}

/// One input: checks every invariant of the header comment; a broken one stops the process.
func fuzzBackupReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let first = input.byte()
    let file: [UInt8]
    if first & 1 == 0 {
        file = input.rest()
    } else {
        file = structured(&input, fixture: fixture)
    }
    let path = fixture.directory + "/input.backup"
    do { try Data(file).write(to: URL(fileURLWithPath: path)) } catch { fuzzFail("cannot write \(path): \(error)") }
    check(path: path, fixture: fixture, restoreAlways: first & 2 != 0, deep: first & 4 == 0)
    return 0
}

// MARK: The checks

private func check(path: String, fixture: Fixture, restoreAlways: Bool, deep: Bool) {
    let header = expectOnly(BackupError.self, "readHeader") { try Backup.readHeader(from: path) }
    let master = fixture.master
    let verified = runBlocking { try await Backup.verify(at: path, master: master) }
    let summary: BackupSummary
    switch verified {
    case .success(let s): summary = s
    case .failure(let error):
        fuzzCheck(error is BackupError, "verify threw \(type(of: error)) (\(error)); only BackupError may escape")
        if restoreAlways {
            switch restore(path, master) {
            case .success: fuzzFail("a restore accepted a backup that does not verify (\(error))")
            case .failure(let refusal):
                fuzzCheck(refusal is BackupError || refusal is StoreError, "a refused restore threw \(type(of: refusal)): \(refusal)")
            }
        }
        return
    }
    fuzzCheck(header == summary.header, "readHeader and verify disagree on the header")
    let records = readAll(path, master)
    fuzzCheck(
        records.count == summary.header.recordCount,
        "a verified backup declares \(summary.header.recordCount) records but reads \(records.count)")
    guard deep else { return }

    // Re-encode: what verified is written again, verifies, and reads back equal.
    let rewritten = fixture.directory + "/rewrite.backup"
    let scope = summary.header.scope
    let envelope = fixture.envelope
    let written = runBlocking {
        try await Backup.write(records: stream(records), to: rewritten, master: master, scope: scope, envelope: envelope, overwrite: true)
    }
    guard case .success(let writtenSummary) = written else { fuzzFail("re-writing verified records failed: \(written)") }
    fuzzCheck(writtenSummary.header.recordCount == records.count, "re-written backup declares another record count")
    let reverified = runBlocking { try await Backup.verify(at: rewritten, master: master) }
    guard case .success = reverified else { fuzzFail("the re-written backup does not verify: \(reverified)") }
    fuzzCheck(readAll(rewritten, master) == records, "the re-written backup reads back different records")

    // Verify's promise: the records import into an empty store, which exports the same set.
    switch restore(path, master) {
    case .success(let exported):
        fuzzCheck(
            Set(exported) == Set(records) && exported.count == records.count,
            "a verified backup imports, but the store exports other records")
    case .failure(let error):
        fuzzFail("a backup that verifies is refused by a restore into an empty store: \(error)")
    }
}

/// Restores `path` into a new temporary store: the store's export, or the restore's error
/// (after checking that the refused restore left the store empty).
private func restore(_ path: String, _ master: MasterKey) -> Result<[StoreRecord], any Error> {
    let outcome = runBlocking { () -> Result<[StoreRecord], any Error> in
        let store = try SQLiteStore.temporary()
        var result: Result<[StoreRecord], any Error>
        do {
            try await store.importAll(Backup.read(from: path, master: master))
            result = .success([])
        } catch {
            result = .failure(error)
        }
        var out: [StoreRecord] = []
        for try await record in store.exportAll() { out.append(record) }
        let counter = try await store.changeCounter()
        try await store.close()
        if case .failure(let error) = result {
            fuzzCheck(out.isEmpty && counter == 0, "a refused restore (\(error)) left \(out.count) records in the store")
            return result
        }
        return .success(out)
    }
    switch outcome {
    case .success(let result): return result
    case .failure(let error): fuzzFail("a temporary store failed around a restore: \(error)")
    }
}

private func readAll(_ path: String, _ master: MasterKey) -> [StoreRecord] {
    let result = runBlocking { () -> [StoreRecord] in
        var out: [StoreRecord] = []
        for try await record in Backup.read(from: path, master: master) { out.append(record) }
        return out
    }
    switch result {
    case .success(let records): return records
    case .failure(let error): fuzzFail("reading a backup that verified failed: \(error)")
    }
}

private func stream(_ records: [StoreRecord]) -> AsyncThrowingStream<StoreRecord, Error> {
    AsyncThrowingStream { continuation in
        for record in records { continuation.yield(record) }
        continuation.finish()
    }
}

// MARK: Building files

/// The header JSON the writer produces (BackupFormat.HeaderJSON; sorted keys, ISO 8601 dates).
private struct HeaderJSON: Codable {
    var createdAt: Date
    var scope: String
    var masterKeyID: String
    var recordCount: Int
    var salt: Data
    var masterEnvelope: Data?
}

private func structured(_ input: inout FuzzInput, fixture: Fixture) -> [UInt8] {
    let flags = input.byte()
    let scope = flags & 8 != 0 ? String(decoding: input.shortField(), as: UTF8.self) : "store"
    let declared = flags & 16 != 0 ? Int(input.uint16()) : nil
    let chunkCount = Int(input.byte() % 4) + 1
    var chunks: [[UInt8]] = []
    for _ in 0..<chunkCount { chunks.append(input.field()) }
    let trailing = flags & 32 != 0 ? input.rest() : []
    let count =
        declared
        ?? chunks.reduce(0) { total, chunk in
            let elements = (try? JSONSerialization.jsonObject(with: Data(chunk), options: [.fragmentsAllowed])) as? [Any]
            return total + (elements?.count ?? 0)
        }
    return buildFile(
        chunks: chunks, compress: flags & 1 != 0, markLast: flags & 2 == 0, withEnvelope: flags & 4 != 0,
        scope: scope, recordCount: count, trailing: trailing, fixture: fixture)
}

private func buildFile(
    chunks: [[UInt8]], compress: Bool, markLast: Bool, withEnvelope: Bool, scope: String,
    recordCount: Int, trailing: [UInt8], fixture: Fixture
) -> [UInt8] {
    let salt = Data(FixedKeys.bytes("backup salt", count: 32))
    let header = HeaderJSON(
        createdAt: Date(timeIntervalSince1970: 1_800_000_000), scope: scope, masterKeyID: fixture.master.keyID,
        recordCount: recordCount, salt: salt,
        masterEnvelope: withEnvelope ? try? fixture.envelope.serialized() : nil)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    guard let body = try? encoder.encode(header) else { fuzzFail("cannot encode a header") }
    var file = Array("REDOUBT-BACKUP\n".utf8) + [0, 1] + bigEndian(UInt32(body.count)) + Array(body)
    let headerHash = Array(SHA256.hash(data: file))
    let key = HKDF<SHA256>.deriveKey(
        inputKeyMaterial: fixture.masterBytes, salt: salt, info: Data("redoubt/backup/v1".utf8),
        outputByteCount: 32)
    for (index, plaintext) in chunks.enumerated() {
        let last = markLast && index == chunks.count - 1
        let aad = headerHash + bigEndian(UInt32(index)) + [last ? 1 : 0]
        let payload = compress ? zstdCompress(plaintext) : plaintext
        let nonce = AES.GCM.Nonce()
        guard let sealed = try? AES.GCM.seal(payload, using: key, nonce: nonce, authenticating: aad).combined else {
            fuzzFail("cannot seal a chunk")
        }
        file += bigEndian(UInt32(sealed.count)) + Array(sealed)
    }
    return file + trailing
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
}

private func zstdCompress(_ input: [UInt8]) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
    let written = output.withUnsafeMutableBytes { out in
        input.withUnsafeBytes { ZSTD_compress(out.baseAddress, out.count, $0.baseAddress, $0.count, 1) }
    }
    guard ZSTD_isError(written) == 0 else { fuzzFail("zstd compression failed") }
    return Array(output.prefix(written))
}

// MARK: Seeds

/// Writes a new fixture envelope and real backups made by Backup.write over a temporary store.
private func makeSeeds() throws -> [(name: String, bytes: [UInt8])] {
    let created = try MasterKey.create(passphrase: passphrase, shares: nil, dev: false, scrypt: ScryptParameters(n: 1 << 10, r: 8, p: 1))
    try FileManager.default.createDirectory(atPath: (envelopePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try created.envelope.serialized().write(to: URL(fileURLWithPath: envelopePath))
    let fixture = try makeFixture(created.envelope)
    let master = fixture.master, envelope = fixture.envelope, directory = fixture.directory
    defer { try? FileManager.default.removeItem(atPath: directory) }

    let made = runBlockingOrDie("seed backups") { () -> [(String, [UInt8], [StoreRecord])] in
        var out: [(String, [UInt8], [StoreRecord])] = []
        func backup(_ name: String, _ store: SQLiteStore, scope: BackupScope, envelope: MasterKeyEnvelope?) async throws {
            let path = directory + "/" + name
            try await Backup.write(records: store.exportAll(), to: path, master: master, scope: scope, envelope: envelope)
            var records: [StoreRecord] = []
            for try await record in store.exportAll() { records.append(record) }
            out.append((name, Array(try Data(contentsOf: URL(fileURLWithPath: path))), records))
        }
        let empty = try SQLiteStore.temporary()
        try await backup("empty", empty, scope: .store, envelope: nil)
        try await empty.close()

        let store = try SQLiteStore.temporary()
        let k1 = ObjectKey(partition: "p", kind: "key", id: "k1")
        let k2 = ObjectKey(partition: "p", kind: "key", id: "k2")
        let user = ObjectKey(partition: "", kind: "user", id: "u_operator")
        try await store.commit([
            .claimRequestID(partition: "p", requestID: "req-1", object: k1),
            .insert(k1, label: "signing", data: Data(FixedKeys.bytes("k1", count: 48))),
            .insert(user, label: "operator", data: Data(#"{"id":"u_operator","role":"OPERATOR"}"#.utf8)),
            .appendAudit(partition: "p", payload: Data(#"{"actor":"u1","operation":"key.generate","result":"ok"}"#.utf8)),
            .appendAudit(partition: "", payload: Data(#"{"actor":"u_operator","operation":"cluster.init"}"#.utf8)),
        ])
        try await store.commit([
            .update(k1, expectedRevision: 1, label: nil, data: Data(FixedKeys.bytes("k1 v2", count: 60))),
            .insert(k2, label: nil, data: Data()),
            .appendAudit(partition: "p", payload: Data(#"{"actor":"u1","operation":"key.rotate","result":"ok"}"#.utf8)),
        ])
        try await backup("store", store, scope: .store, envelope: envelope)
        try await backup("partition", store, scope: .partition("p"), envelope: nil)
        try await store.close()
        return out
    }

    var seeds: [(name: String, bytes: [UInt8])] = []
    for (name, file, records) in made {
        seeds.append(("raw-\(name)", [0] + file))
        let json = Array(try JSONEncoder().encode(records))
        // Structured: compressed, one chunk, counted records.
        seeds.append(("structured-\(name)", [1, 1 | 4, 0] + field(json)))
        if name == "store", let first = records.first {
            // Restore even what does not verify: the real file, and one that holds an object twice.
            seeds.append(("restore-raw-\(name)", [2] + file))
            let twice = Array(try JSONEncoder().encode(records + [first]))
            seeds.append(("restore-structured-object-twice", [3, 1 | 4, 0] + field(twice)))
        }
        if records.count >= 2 {
            let half = records.count / 2
            let first = Array(try JSONEncoder().encode(Array(records[..<half])))
            let second = Array(try JSONEncoder().encode(Array(records[half...])))
            // Structured: two chunks, the scope as a field.
            seeds.append(("structured-2chunks-\(name)", [1, 1 | 8, 5] + Array("store".utf8) + [1] + field(first) + field(second)))
        }
    }
    return seeds
}

private func field(_ bytes: [UInt8]) -> [UInt8] { [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes }
