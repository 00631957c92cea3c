#!/usr/bin/env python3
"""Transcript tests for bg96sim.

Plays the host side of the example transcripts of bg96-at-reference.md
section 13 against the real emulator, with real loopback TCP and UDP peers,
and checks the modem's bytes exactly.  Then the emulator's own contract:
echo, the recv-URC rule, the receive-buffer cap, SEND FAIL, remote close,
protocol-violation detection, line pacing, the control socket.

usage: test_transcripts.py PATH_TO_BG96SIM [TEST_NAME...]

Python 3 standard library only.  Every wait is bounded, every process is
killed by its pid, every temporary directory is removed.
"""

import errno
import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import free_port  # noqa: E402
from simharness import (READ_TIMEOUT, Failure, Sim, check,  # noqa: E402
                        qird_data, recv_exact, run_tests, tcp_server,
                        udp_socket)

LINE_RATE_115200 = 11520.0


# Section 13 transcripts

def test_13_2_tcp_buffer():
    srv = tcp_server()
    port = srv.getsockname()[1]
    with Sim() as sim:
        sim.init()
        sim.cmd(b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % port,
                b'\r\nOK\r\n\r\n+QIOPEN: 0,0\r\n')
        conn, peer = srv.accept()
        conn.settimeout(READ_TIMEOUT)
        sim.cmd(b'AT+QISTATE=1,0',
                b'\r\n+QISTATE: 0,"TCP","127.0.0.1",%d,%d,2,1,0,0,"uart1"'
                b'\r\n\r\nOK\r\n' % (port, peer[1]))
        sim.cmd(b'AT+QISEND=0,4', b'\r\n> ')
        sim.send(b'test')
        sim.expect(b'\r\nSEND OK\r\n')
        check(recv_exact(conn, 4) == b'test', 'peer did not get "test"')
        sim.cmd(b'AT+QISEND=0,0', b'\r\n+QISEND: 4,4,0\r\n\r\nOK\r\n')
        conn.sendall(b'test1')
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        sim.cmd(b'AT+QIRD=0,1500', b'\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QIRD=0,1500', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QIRD=0,0', b'\r\n+QIRD: 5,5,0\r\n\r\nOK\r\n')
        conn.close()
        sim.expect(b'\r\n+QIURC: "closed",0\r\n')
        sim.cmd(b'AT+QIRD=0,1500', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QICLOSE=0', b'\r\nOK\r\n')
        sim.cmd(b'AT+QISTATE', b'\r\nOK\r\n')
        sim.cmd(b'AT+QIRD=0,0', b'\r\nERROR\r\n')
    srv.close()


def test_13_3_udp_buffer():
    peer = udp_socket()
    port = peer.getsockname()[1]
    with Sim() as sim:
        sim.init()
        sim.cmd(b'AT+QIOPEN=1,1,"UDP","127.0.0.1",%d,0,0' % port,
                b'\r\nOK\r\n\r\n+QIOPEN: 1,0\r\n')
        sim.cmd(b'AT+QISEND=1,5', b'\r\n> ')
        sim.send(b'hello')
        sim.expect(b'\r\nSEND OK\r\n')
        data, addr = peer.recvfrom(2048)
        check(data == b'hello', 'peer got %r' % data)
        peer.sendto(b'answer!', addr)
        sim.expect(b'\r\n+QIURC: "recv",1\r\n')
        peer.sendto(b'second', addr)
        sim.wait_rx(1, 13)
        # One whole datagram per read, whatever the length asked for.
        sim.cmd(b'AT+QIRD=1,1500', b'\r\n+QIRD: 7\r\nanswer!\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QIRD=1,3', b'\r\n+QIRD: 6\r\nsecond\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QIRD=1,1500', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QICLOSE=1', b'\r\nOK\r\n')
    peer.close()


def test_13_4_tcp_listener():
    port = free_port()
    offset = port - 2020
    udp_sink = udp_socket()
    sink = udp_sink.getsockname()[1]
    with Sim('--listen-offset', str(offset)) as sim:
        sim.init()
        sim.cmd(b'AT+QIOPEN=1,2,"TCP LISTENER","127.0.0.1",0,2020,0',
                b'\r\nOK\r\n\r\n+QIOPEN: 2,0\r\n')
        sim.cmd(b'AT+QISTATE=1,2',
                b'\r\n+QISTATE: 2,"TCP LISTENER","127.0.0.1",0,2020,3,1,0,0,'
                b'"uart1"\r\n\r\nOK\r\n')
        # Fill 0..10 so that 11 is the lowest free slot, as in the example.
        for cid in [0, 1] + list(range(3, 11)):
            sim.cmd(b'AT+QIOPEN=1,%d,"UDP","127.0.0.1",%d,0,0' % (cid, sink),
                    b'\r\nOK\r\n\r\n+QIOPEN: %d,0\r\n' % cid)
        sim.send(b'AT+QISTATE?\r')
        listed = [sim.line() for _ in range(11)]
        sim.expect(b'\r\nOK\r\n')
        check([int(x.split(b',')[0][10:]) for x in listed] ==
              list(range(11)), 'QISTATE? lists %r' % listed)
        sim.send(b'AT+QISTATE=0,1\r')
        check(len([sim.line() for _ in range(11)]) == 11, 'QISTATE=0,1')
        sim.expect(b'\r\nOK\r\n')
        sim.cmd(b'AT+QISTATE=0,2', b'\r\nOK\r\n')
        client = socket.create_connection(('127.0.0.1', port), timeout=3)
        cport = client.getsockname()[1]
        sim.expect(b'\r\n+QIURC: "incoming",11,2,"127.0.0.1",%d\r\n' % cport)
        sim.cmd(b'AT+QISTATE=1,11',
                b'\r\n+QISTATE: 11,"TCP INCOMING","127.0.0.1",%d,2020,2,1,2,0,'
                b'"uart1"\r\n\r\nOK\r\n' % cport)
        client.sendall(b'hi\n')
        sim.expect(b'\r\n+QIURC: "recv",11\r\n')
        sim.cmd(b'AT+QIRD=11,1500', b'\r\n+QIRD: 3\r\nhi\n\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QIRD=11,1500', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QISEND=11,3', b'\r\n> ')
        sim.send(b'ok\n')
        sim.expect(b'\r\nSEND OK\r\n')
        check(recv_exact(client, 3) == b'ok\n', 'client did not get "ok"')
        # Every slot is taken now: the next client is refused.
        extra = socket.create_connection(('127.0.0.1', port), timeout=3)
        sim.expect(b'\r\n+QIURC: "incoming full"\r\n')
        try:
            check(extra.recv(16) == b'', 'refused client got data')
        except ConnectionResetError:
            pass
        extra.close()
        client.close()
        sim.expect(b'\r\n+QIURC: "closed",11\r\n')
        sim.cmd(b'AT+QICLOSE=11', b'\r\nOK\r\n')
        sim.cmd(b'AT+QICLOSE=2', b'\r\nOK\r\n')
        try:
            socket.create_connection(('127.0.0.1', port), timeout=3).close()
            raise Failure('still listening after AT+QICLOSE=2')
        except ConnectionRefusedError:
            pass
    udp_sink.close()


def test_13_5_udp_service():
    port = free_port(socket.SOCK_DGRAM)
    offset = port - 3030
    peer = udp_socket()
    pport = peer.getsockname()[1]
    with Sim('--listen-offset', str(offset)) as sim:
        sim.init()
        sim.cmd(b'AT+QIOPEN=1,3,"UDP SERVICE","127.0.0.1",0,3030,0',
                b'\r\nOK\r\n\r\n+QIOPEN: 3,0\r\n')
        sim.cmd(b'AT+QISTATE=1,3',
                b'\r\n+QISTATE: 3,"UDP SERVICE","127.0.0.1",0,3030,2,1,0,0,'
                b'"uart1"\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QISEND=3,10,"127.0.0.1",%d' % pport, b'\r\n> ')
        sim.send(b'1234567890')
        sim.expect(b'\r\nSEND OK\r\n')
        data, addr = peer.recvfrom(2048)
        check(data == b'1234567890', 'peer got %r' % data)
        check(addr == ('127.0.0.1', port), 'sent from %r' % (addr,))
        peer.sendto(b'AAAA', ('127.0.0.1', port))
        sim.expect(b'\r\n+QIURC: "recv",3\r\n')
        sim.cmd(b'AT+QIRD=3',
                b'\r\n+QIRD: 4,"127.0.0.1",%d\r\nAAAA\r\n\r\nOK\r\n' % pport)
        sim.cmd(b'AT+QIRD=3', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')
        # The plain form needs a destination on a UDP SERVICE socket.
        sim.cmd(b'AT+QISEND=3,4', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QICLOSE=3', b'\r\nOK\r\n')
    peer.close()


def test_13_6_direct_push():
    srv = tcp_server()
    port = free_port(socket.SOCK_DGRAM)
    peer = udp_socket()
    pport = peer.getsockname()[1]
    with Sim('--listen-offset', str(port - 3030)) as sim:
        sim.init()
        conn = sim.open_tcp(0, srv, access=1)
        conn.sendall(b'test1')
        sim.expect(b'\r\n+QIURC: "recv",0,5\r\ntest1\r\n')
        # Larger data: chunks of at most 1500, bytes intact and in order.
        blob = bytes((i * 7 + 3) & 0xff for i in range(5000))
        conn.sendall(blob)
        got = b''
        while len(got) < len(blob):
            head = sim.line()
            m = re.fullmatch(rb'\+QIURC: "recv",0,(\d+)', head)
            check(m, 'bad push header %r' % head)
            n = int(m.group(1))
            check(0 < n <= 1500, 'push chunk of %d bytes' % n)
            got += sim.read(n)
            sim.expect(b'\r\n')
        check(got == blob, 'pushed data differs')
        sim.cmd(b'AT+QIRD=0,0', b'\r\n+QIRD: 5005,5005,0\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QIOPEN=1,3,"UDP SERVICE","127.0.0.1",0,3030,1',
                b'\r\nOK\r\n\r\n+QIOPEN: 3,0\r\n')
        peer.sendto(b'AAAA', ('127.0.0.1', port))
        sim.expect(b'\r\n+QIURC: "recv",3,4,"127.0.0.1",%d\r\nAAAA\r\n' % pport)
        sim.cmd(b'AT+QIOPEN=1,1,"UDP","127.0.0.1",%d,0,1' % pport,
                b'\r\nOK\r\n\r\n+QIOPEN: 1,0\r\n')
        sim.cmd(b'AT+QISEND=1,4', b'\r\n> ')
        sim.send(b'ping')
        sim.expect(b'\r\nSEND OK\r\n')
        data, addr = peer.recvfrom(2048)
        check(data == b'ping', 'peer got %r' % data)
        peer.sendto(b'answer!', addr)
        sim.expect(b'\r\n+QIURC: "recv",1,7\r\nanswer!\r\n')
        conn.close()
        sim.expect(b'\r\n+QIURC: "closed",0\r\n')
        for cid in (0, 1, 3):
            sim.ok(b'AT+QICLOSE=%d' % cid)
    srv.close()
    peer.close()


def test_13_7_error_paths():
    srv = tcp_server()
    port = srv.getsockname()[1]
    refused = free_port()
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        sim.cmd(b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % port,
                b'\r\nOK\r\n\r\n+QIOPEN: 0,563\r\n')
        sim.cmd(b'AT+QISEND=5,4', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QIRD=5,1500', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QIDNSGIP=1,"nonexistent.invalid"',
                b'\r\nOK\r\n\r\n+QIURC: "dnsgip",565\r\n')
        sim.cmd(b'AT+QIOPEN=1,1,"TCP","127.0.0.1",%d,0,0' % refused,
                b'\r\nOK\r\n\r\n+QIOPEN: 1,566\r\n')
        sim.cmd(b'AT+QIOPEN=1,1,"TCP","192.0.2.10",8009,0,0',
                b'\r\nOK\r\n\r\n+QIOPEN: 1,566\r\n')
        sim.cmd(b'AT+QIOPEN=1,1,"TCP","nonexistent.invalid",80,0,0',
                b'\r\nOK\r\n\r\n+QIOPEN: 1,565\r\n')
        sim.cmd(b'AT+QIOPEN=1,1,"TCP","127.0.0.1",%d,0,3' % port,
                b'\r\nERROR\r\n')
        sim.cmd(b'AT+QIOPEN=1,12,"TCP","127.0.0.1",%d,0,0' % port,
                b'\r\nERROR\r\n')
        sim.cmd(b'AT+QIGETERROR', b'\r\n+QIGETERROR: 552,invalid parameters'
                b'\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QICLOSE=7', b'\r\nOK\r\n')
        r = sim.control('pdpdeact')
        check(r == {'ok': True}, 'pdpdeact: %r' % r)
        sim.expect(b'\r\n+QIURC: "pdpdeact",1\r\n')
        check(conn.recv(16) == b'', 'host socket not closed by pdpdeact')
        sim.cmd(b'AT+QISTATE',
                b'\r\n+QISTATE: 0,"TCP","127.0.0.1",%d,%d,4,1,0,0,"uart1"'
                b'\r\n\r\nOK\r\n' % (port, conn.getpeername()[1]))
        sim.cmd(b'AT+QISEND=0,4', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QIACT?', b'\r\nOK\r\n')
        sim.cmd(b'AT+QIOPEN=1,2,"TCP","127.0.0.1",%d,0,0' % port,
                b'\r\nOK\r\n\r\n+QIOPEN: 2,561\r\n')
        sim.ok(b'AT+QICLOSE=0')
        sim.ok(b'AT+QIDEACT=1')
        sim.ok(b'AT+QIACT=1')
        conn.close()
    srv.close()


# The emulator's own contract

def test_boot_and_echo():
    with Sim() as sim:
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')
        sim.cmd(b'at', b'at\r\r\nOK\r\n')
        sim.cmd(b'ATI', b'ATI\r\r\nQuectel\r\n\r\nBG96\r\n\r\n'
                b'Revision: BG96MAR02A07M1G\r\n\r\nOK\r\n')
        sim.cmd(b'AT+GSN', b'AT+GSN\r\r\n866425030123451\r\n\r\nOK\r\n')
        sim.cmd(b'AT+NOSUCH', b'AT+NOSUCH\r\r\nERROR\r\n')
        sim.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n')
        sim.cmd(b'AT', b'\r\nOK\r\n')
        sim.cmd(b'AT+CGSN', b'\r\n866425030123451\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QCCID', b'\r\n+QCCID: 89882280666027595366\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QGMR', b'\r\nBG96MAR02A07M1G_01.019.01.019\r\n\r\nOK\r\n')
        sim.cmd(b'AT+CPIN?', b'\r\n+CPIN: READY\r\n\r\nOK\r\n')
        sim.cmd(b'AT+CSQ', b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n')
        sim.cmd(b'AT+CMEE?', b'\r\n+CMEE: 0\r\n\r\nOK\r\n')
        sim.ok(b'AT+IFC=2,2')
        sim.cmd(b'AT+IFC?', b'\r\n+IFC: 2,2\r\n\r\nOK\r\n')
        sim.ok(b'AT&D0')
        sim.ok(b'AT+QURCCFG="urcport","uart1"')
        sim.cmd(b'AT+QURCCFG="urcport"',
                b'\r\n+QURCCFG: "urcport","uart1"\r\n\r\nOK\r\n')
        sim.cmd(b'AT+CEREG?', b'\r\n+CEREG: 0,1\r\n\r\nOK\r\n')
        sim.cmd(b'AT+COPS?', b'\r\n+COPS: 0,0,"bg96sim",8\r\n\r\nOK\r\n')
        sim.ok(b'AT+QICFG="recvind",0')
        # "\r\n" line ends are tolerated; an empty line is no command.
        sim.send(b'AT\r\n')
        sim.expect(b'\r\nOK\r\n')
        sim.send(b'\r')
        sim.quiet(0.1)
        sim.ok(b'ATE1')
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')


def test_recv_urc_once():
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        conn.sendall(b'abc')
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        conn.sendall(b'def')
        sim.wait_rx(0, 6)
        sim.quiet(0.1)          # exactly one URC for both
        check(qird_data(sim, 0, 4) == b'abcd', 'first read')
        check(qird_data(sim, 0, 1500) == b'ef', 'second read')
        # The buffer is empty but no read returned 0: still disarmed.
        conn.sendall(b'ghi')
        sim.wait_rx(0, 9)
        sim.quiet(0.1)
        check(qird_data(sim, 0) == b'ghi', 'third read')
        check(qird_data(sim, 0) == b'', 'drained')
        conn.sendall(b'jkl')
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        check(qird_data(sim, 0) == b'jkl', 'fourth read')
        check(qird_data(sim, 0) == b'', 'drained')
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_binary_payloads():
    srv = tcp_server()
    nasty = b'\r\nOK\r\n\x00\x1a\x1b\r\n+QIURC: "recv",0\r\n> \xff'
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        sim.cmd(b'AT+QISEND=0,%d' % len(nasty), b'\r\n> ')
        sim.send(nasty)
        sim.expect(b'\r\nSEND OK\r\n')
        check(recv_exact(conn, len(nasty)) == nasty, 'upstream bytes differ')
        conn.sendall(nasty)
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        sim.wait_rx(0, len(nasty))
        sim.cmd(b'AT+QIRD=0,1500', b'\r\n+QIRD: %d\r\n' % len(nasty) + nasty
                + b'\r\n\r\nOK\r\n')
        check(qird_data(sim, 0) == b'', 'drained')
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_rx_buf_cap():
    srv = tcp_server()
    with Sim('--rx-buf', '4096') as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        conn.settimeout(0.1)
        sent = [0]
        stop = threading.Event()

        def pump():
            chunk = b'x' * 4096
            while not stop.is_set() and sent[0] < 4 * 1024 * 1024:
                try:
                    sent[0] += conn.send(chunk)
                except socket.timeout:
                    continue
                except OSError:
                    break

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        try:
            sim.expect(b'\r\n+QIURC: "recv",0\r\n')
            time.sleep(0.5)
            s1 = sent[0]
            check(sim.counters(0) == (4096, 0, 4096), 'buffer not at its cap')
            time.sleep(0.3)
            s2 = sent[0]
            check(s1 == s2, 'the sender was not blocked (%d -> %d)' % (s1, s2))
            check(s1 < 1024 * 1024, 'sender pushed %d bytes' % s1)
            check(qird_data(sim, 0) == b'x' * 1500, 'read 1500')
            # Reading resumes: the buffer fills up to its cap again.
            deadline = time.monotonic() + 2
            while sim.counters(0) != (5596, 1500, 4096):
                check(time.monotonic() < deadline, 'reading did not resume')
                time.sleep(0.02)
        finally:
            stop.set()
            t.join(2)
        sim.ok(b'AT+QICLOSE=0,0')
        conn.close()
    srv.close()


def test_send_fail_and_close_drain():
    srv = tcp_server(rcvbuf=4096)
    with Sim('--tx-buf', '4096') as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        sent = b''
        failed = False
        for i in range(2000):
            chunk = bytes([i & 0xff]) * 1460
            sim.cmd(b'AT+QISEND=0,1460', b'\r\n> ')
            sim.send(chunk)
            result = sim.line()
            if result == b'SEND FAIL':
                failed = True
                break
            check(result == b'SEND OK', 'QISEND result %r' % result)
            sent += chunk
        check(failed, 'no SEND FAIL after %d bytes' % len(sent))
        total, acked, unacked = sim.qisend_counters(0)
        check(total == len(sent), 'total %d != %d' % (total, len(sent)))
        check(acked + unacked == total, 'acked + unacked != total')
        check(0 < unacked <= 4096, 'unacked %d' % unacked)
        # Top up until the peer's window is really shut (delayed ACKs can
        # still open it a little), then the send buffer stays full.
        for i in range(50):
            time.sleep(0.1)
            before = sim.qisend_counters(0)
            sim.cmd(b'AT+QISEND=0,1000', b'\r\n> ')
            chunk = bytes([(i + 7) & 0xff]) * 1000
            sim.send(chunk)
            if sim.line() == b'SEND OK':
                sent += chunk
                continue
            if sim.qisend_counters(0) == before:
                break
        total, acked, unacked = sim.qisend_counters(0)
        check(total == len(sent) and unacked > 0, 'send buffer drained')
        # AT+QICLOSE waits until the send buffer is out, like the modem.
        got = []

        def reader():
            time.sleep(0.3)
            data = b''
            conn.settimeout(5)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            got.append(data)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t0 = time.monotonic()
        sim.cmd(b'AT+QICLOSE=0', b'\r\nOK\r\n', timeout=8)
        check(time.monotonic() - t0 >= 0.25, 'QICLOSE did not wait')
        t.join(8)
        check(got and got[0] == sent, 'peer got %d of %d bytes'
              % (len(got[0]) if got else -1, len(sent)))
        conn.close()
    srv.close()


def test_remote_close():
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        lport = conn.getpeername()[1]
        conn.sendall(b'bye')
        conn.close()
        sim.expect(b'\r\n+QIURC: "recv",0\r\n\r\n+QIURC: "closed",0\r\n')
        sim.cmd(b'AT+QISTATE=1,0',
                b'\r\n+QISTATE: 0,"TCP","127.0.0.1",%d,%d,4,1,0,0,"uart1"'
                b'\r\n\r\nOK\r\n' % (srv.getsockname()[1], lport))
        sim.cmd(b'AT+QISEND=0,4', b'\r\nERROR\r\n')
        check(qird_data(sim, 0) == b'bye', 'data lost after remote close')
        check(qird_data(sim, 0) == b'', 'drained')
        sim.ok(b'AT+QICLOSE=0')
        sim.cmd(b'AT+QISTATE', b'\r\nOK\r\n')
    srv.close()


def test_violations():
    with Sim() as sim:
        sim.expect_status = 3
        sim.init()
        check(sim.violations() == [], 'violations before any')
        # Two commands at once.
        sim.send(b'AT\rAT\r')
        sim.expect(b'\r\nOK\r\n\r\nOK\r\n')
        v = sim.violations()
        check(len(v) == 1 and 'in flight' in v[0], 'violations: %r' % v)
        sim.cmd(b'AT+QIRD=0,1501', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QISEND=0,1461', b'\r\nERROR\r\n')
        sim.send(b'XYZ\r')
        sim.cmd(b'AT+' + b'A' * 1100, b'\r\nERROR\r\n')
        v = sim.violations()
        check(len(v) == 5, 'violations: %r' % v)
        check('QIRD' in v[1] and 'QISEND' in v[2] and 'not starting' in v[3]
              and 'longer' in v[4], 'violations: %r' % v)
        # Not violations: unknown slots, CRLF line ends.
        sim.cmd(b'AT+QIRD=7,10', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QISEND=7,10', b'\r\nERROR\r\n')
        sim.send(b'AT\r\n')
        sim.expect(b'\r\nOK\r\n')
        check(len(sim.violations()) == 5, 'spurious violation')


def test_violation_until_written():
    """At 1200 baud, a command sent before OK is fully out is a violation."""
    with Sim('--baud', '1200') as sim:
        sim.expect_status = 3
        sim.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n', timeout=5)
        check(sim.violations() == [], 'spurious violation')
        sim.send(b'AT\r')
        sim.expect(b'\r\nO', timeout=5)      # "K\r\n" still on the wire
        sim.send(b'AT\r')
        sim.expect(b'K\r\n\r\nOK\r\n', timeout=5)
        v = sim.violations()
        check(len(v) == 1 and 'in flight' in v[0], 'violations: %r' % v)


def test_payload_before_prompt():
    srv = tcp_server()
    with Sim('--latency-ms', '100') as sim:
        sim.expect_status = 3
        sim.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n')
        sim.ok(b'AT+QIACT=1')
        conn = sim.open_tcp(0, srv)
        t0 = time.monotonic()
        sim.ok(b'AT')
        check(time.monotonic() - t0 >= 0.09, 'no latency')
        check(sim.violations() == [], 'spurious violation')
        sim.send(b'AT+QISEND=0,4\rtest')
        sim.expect(b'\r\n> \r\nSEND OK\r\n')
        check(recv_exact(conn, 4) == b'test', 'payload lost')
        v = sim.violations()
        check(len(v) == 1 and 'QISEND' in v[0], 'violations: %r' % v)
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_baud_pacing():
    srv = tcp_server()
    with Sim('--baud', '115200') as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        blob = bytes((i * 13) & 0xff for i in range(20000))
        conn.sendall(blob)
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        sim.wait_rx(0, len(blob))
        out = inb = 0
        got = b''
        t0 = time.monotonic()
        while True:
            line = b'AT+QIRD=0,1500\r'
            sim.send(line)
            inb += len(line)
            head = sim.line()
            n = int(re.fullmatch(rb'\+QIRD: (\d+)', head).group(1))
            if n:
                got += sim.read(n)
                sim.expect(b'\r\n')
            sim.expect(b'\r\nOK\r\n')
            out += len(head) + 4 + (n + 2 if n else 0) + 6
            if n == 0:
                break
        elapsed = time.monotonic() - t0
        check(got == blob, 'data differs')
        lo = out / LINE_RATE_115200
        hi = (out + inb) / LINE_RATE_115200
        print('     pacing: %d bytes out, %d in, %.3f s (line time %.3f s)'
              % (out, inb, elapsed, lo))
        # Pacing can never be faster than the line (every command waits
        # for the previous answer, so both directions add up); slower
        # only means a busy machine, so the upper bound just catches a
        # stuck pacer (the benchmark measures how close to the line rate
        # it gets).
        check(hi <= elapsed <= hi * 4 + 1,
              'QIRD of %d bytes took %.3f s, line time %.3f..%.3f s'
              % (out, elapsed, lo, hi))
        # Input is paced too: 1460 bytes of payload take their line time.
        sim.cmd(b'AT+QISEND=0,1460', b'\r\n> ')
        t0 = time.monotonic()
        sim.send(bytes(1460))
        sim.expect(b'\r\nSEND OK\r\n')
        elapsed = time.monotonic() - t0
        want = (1460 + 11) / LINE_RATE_115200
        print('     pacing: 1460-byte payload %.3f s (line time %.3f s)'
              % (elapsed, want))
        check(want <= elapsed <= want * 4 + 1,
              'payload took %.3f s, line time %.3f s' % (elapsed, want))
        check(recv_exact(conn, 1460) == bytes(1460), 'payload differs')
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_stats_json():
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        conn.sendall(b'12345')
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        sim.wait_rx(0, 5)
        st = sim.control('stats')
        check(st['ok'] is True, 'ok')
        check(st['commands'].get('AT+QIRD') == 1, 'commands %r' % st['commands'])
        check(st['commands'].get('AT+QIACT') == 2, 'commands %r' % st['commands'])
        check(st['violations'] == [], 'violations')
        check(st['pdp_active'] is True, 'pdp_active')
        check(isinstance(st['bytes_in'], int) and st['bytes_in'] > 0, 'in')
        check(isinstance(st['bytes_out'], int) and st['bytes_out'] > 0, 'out')
        slots = st['slots']
        check(len(slots) == 1 and slots[0]['id'] == 0 and
              slots[0]['type'] == 'TCP' and slots[0]['state'] == 2 and
              slots[0]['rx'] == 5 and slots[0]['tx'] == 0, 'slots %r' % slots)
        r = sim.control('frobnicate')
        check(r['ok'] is False and r['error'], 'unknown request: %r' % r)
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_reboot():
    srv = tcp_server()
    with Sim() as sim:
        sim.init()
        conn = sim.open_tcp(0, srv)
        sim.cmd(b'AT+CFUN=1,1', b'\r\nOK\r\n\r\nPOWERED DOWN\r\n')
        sim.expect(b'\r\nRDY\r\n')
        check(conn.recv(16) == b'', 'socket survived the reset')
        conn.close()
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')              # echo is back on
        sim.cmd(b'AT+QIACT?', b'AT+QIACT?\r\r\nOK\r\n')
        sim.cmd(b'AT+QISTATE', b'AT+QISTATE\r\r\nOK\r\n')
        sim.cmd(b'AT+CMEE?', b'AT+CMEE?\r\r\n+CMEE: 0\r\n\r\nOK\r\n')
        check(sim.control('reboot') == {'ok': True}, 'control reboot')
        sim.expect(b'\r\nPOWERED DOWN\r\n\r\nRDY\r\n')
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')
        sim.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n')
        sim.cmd(b'ATZ', b'\r\nOK\r\n')
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')         # the profile has E1
        sim.cmd(b'AT+QPOWD', b'AT+QPOWD\r\r\nOK\r\n\r\nPOWERED DOWN\r\n')
        sim.send(b'AT\r')                           # the modem is off
        sim.expect(b'\r\nRDY\r\n', timeout=3)
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')
    srv.close()


def test_register_delay():
    with Sim('--register-delay-ms', '400') as sim:
        sim.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n')
        sim.ok(b'AT+CEREG=1')
        sim.cmd(b'AT+CEREG?', b'\r\n+CEREG: 1,2\r\n\r\nOK\r\n')
        sim.cmd(b'AT+QIACT=1', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QNWINFO', b'\r\n+QNWINFO: No Service\r\n\r\nOK\r\n')
        sim.expect(b'\r\n+CEREG: 1\r\n', timeout=2)
        sim.cmd(b'AT+CEREG?', b'\r\n+CEREG: 1,1\r\n\r\nOK\r\n')
        sim.ok(b'AT+QIACT=1')
        sim.cmd(b'AT+QIACT=1', b'\r\nERROR\r\n')        # already active
        sim.ok(b'AT+CEREG=2')
        sim.cmd(b'AT+CEREG?',
                b'\r\n+CEREG: 2,1,"1A2B","01A2D101",8\r\n\r\nOK\r\n')
        sim.ok(b'AT+CEREG=1')
        check(sim.control('deregister 1') == {'ok': True}, 'deregister')
        sim.expect(b'\r\n+CEREG: 2\r\n')
        sim.expect(b'\r\n+CEREG: 1\r\n', timeout=3)


def test_quirks():
    srv = tcp_server()
    with Sim('--quirks', 'boot-urcs,state3,urc-in-list,urc-before-prompt,'
             'recv-len', boot=False) as sim:
        sim.expect(b'\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n'
                   b'\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\nAPP RDY\r\n')
        sim.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n')
        sim.ok(b'AT+QIACT=1')
        conn = sim.open_tcp(0, srv)
        urc = b'\r\n+QIND: "csq",20,99\r\n'
        sim.cmd(b'AT+QISTATE=1,0',
                b'\r\n+QISTATE: 0,"TCP","127.0.0.1",%d,%d,3,1,0,0,"uart1"\r\n'
                % (srv.getsockname()[1], conn.getpeername()[1])
                + urc + b'\r\nOK\r\n')
        sim.cmd(b'AT+QISEND=0,3', urc + b'\r\n> ')
        sim.send(b'abc')
        sim.expect(b'\r\nSEND OK\r\n')
        conn.sendall(b'hello')
        sim.expect(b'\r\n+QIURC: "recv",0,5\r\n')
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_quirks_errors_and_urcport():
    srv = tcp_server()
    with Sim('--quirks', 'cme-tcpip,urcport-usbat') as sim:
        sim.init()
        sim.cmd(b'AT+QISEND=5,4', b'\r\n+CME ERROR: 567\r\n')
        sim.cmd(b'AT+QIRD=5,1500', b'\r\n+CME ERROR: 567\r\n')
        sim.ok(b'AT+CMEE=2')
        sim.cmd(b'AT+QIRD=5,1500',
                b'\r\n+CME ERROR: socket has been closed\r\n')
        sim.ok(b'AT+CMEE=0')
        sim.cmd(b'AT+QIRD=5,1500', b'\r\nERROR\r\n')
        sim.cmd(b'AT+QIGETERROR',
                b'\r\n+QIGETERROR: 567,socket has been closed\r\n\r\nOK\r\n')
        # URCs go to usbat: the +QIOPEN URC never shows on this port.
        sim.cmd(b'AT+QURCCFG="urcport"',
                b'\r\n+QURCCFG: "urcport","usbat"\r\n\r\nOK\r\n')
        port = srv.getsockname()[1]
        sim.cmd(b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % port,
                b'\r\nOK\r\n')
        conn, _ = srv.accept()
        sim.quiet(0.2)
        sim.ok(b'AT+QURCCFG="urcport","uart1"')
        conn.sendall(b'x')
        sim.expect(b'\r\n+QIURC: "recv",0\r\n')
        sim.ok(b'AT+QICLOSE=0')
        conn.close()
    srv.close()


def test_hosts_and_remote():
    srv = tcp_server()
    port = srv.getsockname()[1]
    with Sim('--hosts', 'peer.example=127.0.0.1,other.example=127.0.0.2') as sim:
        sim.init()
        sim.cmd(b'AT+QIOPEN=1,4,"TCP","peer.example",%d,0,0' % port,
                b'\r\nOK\r\n\r\n+QIOPEN: 4,0\r\n')
        conn, _ = srv.accept()
        sim.cmd(b'AT+QIDNSGIP=1,"peer.example"',
                b'\r\nOK\r\n\r\n+QIURC: "dnsgip",0,1,600\r\n'
                b'\r\n+QIURC: "dnsgip","127.0.0.1"\r\n')
        sim.cmd(b'AT+QIOPEN=1,5,"TCP","198.51.100.7",80,0,0',
                b'\r\nOK\r\n\r\n+QIOPEN: 5,566\r\n')
        sim.ok(b'AT+QICLOSE=4')
        conn.close()
    srv.close()


def test_control_faults():
    srv = tcp_server()
    port = srv.getsockname()[1]
    with Sim('--seed', '7') as sim:
        sim.init()
        # qiopen-silence: the connect happens, the URC never comes.
        check(sim.control('qiopen-silence on') == {'ok': True}, 'silence')
        sim.cmd(b'AT+QIOPEN=1,4,"TCP","127.0.0.1",%d,0,0' % port,
                b'\r\nOK\r\n')
        conn, _ = srv.accept()
        sim.quiet(0.2)
        sim.cmd(b'AT+QISTATE=1,4',
                b'\r\n+QISTATE: 4,"TCP","127.0.0.1",%d,%d,1,1,0,0,"uart1"'
                b'\r\n\r\nOK\r\n' % (port, conn.getpeername()[1]))
        sim.ok(b'AT+QICLOSE=4')
        conn.close()
        check(sim.control('qiopen-silence off') == {'ok': True}, 'silence')
        # garbage: N bytes that are neither CR nor LF, then CRLF.
        check(sim.control('garbage 40') == {'ok': True}, 'garbage')
        junk = sim.read(42)
        check(junk.endswith(b'\r\n') and b'\r' not in junk[:40] and
              b'\n' not in junk[:40], 'garbage %r' % junk)
        sim.ok(b'AT')
        # stall: nothing answered, nothing read.
        check(sim.control('stall 1') == {'ok': True}, 'stall')
        t0 = time.monotonic()
        sim.send(b'AT\r')
        sim.expect(b'\r\nOK\r\n', timeout=4)
        check(time.monotonic() - t0 >= 0.9, 'stall did not stall')
        # A host that gives up on a stalled command may probe again.
        check(sim.control('stall 1') == {'ok': True}, 'stall')
        sim.send(b'AT+CSQ\r')
        time.sleep(0.3)
        sim.send(b'AT\r')
        sim.expect(b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\nOK\r\n', timeout=4)
        check(sim.violations() == [], 'stalled command counted')
        # urc: any line, at once.
        check(sim.control('urc +QIND: "csq",31,99') == {'ok': True}, 'urc')
        sim.expect(b'\r\n+QIND: "csq",31,99\r\n')
        # hangup: the device goes away, then a fresh modem appears.
        check(sim.control('hangup 1') == {'ok': True}, 'hangup')
        deadline = time.monotonic() + 2
        while os.path.lexists(sim.link):
            check(time.monotonic() < deadline, 'link not removed')
            time.sleep(0.01)
        try:
            hung = os.read(sim.fd, 100) == b''     # a hung-up tty: EOF
        except OSError as e:
            hung = e.errno == errno.EIO
        check(hung, 'old line still usable')
        sim.close_line()
        sim.open_link(timeout=4)
        sim.expect(b'\r\nRDY\r\n')
        sim.cmd(b'AT', b'AT\r\r\nOK\r\n')
        st = sim.control('stats')
        check(st['pdp_active'] is False and st['slots'] == [], 'state kept')
    srv.close()


TESTS = [v for k, v in sorted(globals().items()) if k.startswith('test_')]


if __name__ == '__main__':
    sys.exit(run_tests(TESTS, sys.argv, __doc__))
