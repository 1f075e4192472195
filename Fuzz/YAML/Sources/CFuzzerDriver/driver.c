// Intentionally empty: SwiftPM needs a source file for the target that carries the header.
#include "CFuzzerDriver.h"
