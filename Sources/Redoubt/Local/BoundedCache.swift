/// A dictionary that holds at most `capacity` entries: inserting into a full cache evicts an entry
/// not read since the eviction hand last passed it (the CLOCK approximation of least recently
/// used). Reads, writes and evictions are O(1) amortised; not thread-safe (callers hold a lock).
///
/// `LocalHSM` keeps its unsealed stored keys in one, so that a node serving a million keys holds
/// only the ones in use, and memory does not grow with the key count.
struct BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Slot: Sendable {
        var key: Key
        var value: Value
        /// Read since the hand last passed: spared once.
        var referenced: Bool
    }

    let capacity: Int
    private var index: [Key: Int] = [:]
    private var slots: [Slot?] = []
    /// Emptied slots, reused before the array grows.
    private var free: [Int] = []
    private var hand = 0

    /// A cache of at most `capacity` entries (at least 1).
    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { index.count }

    /// The entry for `key` (marked as read), or nil; assigning nil removes it.
    subscript(key: Key) -> Value? {
        mutating get {
            guard let i = index[key] else { return nil }
            slots[i]!.referenced = true
            return slots[i]!.value
        }
        set {
            if let newValue { insert(key, newValue) } else { remove(key) }
        }
    }

    mutating func removeAll() {
        index.removeAll()
        slots.removeAll()
        free.removeAll()
        hand = 0
    }

    private mutating func insert(_ key: Key, _ value: Value) {
        if let i = index[key] {
            slots[i]!.value = value
            slots[i]!.referenced = true
            return
        }
        if index.count >= capacity { evictOne() }
        let slot = Slot(key: key, value: value, referenced: false)
        if let i = free.popLast() {
            slots[i] = slot
            index[key] = i
        } else {
            slots.append(slot)
            index[key] = slots.count - 1
        }
    }

    private mutating func remove(_ key: Key) {
        guard let i = index.removeValue(forKey: key) else { return }
        slots[i] = nil
        free.append(i)
    }

    /// Advances the hand past read entries (clearing their mark) to one that was not read, and
    /// drops it. Ends within two turns: the first clears every mark it passes.
    private mutating func evictOne() {
        while true {
            if hand >= slots.count { hand = 0 }
            defer { hand += 1 }
            guard let slot = slots[hand] else { continue }
            if slot.referenced {
                slots[hand]!.referenced = false
                continue
            }
            index[slot.key] = nil
            slots[hand] = nil
            free.append(hand)
            return
        }
    }
}
