import CSecp256k1
import Foundation
import RedoubtCrypto

/// The engine benchmark: each operation, and the same operation done by a peer.
struct CryptoBench {
    /// How a peer measures the same work.
    enum Peer {
        /// `openssl speed -elapsed -mr` with these arguments; `parse` turns its output into ops/s.
        case openssl(arguments: [String], parse: @Sendable (String) -> Double?)
        /// An in-process loop calling the peer library directly.
        case inProcess(name: String, body: () throws -> Void)
        /// Nothing comparable to run.
        case none

        var name: String? {
            switch self {
            case .openssl: return "openssl"
            case .inProcess(let name, _): return name
            case .none: return nil
            }
        }
    }

    struct Operation {
        var name: String
        var body: () throws -> Void
        var peer: Peer
    }

    struct Result: Encodable {
        var op: String
        var redoubt_ops: Double
        var peer: String?
        var peer_ops: Double?
        var ratio: Double?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(op, forKey: .op)
            try c.encode(redoubt_ops.rounded(), forKey: .redoubt_ops)
            try c.encode(peer, forKey: .peer)
            try c.encode(peer_ops.map { $0.rounded() }, forKey: .peer_ops)
            try c.encode(ratio.map { ($0 * 1000).rounded() / 1000 }, forKey: .ratio)
        }

        enum CodingKeys: String, CodingKey { case op, redoubt_ops, peer, peer_ops, ratio }
    }

    static let operationNames = [
        "p256-sign", "ed25519-sign", "rsa2048-pss-sign", "aes256gcm-1k", "hmac-sha256-1k", "secp256k1-sign", "mldsa65-sign",
    ]

    let operations: [Operation]

    init() throws {
        let digest = Data(repeating: 0x5a, count: 32)
        let message = Data(repeating: 0xa5, count: 32)
        let kib = Data(repeating: 0x42, count: 1024)

        let p256 = try SigningKey(try PrivateKey.generate(.p256))
        let ed25519 = try SigningKey(try PrivateKey.generate(.ed25519))
        let rsa = try SigningKey(try PrivateKey.generate(.rsa2048))
        let secp = try SigningKey(try PrivateKey.generate(.secp256k1))
        let mldsa = try SigningKey(try PrivateKey.generate(.mldsa65))
        let aes = try SecretKey.generate(.aes256)
        let hmacKey = try SecretKey.generate(.genericSecret, byteCount: 32)
        let secpPeer = try Secp256k1Peer()

        func sign(_ key: SigningKey, _ input: SigningInput, _ scheme: SignatureScheme) -> () throws -> Void {
            { _ = try key.signature(for: input, scheme: scheme) }
        }
        operations = [
            Operation(
                name: "p256-sign", body: sign(p256, .digest(digest), .ecdsa(.sha256)),
                peer: .openssl(arguments: ["ecdsap256"], parse: { Self.field($0, tag: "+F4:", index: 3) })),
            Operation(
                name: "ed25519-sign", body: sign(ed25519, .message(message), .ed25519),
                peer: .openssl(arguments: ["ed25519"], parse: { Self.field($0, tag: "+F6:", index: 4) })),
            Operation(
                name: "rsa2048-pss-sign", body: sign(rsa, .digest(digest), .rsaPSS(.sha256)),
                peer: .openssl(arguments: ["rsa2048"], parse: { Self.field($0, tag: "+F2:", index: 3) })),
            Operation(
                name: "aes256gcm-1k", body: { _ = try aes.encrypt(kib, scheme: .aesGCM) },
                peer: .openssl(
                    arguments: ["-bytes", "1024", "-evp", "aes-256-gcm"],
                    parse: { Self.field($0, tag: "+F:", index: 3).map { $0 / 1024 } })),
            Operation(
                name: "hmac-sha256-1k", body: { _ = hmacKey.mac(kib, hash: .sha256) },
                peer: .openssl(
                    arguments: ["-bytes", "1024", "-hmac", "sha256"],
                    parse: { Self.field($0, tag: "+F:", index: 3).map { $0 / 1024 } })),
            Operation(
                name: "secp256k1-sign", body: sign(secp, .digest(digest), .ecdsa(.sha256)),
                peer: .inProcess(name: "libsecp256k1", body: { try secpPeer.sign() })),
            Operation(name: "mldsa65-sign", body: sign(mldsa, .message(message), .mldsa()), peer: .none),
        ]
    }

    /// Runs `body` repeatedly for `seconds` on this thread; returns ops/s.
    static func rate(seconds: Double, _ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        // Warm up, and size batches so the clock is read about every millisecond.
        var batch = 1
        let warmStart = clock.now
        while clock.now - warmStart < .milliseconds(50) {
            for _ in 0..<batch { try body() }
            batch = min(batch * 2, 4096)
        }
        let start = clock.now
        let limit = Duration.seconds(seconds)
        var count = 0
        var elapsed = Duration.zero
        repeat {
            for _ in 0..<batch { try body() }
            count += batch
            elapsed = clock.now - start
        } while elapsed < limit
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(count) / secs
    }

    func measure(_ op: Operation, seconds: Double, rounds: Int) throws -> Result {
        var ours = 0.0
        var theirs: Double?
        for _ in 0..<rounds {
            ours = max(ours, try Self.rate(seconds: seconds, op.body))
            let peerRate: Double?
            switch op.peer {
            case .openssl(let arguments, let parse):
                peerRate = Self.runOpenSSL(arguments: arguments, seconds: seconds).flatMap(parse)
            case .inProcess(_, let body):
                peerRate = try Self.rate(seconds: seconds, body)
            case .none:
                peerRate = nil
            }
            if let peerRate { theirs = max(theirs ?? 0, peerRate) }
        }
        return Result(
            op: op.name, redoubt_ops: ours, peer: theirs == nil ? nil : op.peer.name,
            peer_ops: theirs, ratio: theirs.map { ours / $0 })
    }

    /// `openssl speed -elapsed -mr -seconds N ARGS…`, or nil if openssl is not there.
    ///
    /// Spawned with an empty signal mask: `openssl speed` times itself with SIGALRM, and the
    /// threads Swift concurrency runs on block every signal, a mask a child would inherit.
    static func runOpenSSL(arguments: [String], seconds: Double) -> String? {
        let argv = ["openssl", "speed", "-elapsed", "-mr", "-seconds", String(max(1, Int(seconds.rounded())))] + arguments
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, "openssl", &actions, &attributes, &cArgs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return nil
        }
        let output = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        guard status == 0 else { return nil }
        return String(decoding: output, as: UTF8.self)
    }

    /// Field `index` (0-based, split on ':') of the last line starting with `tag`.
    static func field(_ output: String, tag: String, index: Int) -> Double? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix(tag) }) else { return nil }
        let parts = line.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count > index else { return nil }
        return Double(parts[index])
    }

    static func json(_ results: [Result]) throws -> String {
        struct Report: Encodable { var results: [Result] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Report(results: results)), as: UTF8.self)
    }

    static func table(_ results: [Result]) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        var out = pad("op", 18) + lpad("redoubt ops/s", 14) + "  " + pad("peer", 13) + lpad("peer ops/s", 12) + lpad("ratio", 8) + "\n"
        for r in results {
            out += pad(r.op, 18) + lpad(String(Int(r.redoubt_ops.rounded())), 14) + "  " + pad(r.peer ?? "-", 13)
            out += lpad(r.peer_ops.map { String(Int($0.rounded())) } ?? "-", 12)
            out += lpad(r.ratio.map { String(format: "%.2f", $0) } ?? "-", 8) + "\n"
        }
        return out
    }
}

/// libsecp256k1 called directly: the peer for secp256k1 signing.
final class Secp256k1Peer {
    private let context: OpaquePointer
    private var secret = [UInt8](repeating: 0, count: 32)
    private let message = [UInt8](repeating: 0x5a, count: 32)

    init() throws {
        guard let ctx = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            throw BenchError("libsecp256k1: cannot create a context")
        }
        context = ctx
        var rng = SystemRandomNumberGenerator()
        repeat {
            for i in 0..<32 { secret[i] = UInt8.random(in: 0...255, using: &rng) }
        } while secp256k1_ec_seckey_verify(context, secret) != 1
    }

    deinit { secp256k1_context_destroy(context) }

    /// One signature, serialised as DER like the engine's.
    func sign() throws {
        var sig = secp256k1_ecdsa_signature()
        guard secp256k1_ecdsa_sign(context, &sig, message, secret, nil, nil) == 1 else {
            throw BenchError("libsecp256k1: signing failed")
        }
        var out = [UInt8](repeating: 0, count: 72)
        var len = out.count
        _ = secp256k1_ecdsa_signature_serialize_der(context, &out, &len, &sig)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
