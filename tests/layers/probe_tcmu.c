/* Must not compile: no tcmu-runner header is on the engine's path. */
#include "tcmu-runner.h"
