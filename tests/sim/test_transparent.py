#!/usr/bin/env python3
"""Transparent access mode in bg96sim, driven over its pty (no daemon).

bg96-at-reference.md 5.2 (QIOPEN ...,2 answers CONNECT), 5.8 (QISWTMD),
5.10 (QICFG transpktsize/transwaittm) and 5.11 (data mode, "+++" with
1 s guard times, ATO, NO CARRIER, URCs held): raw bytes of every value
both ways, the escape only with both guards (measured where the bytes
arrive, at the line rate), every near miss is payload sent to the
remote, NO CARRIER on a remote close and a pdpdeact, RDY after a reboot.
Timing checks are lower bounds only, or generous upper ones.

usage: test_transparent.py PATH_TO_BG96SIM [TEST_NAME...]

Python 3 standard library only; shares the Sim harness (simharness.py).
"""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simharness import (READ_TIMEOUT, Sim, check,  # noqa: E402
                        qird_data, recv_exact, run_tests, tcp_server,
                        udp_socket)

GUARD = 1.0
EVERY = bytes(range(256))


def connect(sim, srv, cid=0):
    """AT+QIOPEN ...,2: CONNECT, then the peer socket."""
    port = srv.getsockname()[1]
    sim.cmd(b'AT+QIOPEN=1,%d,"TCP","127.0.0.1",%d,0,2' % (cid, port),
            b'\r\nCONNECT\r\n')
    conn, _ = srv.accept()
    conn.settimeout(READ_TIMEOUT)
    return conn


def escape(sim):
    """Guard, "+++", guard: OK no sooner than a guard after the +++."""
    time.sleep(GUARD + 0.1)
    sim.send(b'+++')
    t0 = time.monotonic()
    sim.expect(b'\r\nOK\r\n', timeout=GUARD + 3)
    check(time.monotonic() - t0 >= GUARD - 0.05,
          'OK %.3f s after +++' % (time.monotonic() - t0))


def trans(sim):
    return sim.control('stats')['trans']


def slot_state(sim, cid):
    sim.send(b'AT+QISTATE=1,%d\r' % cid)
    text = sim.line()
    m = re.fullmatch(rb'\+QISTATE: (\d+),"TCP","127\.0\.0\.1",\d+,\d+,'
                     rb'(\d),1,0,(\d),"uart1"', text)
    check(m, 'bad QISTATE %r' % text)
    sim.expect(b'\r\nOK\r\n')
    return int(m.group(2)), int(m.group(3))     # state, access mode


def recv_all(conn, n, timeout=READ_TIMEOUT):
    conn.settimeout(timeout)
    return recv_exact(conn, n)


def nothing_from(conn, t):
    conn.settimeout(t)
    try:
        data = conn.recv(65536)
    except socket.timeout:
        return
    raise AssertionError('unexpected bytes at the remote: %r' % data)


def test_connect_every_byte_both_ways():
    """CONNECT, then 256 byte values x 16 each way, raw and in order."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = connect(sim, srv)
        check(trans(sim)['data_mode'] == 0, 'not in data mode')
        down = EVERY * 16
        conn.sendall(down)
        check(sim.read(len(down)) == down, 'downstream bytes differ')
        up = bytes(reversed(EVERY)) * 16
        sim.send(up)
        check(recv_all(conn, len(up)) == up, 'upstream bytes differ')
        # AT commands in data mode are payload, and nothing answers them.
        sim.send(b'AT\rAT+QISTATE?\r')
        check(recv_all(conn, 15) == b'AT\rAT+QISTATE?\r', 'AT not payload')
        sim.quiet(0.3)
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
    srv.close()


def test_no_carrier_on_remote_close():
    """Remote close: everything before it, NO CARRIER, state 4 until
    QICLOSE; no "closed" URC."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = connect(sim, srv)
        conn.sendall(EVERY * 8)
        conn.close()
        check(sim.read(len(EVERY) * 8) == EVERY * 8, 'data before EOF')
        sim.expect(b'\r\nNO CARRIER\r\n')
        check(trans(sim)['data_mode'] == -1, 'still in data mode')
        check(slot_state(sim, 0)[0] == 4, 'not in state 4')
        sim.ok(b'AT+QICLOSE=0')
        sim.quiet(0.3)
        check(sim.violations() == [], 'violations %r' % sim.violations())
    srv.close()


def test_escape_and_ato():
    """+++ with guards: OK, the socket open in buffer mode (recv URC,
    QIRD), held URCs after the OK, then ATO: CONNECT and data again."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = connect(sim, srv)
        sim.send(b'before')
        check(recv_all(conn, 6) == b'before', 'payload before the escape')
        check(sim.control('urc +QIND: "csq",21,99')['ok'], 'urc')
        sim.quiet(0.3)          # held in data mode
        escape(sim)
        check(sim.line() == b'+QIND: "csq",21,99', 'held URC after OK')
        check(slot_state(sim, 0) == (2, 0), 'not open in buffer mode')
        conn.sendall(b'buffered')
        check(sim.line() == b'+QIURC: "recv",0', 'recv URC')
        check(qird_data(sim, 0) == b'buffered', 'QIRD after the escape')
        check(qird_data(sim, 0) == b'', 'drained')
        conn.sendall(b'while-escaped')
        check(sim.line() == b'+QIURC: "recv",0', 'recv URC')
        time.sleep(0.1)
        sim.cmd(b'ATO', b'\r\nCONNECT\r\nwhile-escaped')
        sim.send(b'after')
        check(recv_all(conn, 5) == b'after', 'payload after ATO')
        conn.sendall(b'down')
        check(sim.read(4) == b'down', 'downstream after ATO')
        st = trans(sim)
        check(st['escapes'] == 1 and st['data_mode'] == 0, 'stats %r' % st)
        escape(sim)
        sim.ok(b'AT+QICLOSE=0')
        sim.cmd(b'ATO', b'\r\nERROR\r\n')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
    srv.close()


def test_plus_without_guards_is_payload():
    """Every near miss of the escape is payload, in order, and data
    mode stays: +++ right after data, ++ and ++++ alone between
    silences, +++ after a pause followed by a byte within the guard."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = connect(sim, srv)
        sim.send(b'abc+++')
        check(recv_all(conn, 6, 4) == b'abc+++', 'abc+++')
        time.sleep(GUARD + 0.2)
        sim.quiet(0.1)
        sim.send(b'++')
        check(recv_all(conn, 2, 4) == b'++', '++ alone')
        time.sleep(GUARD + 0.2)
        sim.send(b'++++')
        check(recv_all(conn, 4, 4) == b'++++', '++++ alone')
        time.sleep(GUARD + 0.2)
        sim.send(b'+++')
        time.sleep(0.3)
        sim.send(b'z')
        check(recv_all(conn, 4, 4) == b'+++z', '+++ then z')
        sim.quiet(0.2)
        st = trans(sim)
        check(st['escapes'] == 0 and st['data_mode'] == 0, 'stats %r' % st)
        check(st['plus_no_lead'] == 1 and st['plus_no_trail'] == 1,
              'counters %r' % st)
        sim.send(b'still-data')
        check(recv_all(conn, 10) == b'still-data', 'data mode left')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
    srv.close()


def test_guard_measured_at_the_line():
    """At 9600 baud, 1500 bytes take 1.56 s on the line: a +++ written
    1.1 s after them (by write time) follows them at once on the line,
    so it is payload."""
    srv = tcp_server()
    with Sim('--baud', '9600') as sim:
        sim.init()
        conn = connect(sim, srv)
        data = EVERY * 5 + b'x' * 220
        sim.send(data)
        time.sleep(GUARD + 0.1)
        sim.send(b'+++')
        got = recv_all(conn, len(data) + 3, 8)
        check(got == data + b'+++', 'payload differs')
        time.sleep(GUARD + 0.3)
        sim.quiet(0.1)
        st = trans(sim)
        check(st['escapes'] == 0 and st['data_mode'] == 0, 'stats %r' % st)
        # An honest escape still works at this rate.
        escape(sim)
        conn.close()
    srv.close()


def test_qiswtmd():
    """Buffered data first after QISWTMD=<id>,2's CONNECT; QISWTMD to 1
    and 0 answer OK; a free slot or a bad mode is an error."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        conn.sendall(b'waiting')
        check(sim.line() == b'+QIURC: "recv",0', 'recv URC')
        sim.cmd(b'AT+QISWTMD=0,2', b'\r\nCONNECT\r\nwaiting')
        sim.send(b'up')
        check(recv_all(conn, 2) == b'up', 'upstream')
        escape(sim)
        check(slot_state(sim, 0) == (2, 0), 'buffer mode after +++')
        sim.ok(b'AT+QISWTMD=0,1')
        conn.sendall(b'pushed')
        check(sim.line() == b'+QIURC: "recv",0,6', 'push header')
        sim.expect(b'pushed\r\n')
        sim.ok(b'AT+QISWTMD=0,0')
        check(slot_state(sim, 0) == (2, 0), 'buffer mode')
        sim.cmd(b'AT+QISWTMD=5,2', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QISWTMD=0,3', b'\r\nERROR\r\n')
        sim.ok(b'AT+QICLOSE=0')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
    srv.close()


def test_qicfg_ranges():
    """transpktsize 1..1460 (1024), transwaittm 0..20 (2): ERROR outside;
    not saved across a reboot."""
    with Sim() as sim:
        sim.init()
        sim.cmd(b'AT+QICFG="transpktsize"',
                b'\r\n+QICFG: "transpktsize",1024\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QICFG="transwaittm"',
                b'\r\n+QICFG: "transwaittm",2\r\n\r\nOK\r\n')
        for v in (b'1', b'1460'):
            sim.ok(b'AT+QICFG="transpktsize",' + v)
        for v in (b'0', b'1461', b'-1', b'x'):
            sim.cmd(b'AT+QICFG="transpktsize",' + v, b'\r\nERROR\r\n')
        for v in (b'0', b'20'):
            sim.ok(b'AT+QICFG="transwaittm",' + v)
        for v in (b'21', b'-1'):
            sim.cmd(b'AT+QICFG="transwaittm",' + v, b'\r\nERROR\r\n')
        sim.cmd(b'AT+QICFG="transwaittm"',
                b'\r\n+QICFG: "transwaittm",20\r\n\r\nOK\r\n')
        sim.ok(b'AT+QICFG="dataformat",0,0')    # accepted, ignored
        check(sim.control('reboot')['ok'], 'reboot')
        sim.expect(b'\r\nPOWERED DOWN\r\n')
        sim.expect(b'\r\nRDY\r\n', timeout=3)
        sim.init()
        sim.cmd(b'AT+QICFG="transwaittm"',
                b'\r\n+QICFG: "transwaittm",2\r\n\r\nOK\r\n')
        check(sim.violations() == [], 'violations %r' % sim.violations())


def test_packing():
    """transpktsize 10, transwaittm 15: 25 bytes give two packets at
    once, the last 5 bytes only after 1.5 s of no byte."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        sim.ok(b'AT+QICFG="transpktsize",10')
        sim.ok(b'AT+QICFG="transwaittm",15')
        conn = connect(sim, srv)
        t0 = time.monotonic()
        sim.send(bytes(range(25)))
        check(recv_all(conn, 20) == bytes(range(20)), 'full packets')
        nothing_from(conn, 1.0)
        check(recv_all(conn, 5, 3) == bytes(range(20, 25)), 'partial')
        check(time.monotonic() - t0 >= 1.45, 'partial packet too early')
        check(trans(sim)['packets'] == 3, 'packets %r' % trans(sim))
        escape(sim)
        conn.close()
    srv.close()


def test_pdpdeact_in_data_mode():
    """The network drops the context: NO CARRIER, then the held
    pdpdeact URC; the socket is in state 4."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = connect(sim, srv)
        check(sim.control('pdpdeact 1')['ok'], 'pdpdeact')
        sim.expect(b'\r\nNO CARRIER\r\n')
        check(sim.line() == b'+QIURC: "pdpdeact",1', 'pdpdeact URC')
        check(slot_state(sim, 0)[0] == 4, 'not in state 4')
        sim.ok(b'AT+QICLOSE=0')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
    srv.close()


def test_reboot_in_data_mode():
    """A reboot in data mode: POWERED DOWN, RDY, command mode with echo
    on; the remote sees the connection end; payload sent meanwhile is
    lost, not run as commands."""
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = connect(sim, srv)
        check(sim.control('reboot')['ok'], 'reboot')
        sim.expect(b'\r\nPOWERED DOWN\r\n')
        sim.send(b'AT+QPOWD\r')         # payload into a modem going down
        sim.expect(b'\r\nRDY\r\n', timeout=3)
        conn.settimeout(3)
        check(conn.recv(100) == b'', 'remote not closed')
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')
        check(trans(sim)['data_mode'] == -1, 'data mode after reboot')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
    srv.close()


def test_input_after_no_carrier_is_not_a_command():
    """Payload the host sent before it could see NO CARRIER is dropped,
    not run as a command line and not a violation."""
    srv = tcp_server()
    with Sim('--baud', '115200') as sim:
        sim.init()
        conn = connect(sim, srv)
        conn.close()
        sim.send(b'junk-not-a-command\r')
        sim.expect(b'\r\nNO CARRIER\r\n')
        time.sleep(0.1)
        sim.ok(b'AT')
        sim.ok(b'AT+QICLOSE=0')
        check(sim.violations() == [], 'violations %r' % sim.violations())
    srv.close()


def test_qiopen_mode2_errors():
    """QIOPEN ...,2 answers ERROR at once for a listener, a slot in use
    or a refused connection (no +QIOPEN URC)."""
    srv = tcp_server()
    port = srv.getsockname()[1]
    srv.close()                          # refused from now on
    with Sim() as sim:
        sim.init()
        sim.cmd(b'AT+QIOPEN=1,1,"TCP LISTENER","127.0.0.1",0,4000,2',
                b'\r\nERROR\r\n')
        sim.cmd(b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % port,
                b'\r\nERROR\r\n')
        sim.quiet(0.3)
        check(sim.control('stats')['slots'] == [], 'slot left open')
        check(sim.violations() == [], 'violations %r' % sim.violations())


def test_udp_one_datagram_per_packet():
    """UDP in data mode: one datagram per transpktsize packet (the last,
    partial one after transwaittm); each datagram from the remote is
    written raw."""
    peer = udp_socket()
    port = peer.getsockname()[1]
    with Sim() as sim:
        sim.init()
        sim.ok(b'AT+QICFG="transpktsize",4')
        sim.ok(b'AT+QICFG="transwaittm",1')
        sim.cmd(b'AT+QIOPEN=1,3,"UDP","127.0.0.1",%d,0,2' % port,
                b'\r\nCONNECT\r\n')
        sim.send(b'0123456789')
        got = [peer.recvfrom(100) for _ in range(3)]
        check([g[0] for g in got] == [b'0123', b'4567', b'89'],
              'datagrams %r' % [g[0] for g in got])
        addr = got[0][1]
        peer.sendto(EVERY, addr)
        peer.sendto(b'second', addr)
        check(sim.read(len(EVERY) + 6) == EVERY + b'second', 'downstream')
        escape(sim)
        sim.ok(b'AT+QICLOSE=3')
        check(sim.violations() == [], 'violations %r' % sim.violations())
    peer.close()


def test_backpressure_up():
    """A remote that does not read: the modem stops taking input (the
    host's writes back up), and nothing is lost once it reads."""
    srv = tcp_server(rcvbuf=4096)
    with Sim('--tx-buf', '8192') as sim:
        sim.init()
        conn = connect(sim, srv)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        data = os.urandom(1 << 20)
        sent = 0
        stuck_since = None
        while sent < len(data):
            try:
                n = os.write(sim.fd, data[sent:sent + 4096])
                sent += n
                stuck_since = None
            except BlockingIOError:
                if stuck_since is None:
                    stuck_since = time.monotonic()
                elif time.monotonic() - stuck_since > 0.5:
                    break
                time.sleep(0.01)
        check(sent < len(data), 'the line never pushed back')
        got = []
        reader = threading.Thread(
            target=lambda: got.append(recv_all(conn, len(data), 20)))
        reader.start()
        sim.send(data[sent:], timeout=20)
        reader.join(25)
        check(got and got[0] == data, 'bytes lost or reordered')
        check(sim.violations() == [], 'violations %r' % sim.violations())
        conn.close()
    srv.close()


TESTS = [v for k, v in sorted(globals().items()) if k.startswith('test_')]


if __name__ == '__main__':
    sys.exit(run_tests(TESTS, sys.argv, __doc__))
