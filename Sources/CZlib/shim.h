// Typed wrappers for zlib's init macros, which Swift cannot import.
#ifndef AGENT_CZLIB_SHIM_H
#define AGENT_CZLIB_SHIM_H
#include <zlib.h>

static inline int agent_deflateInit2(z_streamp stream, int level, int method, int windowBits, int memLevel, int strategy) {
    return deflateInit2(stream, level, method, windowBits, memLevel, strategy);
}
static inline int agent_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
#endif
