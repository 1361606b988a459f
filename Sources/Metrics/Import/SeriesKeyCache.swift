/// Series references by the raw bytes of their series text (`name{k="v",…}` exactly as a line
/// carries it), found without allocating, for ingest paths that see the same series every
/// interval (import, agent pushes).
///
/// Sized for millions of series: the table stores a 128-bit hash of the text instead of the text
/// (32 bytes per entry, one flat open-addressing array), so 4 million series cost ~170 MB at the
/// 0.7 load. Two different texts would have to agree on all 128 bits to be confused: for n series
/// the chance is about n² / 2¹²⁹ (≈ 10⁻²⁶ at 4 million). Each entry also keeps an `owner` tag (the
/// agent ingest stores the pushing host's index there, so a hit for another host's series is seen).
/// Bounded: past `limit` entries it starts over (the store still knows every series).
public struct SeriesKeyCache: Sendable {
    /// The 128-bit hash of a series text.
    public struct Key: Hashable, Sendable {
        public var high: UInt64
        public var low: UInt64
    }

    private struct Slot {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var ref: UInt64 = 0
        var owner: UInt32 = 0
        var used = false
    }

    private var slots: [Slot]
    private var mask: Int
    /// Entries held.
    public private(set) var count = 0
    /// Entries held before the cache starts over.
    public let limit: Int

    /// - Parameters:
    ///   - initialCapacity: slots to start with (rounded up to a power of two); it doubles as needed.
    ///   - limit: entries held at most; the default covers 8 million series.
    public init(initialCapacity: Int = 1 << 12, limit: Int = 1 << 23) {
        var capacity = 16
        while capacity < initialCapacity { capacity <<= 1 }
        slots = Array(repeating: Slot(), count: capacity)
        mask = capacity - 1
        self.limit = max(1, limit)
    }

    /// The hash of `b` (two independent 64-bit multiply–xorshift lanes over 8-byte words).
    public static func key(_ b: UnsafeBufferPointer<UInt8>) -> Key {
        var a: UInt64 = 0x243F_6A88_85A3_08D3
        var c: UInt64 = 0x1319_8A2E_0370_7344
        let n = b.count
        var i = 0
        guard let base = b.baseAddress else { return Key(high: fmix(a), low: fmix(c)) }
        while i + 8 <= n {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            a = (a ^ w) &* 0x9E37_79B9_7F4A_7C15
            a ^= a >> 32
            c = (c ^ (w << 32 | w >> 32)) &* 0xC2B2_AE3D_27D4_EB4F
            c ^= c >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n { w |= UInt64(base[i]) << shift; shift += 8; i += 1 }
            a = (a ^ w) &* 0x9E37_79B9_7F4A_7C15
            a ^= a >> 32
            c = (c ^ (w << 32 | w >> 32)) &* 0xC2B2_AE3D_27D4_EB4F
            c ^= c >> 29
        }
        return Key(high: fmix(a ^ UInt64(n)), low: fmix(c &+ UInt64(n) &* 0x1656_67B1_9E37_79F9))
    }

    @inline(__always)
    private static func fmix(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    /// The reference and owner stored for `key`, or nil.
    public func lookup(_ key: Key) -> (ref: SeriesRef, owner: UInt32)? {
        var i = Int(truncatingIfNeeded: key.low) & mask
        while slots[i].used {
            if slots[i].low == key.low && slots[i].high == key.high { return (SeriesRef(id: slots[i].ref), slots[i].owner) }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The reference stored for the series text `b`, or nil.
    public func lookup(_ b: UnsafeBufferPointer<UInt8>) -> SeriesRef? { lookup(Self.key(b))?.ref }

    /// Stores (or replaces) the reference for `key`.
    public mutating func insert(_ key: Key, _ ref: SeriesRef, owner: UInt32 = 0) {
        if count >= limit { removeAll() }
        if (count + 1) * 10 > slots.count * 7 { grow() }
        var i = Int(truncatingIfNeeded: key.low) & mask
        while slots[i].used {
            if slots[i].low == key.low && slots[i].high == key.high {
                slots[i].ref = ref.id
                slots[i].owner = owner
                return
            }
            i = (i + 1) & mask
        }
        slots[i] = Slot(high: key.high, low: key.low, ref: ref.id, owner: owner, used: true)
        count += 1
    }

    /// Stores the reference for the series text `b`.
    public mutating func insert(_ b: UnsafeBufferPointer<UInt8>, _ ref: SeriesRef) { insert(Self.key(b), ref) }

    /// Forgets every entry, keeping the table's size.
    public mutating func removeAll() {
        for i in slots.indices { slots[i].used = false }
        count = 0
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for s in old where s.used {
            var i = Int(truncatingIfNeeded: s.low) & mask
            while slots[i].used { i = (i + 1) & mask }
            slots[i] = s
        }
    }
}
