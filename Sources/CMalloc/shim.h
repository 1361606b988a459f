// glibc's malloc tuning (<malloc.h> is not in Swift's Glibc module); no library to link.
#include <malloc.h>

/// `M_ARENA_MAX` as a constant Swift imports (the macro is negative, which Swift does not import).
static const int stratus_m_arena_max = M_ARENA_MAX;
