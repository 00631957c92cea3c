#!/bin/sh
# Cross-build bg96d for a Raspberry Pi on a Debian 12 x86_64 machine and
# run its tests under qemu-user.
#
#   tools/cross-build.sh arm64|armhf [SUITE...] [-- MESON-SETUP-OPTION...]
#
# 1. installs what is missing (root needed then): Debian's cross compiler
#    and qemu-user, and the target's libraries as multiarch packages
#    (dpkg --add-architecture ARCH; libserialport-dev:ARCH ...).  Debian 12's
#    libevent-dev is not a multiarch package: its ARCH files go under
#    /usr/local/lib/TRIPLET/.  Where the multiarch packages cannot be
#    installed (their versions must equal the native ones, which fails
#    when the mirror's ARCH index of bookworm-security is broken), the
#    target's packages are unpacked into build-ARCH-sysroot/ instead;
# 2. configures build-ARCH with cross/TRIPLET.ini (once) and builds it;
# 3. runs the test suites (default: unit fuzz) with meson test, each test
#    program under qemu-ARCH.  The suites that start bg96d from Python
#    (cli, integration, control, ops, ...) need qemu-user-binfmt and
#    binfmt_misc too: see cross/README.md.
# Everything that ran, and how long it took, is printed at the end.
set -eu

usage() {
	echo "usage: $0 arm64|armhf [SUITE...] [-- MESON-SETUP-OPTION...]" >&2
	exit 64
}

[ $# -ge 1 ] || usage
arch=$1; shift
case $arch in
arm64)	triplet=aarch64-linux-gnu; qemu="qemu-aarch64" ;;
armhf)	triplet=arm-linux-gnueabihf; qemu="qemu-arm" ;;
*)	usage ;;
esac
suites=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	suites="$suites $1"; shift
done
[ $# -gt 0 ] && shift		# the --; "$@" is now for meson setup
[ -n "$suites" ] || suites=" unit fuzz"

cd "$(dirname "$0")/.."
builddir=build-$arch
crossfile=cross/$triplet.ini
sysroot=$(pwd)/build-$arch-sysroot
summary=

say() { echo "cross-build: $*"; }
now() { date +%s; }
note() {	# note STEP START: STEP and its duration, for the summary
	summary="$summary
  $1: $(( $(now) - $2 )) s"
}
is_installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
	    grep -q '^install ok installed$'
}
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		say "need root to $*" >&2
		exit 1
	fi
}
updated=no
apt_update() {
	[ $updated = yes ] && return 0
	updated=yes
	need_root "run apt-get update"
	say "apt-get update"
	# A mirror in the middle of a sync fails some index files; the rest
	# is still used.
	apt-get update -qq || say "apt-get update reported errors (continuing)"
}
apt_install() {	# apt_install PACKAGE...: 0 if installed
	need_root "install: $*"
	apt_update
	say "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "$@"
}
tmp=
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT
download() {	# download DIR PACKAGE...: the .debs into DIR (apt-get as _apt)
	mkdir -p "$1"
	chown _apt "$1" 2>/dev/null || true
	d=$1; shift
	(cd "$d" && apt-get download -q "$@")
}

# --- 1. packages ----------------------------------------------------------
t=$(now)
native="gcc-$triplet libc6-dev-$arch-cross qemu-user meson ninja-build
pkgconf python3 file"
foreign="pkgconf libserialport-dev libinih-dev libjansson-dev libsystemd-dev check
libevent-core-2.1-7"

mode=multiarch
[ ! -f "$sysroot/sysroot.ini" ] || mode=sysroot	# chosen before: keep it

# apt knows the target's packages only after an update that followed
# --add-architecture.
added_arch=no
if [ $mode = multiarch ] &&
    ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	need_root "add the $arch architecture"
	say "dpkg --add-architecture $arch"
	dpkg --add-architecture "$arch"
	added_arch=yes
fi
[ $mode = sysroot ] ||
    apt-cache show "libsystemd-dev:$arch" >/dev/null 2>&1 || apt_update

missing=
for p in $native; do
	is_installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] || apt_install $missing

# Where libevent-dev is a multiarch package (not in Debian 12), install it
# as such.
libevent_overlay=yes
if apt-cache show "libevent-dev:$arch" 2>/dev/null |
    grep -q '^Multi-Arch: same'; then
	foreign="$foreign libevent-dev"
	libevent_overlay=no
fi

if [ $mode = sysroot ]; then
	say "packages: using $sysroot"
else
	missing=
	for p in $foreign; do
		is_installed "$p:$arch" || missing="$missing $p:$arch"
	done
	if [ -z "$missing" ]; then
		say "packages: all installed"
	elif ! apt_install $missing; then
		say "the $arch multiarch packages cannot be installed here" \
		    "(see above); using a private sysroot instead"
		mode=sysroot
	fi
fi

if [ $mode = multiarch ] && [ $libevent_overlay = yes ]; then
	# Debian 12's libevent-dev is not Multi-Arch: same (its
	# event2/event-config.h differs between architectures), so
	# libevent-dev:$arch would replace the native one.  Its headers, the
	# libevent_core.so link and libevent_core.pc go to /usr/local/lib/$triplet/,
	# where $triplet-pkg-config looks first; the library itself is
	# libevent-core-2.1-7:$arch, installed above.
	top=/usr/local/lib/$triplet/libevent-dev
	pc=/usr/local/lib/$triplet/pkgconfig/libevent_core.pc
	ver=$(dpkg-query -W -f='${Version}' "libevent-core-2.1-7:$arch")
	if [ -f "$pc" ] && [ "$(cat "$top/version" 2>/dev/null)" = "$ver" ]
	then
		say "libevent-dev:$arch $ver: in $top"
	else
		need_root "unpack libevent-dev:$arch under /usr/local"
		apt_update
		say "libevent-dev:$arch $ver: unpacking into $top"
		tmp=$(mktemp -d)
		download "$tmp/debs" "libevent-dev:$arch=$ver"
		dpkg-deb -x "$tmp"/debs/libevent-dev_*.deb "$tmp/x"
		rm -rf "$top"
		mkdir -p "$top/lib" "$(dirname "$pc")"
		cp -R "$tmp/x/usr/include" "$top/include"
		cp "$tmp/x/usr/lib/$triplet/libevent_core.a" "$top/lib/"
		so=$(readlink "$tmp/x/usr/lib/$triplet/libevent_core.so")
		ln -sf "/usr/lib/$triplet/$so" "$top/lib/libevent_core.so"
		sed -e "s|^prefix=.*|prefix=$top|" \
		    -e 's|^libdir=.*|libdir=${prefix}/lib|' \
		    -e 's|^includedir=.*|includedir=${prefix}/include|' \
		    "$tmp/x/usr/lib/$triplet/pkgconfig/libevent_core.pc" > "$pc"
		echo "$ver" > "$top/version"
		rm -rf "$tmp"; tmp=
	fi
fi

if [ $mode = sysroot ] && [ ! -f "$sysroot/sysroot.ini" ]; then
	# The target's -dev packages and everything they need at run time,
	# C library included (one glibc for ld.so and libc.so.6), unpacked
	# into $sysroot; nothing is installed.  The compiler still uses
	# libc6-dev-$arch-cross, an older or equal glibc, to link.
	apt_update
	pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests \
	    --no-conflicts --no-breaks --no-replaces --no-enhances \
	    libevent-dev:"$arch" libserialport-dev:"$arch" \
	    libinih-dev:"$arch" libjansson-dev:"$arch" libsystemd-dev:"$arch" \
	    check:"$arch" |
	    grep -E "^[a-z0-9][^ ]*:$arch\$" | sort -u)
	say "unpacking into $sysroot:" $pkgs
	tmp=$(mktemp -d)
	download "$tmp/debs" $pkgs
	rm -rf "$sysroot"
	mkdir -p "$sysroot"
	for deb in "$tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$sysroot"
	done
	rm -rf "$tmp"; tmp=
	if [ $added_arch = yes ]; then
		# Nothing of $arch is installed: drop it again, or every
		# apt-get update on this machine fails with its broken index.
		say "dpkg --remove-architecture $arch (not needed for a sysroot)"
		dpkg --remove-architecture "$arch" || true
	fi
	# Absolute links would point out of the sysroot.
	find "$sysroot" -type l -lname '/*' | while read -r l; do
		ln -sfn "$sysroot$(readlink "$l")" "$l"
	done
	cat > "$sysroot/sysroot.ini" <<EOF
# Made by tools/cross-build.sh: $crossfile with the libraries of
# $sysroot (unpacked $arch packages) instead of multiarch packages.
[binaries]
exe_wrapper = ['$qemu', '-L', '$sysroot']
# PKG_CONFIG_LIBDIR (pkg_config_libdir) makes the native one look here only.
pkgconfig = 'pkg-config'

[properties]
sys_root = '$sysroot'
pkg_config_libdir = ['$sysroot/usr/lib/$triplet/pkgconfig', '$sysroot/usr/share/pkgconfig']

[built-in options]
c_link_args = ['-Wl,-rpath-link=$sysroot/lib/$triplet:$sysroot/usr/lib/$triplet']
EOF
fi
note "packages ($mode)" "$t"

# --- 2. configure and build -----------------------------------------------
t=$(now)
if [ ! -f "$builddir/build.ninja" ]; then
	if [ $mode = sysroot ]; then
		set -- --cross-file "$sysroot/sysroot.ini" "$@"
	fi
	say "meson setup $builddir --cross-file $crossfile $*"
	meson setup "$builddir" --cross-file "$crossfile" "$@"
else
	say "$builddir: already configured"
fi
note "configure" "$t"
t=$(now)
say "meson compile -C $builddir"
meson compile -C "$builddir"
note "build" "$t"
say "$(file "$builddir/src/bg96d")"

# --- 3. tests under qemu-user ---------------------------------------------
t=$(now)
if [ $mode = sysroot ]; then
	# For binaries that Python starts through binfmt_misc.
	QEMU_LD_PREFIX=$sysroot
	export QEMU_LD_PREFIX
	wrap="$qemu -L $sysroot"
else
	wrap=$qemu
fi
say "$wrap $builddir/src/bg96d -V: $($wrap "$builddir/src/bg96d" -V)"
set --
for s in $suites; do
	case $s in
	unit|fuzz) ;;
	*)	# Python starts bg96d and bg96sim itself: the kernel must hand
		# the $arch binaries to qemu.
		if ! grep -qx enabled \
		    "/proc/sys/fs/binfmt_misc/$qemu" 2>/dev/null; then
			say "suite $s needs $qemu registered in binfmt_misc" \
			    "(see cross/README.md)" >&2
			exit 1
		fi ;;
	esac
	set -- "$@" --suite "$s"
done
say "meson test -C $builddir$(printf ' %s' "$@") (under $qemu)"
rc=0
meson test -C "$builddir" --print-errorlogs "$@" || rc=$?
note "tests under $qemu:$suites" "$t"

echo
say "$arch ($mode) summary:$summary"
# The Check suites' own counts, as they ran under qemu.
awk '/^test: /{name=$NF} /^[0-9]+%: Checks:|inputs ran/{print "  " name ": " $0}' \
    "$builddir/meson-logs/testlog.txt" || true
if [ $rc -ne 0 ]; then
	say "$arch: tests FAILED (see $builddir/meson-logs/testlog.txt)"
else
	say "$arch: build OK, tests OK"
fi
exit $rc
