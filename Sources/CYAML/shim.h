// libyaml's C API (the event parser), as libyaml-dev installs it; nothing to wrap.
#ifndef AGENT_CYAML_SHIM_H
#define AGENT_CYAML_SHIM_H
#include <yaml.h>
#endif
