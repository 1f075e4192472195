// Snappy's C API (block format), as libsnappy-dev installs it; nothing to wrap.
#ifndef AGENT_CSNAPPY_SHIM_H
#define AGENT_CSNAPPY_SHIM_H
#include <snappy-c.h>
#endif
