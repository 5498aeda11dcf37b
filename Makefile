# Convenience entry points; the build itself is CMake (see README.md).
.PHONY: all test demo install clean

all:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build -j

test:
	scripts/run-tests.sh

demo:
	scripts/demo.sh

install: all
	cmake --install build

clean:
	rm -rf build build-asan
