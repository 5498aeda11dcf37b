/* Must compile: the control for probe_upward.c, same target. */
#include "tnfs_xdr.h"
#include "tnfs_transport.h"
