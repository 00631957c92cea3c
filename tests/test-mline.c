/*
 * test-mline.c: table tests for the modem line parser (src/mline.c).
 *
 * Every shape of bg96-at-reference sections 3-7 and 13-14 that the daemon
 * interprets, with and without quotes; every prefix (truncation) of every
 * valid line must be MALFORMED, UNKNOWN or a valid shorter form; overlong
 * fields, out-of-range numbers and garbage must be MALFORMED.
 */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/mline.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* ---- lines that parse, and what they parse to ---- */

struct ok_case {
	const char	*line;
	enum mline_kind	 kind;
	/* A digest of the interesting fields, rendered by digest(). */
	const char	*want;
};

static void
digest(const struct mline *m, char *b, size_t sz)
{
	switch (m->kind) {
	case MLINE_RECV:
		snprintf(b, sz, "id=%d has_len=%d len=%d", m->u.recv.id,
		    m->u.recv.has_len, m->u.recv.len);
		break;
	case MLINE_CLOSED:
		snprintf(b, sz, "id=%d", m->u.closed.id);
		break;
	case MLINE_INCOMING:
		snprintf(b, sz, "id=%d srv=%d ip=%s port=%d",
		    m->u.incoming.id, m->u.incoming.server_id,
		    m->u.incoming.peer.ip, m->u.incoming.peer.port);
		break;
	case MLINE_INCOMING_FULL:
		snprintf(b, sz, "full");
		break;
	case MLINE_PDPDEACT:
		snprintf(b, sz, "cid=%d", m->u.pdpdeact.cid);
		break;
	case MLINE_DNSGIP:
		snprintf(b, sz, "addr=%d ip=%s err=%d has_count=%d count=%d "
		    "ttl=%ld", m->u.dnsgip.is_addr, m->u.dnsgip.ip,
		    m->u.dnsgip.err, m->u.dnsgip.has_count, m->u.dnsgip.count,
		    m->u.dnsgip.ttl);
		break;
	case MLINE_QIOPEN:
		snprintf(b, sz, "id=%d err=%d", m->u.qiopen.id,
		    m->u.qiopen.err);
		break;
	case MLINE_QIRD:
		snprintf(b, sz, "len=%d peer=%d ip=%s port=%d empty=%d",
		    m->u.qird.len, m->u.qird.has_peer, m->u.qird.peer.ip,
		    m->u.qird.peer.port, mline_qird_empty(m));
		break;
	case MLINE_QIRD_COUNTERS:
		snprintf(b, sz, "total=%llu read=%llu unread=%llu empty=%d",
		    (unsigned long long)m->u.qird_counters.total,
		    (unsigned long long)m->u.qird_counters.read,
		    (unsigned long long)m->u.qird_counters.unread,
		    mline_qird_empty(m));
		break;
	case MLINE_QISEND:
		snprintf(b, sz, "total=%llu acked=%llu unacked=%llu",
		    (unsigned long long)m->u.qisend.total,
		    (unsigned long long)m->u.qisend.acked,
		    (unsigned long long)m->u.qisend.unacked);
		break;
	case MLINE_REG:
		snprintf(b, sz, "which=%d has_n=%d n=%d stat=%d loc=%d "
		    "lac=%s ci=%s has_act=%d act=%d", m->u.reg.which,
		    m->u.reg.has_n, m->u.reg.n, m->u.reg.stat,
		    m->u.reg.has_loc, m->u.reg.lac, m->u.reg.ci,
		    m->u.reg.has_act, m->u.reg.act);
		break;
	case MLINE_QIACT:
		snprintf(b, sz, "cid=%d state=%d type=%d has_ip=%d ip=%s "
		    "has_ip2=%d ip2=%s", m->u.qiact.cid, m->u.qiact.state,
		    m->u.qiact.type, m->u.qiact.has_ip, m->u.qiact.ip,
		    m->u.qiact.has_ip2, m->u.qiact.ip2);
		break;
	case MLINE_CSQ:
		snprintf(b, sz, "rssi=%d ber=%d", m->u.csq.rssi, m->u.csq.ber);
		break;
	case MLINE_QCSQ:
		snprintf(b, sz, "sysmode=%s n=%d v=%d,%d,%d,%d",
		    m->u.qcsq.sysmode, m->u.qcsq.nvals, m->u.qcsq.vals[0],
		    m->u.qcsq.vals[1], m->u.qcsq.vals[2], m->u.qcsq.vals[3]);
		break;
	case MLINE_COPS:
		snprintf(b, sz, "mode=%d has_oper=%d format=%d oper=%s "
		    "has_act=%d act=%d", m->u.cops.mode, m->u.cops.has_oper,
		    m->u.cops.format, m->u.cops.oper, m->u.cops.has_act,
		    m->u.cops.act);
		break;
	case MLINE_QNWINFO:
		snprintf(b, sz, "service=%d act=%s oper=%s band=%s ch=%ld",
		    m->u.qnwinfo.service, m->u.qnwinfo.act,
		    m->u.qnwinfo.oper, m->u.qnwinfo.band,
		    m->u.qnwinfo.channel);
		break;
	case MLINE_QISTATE:
		snprintf(b, sz, "id=%d svc=%d type=%s host=%s rport=%d "
		    "lport=%d state=%d cid=%d srv=%d mode=%d atport=%s",
		    m->u.qistate.id, m->u.qistate.svc, m->u.qistate.type,
		    m->u.qistate.host, m->u.qistate.rport, m->u.qistate.lport,
		    m->u.qistate.state, m->u.qistate.cid,
		    m->u.qistate.server_id, m->u.qistate.mode,
		    m->u.qistate.atport);
		break;
	case MLINE_CPIN:
		snprintf(b, sz, "%s", m->u.cpin.state);
		break;
	case MLINE_QCCID:
		snprintf(b, sz, "%s", m->u.qccid.iccid);
		break;
	default:
		snprintf(b, sz, "-");
		break;
	}
}

static const struct ok_case oks[] = {
	/* 7: recv, buffer mode, with and without recvind's length */
	{ "+QIURC: \"recv\",0", MLINE_RECV, "id=0 has_len=0 len=0" },
	{ "+QIURC: \"recv\",11", MLINE_RECV, "id=11 has_len=0 len=0" },
	{ "+QIURC: \"recv\",3,1500", MLINE_RECV, "id=3 has_len=1 len=1500" },
	{ "+QIURC: \"recv\",3,0", MLINE_RECV, "id=3 has_len=1 len=0" },
	/* recvind: what the buffer holds, more than one read. */
	{ "+QIURC: \"recv\",11,5840", MLINE_RECV,
	    "id=11 has_len=1 len=5840" },
	{ "+QIURC:\"recv\",1", MLINE_RECV, "id=1 has_len=0 len=0" },
	{ "+QIURC: \"closed\",5", MLINE_CLOSED, "id=5" },
	{ "+QIURC: \"closed\",0", MLINE_CLOSED, "id=0" },
	{ "+QIURC: \"incoming\",1,0,\"10.0.0.7\",40312", MLINE_INCOMING,
	    "id=1 srv=0 ip=10.0.0.7 port=40312" },
	{ "+QIURC: \"incoming\",11,2,10.0.0.7,0", MLINE_INCOMING,
	    "id=11 srv=2 ip=10.0.0.7 port=0" },
	{ "+QIURC: \"incoming\",4,2,\"2001:db8::7\",65535", MLINE_INCOMING,
	    "id=4 srv=2 ip=2001:db8::7 port=65535" },
	{ "+QIURC: \"incoming full\"", MLINE_INCOMING_FULL, "full" },
	{ "+QIURC: \"pdpdeact\",1", MLINE_PDPDEACT, "cid=1" },
	{ "+QIURC: \"pdpdeact\",16", MLINE_PDPDEACT, "cid=16" },
	{ "+QIURC: \"dnsgip\",0,2,600", MLINE_DNSGIP,
	    "addr=0 ip= err=0 has_count=1 count=2 ttl=600" },
	{ "+QIURC: \"dnsgip\",565", MLINE_DNSGIP,
	    "addr=0 ip= err=565 has_count=0 count=0 ttl=0" },
	{ "+QIURC: \"dnsgip\",\"93.184.216.34\"", MLINE_DNSGIP,
	    "addr=1 ip=93.184.216.34 err=0 has_count=0 count=0 ttl=0" },
	{ "+QIOPEN: 0,0", MLINE_QIOPEN, "id=0 err=0" },
	{ "+QIOPEN: 11,566", MLINE_QIOPEN, "id=11 err=566" },
	/* 5.7: reads, the UDP SERVICE peer, counters, empty layouts */
	{ "+QIRD: 0", MLINE_QIRD, "len=0 peer=0 ip= port=0 empty=1" },
	{ "+QIRD: 1500", MLINE_QIRD, "len=1500 peer=0 ip= port=0 empty=0" },
	{ "+QIRD: 4,\"192.0.2.30\",6969", MLINE_QIRD,
	    "len=4 peer=1 ip=192.0.2.30 port=6969 empty=0" },
	{ "+QIRD: 4,192.0.2.30,6969", MLINE_QIRD,
	    "len=4 peer=1 ip=192.0.2.30 port=6969 empty=0" },
	{ "+QIRD: 4,\"2001:db8::1\",53", MLINE_QIRD,
	    "len=4 peer=1 ip=2001:db8::1 port=53 empty=0" },
	{ "+QIRD: 0,\"\",0", MLINE_QIRD, "len=0 peer=1 ip= port=0 empty=1" },
	{ "+QIRD: 0,,0", MLINE_QIRD, "len=0 peer=1 ip= port=0 empty=1" },
	{ "+QIRD: 0,,", MLINE_QIRD, "len=0 peer=1 ip= port=0 empty=1" },
	{ "+QIRD: 0,\"0.0.0.0\",0", MLINE_QIRD,
	    "len=0 peer=1 ip=0.0.0.0 port=0 empty=1" },
	{ "+QIRD: 0,0.0.0.0,0", MLINE_QIRD,
	    "len=0 peer=1 ip=0.0.0.0 port=0 empty=1" },
	{ "+QIRD: 0,\"192.0.2.30\",6969", MLINE_QIRD,
	    "len=0 peer=1 ip=192.0.2.30 port=6969 empty=1" },
	{ "+QIRD: 3615,3530,85", MLINE_QIRD_COUNTERS,
	    "total=3615 read=3530 unread=85 empty=0" },
	{ "+QIRD: 0,0,0", MLINE_QIRD_COUNTERS,
	    "total=0 read=0 unread=0 empty=1" },
	{ "+QIRD: 10,10,0", MLINE_QIRD_COUNTERS,
	    "total=10 read=10 unread=0 empty=1" },
	{ "+QISEND: 5,0,5", MLINE_QISEND, "total=5 acked=0 unacked=5" },
	{ "+QISEND: 0,0,0", MLINE_QISEND, "total=0 acked=0 unacked=0" },
	{ "+QISEND: 123456789012,123456789000,12", MLINE_QISEND,
	    "total=123456789012 acked=123456789000 unacked=12" },
	/* 3.6: registration, read form and URC form */
	{ "+CEREG: 2,1,\"5650\",\"29A7DF4\",8", MLINE_REG,
	    "which=0 has_n=1 n=2 stat=1 loc=1 lac=5650 ci=29A7DF4 has_act=1 "
	    "act=8" },
	{ "+CGREG: 2,1,\"5650\",\"29A7DF4\",2", MLINE_REG,
	    "which=1 has_n=1 n=2 stat=1 loc=1 lac=5650 ci=29A7DF4 has_act=1 "
	    "act=2" },
	{ "+CREG: 0,5", MLINE_REG,
	    "which=2 has_n=1 n=0 stat=5 loc=0 lac= ci= has_act=0 act=0" },
	{ "+CEREG: 2,2", MLINE_REG,
	    "which=0 has_n=1 n=2 stat=2 loc=0 lac= ci= has_act=0 act=0" },
	{ "+CEREG: 5", MLINE_REG,
	    "which=0 has_n=0 n=0 stat=5 loc=0 lac= ci= has_act=0 act=0" },
	{ "+CREG: 1,\"00C3\",\"0000A13B\"", MLINE_REG,
	    "which=2 has_n=0 n=0 stat=1 loc=1 lac=00C3 ci=0000A13B has_act=0 "
	    "act=0" },
	{ "+CEREG: 1,\"5650\",\"29A7DF4\",9", MLINE_REG,
	    "which=0 has_n=0 n=0 stat=1 loc=1 lac=5650 ci=29A7DF4 has_act=1 "
	    "act=9" },
	{ "+CEREG: 1,\"5650\",\"29A7DF4\",42", MLINE_REG,
	    "which=0 has_n=0 n=0 stat=1 loc=1 lac=5650 ci=29A7DF4 has_act=1 "
	    "act=42" },
	{ "+CEREG: 4,1,\"5650\",\"29A7DF4\",8,,,\"00100100\",\"01000111\"",
	    MLINE_REG, "which=0 has_n=1 n=4 stat=1 loc=1 lac=5650 "
	    "ci=29A7DF4 has_act=1 act=8" },
	{ "+CGREG: 2,0,\"\",\"\",", MLINE_REG,
	    "which=1 has_n=1 n=2 stat=0 loc=0 lac= ci= has_act=0 act=0" },
	{ "+CEREG: 2,\"\",\"\"", MLINE_REG,
	    "which=0 has_n=0 n=0 stat=2 loc=0 lac= ci= has_act=0 act=0" },
	/* 4.3 */
	{ "+QIACT: 1,1,1,\"10.120.33.7\"", MLINE_QIACT,
	    "cid=1 state=1 type=1 has_ip=1 ip=10.120.33.7 has_ip2=0 ip2=" },
	{ "+QIACT: 1,1,2,\"2001:2D8:13B1:4A65:0:0:A248:8002\"", MLINE_QIACT,
	    "cid=1 state=1 type=2 has_ip=1 "
	    "ip=2001:2D8:13B1:4A65:0:0:A248:8002 has_ip2=0 ip2=" },
	{ "+QIACT: 16,0,1", MLINE_QIACT,
	    "cid=16 state=0 type=1 has_ip=0 ip= has_ip2=0 ip2=" },
	{ "+QIACT: 1,1,3,\"10.0.0.1\",\"2001:db8::1\"", MLINE_QIACT,
	    "cid=1 state=1 type=3 has_ip=1 ip=10.0.0.1 has_ip2=1 "
	    "ip2=2001:db8::1" },
	{ "+QIACT: 1,1,1,10.0.0.1", MLINE_QIACT,
	    "cid=1 state=1 type=1 has_ip=1 ip=10.0.0.1 has_ip2=0 ip2=" },
	/* 3.4, 3.5, 3.7, 3.8 */
	{ "+CSQ: 20,99", MLINE_CSQ, "rssi=20 ber=99" },
	{ "+CSQ: 0,0", MLINE_CSQ, "rssi=0 ber=0" },
	{ "+CSQ: 31,7", MLINE_CSQ, "rssi=31 ber=7" },
	{ "+CSQ: 99,99", MLINE_CSQ, "rssi=99 ber=99" },
	{ "+QCSQ: \"NOSERVICE\"", MLINE_QCSQ, "sysmode=NOSERVICE n=0 "
	    "v=0,0,0,0" },
	{ "+QCSQ: \"GSM\",-71", MLINE_QCSQ, "sysmode=GSM n=1 v=-71,0,0,0" },
	{ "+QCSQ: \"CAT-M1\",-65,-93,146,-11", MLINE_QCSQ,
	    "sysmode=CAT-M1 n=4 v=-65,-93,146,-11" },
	{ "+QCSQ: \"eMTC\",-65,-93,146,-11", MLINE_QCSQ,
	    "sysmode=eMTC n=4 v=-65,-93,146,-11" },
	{ "+QCSQ: \"NBIoT\",-1000,1000,0,-0", MLINE_QCSQ,
	    "sysmode=NBIoT n=4 v=-1000,1000,0,0" },
	{ "+COPS: 0,0,\"AT&T 4G\",8", MLINE_COPS,
	    "mode=0 has_oper=1 format=0 oper=AT&T 4G has_act=1 act=8" },
	{ "+COPS: 0", MLINE_COPS,
	    "mode=0 has_oper=0 format=0 oper= has_act=0 act=0" },
	{ "+COPS: 1,2,\"33450\"", MLINE_COPS,
	    "mode=1 has_oper=1 format=2 oper=33450 has_act=0 act=0" },
	{ "+COPS: 0,0,\"Op, with comma\",9", MLINE_COPS,
	    "mode=0 has_oper=1 format=0 oper=Op, with comma has_act=1 act=9" },
	{ "+QNWINFO: \"CAT-M1\",\"33450\",\"LTE BAND 4\",2250", MLINE_QNWINFO,
	    "service=1 act=CAT-M1 oper=33450 band=LTE BAND 4 ch=2250" },
	{ "+QNWINFO: \"GSM\",\"46000\",\"GSM 900\",\"62\"", MLINE_QNWINFO,
	    "service=1 act=GSM oper=46000 band=GSM 900 ch=62" },
	{ "+QNWINFO: No Service", MLINE_QNWINFO,
	    "service=0 act= oper= band= ch=0" },
	/* 5.4 */
	{ "+QISTATE: 0,\"UDP SERVICE\",\"187.47.157.166\",7,3030,2,1,0,0,"
	    "\"usbat\"", MLINE_QISTATE,
	    "id=0 svc=5 type=UDP SERVICE host=187.47.157.166 rport=7 "
	    "lport=3030 state=2 cid=1 srv=0 mode=0 atport=usbat" },
	{ "+QISTATE: 0,\"TCP\",\"104.155.82.190\",1883,22742,3,1,0,0,"
	    "\"uart1\"", MLINE_QISTATE,
	    "id=0 svc=1 type=TCP host=104.155.82.190 rport=1883 "
	    "lport=22742 state=3 cid=1 srv=0 mode=0 atport=uart1" },
	{ "+QISTATE: 3,\"TCP INCOMING\",\"10.0.0.7\",40312,8080,2,1,2,0,"
	    "\"uart1\"", MLINE_QISTATE,
	    "id=3 svc=4 type=TCP INCOMING host=10.0.0.7 rport=40312 "
	    "lport=8080 state=2 cid=1 srv=2 mode=0 atport=uart1" },
	{ "+QISTATE: 2,\"TCP LISTENER\",\"127.0.0.1\",0,8080,3,1,0,0,"
	    "\"uart1\"", MLINE_QISTATE,
	    "id=2 svc=3 type=TCP LISTENER host=127.0.0.1 rport=0 "
	    "lport=8080 state=3 cid=1 srv=0 mode=0 atport=uart1" },
	{ "+QISTATE: 4,\"UDP\",\"example.com\",53,0,2,1,0,1,\"uart1\"",
	    MLINE_QISTATE,
	    "id=4 svc=2 type=UDP host=example.com rport=53 "
	    "lport=0 state=2 cid=1 srv=0 mode=1 atport=uart1" },
	{ "+QISTATE: 5,\"SSL\",\"1.2.3.4\",443,0,2,1,0,0,\"uart1\"",
	    MLINE_QISTATE,
	    "id=5 svc=0 type=SSL host=1.2.3.4 rport=443 "
	    "lport=0 state=2 cid=1 srv=0 mode=0 atport=uart1" },
	/* 3.3, 3.10 */
	{ "+CPIN: READY", MLINE_CPIN, "READY" },
	{ "+CPIN: SIM PIN", MLINE_CPIN, "SIM PIN" },
	{ "+CPIN: PH-SIM PIN", MLINE_CPIN, "PH-SIM PIN" },
	{ "+QCCID: 8949227002805216770F", MLINE_QCCID,
	    "8949227002805216770F" },
	{ "+QCCID: 89492270028052167701", MLINE_QCCID,
	    "89492270028052167701" },
};

START_TEST(test_ok)
{
	const struct ok_case	*c = &oks[_i];
	struct mline		 m;
	char			 got[512];

	memset(&m, 0xa5, sizeof(m));
	ck_assert_msg(mline_parse(c->line, &m) == c->kind,
	    "%s: kind %s, want %s", c->line, mline_kind_name(m.kind),
	    mline_kind_name(c->kind));
	ck_assert_int_eq(m.kind, c->kind);
	digest(&m, got, sizeof(got));
	ck_assert_msg(strcmp(got, c->want) == 0, "%s:\n got  %s\n want %s",
	    c->line, got, c->want);
}
END_TEST

/* ---- lines with a known prefix that must be refused ---- */

static const char *const bads[] = {
	/* the truncated incoming URC of issue 13 (#6), and its kin */
	"+QIURC: \"incoming\",11,2",
	"+QIURC: \"incoming\",11,2,",
	"+QIURC: \"incoming\",11,2,\"10.0.0.7\"",
	"+QIURC: \"incoming\",11,2,\"10.0.0.7\",",
	"+QIURC: \"incoming\",11,2,\"\",80",
	"+QIURC: \"incoming\",12,2,\"10.0.0.7\",80",
	"+QIURC: \"incoming\",1,12,\"10.0.0.7\",80",
	"+QIURC: \"incoming\",1,2,\"10.0.0.7\",65536",
	"+QIURC: \"incoming\",1,2,\"10.0.0.7\",-1",
	"+QIURC: \"incoming\",1,2,\"10.0.0.7\",80,1",
	"+QIURC: \"incoming\",1,2,\"evil\\r\\n\",80",
	"+QIURC: \"incoming\",1,2,\"10.0.0.7 \",80",
	"+QIURC: \"incoming\",1,2,\"10.0.0.7\"x,80",
	"+QIURC: \"incoming\",1,2,\"10.0.0.7,80",
	"+QIURC: \"incoming\",1,2,\"1111111111111111111111111111111111111111"
	    "111111111111111111111111\",80",
	"+QIURC: \"incoming full\",1",
	"+QIURC: \"recv\"",
	"+QIURC: \"recv\",",
	"+QIURC: \"recv\",12",
	"+QIURC: \"recv\",-1",
	"+QIURC: \"recv\",+1",
	"+QIURC: \"recv\", 1",
	"+QIURC: \"recv\",1 ",
	"+QIURC: \"recv\",0x1",
	"+QIURC: \"recv\",\"1\"",
	"+QIURC: \"recv\",1,1000000000",
	"+QIURC: \"recv\",1,",
	"+QIURC: \"recv\",1,5,\"1.2.3.4\",80",	/* a payload header */
	"+QIURC: \"recv\",99999999999999999999999",
	"+QIURC: \"closed\"",
	"+QIURC: \"closed\",",
	"+QIURC: \"closed\",12",
	"+QIURC: \"closed\",1,2",
	"+QIURC: \"pdpdeact\",0",
	"+QIURC: \"pdpdeact\",17",
	"+QIURC: \"pdpdeact\"",
	"+QIURC: \"dnsgip\"",
	"+QIURC: \"dnsgip\",0,2",
	"+QIURC: \"dnsgip\",\"\"",
	"+QIURC: \"dnsgip\",\"host name\"",
	"+QIURC: recv,1",
	"+QIURC: \"recv,1",
	"+QIURC: ",
	"+QIURC:",
	"+QIOPEN: 0",
	"+QIOPEN: 0,",
	"+QIOPEN: 12,0",
	"+QIOPEN: 0,0,0",
	"+QIOPEN: ,0",
	"+QIOPEN: 0,-1",
	"+QIRD:",
	"+QIRD: ",
	"+QIRD: -1",
	"+QIRD: 1501",
	"+QIRD: 5,",
	"+QIRD: 5,\"1.2.3.4\"",
	"+QIRD: 5,\"\",0",
	"+QIRD: 5,,0",
	"+QIRD: 5,\"1.2.3.4\",",
	"+QIRD: 5,\"1.2.3.4\",65536",
	"+QIRD: 5,\"1.2.3.4\",80,1",
	"+QIRD: 0,\"x\",0",
	"+QIRD: 0,\"\",x",
	"+QIRD: 0,\"\",\"0\"",
	"+QIRD: 1,2,3,4",
	"+QIRD: 1,2,",
	"+QIRD: 1,2,x",
	"+QIRD: 1000000000000000000000,1,1",
	"+QISEND: 5,0",
	"+QISEND: 5,0,5,1",
	"+QISEND: 5,,5",
	"+QISEND: -5,0,5",
	"+QISEND: 5,0,x",
	"+QISEND: 1234567890123456789,0,0",
	"+CEREG:",
	"+CEREG: ",
	"+CEREG: x",
	"+CEREG: 11",
	"+CEREG: 6,1",
	"+CEREG: 2,11",
	"+CEREG: 1,\"5650\"",
	"+CEREG: 2,1,\"5650\"",
	"+CEREG: 2,1,\"5650\",\"123456789\"",
	"+CEREG: 2,1,\"56G0\",\"1\"",
	"+CEREG: 2,1,\"5650\",\"1\",100",
	"+CEREG: 2,1,\"5650\",\"1\",x",
	"+QIACT: 1,1",
	"+QIACT: 0,1,1",
	"+QIACT: 17,1,1",
	"+QIACT: 1,2,1",
	"+QIACT: 1,1,4",
	"+QIACT: 1,1,1,\"10.0.0.1\",\"::1\",\"x\"",
	"+QIACT: 1,1,1,\"10.0.0.1 \"",
	"+CSQ: 20",
	"+CSQ: 32,99",
	"+CSQ: 20,8",
	"+CSQ: 20,99,1",
	"+CSQ: -1,99",
	"+CSQ: ,",
	"+QCSQ:",
	"+QCSQ: NOSERVICE",
	"+QCSQ: \"\"",
	"+QCSQ: \"GSM\",",
	"+QCSQ: \"GSM\",-1001",
	"+QCSQ: \"GSM\",x",
	"+QCSQ: \"GSM\",-",
	"+QCSQ: \"CAT-M1\",1,2,3,4,5",
	"+QCSQ: \"" "0123456789012345678901234567890123456789012345678901234"
	    "567890123\"",
	"+COPS:",
	"+COPS: 5",
	"+COPS: 0,0",
	"+COPS: 0,3,\"x\"",
	"+COPS: 0,0,x",
	"+COPS: 0,0,\"\"",
	"+COPS: 0,0,\"x\",",
	"+COPS: 0,0,\"x\",100",
	"+COPS: 0,0,\"x\",8,1",
	"+QNWINFO:",
	"+QNWINFO: No service",
	"+QNWINFO: \"CAT-M1\",\"33450\",\"LTE BAND 4\"",
	"+QNWINFO: \"CAT-M1\",\"33450\",\"LTE BAND 4\",",
	"+QNWINFO: \"CAT-M1\",\"33450\",\"LTE BAND 4\",-1",
	"+QNWINFO: \"CAT-M1\",\"33450\",\"LTE BAND 4\",1000000",
	"+QNWINFO: CAT-M1,\"33450\",\"LTE BAND 4\",2250",
	"+QISTATE: 0,\"TCP\",\"1.2.3.4\",80,0,2,1,0,0",
	"+QISTATE: 12,\"TCP\",\"1.2.3.4\",80,0,2,1,0,0,\"uart1\"",
	"+QISTATE: 0,\"TCP\",\"1.2.3.4\",80,0,5,1,0,0,\"uart1\"",
	"+QISTATE: 0,\"TCP\",\"1.2.3.4\",80,0,2,0,0,0,\"uart1\"",
	"+QISTATE: 0,\"TCP\",\"1.2.3.4\",80,0,2,1,12,0,\"uart1\"",
	"+QISTATE: 0,\"TCP\",\"1.2.3.4\",80,0,2,1,0,3,\"uart1\"",
	"+QISTATE: 0,\"TCP\",\"1.2.3.4\",65536,0,2,1,0,0,\"uart1\"",
	"+QISTATE: 0,\"\",\"1.2.3.4\",80,0,2,1,0,0,\"uart1\"",
	"+CPIN:",
	"+CPIN: ",
	"+CPIN: READY ",
	"+CPIN: \"READY\"",
	"+CPIN: " "0123456789012345678901234567890123456789012345678901234"
	    "567890123",
	"+QCCID:",
	"+QCCID: 8949-2270",
	"+QCCID: 894922700280521677012345",
	"+QCCID: 89492270028052167701 ",
};

START_TEST(test_bad)
{
	struct mline	m;

	memset(&m, 0xa5, sizeof(m));
	ck_assert_msg(mline_parse(bads[_i], &m) == MLINE_MALFORMED,
	    "%s: kind %s", bads[_i], mline_kind_name(m.kind));
	ck_assert_int_eq(m.kind, MLINE_MALFORMED);
}
END_TEST

/* Control bytes and bytes >= 0x7f inside strings are refused. */
START_TEST(test_bad_bytes)
{
	static const char *const lines[] = {
		"+COPS: 0,0,\"Op\x01\",8",
		"+COPS: 0,0,\"Op\x7f\",8",
		"+COPS: 0,0,\"Op\xc3\xa9\",8",
		"+COPS: 0,0,\"Op\x1b[2J\",8",
		"+CPIN: READY\x07",
		"+QISTATE: 0,\"TCP\",\"a\tb\",80,0,2,1,0,0,\"uart1\"",
		"+QNWINFO: \"CAT-M1\",\"3345\x80\",\"B\",1",
		"+QIURC: \"incoming\",1,2,\"10.0.0.\xff\",80",
	};
	struct mline	m;
	size_t		i;

	for (i = 0; i < nitems(lines); i++)
		ck_assert_msg(mline_parse(lines[i], &m) == MLINE_MALFORMED,
		    "line %zu: kind %s", i, mline_kind_name(m.kind));
}
END_TEST

/* ---- lines that are not for this module ---- */

static const char *const unknowns[] = {
	"", "OK", "ERROR", "RDY", "APP RDY", "+CME ERROR: 10",
	"+QIURC: \"foo\",1", "+QIURC: \"recvx\",1", "+QIND: SMS DONE",
	"+QIRDX: 5", "+CSQ", "QIURC: \"recv\",1", " +QIURC: \"recv\",1",
	"+qiurc: \"recv\",1", "868446031448729", "> ", "+QPING: 0",
	"+CGEV: ME PDN DEACT 1",
};

START_TEST(test_unknown)
{
	struct mline	m;

	memset(&m, 0xa5, sizeof(m));
	ck_assert_msg(mline_parse(unknowns[_i], &m) == MLINE_UNKNOWN,
	    "\"%s\": kind %s", unknowns[_i], mline_kind_name(m.kind));
	ck_assert_int_eq(m.kind, MLINE_UNKNOWN);
}
END_TEST

/*
 * Every prefix of every valid line parses to MALFORMED, UNKNOWN or a
 * valid form (the checks of a valid form: the parse succeeds again and is
 * the same; ASan/valgrind watch the reads).  Cut copies live in exactly
 * sized heap blocks so a read past the NUL is caught.
 */
START_TEST(test_truncations)
{
	const char	*line = oks[_i].line;
	size_t		 len = strlen(line), n;
	struct mline	 a, b;
	char		*cut;

	for (n = 0; n <= len; n++) {
		cut = malloc(n + 1);
		ck_assert_ptr_nonnull(cut);
		memcpy(cut, line, n);
		cut[n] = '\0';
		mline_parse(cut, &a);
		memset(&b, 0xff, sizeof(b));
		ck_assert_int_eq(mline_parse(cut, &b), a.kind);
		ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0, "%s", cut);
		free(cut);
	}
}
END_TEST

/* Specific truncations whose outcome matters to the daemon. */
static const struct {
	const char	*line;
	enum mline_kind	 kind;
} cuts[] = {
	{ "+QIURC: \"incoming\",11,2", MLINE_MALFORMED },
	{ "+QIURC: \"incoming\",11", MLINE_MALFORMED },
	{ "+QIURC: \"incoming", MLINE_MALFORMED },
	{ "+QIURC: \"inc", MLINE_MALFORMED },
	{ "+QIURC: \"closed\",", MLINE_MALFORMED },
	{ "+QIURC: \"recv\",1", MLINE_RECV },	/* shorter valid form */
	{ "+QIRD: 4,\"192.0.2.30\",", MLINE_MALFORMED },
	{ "+QIRD: 4,\"192.0.2.30\"", MLINE_MALFORMED },
	{ "+QIRD: 4,\"192.0.2.30", MLINE_MALFORMED },
	{ "+QIRD: 4", MLINE_QIRD },
	{ "+CEREG: 2,1,\"5650\",\"29A7DF4\"", MLINE_REG },
	{ "+CEREG: 2,1,\"5650\",\"29A7", MLINE_MALFORMED },
	{ "+COPS: 0,0,\"AT&T", MLINE_MALFORMED },
	{ "+COPS: 0,0,\"AT&T 4G\"", MLINE_COPS },
	{ "+QIRD", MLINE_UNKNOWN },
};

START_TEST(test_cuts)
{
	struct mline	m;

	ck_assert_msg(mline_parse(cuts[_i].line, &m) == cuts[_i].kind,
	    "%s: kind %s", cuts[_i].line, mline_kind_name(m.kind));
}
END_TEST

/* A very long line with a valid prefix: no overrun, MALFORMED. */
START_TEST(test_overlong)
{
	static char	 line[8192];
	struct mline	 m;
	size_t		 n;

	n = (size_t)snprintf(line, sizeof(line), "+COPS: 0,0,\"");
	memset(line + n, 'A', sizeof(line) - n - 3);
	memcpy(line + sizeof(line) - 3, "\"", 2);
	ck_assert_int_eq(mline_parse(line, &m), MLINE_MALFORMED);

	n = (size_t)snprintf(line, sizeof(line), "+QISEND: ");
	memset(line + n, '9', sizeof(line) - n - 1);
	line[sizeof(line) - 1] = '\0';
	ck_assert_int_eq(mline_parse(line, &m), MLINE_MALFORMED);

	/* Thousands of fields. */
	n = (size_t)snprintf(line, sizeof(line), "+CEREG: ");
	while (n + 2 < sizeof(line)) {
		line[n++] = '1';
		line[n++] = ',';
	}
	line[n - 1] = '\0';
	ck_assert_int_eq(mline_parse(line, &m), MLINE_MALFORMED);

	/* Exactly fitting and one byte too long. */
	ck_assert_int_eq(mline_parse("+COPS: 0,0,\"0123456789012345678901234"
	    "56789012345678901234567890123456789012\",8", &m), MLINE_COPS);
	ck_assert_uint_eq(strlen(m.u.cops.oper), MLINE_NAME_SIZE - 1);
	ck_assert_int_eq(mline_parse("+COPS: 0,0,\"0123456789012345678901234"
	    "567890123456789012345678901234567890123\",8", &m),
	    MLINE_MALFORMED);
	ck_assert_int_eq(mline_parse("+QIURC: \"incoming\",1,0,\"1111111111"
	    "11111111111111111111111111111111111111111111111111111\",1", &m),
	    MLINE_INCOMING);
	ck_assert_int_eq(mline_parse("+QIURC: \"incoming\",1,0,\"1111111111"
	    "111111111111111111111111111111111111111111111111111111\",1", &m),
	    MLINE_MALFORMED);
}
END_TEST

/* ---- payload headers ---- */

static const struct {
	const char	*hdr;
	enum mline_kind	 kind;
	bool		 push;
	int		 id, len;
	bool		 has_peer;
	const char	*ip;
	int		 port;
} hdrs[] = {
	{ "+QIRD: 5", MLINE_DATA_HDR, false, -1, 5, false, "", 0 },
	{ "+QIRD: 1500", MLINE_DATA_HDR, false, -1, 1500, false, "", 0 },
	{ "+QIRD: 4,\"192.0.2.30\",6969", MLINE_DATA_HDR, false, -1, 4, true,
	    "192.0.2.30", 6969 },
	{ "+QIRD: 4,192.0.2.30,6969", MLINE_DATA_HDR, false, -1, 4, true,
	    "192.0.2.30", 6969 },
	{ "+QIRD: 4,\"::1\",0", MLINE_DATA_HDR, false, -1, 4, true, "::1",
	    0 },
	{ "+QIURC: \"recv\",0,5", MLINE_DATA_HDR, true, 0, 5, false, "", 0 },
	{ "+QIURC: \"recv\",11,1500", MLINE_DATA_HDR, true, 11, 1500, false,
	    "", 0 },
	{ "+QIURC: \"recv\",3,4,\"192.0.2.30\",6969", MLINE_DATA_HDR, true, 3,
	    4, true, "192.0.2.30", 6969 },
	{ "+QIURC: \"recv\",3,4,192.0.2.30,6969", MLINE_DATA_HDR, true, 3, 4,
	    true, "192.0.2.30", 6969 },
	{ "+QIRD: 0", MLINE_MALFORMED, false, -1, 0, false, "", 0 },
	{ "+QIRD: 1501", MLINE_MALFORMED, false, -1, 0, false, "", 0 },
	{ "+QIRD: 3615,3530,85", MLINE_MALFORMED, false, -1, 0, false, "",
	    0 },
	{ "+QIRD: 4,\"\",0", MLINE_MALFORMED, false, -1, 0, false, "", 0 },
	{ "+QIRD: 4,\"1.2.3.4\"", MLINE_MALFORMED, false, -1, 0, false, "",
	    0 },
	{ "+QIRD: 4,\"1.2.3.4\",65536", MLINE_MALFORMED, false, -1, 0, false,
	    "", 0 },
	{ "+QIURC: \"recv\",3", MLINE_MALFORMED, false, -1, 0, false, "", 0 },
	{ "+QIURC: \"recv\",12,5", MLINE_MALFORMED, false, -1, 0, false, "",
	    0 },
	{ "+QIURC: \"recv\",3,0", MLINE_MALFORMED, false, -1, 0, false, "",
	    0 },
	{ "+QIURC: \"recv\",3,4,\"1.2.3.4\"", MLINE_MALFORMED, false, -1, 0,
	    false, "", 0 },
	{ "+QIURC: \"recv\",3,4,\"1.2.3.4\",", MLINE_MALFORMED, false, -1, 0,
	    false, "", 0 },
	{ "+QIURC: \"closed\",3", MLINE_UNKNOWN, false, -1, 0, false, "", 0 },
	{ "+CSQ: 20,99", MLINE_UNKNOWN, false, -1, 0, false, "", 0 },
	{ "", MLINE_UNKNOWN, false, -1, 0, false, "", 0 },
};

START_TEST(test_hdr)
{
	struct mline_data_hdr	h;

	memset(&h, 0xa5, sizeof(h));
	ck_assert_msg(mline_parse_payload_header(hdrs[_i].hdr, &h) ==
	    hdrs[_i].kind, "%s", hdrs[_i].hdr);
	ck_assert_int_eq(h.push, hdrs[_i].push);
	ck_assert_int_eq(h.id, hdrs[_i].id);
	ck_assert_int_eq(h.len, hdrs[_i].len);
	ck_assert_int_eq(h.has_peer, hdrs[_i].has_peer);
	ck_assert_str_eq(h.peer.ip, hdrs[_i].ip);
	ck_assert_int_eq(h.peer.port, hdrs[_i].port);
}
END_TEST

START_TEST(test_hdr_truncations)
{
	const char		*hdr = hdrs[_i].hdr;
	size_t			 len = strlen(hdr), n;
	struct mline_data_hdr	 h;
	char			*cut;

	for (n = 0; n <= len; n++) {
		cut = malloc(n + 1);
		ck_assert_ptr_nonnull(cut);
		memcpy(cut, hdr, n);
		cut[n] = '\0';
		if (mline_parse_payload_header(cut, &h) == MLINE_DATA_HDR) {
			ck_assert(h.len >= 1 && h.len <= MLINE_LEN_MAX);
			ck_assert(!h.has_peer || h.peer.ip[0] != '\0');
		}
		free(cut);
	}
}
END_TEST

START_TEST(test_kind_names)
{
	int	k;

	for (k = MLINE_UNKNOWN; k <= MLINE_DATA_HDR; k++)
		ck_assert_str_ne(mline_kind_name((enum mline_kind)k), "?");
	ck_assert_str_eq(mline_kind_name((enum mline_kind)999), "?");
	ck_assert_str_eq(mline_kind_name((enum mline_kind)-1), "?");
}
END_TEST

static Suite *
mline_suite(void)
{
	Suite	*s = suite_create("mline");
	TCase	*tc;

	tc = tcase_create("shapes");
	tcase_add_loop_test(tc, test_ok, 0, nitems(oks));
	tcase_add_loop_test(tc, test_bad, 0, nitems(bads));
	tcase_add_test(tc, test_bad_bytes);
	tcase_add_loop_test(tc, test_unknown, 0, nitems(unknowns));
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_loop_test(tc, test_truncations, 0, nitems(oks));
	tcase_add_loop_test(tc, test_cuts, 0, nitems(cuts));
	tcase_add_test(tc, test_overlong);
	suite_add_tcase(s, tc);

	tc = tcase_create("payload-header");
	tcase_add_loop_test(tc, test_hdr, 0, nitems(hdrs));
	tcase_add_loop_test(tc, test_hdr_truncations, 0, nitems(hdrs));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(mline_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
