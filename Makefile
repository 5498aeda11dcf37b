# Convenience entry points; the build itself is CMake (see README.md).
.PHONY: all test demo install clean deb

all:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build -j

test:
	scripts/run-tests.sh

demo:
	scripts/demo.sh

install: all
	cmake --install build

# build-deb/tcmu-nfs_<version>_amd64.deb (README.md "Install from a
# package"), built by dpkg-buildpackage in a copy of the tree, so nothing
# lands in the tree or its parent.  TCMU_RUNNER_SOURCE_DIR=/abs/path uses
# that tcmu-runner tree for the headers instead of fetching the source;
# DEB_OUT=DIR puts the result elsewhere (emptied first).
DEB_OUT ?= build-deb
deb:
	rm -rf '$(DEB_OUT)' && mkdir -p '$(DEB_OUT)/src'
	tar -c --exclude-vcs --exclude='./build*' --exclude='./obj-*' \
		--exclude='./$(patsubst $(CURDIR)/%,%,$(abspath $(DEB_OUT)))' \
		. | tar -x -C '$(DEB_OUT)/src'
	cd '$(DEB_OUT)/src' && dpkg-buildpackage -b -uc -us
	rm -rf '$(DEB_OUT)/src'
	@ls '$(DEB_OUT)'/*.deb

clean:
	rm -rf build build-asan build-deb
