#!/bin/sh
# The Debian package of bg96d, end to end, on this machine (as root):
#
#   tests/pkg/test-package.sh
#
# 1. builds the package twice from this source tree, in copies under a
#    temporary directory: version V (debian/changelog) and V+pkgtest1, whose
#    example configuration has one more line; and checks that a changelog
#    whose version differs from meson.build's fails the build;
# 2. lintian on the .changes (and so the .debs): no error, no warning;
# 3. dpkg -i V: conffile, bg96d -V, bg96d -n -c /etc/bg96d/bg96d.conf,
#    the units in place and accepted by systemd-analyze verify, user and
#    group bg96, /run/bg96, the unit enabled but not started;
# 4. edits the conffile, then dpkg -i V+pkgtest1 with nobody to answer:
#    dpkg stops at its conffile prompt (no overwrite); configured with
#    --force-confold it keeps the edit and puts the new file in
#    bg96d.conf.dpkg-dist;
# 5. dpkg -r: the configuration stays; dpkg -P: /etc/bg96d and /run/bg96
#    go.
# Whatever happens, it purges bg96d again at the end, removes the bg96
# user and group if they did not exist before, and its directory.  It
# never starts bg96d.  Exit 0 if every check passed, 77 if it cannot run
# here (not root, package tools missing, bg96d already installed).
#
# DEB_BUILD_OPTIONS is passed to dpkg-buildpackage; unset, it is
# "nocheck" (the test suite is not what this checks: tools/quickstart.sh
# test has run it already).  KEEP=1 keeps the directory.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0
fail=0
work=
user_before=yes
group_before=yes

say() { echo "test-package: $*"; }
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() {	# check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
skip() { say "SKIP: $*"; exit 77; }

status() { dpkg-query -W -f='${Status}' bg96d 2>/dev/null || true; }

# dpkg ARGS... > OUT: dpkg, waiting (up to 10 minutes) while another apt
# or dpkg holds its lock; stdin is /dev/null, so nobody answers prompts.
dpkg_wait() {
	n=0
	while :; do
		dpkg "$@" > "$work/dpkg.out" 2>&1 < /dev/null
		rc=$?
		cat "$work/dpkg.out"
		[ $rc -ne 0 ] || return 0
		grep -Eq 'lock was locked by another|database area is locked' \
		    "$work/dpkg.out" || return $rc
		n=$((n + 1))
		[ $n -lt 120 ] || return $rc
		sleep 5
	done
}

cleanup() {
	trap - EXIT INT TERM
	echo "package: $pass passed, $fail failed"
	case $(status) in
	''|*not-installed) ;;
	*)	say "cleanup: dpkg --purge bg96d"
		dpkg_wait --purge bg96d >/dev/null ||
		    say "cleanup: dpkg --purge bg96d FAILED" ;;
	esac
	if [ $user_before = no ] && getent passwd bg96 >/dev/null; then
		say "cleanup: userdel bg96 (created by the package)"
		userdel bg96 || say "cleanup: userdel bg96 FAILED"
	fi
	if [ $group_before = no ] && getent group bg96 >/dev/null; then
		groupdel bg96 || say "cleanup: groupdel bg96 FAILED"
	fi
	if [ -n "$work" ]; then
		if [ "${KEEP:-}" = 1 ]; then
			say "kept $work"
		else
			rm -rf "$work"
		fi
	fi
}

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i)"
for t in dpkg-buildpackage dh fakeroot dpkg-parsechangelog; do
	command -v $t >/dev/null 2>&1 ||
	    skip "$t missing (apt-get install debhelper dpkg-dev fakeroot)"
done
case $(status) in
''|*not-installed) ;;
*)	skip "bg96d is installed here ($(status)); this test installs and" \
	    "purges it: run it where it is not installed" ;;
esac
getent passwd bg96 >/dev/null || user_before=no
getent group bg96 >/dev/null || group_before=no

trap cleanup EXIT
trap 'bad "interrupted"; exit 130' INT TERM
work=$(mktemp -d /tmp/bg96d-pkgtest.XXXXXX)
chmod 755 "$work"
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck}"

# --- 1. build -------------------------------------------------------------
V=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
V2="$V+pkgtest1"
arch=$(dpkg --print-architecture)

copy_tree() {	# copy_tree DIR: the source tree (tracked and new files)
	mkdir -p "$1/bg96d"
	if [ -e "$top/.git" ] && command -v git >/dev/null 2>&1; then
		(cd "$top" && git ls-files -c -o --exclude-standard -z |
		    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh |
		    tar -cf - -T -) | tar -xf - -C "$1/bg96d"
	else
		tar -C "$top" --exclude='./build*' --exclude=./.git \
		    --exclude='./obj-*' -cf - . | tar -xf - -C "$1/bg96d"
	fi
}
bump() {	# bump DIR VERSION [meson]: a changelog entry (and meson.build)
	cl=$1/bg96d/debian/changelog
	{
		printf 'bg96d (%s) UNRELEASED; urgency=medium\n\n' "$2"
		printf '  * tests/pkg/test-package.sh: upgrade test build.\n\n'
		printf ' -- bg96d tests <root@localhost>  %s\n\n' "$(date -R)"
		cat "$cl"
	} > "$cl.new" && mv "$cl.new" "$cl"
	if [ "${3:-}" = meson ]; then
		sed -i "s/^  version: '$V',\$/  version: '$2',/" \
		    "$1/bg96d/meson.build"
		grep -q "^  version: '$2',\$" "$1/bg96d/meson.build" ||
		    { say "cannot set the version in meson.build"; exit 1; }
	fi
}
build() {	# build DIR: dpkg-buildpackage -b, output in DIR
	say "dpkg-buildpackage -us -uc -b in $1 (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
	(cd "$1/bg96d" && dpkg-buildpackage -us -uc -b) > "$1/build.log" 2>&1
}

t0=$(date +%s)
copy_tree "$work/v1"
if ! build "$work/v1"; then
	tail -40 "$work/v1/build.log"
	bad "dpkg-buildpackage of $V"
	exit 1
fi
deb1=$work/v1/bg96d_${V}_$arch.deb
check "dpkg-buildpackage builds bg96d_${V}_$arch.deb" test -f "$deb1"
check "and bg96d-dbgsym_${V}_$arch.deb" \
    test -f "$work/v1/bg96d-dbgsym_${V}_$arch.deb"

copy_tree "$work/v2"
bump "$work/v2" "$V2" meson
echo "; test-package.sh: this line is new in $V2" \
    >> "$work/v2/bg96d/conf/bg96d.conf"
if ! build "$work/v2"; then
	tail -40 "$work/v2/build.log"
	bad "dpkg-buildpackage of $V2"
	exit 1
fi
deb2=$work/v2/bg96d_${V2}_$arch.deb
check "dpkg-buildpackage builds bg96d_${V2}_$arch.deb" test -f "$deb2"

# The version has one source, meson.build: a changelog that says another
# one fails the build before anything is compiled.
copy_tree "$work/bad"
bump "$work/bad" "$V+mismatch"
if build "$work/bad"; then
	bad "a changelog version unlike meson.build's fails the build"
else
	check "a changelog version unlike meson.build's fails the build" \
	    grep -q "make them equal" "$work/bad/build.log"
fi
rm -rf "$work/bad"
say "builds: $(( $(date +%s) - t0 )) s"

# --- 2. lintian -------------------------------------------------------------
if command -v lintian >/dev/null 2>&1; then
	# lintian warns that it runs as root; the tags go to stdout.
	lintian --fail-on error,warning "$work/v1/bg96d_${V}_$arch.changes" \
	    > "$work/lintian.txt" 2>"$work/lintian.err"
	rc=$?
	sed 's/^/  lintian: /' "$work/lintian.txt"
	check "lintian: no error, no warning on the .changes and .debs" \
	    test $rc -eq 0
else
	say "lintian not installed: not checked (apt-get install lintian)"
fi

# --- 3. install ---------------------------------------------------------------
unitdir=/lib/systemd/system
dpkg_wait -i "$deb1" > "$work/install1.txt"
rc=$?
sed 's/^/  dpkg: /' "$work/install1.txt"
check "dpkg -i bg96d_$V" test $rc -eq 0
[ $rc -eq 0 ] || exit 1
check "status: install ok installed" test "$(status)" = "install ok installed"
check "bg96d -V says $V" test "$(bg96d -V 2>&1)" = "bg96d $V"
check "/etc/bg96d/bg96d.conf is a conffile" \
    sh -c "dpkg-query -W -f='\${Conffiles}' bg96d | grep -q '^ /etc/bg96d/bg96d.conf '"
out=$(bg96d -n -c /etc/bg96d/bg96d.conf 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q 'configuration OK'; then
	ok "bg96d -n -c /etc/bg96d/bg96d.conf: $out"
else
	bad "bg96d -n -c /etc/bg96d/bg96d.conf (exit $rc): $out"
fi
for f in $unitdir/bg96d.service $unitdir/bg96d@.service \
    /usr/lib/sysusers.d/bg96d.conf /usr/lib/tmpfiles.d/bg96d.conf \
    /lib/udev/rules.d/60-bg96d.rules /usr/bin/bg96ctl /usr/bin/bg96sim \
    /usr/share/man/man8/bg96d.8.gz /usr/share/man/man5/bg96d.conf.5.gz; do
	check "$f installed" test -f "$f"
done

# systemd-analyze verify, as tests/ops does it: silent on a trivial unit
# first (else it cannot work here), then silent on ours.
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$work/units"
	printf '[Service]\nType=oneshot\nExecStart=%s\n' "$(command -v true)" \
	    > "$work/units/bg96-probe.service"
	probe=$(cd "$work/units" &&
	    systemd-analyze verify --man=no bg96-probe.service 2>&1)
	if [ $? -eq 0 ] && [ -z "$probe" ]; then
		cp $unitdir/bg96d@.service "$work/units/bg96d@modem1.service"
		out=$(cd "$work/units" && systemd-analyze verify --man=no \
		    $unitdir/bg96d.service bg96d@modem1.service 2>&1)
		rc=$?
		[ -z "$out" ] || echo "$out" | sed 's/^/  verify: /'
		check "systemd-analyze verify accepts bg96d.service and bg96d@modem1.service" \
		    test $rc -eq 0 -a -z "$out"
	else
		bad "systemd-analyze verify does not work here: $probe"
	fi
else
	bad "systemd-analyze missing"
fi

check "user bg96 (sysusers): no login shell" \
    sh -c 'getent passwd bg96 | grep -q ":/usr/sbin/nologin$"'
check "group bg96" sh -c 'getent group bg96 >/dev/null'
check "bg96 is in dialout" sh -c 'id -nG bg96 | tr " " "\n" | grep -qx dialout'
check "/etc/bg96d/bg96d.conf (PIN, credentials): 640 root bg96" \
    test "$(stat -c '%a %U %G' /etc/bg96d/bg96d.conf 2>&1)" = "640 root bg96"
check "/run/bg96 (tmpfiles): 750 bg96 bg96" \
    test "$(stat -c '%a %U %G' /run/bg96 2>&1)" = "750 bg96 bg96"
check "bg96d.service enabled (multi-user.target.wants)" test \
    "$(readlink /etc/systemd/system/multi-user.target.wants/bg96d.service)" \
    = "$unitdir/bg96d.service"
check "first install says the APN must be set before starting" \
    grep -q "enabled but not started" "$work/install1.txt"
# Not started: with systemd running, ask it; without, the postinst is all
# there is, and it must start nothing on a first install.
pi=/var/lib/dpkg/info/bg96d.postinst
check "postinst starts nothing (no start/restart, try-restart on upgrade only)" \
    sh -c "! grep -Eq 'deb-systemd-invoke (start|restart)|_dh_action=start' $pi &&
	grep -q \"try-restart 'bg96d.service'\" $pi"
if [ -d /run/systemd/system ]; then
	check "bg96d.service is not running" \
	    sh -c '! systemctl -q is-active bg96d.service'
fi

# --- 4. edit, upgrade ---------------------------------------------------------
conf=/etc/bg96d/bg96d.conf
sed -i 's/^baud = 115200$/baud = 57600/' $conf
echo "; edited by test-package.sh" >> $conf
check "the edited file is valid" sh -c "bg96d -n -c $conf >/dev/null"
cp $conf "$work/edited.conf"

# Nobody answers dpkg's conffile question: dpkg asks, fails on EOF and
# leaves the file alone.
dpkg_wait -i "$deb2" > "$work/install2.txt"
rc=$?
sed 's/^/  dpkg: /' "$work/install2.txt"
check "dpkg -i bg96d_$V2 unattended stops at the conffile prompt" \
    sh -c "[ $rc -ne 0 ] && grep -q 'Configuration file .$conf' $work/install2.txt"
check "... and the edit is untouched" cmp -s $conf "$work/edited.conf"
dpkg_wait --configure --force-confdef --force-confold bg96d \
    > "$work/configure2.txt"
rc=$?
sed 's/^/  dpkg: /' "$work/configure2.txt"
check "dpkg --configure --force-confold bg96d" test $rc -eq 0
[ $rc -eq 0 ] || exit 1
check "status: install ok installed" test "$(status)" = "install ok installed"
check "bg96d -V says $V2" test "$(bg96d -V 2>&1)" = "bg96d $V2"
check "the upgrade kept the edit" cmp -s $conf "$work/edited.conf"
check "the new file is in $conf.dpkg-dist" \
    grep -q "this line is new in $V2" $conf.dpkg-dist
check "an upgrade does not repeat the first-install note" \
    sh -c "! grep -q 'enabled but not started' $work/configure2.txt"
check "still enabled" test -L \
    /etc/systemd/system/multi-user.target.wants/bg96d.service

# --- 5. remove, purge -----------------------------------------------------
dpkg_wait -r bg96d > "$work/remove.txt"
rc=$?
check "dpkg -r bg96d" test $rc -eq 0
[ $rc -eq 0 ] || { cat "$work/remove.txt"; exit 1; }
check "status: deinstall ok config-files" \
    test "$(status)" = "deinstall ok config-files"
check "remove keeps the edited configuration" \
    cmp -s $conf "$work/edited.conf"
check "remove takes the program and the units" \
    test ! -e /usr/sbin/bg96d -a ! -e $unitdir/bg96d.service
dpkg_wait -P bg96d > "$work/purge.txt"
rc=$?
check "dpkg -P bg96d" test $rc -eq 0
[ $rc -eq 0 ] || { cat "$work/purge.txt"; exit 1; }
check "status: not installed" \
    sh -c "case '$(status)' in ''|*not-installed) true;; *) false;; esac"
check "purge removes /etc/bg96d (the file, .dpkg-dist and all)" \
    test ! -e /etc/bg96d
check "purge removes /run/bg96" test ! -e /run/bg96
check "purge removes the configuration's statoverride" \
    sh -c '! dpkg-statoverride --list /etc/bg96d/bg96d.conf >/dev/null'
check "purge removes the enablement symlink" test ! -e \
    /etc/systemd/system/multi-user.target.wants/bg96d.service
# Debian keeps system users on purge (files may still be theirs; ids are
# not reused): the package does the same, the cleanup removes the user if
# this test brought it.
check "purge keeps the system user bg96 (Debian practice)" \
    sh -c 'getent passwd bg96 >/dev/null'

[ $fail -eq 0 ]
