#!/usr/bin/env python3
"""Operations: the installed tree, the systemd units, the sysusers.d and
tmpfiles.d entries, the man pages, and bg96d's privilege drop ([daemon]
user).  Run one case by name, or all.  Cases that need root or a tool that
is missing exit 77.
"""
import grp
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (BG96D, Env, SKIP, Server, echo_handler,  # noqa: E402
                     echo_once, grouped, run_cases, tcp_endpoint, wait_for)

BUILD_ROOT = os.environ.get("BUILD_ROOT", "build")
SRCDIR = os.environ.get("SRCDIR", ".")
MESON = os.environ.get("MESON", "meson")
# The exposure level systemd-analyze security must not exceed, in tenths:
# systemd 252's --threshold takes an integer on its 0..100 scale (the
# level it prints, 0.0..10.0, times ten), so 2.0 is 20.
THRESHOLD = 20


def skip(why):
    print("skip: " + why)
    return SKIP


class Skip(Exception):
    """Raised where a case cannot run here; the case then exits 77."""


def skippable(case):
    def run_case():
        try:
            return case()
        except Skip as e:
            return skip(str(e))
    run_case.__doc__ = case.__doc__
    return run_case


def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


# ---------------------------------------------------------------------------
# The installed tree


class Installed:
    """`meson install --destdir` of the build tree into a temp dir."""

    def __init__(self):
        if shutil.which(MESON) is None:
            raise Skip("meson not found")
        self.dest = tempfile.mkdtemp(prefix="bg96-inst-")
        r = run([MESON, "install", "-C", BUILD_ROOT, "--no-rebuild",
                 "--quiet", "--destdir", self.dest])
        if r.returncode != 0:
            self.close()
            raise AssertionError("meson install failed:\n" + r.stdout +
                                 r.stderr)
        r = run([MESON, "introspect", "--installed", BUILD_ROOT])
        assert r.returncode == 0, r.stderr
        # Where each file went, by its installed name ("bg96d.service").
        self.paths = {}
        for _, dst in json.loads(r.stdout).items():
            self.paths.setdefault(os.path.basename(dst), []).append(dst)

    def path(self, name, under=None):
        """The installed path (outside DESTDIR) of the file called name."""
        cands = [p for p in self.paths.get(name, [])
                 if under is None or ("/" + under + "/") in p]
        assert len(cands) == 1, "installed %s%s: %r" % (
            name, " under " + under if under else "", cands)
        return cands[0]

    def real(self, path):
        """Where an installed path is inside DESTDIR."""
        return os.path.join(self.dest, path.lstrip("/"))

    def close(self):
        shutil.rmtree(self.dest, ignore_errors=True)


def unit_lines(path, key):
    with open(path) as f:
        return [ln.split("=", 1)[1].strip() for ln in f
                if ln.startswith(key + "=")]


def case_install_tree():
    """Every file in its place, and the units name the installed paths."""
    inst = Installed()
    try:
        bg96d = inst.path("bg96d", "sbin")
        for exe in (bg96d, inst.path("bg96ctl", "bin"),
                    inst.path("bg96sim", "bin")):
            assert os.access(inst.real(exe), os.X_OK), exe
        conf = inst.path("bg96d.conf", "etc/bg96d")
        assert os.path.isfile(inst.real(conf)), conf
        for page, sect in (("bg96d.8", "man8"), ("bg96d.conf.5", "man5"),
                           ("bg96sim.1", "man1")):
            assert os.path.isfile(inst.real(inst.path(page, sect))), page
        sysusers = inst.path("bg96d.conf", "sysusers.d")
        assert os.path.isfile(inst.real(sysusers))
        tmpfiles = inst.path("bg96d.conf", "tmpfiles.d")
        with open(inst.real(tmpfiles)) as f:
            lines = [ln.split() for ln in f
                     if ln.strip() and not ln.startswith("#")]
        assert lines == [["d", "/run/bg96", "0750", "bg96", "bg96", "-"]], \
            lines
        rules = inst.path("60-bg96d.rules", "rules.d")
        with open(inst.real(rules)) as f:
            text = f.read()
        for want in ('ATTRS{idVendor}=="2c7c"', 'ATTRS{idProduct}=="0296"',
                     'ENV{ID_MM_DEVICE_IGNORE}="1"'):
            assert want in text, want
        for unit, cfg in (("bg96d.service", conf),
                          ("bg96d@.service",
                           os.path.dirname(conf) + "/%i.conf")):
            u = inst.real(inst.path(unit, "system"))
            assert unit_lines(u, "ExecStartPre") == [
                "%s -n -c %s" % (bg96d, cfg)], unit_lines(u, "ExecStartPre")
            assert unit_lines(u, "ExecStart") == ["%s -c %s" % (bg96d, cfg)]
            with open(u) as f:
                assert "@" + "sbindir@" not in f.read()
        # The shipped example is what bg96d.service runs with.
        r = run([inst.real(bg96d), "-n", "-c", inst.real(conf)])
        assert r.returncode == 0 and "configuration OK" in r.stdout, \
            r.stdout + r.stderr
    finally:
        inst.close()


# ---------------------------------------------------------------------------
# systemd units


def analyze_knows(*opts):
    exe = shutil.which("systemd-analyze")
    if exe is None:
        return None
    r = run([exe, "--help"])
    if r.returncode != 0 or any(o not in r.stdout for o in opts):
        return None
    return exe


def installed_units(inst, tmp):
    """The installed units, instance bg96d@modem1 included, in tmp, with
    bg96d's path pointing into DESTDIR (for verify's executable check)."""
    bg96d = inst.path("bg96d", "sbin")
    out = []
    for unit, copies in (("bg96d.service", ["bg96d.service"]),
                         ("bg96d@.service", ["bg96d@.service",
                                             "bg96d@modem1.service"])):
        with open(inst.real(inst.path(unit, "system"))) as f:
            text = f.read().replace(bg96d + " ", inst.real(bg96d) + " ")
        for name in copies:
            p = os.path.join(tmp, name)
            with open(p, "w") as f:
                f.write(text)
            out.append(p)
    return out


def case_unit_security():
    """systemd-analyze security --offline: exposure at most 2.0."""
    exe = analyze_knows("--offline", "--threshold")
    if exe is None:
        return skip("systemd-analyze missing or without --offline/--threshold")
    inst = Installed()
    tmp = tempfile.mkdtemp(prefix="bg96-units-")
    try:
        for u in installed_units(inst, tmp):
            r = run([exe, "security", "--offline=true",
                     "--threshold=%d" % THRESHOLD, u], cwd=tmp)
            level = [ln for ln in r.stdout.splitlines()
                     if "Overall exposure level" in ln]
            print("%s: %s" % (os.path.basename(u),
                              level[0].strip() if level else "?"))
            assert r.returncode == 0 and level, \
                "%s: exposure above %.1f:\n%s%s" % (
                    u, THRESHOLD / 10, r.stdout, r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        inst.close()


def case_unit_verify():
    """systemd-analyze verify accepts the units without a word."""
    exe = analyze_knows("verify", "--man")
    if exe is None:
        return skip("systemd-analyze missing or without --man")
    tmp = tempfile.mkdtemp(prefix="bg96-units-")
    inst = None
    try:
        # Can verify run here at all?  A trivial unit must pass silently.
        probe = os.path.join(tmp, "bg96-probe.service")
        with open(probe, "w") as f:
            f.write("[Service]\nType=oneshot\nExecStart=%s\n" %
                    shutil.which("true"))
        r = run([exe, "verify", "--man=no", probe], cwd=tmp)
        if r.returncode != 0 or r.stderr.strip():
            return skip("systemd-analyze verify does not work here: " +
                        r.stderr.strip())
        os.unlink(probe)
        inst = Installed()
        units = installed_units(inst, tmp)
        r = run([exe, "verify", "--man=no"] + units, cwd=tmp)
        out = (r.stdout + r.stderr).strip()
        assert r.returncode == 0 and not out, "verify:\n" + out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if inst is not None:
            inst.close()


def case_sysusers():
    """The sysusers.d entry makes user and group bg96, no login, and puts
    bg96 in dialout."""
    exe = shutil.which("systemd-sysusers")
    if exe is None:
        return skip("systemd-sysusers missing")
    root = tempfile.mkdtemp(prefix="bg96-sysusers-")
    try:
        os.makedirs(os.path.join(root, "etc"))
        files = {"passwd": "root:x:0:0:root:/root:/bin/sh\n",
                 "group": "root:x:0:\ndialout:x:20:\n",
                 "shadow": "root:*:19000:0:99999:7:::\n",
                 "gshadow": "root:*::\ndialout:*::\n"}
        for name, text in files.items():
            with open(os.path.join(root, "etc", name), "w") as f:
                f.write(text)
        r = run([exe, "--root=" + root,
                 os.path.join(SRCDIR, "systemd", "bg96d.sysusers")])
        assert r.returncode == 0, r.stderr
        with open(os.path.join(root, "etc", "passwd")) as f:
            users = {ln.split(":")[0]: ln.strip().split(":") for ln in f}
        with open(os.path.join(root, "etc", "group")) as f:
            groups = {ln.split(":")[0]: ln.strip().split(":") for ln in f}
        u = users.get("bg96")
        assert u is not None, "no bg96 user"
        assert 0 < int(u[2]) < 1000, "not a system user: %r" % u
        assert u[6].endswith("nologin"), "login shell: %r" % u
        assert "bg96" in groups and groups["bg96"][2] == u[3], groups
        assert "bg96" in groups["dialout"][3].split(","), groups["dialout"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def case_tmpfiles():
    """systemd-tmpfiles --create --root makes /run/bg96 0750 bg96:bg96 (the
    user from the sysusers.d entry), and brings an existing directory to
    that mode and owner, keeping what is in it."""
    tmpfiles = shutil.which("systemd-tmpfiles")
    sysusers = shutil.which("systemd-sysusers")
    if tmpfiles is None or sysusers is None:
        return skip("systemd-tmpfiles or systemd-sysusers missing")
    if os.geteuid() != 0:
        return skip("needs root (systemd-tmpfiles chowns to bg96)")
    conf = os.path.join(SRCDIR, "systemd", "bg96d.tmpfiles")
    root = tempfile.mkdtemp(prefix="bg96-tmpfiles-")
    try:
        os.makedirs(os.path.join(root, "etc"))
        files = {"passwd": "root:x:0:0:root:/root:/bin/sh\n",
                 "group": "root:x:0:\ndialout:x:20:\n",
                 "shadow": "root:*:19000:0:99999:7:::\n",
                 "gshadow": "root:*::\ndialout:*::\n"}
        for name, text in files.items():
            with open(os.path.join(root, "etc", name), "w") as f:
                f.write(text)
        # Without the bg96 user the entry must fail, not make a root dir.
        r = run([tmpfiles, "--create", "--root=" + root, conf])
        assert r.returncode != 0, "created without a bg96 user"
        r = run([sysusers, "--root=" + root,
                 os.path.join(SRCDIR, "systemd", "bg96d.sysusers")])
        assert r.returncode == 0, r.stderr
        with open(os.path.join(root, "etc", "passwd")) as f:
            users = {ln.split(":")[0]: ln.strip().split(":") for ln in f}
        uid, gid = int(users["bg96"][2]), int(users["bg96"][3])
        run_dir = os.path.join(root, "run", "bg96")

        def check():
            r = run([tmpfiles, "--create", "--root=" + root, conf])
            assert r.returncode == 0 and not r.stderr.strip(), \
                "systemd-tmpfiles: %d\n%s" % (r.returncode, r.stderr)
            st = os.lstat(run_dir)
            assert stat.S_ISDIR(st.st_mode), "not a directory"
            assert stat.S_IMODE(st.st_mode) == 0o750, oct(st.st_mode)
            assert (st.st_uid, st.st_gid) == (uid, gid), \
                "owned by %d:%d, want %d:%d" % (st.st_uid, st.st_gid,
                                                 uid, gid)

        check()
        # As systemd leaves it for bg96d@ instances (root, 0755), with an
        # instance directory inside: fixed up, the contents kept.
        os.chown(run_dir, 0, 0)
        os.chmod(run_dir, 0o755)
        os.mkdir(os.path.join(run_dir, "modem1"))
        check()
        assert os.path.isdir(os.path.join(run_dir, "modem1"))
        check()     # and again: nothing changes
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Man pages


def case_man_pages():
    """bg96d.8 and bg96d.conf.5 render without a single warning."""
    groff = shutil.which("groff")
    if groff is None:
        return skip("groff missing")
    pages = [os.path.join(SRCDIR, "man", p)
             for p in ("bg96d.8", "bg96d.conf.5")]
    for p in pages:
        r = run([groff, "-man", "-Tascii", "-ww", "-z", p])
        assert r.returncode == 0 and not r.stderr.strip(), \
            "%s:\n%s" % (p, r.stderr)
        r = run([groff, "-man", "-Tascii", "-ww", "-P-cbou", p])
        assert "NAME" in r.stdout and "SEE ALSO" in r.stdout, p
    mandoc = shutil.which("mandoc")
    if mandoc is not None:
        for p in pages:
            r = run([mandoc, "-Tlint", "-Wwarning", p])
            assert r.returncode == 0, "%s:\n%s%s" % (p, r.stdout, r.stderr)
    lexgrog = shutil.which("lexgrog")
    if lexgrog is not None:
        for p in pages:
            r = run([lexgrog, p])
            assert r.returncode == 0, "%s: lexgrog: %s" % (p, r.stdout)


# ---------------------------------------------------------------------------
# Privilege drop


def status_ids(pid):
    """(Uid list, Gid list, Groups list) from /proc/PID/status."""
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                ids[k] = [int(x) for x in v.split()]
    return ids["Uid"], ids["Gid"], ids["Groups"]


def open_pty_to_all(link):
    """bg96sim makes its pty as root: let the dropped daemon open it."""
    os.chmod(os.path.realpath(link), 0o666)


def case_privdrop_root():
    """Started as root with user = nobody: every id is nobody's, bridging
    works, the tty is reopened after a hangup, and SIGHUP makes new socket
    files (with socket_group) that work."""
    if os.geteuid() != 0:
        return skip("needs root")
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    srv = Server(echo_handler)
    env = Env("privdrop", endpoints=tcp_endpoint("echo", srv.port),
              extra_conf="user = nobody\nsocket_group = %s\n" % group,
              start_daemon=False)
    ok = False
    try:
        os.chmod(env.dir, 0o755)
        open_pty_to_all(env.link)
        env.start_daemon()
        env.wait_ready()
        pid = env.daemon.pid

        uids, gids, groups = status_ids(pid)
        assert uids == [nobody.pw_uid] * 4, "Uid: %r" % uids
        assert gids == [nobody.pw_gid] * 4, "Gid: %r" % gids
        want = sorted(set([nobody.pw_gid] + os.getgrouplist(
            "nobody", nobody.pw_gid)))
        assert sorted(groups) == want, "Groups: %r, want %r" % (groups, want)
        # No capability survives the drop: none permitted, effective,
        # inheritable or ambient.
        with open("/proc/%d/status" % pid) as f:
            caps = {k: int(v, 16) for k, _, v in
                    (ln.partition(":") for ln in f)
                    if k in ("CapInh", "CapPrm", "CapEff", "CapAmb")}
        assert len(caps) == 4 and not any(caps.values()), caps
        for p in (env.run, env.sock_path("echo"),
                  os.path.join(env.run, "control.sock")):
            st = os.lstat(p)
            assert st.st_uid == nobody.pw_uid and \
                st.st_gid == nobody.pw_gid, \
                "%s owned by %d:%d" % (p, st.st_uid, st.st_gid)
        echo_once(env, "echo")

        # Loss of the serial line: bg96sim recreates its pty after 1 s;
        # the daemon, no longer root, must reopen it.
        r = env.sim_cmd("hangup 1")
        assert r.get("ok"), r
        assert not os.path.lexists(env.link), "link still there"
        wait_for(lambda: os.path.lexists(env.link), 10, "the pty again")
        open_pty_to_all(env.link)
        t0 = time.monotonic()
        env.wait_ready(timeout=15, count=2)
        print("reopened and ready %.1f s after the pty came back" %
              (time.monotonic() - t0))
        echo_once(env, "echo")

        # SIGHUP with a new endpoint: its file belongs to the user and to
        # socket_group, with socket_mode, and it bridges.
        srv2 = Server(echo_handler)
        try:
            with open(env.conf, "a") as f:
                f.write(tcp_endpoint("late", srv2.port,
                                     "socket_mode = 0640\n"))
            env.daemon.send_signal(signal.SIGHUP)
            # bind() makes the file 0600 (umask); chown and chmod follow.
            wait_for(lambda: os.path.exists(env.sock_path("late")) and
                     stat.S_IMODE(os.lstat(env.sock_path("late")).st_mode)
                     == 0o640, 10, "late.sock with mode 0640")
            st = os.lstat(env.sock_path("late"))
            assert stat.S_ISSOCK(st.st_mode)
            assert st.st_uid == nobody.pw_uid, st.st_uid
            assert st.st_gid == nobody.pw_gid, st.st_gid
            assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
            echo_once(env, "late")
            echo_once(env, "echo")
            assert not srv2.errors, srv2.errors
        finally:
            srv2.close()
        assert env.daemon.poll() is None, "bg96d died"
        assert not srv.errors, srv.errors
        ok = True
    finally:
        srv.close()
        env.close(ok)


def as_nobody():
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


def start_as_nobody(env):
    """Start bg96d as nobody in env (root needed to get there)."""
    nobody = pwd.getpwnam("nobody")
    os.chmod(env.dir, 0o755)
    os.makedirs(env.run, exist_ok=True)
    os.chown(env.run, nobody.pw_uid, nobody.pw_gid)
    open_pty_to_all(env.link)
    env.logf = open(env.log, "ab")
    env.daemon = subprocess.Popen([BG96D, "-c", env.conf, "-v"],
                                  stdin=subprocess.DEVNULL, stderr=env.logf,
                                  preexec_fn=as_nobody)


def case_privdrop_not_root():
    """Started as nobody with user = root: exit 1, saying why."""
    if os.geteuid() != 0:
        return skip("needs root (to become nobody)")
    env = Env("notroot", endpoints=tcp_endpoint("echo", 9),
              extra_conf="user = root\n", start_daemon=False)
    ok = False
    try:
        start_as_nobody(env)
        try:
            rc = env.daemon.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError("bg96d kept running")
        env.daemon = None
        log = env.log_text()
        assert rc == 1, "exit status %d" % rc
        assert "user root" in log and "not started as root" in log, log
        assert not os.path.exists(env.sock_path("echo")), \
            "socket file left behind"
        ok = True
    finally:
        env.close(ok)


def case_privdrop_same_user():
    """Started as nobody with user = nobody (as under systemd, where the
    unit sets User=): nothing to drop, it just runs."""
    if os.geteuid() != 0:
        return skip("needs root (to become nobody)")
    srv = Server(echo_handler)
    env = Env("sameuser", endpoints=tcp_endpoint("echo", srv.port),
              extra_conf="user = nobody\n", start_daemon=False)
    ok = False
    try:
        start_as_nobody(env)
        env.wait_ready()
        echo_once(env, "echo")
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_privdrop_unknown_user():
    """user = a name that does not exist: exit 1, saying so."""
    if os.geteuid() != 0:
        return skip("needs root")
    env = Env("nouser", endpoints=tcp_endpoint("echo", 9),
              extra_conf="user = bg96-no-such-user\n", start_daemon=False)
    ok = False
    try:
        env.start_daemon()
        try:
            rc = env.daemon.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError("bg96d kept running")
        env.daemon = None
        log = env.log_text()
        assert rc == 1, "exit status %d" % rc
        assert "bg96-no-such-user: no such user" in log, log
        ok = True
    finally:
        env.close(ok)


CASES = {
    "install_tree": grouped("install", skippable(case_install_tree)),
    "unit_security": grouped("install", skippable(case_unit_security)),
    "unit_verify": grouped("install", skippable(case_unit_verify)),
    "sysusers": case_sysusers,
    "tmpfiles": case_tmpfiles,
    "man_pages": case_man_pages,
    "privdrop_root": grouped("daemon", case_privdrop_root),
    "privdrop_not_root": grouped("daemon", case_privdrop_not_root),
    "privdrop_same_user": grouped("daemon", case_privdrop_same_user),
    "privdrop_unknown_user": grouped("daemon", case_privdrop_unknown_user),
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
