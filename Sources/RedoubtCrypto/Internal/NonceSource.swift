import CRedoubtOpenSSL
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Random nonces from a buffer of kernel randomness (getrandom), refilled 4 KiB at a
/// time: a 12-byte nonce costs a lock instead of a system call (libcrypto's RAND_bytes
/// measured ~1 µs here, more than the AES-GCM of 1 KiB). Nonces need uniqueness, not
/// secrecy; the buffer is dropped in a forked child so parent and child never share one.
final class NonceSource: Sendable {
    static let shared = NonceSource()

    private struct State {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset = 4096
        var generation: Int = -1
    }

    private let state = Mutex(State())

    /// Bumped in a forked child (pthread_atfork), so the child refills before its first nonce.
    static let forkGeneration = Atomic<Int>(0)

    private init() {
        pthread_atfork(nil, nil, { NonceSource.forkGeneration.add(1, ordering: .relaxed) })
    }

    func fill(_ out: UnsafeMutableRawBufferPointer) {
        let generation = Self.forkGeneration.load(ordering: .relaxed)
        state.withLock { s in
            if s.generation != generation || s.offset + out.count > s.buffer.count {
                Self.systemRandom(&s.buffer)
                s.offset = 0
                s.generation = generation
            }
            s.buffer.withUnsafeBytes { b in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[s.offset..<(s.offset + out.count)]))
            }
            s.offset += out.count
        }
    }

    private static func systemRandom(_ buffer: inout [UInt8]) {
        buffer.withUnsafeMutableBytes { b in
            guard let base = b.baseAddress else { return }
            var filled = 0
            while filled < b.count {
                let n = getrandom(base + filled, b.count - filled, 0)
                if n > 0 {
                    filled += n
                } else {
                    // Interrupted or unavailable: fall back to the standard library's generator.
                    var rng = SystemRandomNumberGenerator()
                    while filled < b.count {
                        b[filled] = UInt8.random(in: 0...255, using: &rng)
                        filled += 1
                    }
                }
            }
        }
    }
}
