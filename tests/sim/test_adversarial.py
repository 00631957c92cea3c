#!/usr/bin/env python3
"""Adversarial bg96sim and honest pacing, driven over its pty (no daemon).

Checks that each timing/placement quirk produces the placements the
reference allows (bg96-at-reference.md sections 1, 5.5, 5.7, 11) with a
fixed seed, that the recv URC is still sent once until a drain, that the
one-shot control faults (late-prompt, late-answer, send-fail N) behave as
documented in bg96sim(1), and that pacing is never faster than the line:
only lower bounds on time, never tight upper ones (CI machines are loaded).

usage: test_adversarial.py PATH_TO_BG96SIM [TEST_NAME...]

Python 3 standard library only; shares the Sim harness (simharness.py)
with test_transcripts.py.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simharness import (READ_TIMEOUT, Failure, Sim, check,  # noqa: E402
                        qird_data, recv_exact, run_tests, tcp_server)

URC_PREFIXES = (b'+QIURC:', b'+QIND:', b'+QIOPEN:', b'+CEREG:', b'+CREG:',
                b'+CGREG:', b'RDY', b'POWERED DOWN')
FINALS = (b'OK', b'ERROR', b'SEND OK', b'SEND FAIL')
SEED = '4242'


def is_urc(text):
    return text.startswith(URC_PREFIXES)


def is_final(text):
    return text in FINALS or text.startswith(b'+CME ERROR:')


def events(sim, qird=False, payload=None, timeout=READ_TIMEOUT,
           before_payload=None):
    """Reads one command's answer, URCs and all, up to its final result.

    Returns a list of ('urc', text), ('info', text), ('data', bytes),
    ('prompt',) and ('final', text) in wire order.  With qird, a
    "+QIRD: n" header (n > 0) is followed by exactly n raw bytes and CRLF.
    After a prompt, before_payload() runs (if given) and payload is sent.
    Raises Failure on anything that is not a framed line.
    """
    out = []
    deadline = time.monotonic() + timeout
    while True:
        while len(sim.buf) < 4:
            if not sim._fill(deadline):
                raise Failure('timeout; so far %r, have %r' % (out, sim.buf))
        check(sim.buf.startswith(b'\r\n'), 'not a framed line: %r (after %r)'
              % (sim.buf, out))
        if sim.buf[2:4] == b'> ':
            sim.buf = sim.buf[4:]
            out.append(('prompt',))
            if before_payload is not None:
                before_payload()
            check(payload is not None, 'unexpected prompt')
            sim.send(payload)
            continue
        while b'\r\n' not in sim.buf[2:]:
            if not sim._fill(deadline):
                raise Failure('timeout in a line; so far %r, have %r'
                              % (out, sim.buf))
        i = sim.buf.index(b'\r\n', 2)
        text, sim.buf = sim.buf[2:i], sim.buf[i + 2:]
        if is_urc(text):
            out.append(('urc', text))
            continue
        if is_final(text):
            out.append(('final', text))
            return out
        out.append(('info', text))
        m = re.fullmatch(rb'\+QIRD: (\d+)(,"[^"]*",\d+)?', text)
        if qird and m and int(m.group(1)) > 0:
            out.append(('data', sim.read(int(m.group(1)))))
            sim.expect(b'\r\n')


def init(sim):
    """ATE0, CMEE=1, context 1 up, whatever URCs come in between."""
    sim.cmd(b'ATE0', b'ATE0\r')
    for line in (b'ATE0', b'AT+CMEE=1', b'AT+QICSGP=1,1,"iot.example","","",0',
                 b'AT+QIACT=1'):
        if line != b'ATE0':
            sim.send(line + b'\r')
        evs = [e for e in events(sim) if e[0] != 'urc']
        check(evs == [('final', b'OK')], '%r: %r' % (line, evs))


def open_tcp(sim, cid, server):
    """Opens slot cid to server; returns the accepted peer socket."""
    port = server.getsockname()[1]
    sim.send(b'AT+QIOPEN=1,%d,"TCP","127.0.0.1",%d,0,0\r' % (cid, port))
    evs = events(sim)
    check(evs[-1] == ('final', b'OK'), 'QIOPEN %r' % evs)
    want = ('urc', b'+QIOPEN: %d,0' % cid)
    deadline = time.monotonic() + READ_TIMEOUT
    while want not in evs:
        check(time.monotonic() < deadline, 'no +QIOPEN URC')
        sim.send(b'AT\r')
        evs += events(sim)
    conn, _ = server.accept()
    conn.settimeout(READ_TIMEOUT)
    return conn


def kinds(evs):
    return [e[0] for e in evs]


def urc_position(evs, urc):
    """Index of urc among the non-URC events, or None."""
    n = 0
    for e in evs:
        if e == ('urc', urc):
            return n
        if e[0] != 'urc':
            n += 1
    return None


# Pacing: lower bounds only

def bit_time(baud):
    return 10.0 / baud


def timed(sim, line, want):
    t0 = time.monotonic()
    sim.send(line)
    sim.expect(want, timeout=10)
    return time.monotonic() - t0


def pacing_bounds(baud):
    T = bit_time(baud)
    srv = tcp_server()
    with Sim('--baud', str(baud)) as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        # Output after an idle line: nothing banked.
        time.sleep(0.05)
        text = b'+QIND: "csq",' + b'9' * 180
        t0 = time.monotonic()
        check(sim.control('urc ' + text.decode()) == {'ok': True}, 'urc')
        sim.expect(b'\r\n' + text + b'\r\n', timeout=10)
        el = time.monotonic() - t0
        n = len(text) + 4
        print('     %d: %d-byte URC after idle %.2f ms (line %.2f ms)'
              % (baud, n, el * 1000, n * T * 1000))
        check(el >= n * T, 'URC of %d bytes in %.4f s < %.4f s'
              % (n, el, n * T))
        # Input after an idle line: a 1000-byte command line.
        time.sleep(0.05)
        line = b'AT+' + b'X' * 996 + b'\r'
        el = timed(sim, line, b'\r\nERROR\r\n')
        n = len(line) + 9
        print('     %d: 1000-byte line after idle %.2f ms (line %.2f ms)'
              % (baud, el * 1000, n * T * 1000))
        check(el >= n * T, '%d bytes in %.4f s < %.4f s' % (n, el, n * T))
        # A 64-byte round trip: QISEND 64, the echo, QIRD 64.  Every
        # step waits for the previous one, so the line time of every
        # byte in both directions adds up.
        time.sleep(0.05)
        blob = bytes(range(64))
        total = 0
        t0 = time.monotonic()
        cmd = b'AT+QISEND=0,64\r'
        sim.send(cmd)
        sim.expect(b'\r\n> ')
        sim.send(blob)
        sim.expect(b'\r\nSEND OK\r\n')
        total += len(cmd) + 4 + 64 + 11
        check(recv_exact(conn, 64) == blob, 'payload')
        conn.sendall(blob)
        urc = b'\r\n+QIURC: "recv",0\r\n'
        sim.expect(urc)
        cmd = b'AT+QIRD=0,64\r'
        want = b'\r\n+QIRD: 64\r\n' + blob + b'\r\n\r\nOK\r\n'
        sim.send(cmd)
        sim.expect(want)
        el = time.monotonic() - t0
        total += len(urc) + len(cmd) + len(want)
        print('     %d: 64-byte round trip %.2f ms (line %.2f ms, %d bytes)'
              % (baud, el * 1000, total * T * 1000, total))
        check(el >= total * T, 'round trip %.4f s < %.4f s'
              % (el, total * T))
        check(el >= 2 * 64 * T, 'round trip below 2 x 64 bytes')
        sim.cmd(b'AT+QIRD=0,64', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')
        # A stream in: N bytes of payload take N byte times.
        sim.cmd(b'AT+QISEND=0,1460', b'\r\n> ')
        time.sleep(0.02)
        el = timed(sim, bytes(1460), b'\r\nSEND OK\r\n')
        n = 1460 + 11
        print('     %d: 1460-byte payload %.2f ms (line %.2f ms)'
              % (baud, el * 1000, n * T * 1000))
        check(el >= n * T, 'payload %.4f s < %.4f s' % (el, n * T))
        check(recv_exact(conn, 1460) == bytes(1460), 'payload differs')
        # A stream out: QIRD of 1500 bytes.
        conn.sendall(b'y' * 1500)
        sim.expect(urc)
        sim.wait_rx(0, 1564)
        time.sleep(0.02)
        cmd = b'AT+QIRD=0,1500\r'
        want = b'\r\n+QIRD: 1500\r\n' + b'y' * 1500 + b'\r\n\r\nOK\r\n'
        el = timed(sim, cmd, want)
        n = len(cmd) + len(want)
        print('     %d: QIRD of 1500 %.2f ms (line %.2f ms)'
              % (baud, el * 1000, n * T * 1000))
        check(el >= n * T, 'QIRD %.4f s < %.4f s' % (el, n * T))
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_pacing_lower_bounds_115200():
    pacing_bounds(115200)


def test_pacing_lower_bounds_921600():
    pacing_bounds(921600)


def test_pacing_trickles():
    """At 9600 a 40-byte answer arrives in several reads, not at once."""
    with Sim('--baud', '9600') as sim:
        sim.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n', timeout=5)
        sim.send(b'ATI\r')
        reads = 0
        want = (b'\r\nQuectel\r\n\r\nBG96\r\n\r\nRevision: BG96MAR02A07M1G'
                b'\r\n\r\nOK\r\n')
        deadline = time.monotonic() + 5
        while len(sim.buf) < len(want):
            n = len(sim.buf)
            check(sim._fill(deadline), 'timeout')
            if len(sim.buf) > n:
                reads += 1
        check(sim.buf == want, 'ATI: %r' % sim.buf)
        sim.buf = b''
        check(reads >= 5, 'only %d reads for %d bytes' % (reads, len(want)))


# Placement quirks

def test_urc_anywhere_lines():
    """A due URC lands at every boundary of a multi-line answer."""
    with Sim('--quirks', 'urc-anywhere', '--seed', SEED) as sim:
        init(sim)
        seen = set()
        for i in range(80):
            urc = b'+QIND: "csq",%d,99' % i
            check(sim.control('urc ' + urc.decode()) == {'ok': True}, 'urc')
            sim.send(b'ATI\r')
            evs = events(sim)
            check([e for e in evs if e[0] != 'urc'] ==
                  [('info', b'Quectel'), ('info', b'BG96'),
                   ('info', b'Revision: BG96MAR02A07M1G'), ('final', b'OK')],
                  'ATI answer %r' % evs)
            pos = urc_position(evs, urc)
            if pos is None:
                sim.expect(b'\r\n' + urc + b'\r\n')     # after the OK
            seen.add(pos)
            if {0, 1, 2, 3} <= seen:
                break
        print('     positions seen: %r' % sorted(seen, key=str))
        check({0, 1, 2, 3} <= seen, 'positions seen: %r' % seen)
        check(sim.violations() == [], 'violations %r' % sim.violations())


def test_urc_anywhere_prompt():
    """Before "> ", after it before the payload, and before SEND OK."""
    srv = tcp_server()
    with Sim('--quirks', 'urc-anywhere', '--seed', SEED) as sim:
        init(sim)
        conn = open_tcp(sim, 0, srv)
        seen = set()
        sent = b''
        for i in range(150):
            urc = b'+QIND: "csq",%d,99' % i
            payload = b'p%04d' % i
            late = i % 3 == 2
            early = []

            def before_payload():
                if late:
                    # Due while the modem waits for the payload.
                    check(sim.control('urc ' + urc.decode()) ==
                          {'ok': True}, 'urc')
                    return
                # What came right after the prompt, before any payload.
                time.sleep(0.03)
                sim._fill(time.monotonic() + 0.01)
                early.append(urc in sim.buf)

            if not late:
                check(sim.control('urc ' + urc.decode()) == {'ok': True},
                      'urc')
            sim.send(b'AT+QISEND=0,5\r')
            evs = events(sim, payload=payload, before_payload=before_payload)
            sent += payload
            check([e for e in evs if e[0] != 'urc'] ==
                  [('prompt',), ('final', b'SEND OK')], 'QISEND %r' % evs)
            pos = urc_position(evs, urc)
            if pos is None:
                sim.expect(b'\r\n' + urc + b'\r\n')
            elif pos == 0:
                pos = 'before prompt'
            elif early and early[0]:
                pos = 'after prompt'
            else:
                pos = 'before SEND OK'
            seen.add(pos)
            if {'before prompt', 'after prompt', 'before SEND OK'} <= seen:
                break
        print('     positions seen: %r' % sorted(seen, key=str))
        check({'before prompt', 'after prompt', 'before SEND OK'} <= seen,
              'positions seen: %r' % seen)
        check(recv_exact(conn, len(sent)) == sent, 'payload bytes differ')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_urc_anywhere_never_in_data():
    """QIRD data and its header stay whole whatever URCs are due."""
    srv = tcp_server()
    nasty = b'\r\nOK\r\n\r\n+QIURC: "recv",0\r\n> '
    with Sim('--quirks', 'adversarial', '--seed', SEED) as sim:
        init(sim)
        conn = open_tcp(sim, 0, srv)
        got = b''
        want = b''
        urcs = 0
        for i in range(30):
            chunk = nasty + b'%03d' % i
            want += chunk
            conn.sendall(chunk)
            check(sim.control('urc +QIND: "csq",%d,99' % i) == {'ok': True},
                  'urc')
            time.sleep(0.005)
            sim.send(b'AT+QIRD=0,1500\r')
            evs = events(sim, qird=True)
            urcs += kinds(evs).count('urc')
            got += b''.join(e[1] for e in evs if e[0] == 'data')
        deadline = time.monotonic() + 5
        while got != want:
            check(time.monotonic() < deadline, 'data lost')
            sim.send(b'AT+QIRD=0,1500\r')
            got += b''.join(e[1] for e in events(sim, qird=True)
                            if e[0] == 'data')
        check(urcs > 0, 'no URC inside any answer')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_recv_in_empty_read():
    """\\r\\n+QIRD: 0\\r\\n\\r\\n+QIURC: "recv",0\\r\\n\\r\\nOK\\r\\n, and only once."""
    srv = tcp_server()
    with Sim('--quirks', 'recv-in-empty-read', '--seed', SEED) as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        inside = False
        for attempt in range(20):
            sim.send(b'AT+QIRD=0,1500\r')
            sim.expect(b'\r\n+QIRD: 0\r\n')
            conn.sendall(b'abc')
            rest = b'\r\n+QIURC: "recv",0\r\n\r\nOK\r\n'
            sim._fill(time.monotonic() + 1)
            while len(sim.buf) < len(rest) and sim._fill(
                    time.monotonic() + 1):
                pass
            if sim.buf == rest:
                sim.buf = b''
                inside = True
                break
            # The data came after the OK this time: drain and retry.
            sim.expect(b'\r\nOK\r\n\r\n+QIURC: "recv",0\r\n')
            check(qird_data(sim, 0) == b'abc', 'read')
            check(qird_data(sim, 0) == b'', 'drained')
        check(inside, 'the recv URC never came between +QIRD: 0 and OK')
        # The URC is not repeated until the buffer is drained.
        conn.sendall(b'def')
        sim.wait_rx(0, 3 * (attempt + 1) + 3)
        sim.quiet(0.2)
        check(qird_data(sim, 0, 4) == b'abcd', 'first read')
        sim.quiet(0.1)
        conn.sendall(b'ghi')
        sim.wait_rx(0, 3 * (attempt + 1) + 6)
        sim.quiet(0.1)
        check(qird_data(sim, 0) == b'efghi', 'second read')
        # Drained: re-armed; an empty read, and data after its OK.
        sim.send(b'AT+QIRD=0,1500\r')
        check(events(sim) == [('info', b'+QIRD: 0'), ('final', b'OK')],
              'empty read')
        conn.sendall(b'jkl')
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        sim.quiet(0.1)
        check(qird_data(sim, 0) == b'jkl', 'third read')
        sim.send(b'AT+QIRD=0,1500\r')
        events(sim)
        sim.quiet(0.1)
        check(sim.violations() == [], 'violations %r' % sim.violations())
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_closed_in_response():
    srv = tcp_server()
    with Sim('--quirks', 'closed-in-response', '--seed', SEED) as sim:
        sim.init()
        closed = ('urc', b'+QIURC: "closed",0')
        # Inside AT+QISEND=id,0, between the counters and OK.
        conn = sim.open_tcp(0, srv)
        sim.cmd(b'AT+QISEND=0,5', b'\r\n> ')
        sim.send(b'hello')
        sim.expect(b'\r\nSEND OK\r\n')
        check(recv_exact(conn, 5) == b'hello', 'payload')
        conn.close()
        sim.quiet(0.1)                  # held: not by itself yet
        deadline = time.monotonic() + 3
        while True:
            sim.send(b'AT+QISEND=0,0\r')
            evs = events(sim)
            if closed in evs:
                break
            check(time.monotonic() < deadline, 'no closed URC')
        check(evs == [('info', b'+QISEND: 5,5,0'), closed, ('final', b'OK')],
              'QISEND=0,0: %r' % evs)
        sim.ok(b'AT+QICLOSE=0')
        # Before the final result of QIRD, after the data.
        conn = sim.open_tcp(0, srv)
        conn.sendall(b'tail')
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        sim.wait_rx(0, 4)
        conn.close()
        sim.quiet(0.1)
        sim.send(b'AT+QIRD=0,1500\r')
        evs = events(sim, qird=True)
        check(evs == [('info', b'+QIRD: 4'), ('data', b'tail'), closed,
                      ('final', b'OK')], 'QIRD: %r' % evs)
        sim.cmd(b'AT+QIRD=0,1500', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')
        sim.ok(b'AT+QICLOSE=0')
        # Nothing asks about the slot: the URC still comes, within 1 s.
        conn = sim.open_tcp(0, srv)
        conn.close()
        sim.expect(b'\r\n+QIURC: "closed",0\r\n', timeout=3)
        sim.ok(b'AT+QICLOSE=0')
        check(sim.violations() == [], 'violations %r' % sim.violations())
    srv.close()


def gaps(sim, line, payload=None, timeout=5):
    """Sends line; returns (bytes, [(offset, pause_s)]) up to the final."""
    chunks = []
    sim.send(line)
    deadline = time.monotonic() + timeout
    data = b''
    last = None
    while True:
        check(sim._fill(deadline), 'timeout: %r' % sim.buf)
        now = time.monotonic()
        if sim.buf:
            if last is not None:
                chunks.append((len(data), now - last))
            last = now
            data += sim.buf
            sim.buf = b''
        if payload is not None and data.endswith(b'\r\n> '):
            sim.send(payload)
            payload = None
            last = None
        if re.search(rb'\r\n(OK|ERROR|SEND OK)\r\n$', data):
            return data, chunks


def test_split_response():
    """Pauses inside answers: between CR and LF of a final result, and
    between "\\r\\n" and "> "."""
    srv = tcp_server()
    with Sim('--quirks', 'split-response', '--seed', SEED) as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        crlf = prompt = False
        for i in range(200):
            data, ch = gaps(sim, b'AT+CSQ\r')
            check(data == b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n', 'CSQ %r' % data)
            if any(off == len(data) - 1 and dt >= 0.004 for off, dt in ch):
                crlf = True
            data, ch = gaps(sim, b'AT+QISEND=0,2\r', payload=b'hi')
            check(data == b'\r\n> \r\nSEND OK\r\n', 'QISEND %r' % data)
            if any(off == 2 and dt >= 0.004 for off, dt in ch):
                prompt = True
            if crlf and prompt:
                break
        check(crlf, 'never a pause between CR and LF of OK')
        check(prompt, 'never a pause between \\r\\n and "> "')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_slow_answers():
    with Sim('--quirks', 'slow-answers', '--seed', SEED) as sim:
        sim.init()
        times = []
        for i in range(30):
            t0 = time.monotonic()
            sim.cmd(b'AT', b'\r\nOK\r\n')
            times.append(time.monotonic() - t0)
        print('     slowest %.1f ms' % (max(times) * 1000))
        check(max(times) >= 0.05, 'no answer was slow: %r' % times)


def decisions(seed):
    """The emulator's random choices for a fixed command script."""
    srv = tcp_server()
    with Sim('--quirks', 'split-response,slow-answers', '--seed', seed) as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        for i in range(10):
            sim.cmd(b'AT+CSQ', b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n')
            sim.cmd(b'AT+QISEND=0,3', b'\r\n> ')
            sim.send(b'abc')
            sim.expect(b'\r\nSEND OK\r\n')
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
        time.sleep(0.1)
        with open(sim.log, errors='replace') as f:
            log = [re.sub(r'^\S+ ', '', x) for x in f
                   if 'split:' in x]
    srv.close()
    return log


def test_seed_reproducible():
    a, b, c = decisions('7'), decisions('7'), decisions('8')
    check(a and a == b, 'seed 7 twice: %r vs %r' % (a, b))
    check(a != c, 'seeds 7 and 8 decide alike')


def test_adversarial_session():
    """A careful host against every placement quirk: no byte lost or
    reordered, no violation; the oracle still catches a real one."""
    srv = tcp_server()
    with Sim('--quirks', 'adversarial', '--seed', SEED) as sim:
        sim.expect_status = 3
        init(sim)
        conn = open_tcp(sim, 0, srv)
        up = b''
        down = b''
        got = b''
        for i in range(40):
            chunk = bytes((i * 7 + j) & 0xff for j in range(100 + i))
            sim.send(b'AT+QISEND=0,%d\r' % len(chunk))
            evs = events(sim, payload=chunk)
            check(evs[-1] == ('final', b'SEND OK'), 'QISEND %r' % evs)
            up += chunk
            back = b'd%03d' % i * (i + 1)
            conn.sendall(back)
            down += back
            sim.send(b'AT+QIRD=0,1500\r')
            got += b''.join(e[1] for e in events(sim, qird=True)
                            if e[0] == 'data')
        check(recv_exact(conn, len(up)) == up, 'upstream differs')
        deadline = time.monotonic() + 5
        while got != down:
            check(down.startswith(got), 'downstream differs')
            check(time.monotonic() < deadline, 'downstream lost')
            sim.send(b'AT+QIRD=0,1500\r')
            got += b''.join(e[1] for e in events(sim, qird=True)
                            if e[0] == 'data')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
        deadline = time.monotonic() + 3
        while True:
            sim.send(b'AT+QISTATE=1,0\r')
            evs = events(sim)
            if ('urc', b'+QIURC: "closed",0') in evs:
                break
            check(time.monotonic() < deadline, 'no closed URC')
        sim.send(b'AT+QICLOSE=0\r')
        events(sim)
        check(sim.violations() == [], 'violations %r' % sim.violations())
        # A real violation is still one.
        sim.send(b'AT\rAT\r')
        events(sim)
        events(sim)
        v = sim.violations()
        check(len(v) == 1 and 'in flight' in v[0], 'violations %r' % v)
    srv.close()


# One-shot control faults

def test_late_prompt():
    srv = tcp_server()
    with Sim('--seed', SEED) as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        check(sim.control('late-prompt 300') == {'ok': True}, 'late-prompt')
        t0 = time.monotonic()
        sim.send(b'AT+QISEND=0,4\r')
        sim.quiet(0.1)
        # A host that gave up on the prompt: its bytes are payload.
        sim.send(b'AT\rA')
        sim.expect(b'\r\n> \r\nSEND OK\r\n')
        check(time.monotonic() - t0 >= 0.3, 'prompt not late')
        check(recv_exact(conn, 4) == b'AT\rA', 'the remote got the probe')
        # One-shot: the next prompt is on time, and no violation.
        sim.cmd(b'AT+QISEND=0,2', b'\r\n> ')
        sim.send(b'ok')
        sim.expect(b'\r\nSEND OK\r\n')
        check(recv_exact(conn, 2) == b'ok', 'payload')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_late_answer():
    with Sim('--seed', SEED) as sim:
        sim.init()
        check(sim.control('late-answer 400') == {'ok': True}, 'late-answer')
        t0 = time.monotonic()
        sim.send(b'AT+CSQ\r')
        sim.expect(b'\r\n+CSQ: 20,99\r\n')
        # URCs due meanwhile come before the late final result.
        check(sim.control('urc +QIND: "csq",5,99') == {'ok': True}, 'urc')
        sim.expect(b'\r\n+QIND: "csq",5,99\r\n')
        time.sleep(0.1)
        sim.send(b'AT\r')               # a host that gave up: no violation
        sim.expect(b'\r\nOK\r\n\r\nOK\r\n', timeout=3)
        check(time.monotonic() - t0 >= 0.4, 'answer not late')
        t0 = time.monotonic()
        sim.ok(b'AT')
        check(sim.violations() == [], 'violations %r' % sim.violations())


def test_send_fail_count():
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        check(sim.control('send-fail 2') == {'ok': True}, 'send-fail 2')
        results = []
        for i in range(3):
            sim.cmd(b'AT+QISEND=0,1', b'\r\n> ')
            sim.send(b'%d' % i)
            results.append(sim.line())
        check(results == [b'SEND FAIL', b'SEND FAIL', b'SEND OK'],
              'results %r' % results)
        check(recv_exact(conn, 1) == b'2', 'payload')
        r = sim.control('send-fail x')
        check(r['ok'] is False, 'bad send-fail accepted')
        check(sim.control('stats')['ok'] is True, 'stats')
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_reboot_during_stall():
    """Input sent before a reboot is lost with it, not run after RDY."""
    with Sim('--seed', SEED) as sim:
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')             # echo on
        check(sim.control('stall 2') == {'ok': True}, 'stall')
        t0 = time.monotonic()
        sim.send(b'AT+CSQ\r')                      # unread: the modem is mute
        time.sleep(0.3)
        check(sim.control('reboot') == {'ok': True}, 'reboot')
        sim.expect(b'\r\nPOWERED DOWN\r\n\r\nRDY\r\n', timeout=5)
        check(time.monotonic() - t0 >= 1.9, 'stall did not stall')
        sim.quiet(0.4)          # no echo, no +CSQ: the command was lost
        # The host's probe after RDY is answered, and is no violation.
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        # Bytes sent after the reboot, while still mute, are kept.
        check(sim.control('stall 1') == {'ok': True}, 'stall')
        check(sim.control('reboot') == {'ok': True}, 'reboot')
        time.sleep(0.5)
        sim.send(b'AT\r')
        sim.expect(b'\r\nPOWERED DOWN\r\n\r\nRDY\r\nAT\r\r\nOK\r\n', timeout=4)
        check(sim.violations() == [], 'violations %r' % sim.violations())


def test_stall_probe_forgiven():
    """A probe after a stall, before the stale command is answered, is fine.

    The host sent AT+CSQ during the stall and timed out on it; its probe
    arrives after the stall is over, while AT+CSQ (answered 300 ms late) is
    in flight but before anything of its answer is out (sched seed 1).
    """
    with Sim('--latency-ms', '300', '--seed', SEED) as sim:
        sim.init()
        check(sim.control('stall 1') == {'ok': True}, 'stall')
        t0 = time.monotonic()
        sim.send(b'AT+CSQ\r')
        time.sleep(max(0, t0 + 1.1 - time.monotonic()))
        sim.send(b'AT\r')                          # after the stall's end
        sim.expect(b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\nOK\r\n', timeout=4)
        check(sim.violations() == [], 'violations %r' % sim.violations())
        # Only until the modem answers: then talking over is flagged.
        sim.expect_status = 3
        sim.send(b'AT+CSQ\rAT\r')
        sim.expect(b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\nOK\r\n', timeout=4)
        v = sim.violations()
        check(len(v) == 1 and 'AT+CSQ' in v[0], 'violations %r' % v)


def stale_qird(extra):
    """A stall, AT+QIRD=0 (and extra) sent in it, then "+QIRD: 0" read.

    With recv-in-empty-read the OK comes 20 to 80 ms after "+QIRD: 0":
    the host writes AT right after it has seen that line.
    """
    srv = tcp_server()
    with Sim('--quirks', 'recv-in-empty-read', '--seed', SEED) as sim:
        if not extra:
            sim.expect_status = 3
        sim.init()
        conn = sim.open_tcp(0, srv)
        check(sim.control('stall 1') == {'ok': True}, 'stall')
        sim.send(b'AT+QIRD=0,1500\r' + extra)
        sim.expect(b'\r\n+QIRD: 0\r\n', timeout=4)
        sim.send(b'AT\r')
        sim.expect(b'\r\nOK\r\n' * (3 if extra else 2), timeout=2)
        v = sim.violations()
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()
    return v


def test_stall_talk_over_flagged():
    """The host's last command before a stall's end, seen answered, is in
    flight: writing after its first line, before its OK, is flagged."""
    v = stale_qird(b'')
    check(len(v) == 1 and 'input while "AT+QIRD=0,1500"' in v[0],
          'violations %r' % v)


def test_stall_earlier_command_forgiven():
    """After a later command sent in the stall, the host has given up on
    an earlier one: input during the earlier one's answer is no violation."""
    v = stale_qird(b'AT\r')
    check(v == [], 'violations %r' % v)


TESTS = [v for k, v in sorted(globals().items()) if k.startswith('test_')]


if __name__ == '__main__':
    sys.exit(run_tests(TESTS, sys.argv, __doc__))
