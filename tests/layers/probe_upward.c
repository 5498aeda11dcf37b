/* Must not compile: the transport cannot see the I/O path above it. */
#include "tnfs_io.h"
