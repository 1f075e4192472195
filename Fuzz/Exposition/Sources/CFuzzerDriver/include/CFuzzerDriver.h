// libFuzzer's entry point for programs with their own main (compiler-rt, FuzzerInterface.h).
// Linking with -sanitize=fuzzer provides it; this header only declares it for Swift.
#ifndef AGENT_CFUZZERDRIVER_H
#define AGENT_CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
