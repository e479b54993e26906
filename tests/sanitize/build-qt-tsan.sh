#!/usr/bin/env bash
# A ThreadSanitizer build of Qt's base module, for `tests/sanitize/run.sh tsan`.
#
#   tests/sanitize/build-qt-tsan.sh [DIR]     # default DIR: ~/.cache/latent-studio/qt-tsan
#
# With the installed (uninstrumented) Qt, TSan cannot see the synchronisation inside Qt
# (QMutex, the event queue, QThreadPool, atomic reference counts) and reports Qt's own
# hand-overs as races (docs/RELIABILITY.md). This builds the same Qt the studio runs on,
# Debian's qt6-base source with Debian's patches (6.4.2 on bookworm), with clang and
# -fsanitize=thread, and only what the studio tests load: Core, Gui, Widgets, PrintSupport,
# Test, the offscreen platform plugin and the code generators (moc, uic, rcc); then
# QCustomPlot 2.1 against it (below).
# QProcess starts programs with fork() rather than clone(CLONE_VFORK) (forkfd_pidfd off):
# clang 14's TSan runtime fails an internal check on the clone path (tsan_rtl.cpp:234,
# in ForkAfter), which ended every test that starts latent-cli.
# Left out: GLib's event loop (Qt's own UNIX dispatcher instead, so that the event loop's
# wake-ups are instrumented too), D-Bus, OpenGL, XCB, networking, SQL, XML.
#
# Needs root for apt (the Debian source package and the build dependencies) and about
# 30 minutes on 2 cores. It is a "non-prefix" build: DIR/qtbuild is used in place,
# nothing is installed. Run again, it only builds what is missing.
set -euo pipefail
default=$HOME/.cache/latent-studio/qt-tsan
dir=${1:-$default}
mkdir -p "$dir"
cd "$dir"
dir=$PWD  # absolute: the paths below are used after this cd

apt_deps="dpkg-dev clang ninja-build cmake ccache libfreetype-dev libfontconfig-dev libharfbuzz-dev
  libpcre2-dev libdouble-conversion-dev libmd4c-dev libmd4c-html0 libb2-dev libpng-dev libjpeg-dev zlib1g-dev"
missing=$(for p in $apt_deps; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "qt-tsan: installing" $missing
  apt-get install -y -qq $missing >/dev/null
fi

if [ ! -f qtbase/CMakeLists.txt ]; then
  # The source package comes from Debian's source index (deb-src), which images often leave
  # out: add it for the distribution this machine runs, in a file of its own.
  if ! apt-get source --download-only qt6-base >/dev/null 2>&1; then
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$codename" >/etc/apt/sources.list.d/latent-qt-source.sources
    apt-get update -qq
    apt-get source --download-only qt6-base >/dev/null
  fi
  rm -rf qtbase
  dpkg-source -x qt6-base_*.dsc qtbase >/dev/null  # applies Debian's patches
fi

mkdir -p qtbuild
if [ ! -f qtbuild/build.ninja ]; then
  off="dbus opengl vulkan xcb glib sql network cups icu xkbcommon eglfs linuxfb evdev libinput tslib vnc egl concurrent xml"
  flags=()
  for f in $off; do flags+=("-DFEATURE_$f=OFF"); done
  # The install prefix is the build folder itself: Qt then runs from where it was built.
  cmake -G Ninja -S qtbase -B qtbuild \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_INSTALL_PREFIX="$dir/qtbuild" \
    -DFEATURE_sanitize_thread=ON -DQT_BUILD_EXAMPLES=OFF -DQT_BUILD_TESTS=OFF \
    -DFEATURE_forkfd_pidfd=OFF "${flags[@]}" >qtbuild/configure.log
  grep -A3 'Sanitizers:' qtbuild/configure.log | grep -q 'Threads .* yes' ||
    { echo "qt-tsan: configure did not enable the thread sanitizer (qtbuild/configure.log)" >&2; exit 1; }
fi
ninja -C qtbuild -j "$(nproc)" Core Gui Widgets Test PrintSupport QOffscreenIntegrationPlugin moc uic rcc

# QCustomPlot too, from Debian's source, into qtbuild/lib under the installed library's
# soname (the test binaries find it there first). The installed one, built against the
# installed Qt, carries its own copies of Qt's inline code: QString's meta-type (a GNU
# "unique" symbol, bound once for the whole process) then came from it, so the last
# reference of every queued QString argument was dropped in uninstrumented code, and TSan
# reported the free of the string against the sender's reference count.
lib=qtbuild/lib/libQCustomPlotQt6.so.2.1
if [ ! -f "$lib" ]; then
  if [ ! -f qcustomplot/qcustomplot.cpp ]; then
    apt-get source --download-only qcustomplot >/dev/null
    rm -rf qcustomplot && dpkg-source -x qcustomplot_*.dsc qcustomplot >/dev/null
  fi
  q=$dir/qtbuild
  qtbuild/libexec/moc qcustomplot/qcustomplot.h -o qcustomplot/moc_qcustomplot.cpp
  clang++ -std=c++17 -O1 -g1 -fPIC -fsanitize=thread -DQCUSTOMPLOT_COMPILE_LIBRARY -Iqcustomplot \
    -I"$q/include" -I"$q/include/QtCore" -I"$q/include/QtGui" -I"$q/include/QtWidgets" -I"$q/include/QtPrintSupport" \
    -shared -Wl,-soname,libQCustomPlotQt6.so.2.1 qcustomplot/qcustomplot.cpp qcustomplot/moc_qcustomplot.cpp \
    -L"$q/lib" -lQt6PrintSupport -lQt6Widgets -lQt6Gui -lQt6Core -Wl,-rpath,"$q/lib" -o "$lib"
fi
if [ "$dir" -ef "$default" ]; then
  echo "qt-tsan: ready in $dir/qtbuild (tests/sanitize/run.sh tsan uses it from there)"
else
  echo "qt-tsan: ready in $dir/qtbuild: LATENT_TSAN_QT=$dir/qtbuild tests/sanitize/run.sh tsan"
fi
