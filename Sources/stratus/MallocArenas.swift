#if canImport(Glibc)
import CMalloc
import Glibc
#endif

/// glibc keeps up to 8 malloc arenas per core, one more for each thread that meets contention. In
/// `stratus serve` the series' heads are allocated by whichever pool thread holds the store lock
/// and freed by another (the sealing thread after an hour boundary), so space freed in one arena
/// is not reused by a thread allocating from another: at 10,000 hosts the process held 83
/// anonymous mappings over 20 MiB. One arena per core (at least two) lets the next heads reuse it.
enum MallocArenas {
    /// Caps the arenas; call before the server starts its threads. No-op off glibc, and when the
    /// operator set `MALLOC_ARENA_MAX` (glibc applied it already).
    static func limitToCores() {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        let cores = Int32(truncatingIfNeeded: sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        _ = mallopt(stratus_m_arena_max, max(2, min(cores, 64)))
        #endif
    }
}
