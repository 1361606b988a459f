// A cache prefetch hint Swift can call (Swift has no prefetch intrinsic); no library to link.

/// Asks the CPU to bring the cache line holding `p` in for a write soon. Only a hint: it never
/// faults, so `p` may be any address (a stale one costs a wasted fetch at most).
static inline void stratus_prefetch_for_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}
