#!/usr/bin/env python3
"""bg96d's command line: -n on good and bad files (no device needed),
-V, usage errors, and start-up failures."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BG96D, run_cases  # noqa

SRC = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def bg96d(*args):
    return subprocess.run([BG96D] + list(args), capture_output=True,
                          timeout=10, text=True)


def write(text):
    fd, path = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def case_check_good():
    path = write("[modem]\ndevice = /dev/does-not-exist/ttyUSB9\n"
                 "[endpoint web]\ntype = tcp\nhost = example.com\nport = 80\n")
    try:
        r = bg96d("-n", "-c", path)
        assert r.returncode == 0, (r.returncode, r.stderr)
        assert r.stdout.strip() == "configuration OK", r.stdout
    finally:
        os.unlink(path)


def case_check_shipped_examples():
    for name in ("bg96d.conf", "demo.conf"):
        r = bg96d("-n", "-c", os.path.join(SRC, "conf", name))
        assert r.returncode == 0, (name, r.returncode, r.stderr)
        assert r.stdout.strip() == "configuration OK"


def case_check_bad():
    path = write("[modem]\ndevice = /dev/ttyUSB2\napn = a\"b\nbaud = 12\n"
                 "[bogus]\n"
                 "[endpoint web]\ntype = tcp\nhost = bad host\nport = 99999\n")
    try:
        r = bg96d("-n", "-c", path)
        assert r.returncode == 78, (r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        for n in (3, 4, 5, 8, 9):
            assert any(l.startswith("%s:%d: " % (path, n)) for l in lines), \
                "no error for line %d in %r" % (n, lines)
        assert "configuration OK" not in r.stdout
    finally:
        os.unlink(path)


def case_missing_file():
    r = bg96d("-n", "-c", "/nonexistent/bg96d.conf")
    assert r.returncode == 78, r.returncode
    assert "/nonexistent/bg96d.conf:" in r.stderr


def case_usage():
    assert bg96d("-x").returncode == 64
    assert bg96d("extra").returncode == 64
    r = bg96d("-V")
    assert r.returncode == 0 and r.stdout.startswith("bg96d ")


def case_socket_dir_unusable():
    path = write("[modem]\ndevice = /dev/null\n"
                 "[daemon]\nsocket_dir = /proc/bg96-cannot-exist\n")
    try:
        r = bg96d("-c", path)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "socket_dir" in r.stderr
    finally:
        os.unlink(path)


CASES = {
    "check_good": case_check_good,
    "check_shipped_examples": case_check_shipped_examples,
    "check_bad": case_check_bad,
    "missing_file": case_missing_file,
    "usage": case_usage,
    "socket_dir_unusable": case_socket_dir_unusable,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
