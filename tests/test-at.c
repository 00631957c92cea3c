/*
 * test-at.c: table-driven tests for the AT framer (src/at.c).
 *
 * Each case is an input byte string (modem side only), a push mask and the
 * events it must produce.  Every case is fed three ways: in one call, one
 * byte per call, and in several pseudo-random chunkings with fixed seeds.
 */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/at.h"
#include "bg96d/cmdfam.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

#define MAXEV		24
#define MAXREC		64
#define NSEEDS		8

struct exp {
	enum at_ev_type	 type;
	enum at_final	 final;
	int		 code;
	const char	*line;
	const char	*data;
	size_t		 data_len;
};

struct tcase {
	const char	*name;
	const char	*in;
	size_t		 in_len;
	uint16_t	 push;
	struct exp	 ev[MAXEV];
};

struct rec {
	enum at_ev_type	 type;
	enum at_final	 final;
	int		 code;
	char		 line[AT_LINE_MAX + 1];
	size_t		 line_len;
	uint8_t		 data[AT_PAYLOAD_MAX];
	size_t		 data_len;
};

#define IN(s)		(s), sizeof(s) - 1
#define LINE(s)		{ AT_EV_LINE, AT_FINAL_NONE, -1, (s), NULL, 0 }
#define FIN(f, s)	{ AT_EV_FINAL, (f), -1, (s), NULL, 0 }
#define FINC(f, c, s)	{ AT_EV_FINAL, (f), (c), (s), NULL, 0 }
#define OK		FIN(AT_FINAL_OK, "OK")
#define ERR		FIN(AT_FINAL_ERROR, "ERROR")
#define SENDOK		FIN(AT_FINAL_SEND_OK, "SEND OK")
#define PROMPT		{ AT_EV_PROMPT, AT_FINAL_NONE, -1, NULL, NULL, 0 }
#define PAY(h, d)	{ AT_EV_PAYLOAD, AT_FINAL_NONE, -1, (h), (d), \
			    sizeof(d) - 1 }
#define BADLEN(s)	{ AT_EV_BADLEN, AT_FINAL_NONE, -1, (s), NULL, 0 }
#define OVERLONG(s)	{ AT_EV_OVERLONG, AT_FINAL_NONE, -1, (s), NULL, 0 }
#define END		{ AT_EV_NONE, AT_FINAL_NONE, 0, NULL, NULL, 0 }

#define QISTATE0	"+QISTATE: 0,\"TCP\",\"192.0.2.10\",8009,40001," \
			    "2,1,0,0,\"uart1\""
#define QISTATE1	"+QISTATE: 1,\"UDP\",\"192.0.2.20\",5683,40002," \
			    "2,1,0,0,\"uart1\""
#define QISTATE2	"+QISTATE: 2,\"TCP LISTENER\",\"127.0.0.1\",0," \
			    "2020,3,1,0,0,\"uart1\""
#define QISTATE11	"+QISTATE: 11,\"TCP INCOMING\",\"198.51.100.7\"," \
			    "51234,2020,2,1,2,0,\"uart1\""
#define INCOMING11	"+QIURC: \"incoming\",11,2,\"198.51.100.7\",51234"

static const struct tcase cases[] = {
	/* Reference section 13: every modem-side transcript. */
	{ "13.1 context activation",
	  IN("\r\nOK\r\n"
	     "\r\nOK\r\n"
	     "\r\n+QIACT: 1,1,1,\"10.44.0.17\"\r\n\r\nOK\r\n"), 0,
	  { OK, OK, LINE("+QIACT: 1,1,1,\"10.44.0.17\""), OK, END } },
	{ "13.2 tcp client, buffer mode",
	  IN("\r\nOK\r\n"
	     "\r\n+QIOPEN: 0,0\r\n"
	     "\r\n" QISTATE0 "\r\n\r\nOK\r\n"
	     "\r\n> "
	     "\r\nSEND OK\r\n"
	     "\r\n+QISEND: 4,4,0\r\n\r\nOK\r\n"
	     "\r\n+QIURC: \"recv\",0\r\n"
	     "\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 0\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 5,5,0\r\n\r\nOK\r\n"
	     "\r\n+QIURC: \"closed\",0\r\n"
	     "\r\n+QIRD: 0\r\n\r\nOK\r\n"
	     "\r\nOK\r\n"), 0,
	  { OK, LINE("+QIOPEN: 0,0"), LINE(QISTATE0), OK, PROMPT, SENDOK,
	    LINE("+QISEND: 4,4,0"), OK, LINE("+QIURC: \"recv\",0"),
	    PAY("+QIRD: 5", "test1"), OK, LINE("+QIRD: 0"), OK,
	    LINE("+QIRD: 5,5,0"), OK, LINE("+QIURC: \"closed\",0"),
	    LINE("+QIRD: 0"), OK, OK, END } },
	{ "13.3 udp client, buffer mode",
	  IN("\r\nOK\r\n"
	     "\r\n+QIOPEN: 1,0\r\n"
	     "\r\n> "
	     "\r\nSEND OK\r\n"
	     "\r\n+QIURC: \"recv\",1\r\n"
	     "\r\n+QIRD: 7\r\nanswer!\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 0\r\n\r\nOK\r\n"
	     "\r\nOK\r\n"), 0,
	  { OK, LINE("+QIOPEN: 1,0"), PROMPT, SENDOK,
	    LINE("+QIURC: \"recv\",1"), PAY("+QIRD: 7", "answer!"), OK,
	    LINE("+QIRD: 0"), OK, OK, END } },
	{ "13.4 tcp listener, buffer mode",
	  IN("\r\nOK\r\n"
	     "\r\n+QIOPEN: 2,0\r\n"
	     "\r\n" QISTATE2 "\r\n\r\nOK\r\n"
	     "\r\n" INCOMING11 "\r\n"
	     "\r\n" QISTATE11 "\r\n\r\nOK\r\n"
	     "\r\n+QIURC: \"recv\",11\r\n"
	     "\r\n+QIRD: 3\r\nhi\n\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 0\r\n\r\nOK\r\n"
	     "\r\n> "
	     "\r\nSEND OK\r\n"
	     "\r\n+QIURC: \"closed\",11\r\n"
	     "\r\nOK\r\n"
	     "\r\nOK\r\n"
	     "\r\n+QIURC: \"incoming full\"\r\n"), 0,
	  { OK, LINE("+QIOPEN: 2,0"), LINE(QISTATE2), OK, LINE(INCOMING11),
	    LINE(QISTATE11), OK, LINE("+QIURC: \"recv\",11"),
	    PAY("+QIRD: 3", "hi\n"), OK, LINE("+QIRD: 0"), OK, PROMPT,
	    SENDOK, LINE("+QIURC: \"closed\",11"), OK, OK,
	    LINE("+QIURC: \"incoming full\""), END } },
	{ "13.5 udp service, buffer mode",
	  IN("\r\nOK\r\n"
	     "\r\n+QIOPEN: 3,0\r\n"
	     "\r\n> "
	     "\r\nSEND OK\r\n"
	     "\r\n+QIURC: \"recv\",3\r\n"
	     "\r\n+QIRD: 4,\"192.0.2.30\",6969\r\nAAAA\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 0\r\n\r\nOK\r\n"
	     "\r\nOK\r\n"), 0,
	  { OK, LINE("+QIOPEN: 3,0"), PROMPT, SENDOK,
	    LINE("+QIURC: \"recv\",3"),
	    PAY("+QIRD: 4,\"192.0.2.30\",6969", "AAAA"), OK,
	    LINE("+QIRD: 0"), OK, OK, END } },
	{ "13.6 direct push, tcp",
	  IN("\r\n+QIURC: \"recv\",0,5\r\ntest1\r\n"), 0x0001,
	  { PAY("+QIURC: \"recv\",0,5", "test1"), END } },
	{ "13.6 direct push, udp service",
	  IN("\r\n+QIURC: \"recv\",3,4,\"192.0.2.30\",6969\r\nAAAA\r\n"),
	  0x0008,
	  { PAY("+QIURC: \"recv\",3,4,\"192.0.2.30\",6969", "AAAA"), END } },
	{ "13.6 udp service push needs no push mask",
	  IN("\r\n+QIURC: \"recv\",3,4,\"192.0.2.30\",6969\r\nAAAA\r\n"), 0,
	  { PAY("+QIURC: \"recv\",3,4,\"192.0.2.30\",6969", "AAAA"), END } },
	{ "13.6 udp service push, unquoted ip",
	  IN("\r\n+QIURC: \"recv\",3,4,192.0.2.30,6969\r\nA\r\nA\r\n"), 0,
	  { PAY("+QIURC: \"recv\",3,4,192.0.2.30,6969", "A\r\nA"), END } },
	{ "13.7 error paths",
	  IN("\r\nOK\r\n"
	     "\r\n+QIOPEN: 0,563\r\n"
	     "\r\nERROR\r\n"
	     "\r\nERROR\r\n"
	     "\r\nOK\r\n"
	     "\r\n+QIURC: \"dnsgip\",565\r\n"
	     "\r\n+QIURC: \"pdpdeact\",1\r\n"), 0,
	  { OK, LINE("+QIOPEN: 0,563"), ERR, ERR, OK,
	    LINE("+QIURC: \"dnsgip\",565"), LINE("+QIURC: \"pdpdeact\",1"),
	    END } },

	/* Final result codes. */
	{ "cme error numeric",
	  IN("\r\n+CME ERROR: 552\r\n"), 0,
	  { FINC(AT_FINAL_CME_ERROR, 552, "+CME ERROR: 552"), END } },
	{ "cme error text",
	  IN("\r\n+CME ERROR: SIM not inserted\r\n"), 0,
	  { FINC(AT_FINAL_CME_ERROR, -1, "+CME ERROR: SIM not inserted"),
	    END } },
	{ "cme error zero and huge",
	  IN("\r\n+CME ERROR: 0\r\n\r\n+CME ERROR: 99999999999\r\n"), 0,
	  { FINC(AT_FINAL_CME_ERROR, 0, "+CME ERROR: 0"),
	    FINC(AT_FINAL_CME_ERROR, -1, "+CME ERROR: 99999999999"), END } },
	{ "cms error",
	  IN("\r\n+CMS ERROR: 500\r\n"), 0,
	  { FINC(AT_FINAL_CMS_ERROR, 500, "+CMS ERROR: 500"), END } },
	{ "connect, no carrier, send fail",
	  IN("\r\nCONNECT 115200\r\n\r\nCONNECT\r\n\r\nNO CARRIER\r\n"
	     "\r\nSEND FAIL\r\n\r\nERROR\r\n"), 0,
	  { FIN(AT_FINAL_CONNECT, "CONNECT 115200"),
	    FIN(AT_FINAL_CONNECT, "CONNECT"),
	    FIN(AT_FINAL_NO_CARRIER, "NO CARRIER"),
	    FIN(AT_FINAL_SEND_FAIL, "SEND FAIL"), ERR, END } },
	{ "near misses are lines",
	  IN("\r\nOKAY\r\n\r\nok\r\n\r\n OK\r\n\r\nOK \r\n\r\nCONNECTED\r\n"
	     "\r\nERROR: 3\r\n\r\nSEND OK!\r\n"), 0,
	  { LINE("OKAY"), LINE("ok"), LINE(" OK"), LINE("OK "),
	    LINE("CONNECTED"), LINE("ERROR: 3"), LINE("SEND OK!"), END } },

	/* Boot and echo. */
	{ "boot urcs",
	  IN("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n"
	     "\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\nAPP RDY\r\n"
	     "\r\nPOWERED DOWN\r\n"), 0,
	  { LINE("RDY"), LINE("+CFUN: 1"), LINE("+CPIN: READY"),
	    LINE("+QUSIM: 1"), LINE("+QIND: SMS DONE"), LINE("APP RDY"),
	    LINE("POWERED DOWN"), END } },
	{ "echo on: AT",
	  IN("AT\r\r\nOK\r\n"), 0,
	  { LINE("AT"), OK, END } },
	{ "echo on: ATE0",
	  IN("ATE0\r\r\nOK\r\n"), 0,
	  { LINE("ATE0"), OK, END } },
	{ "echo on: qisend prompt",
	  IN("AT+QISEND=0,4\r\r\n> \r\nSEND OK\r\n"), 0,
	  { LINE("AT+QISEND=0,4"), PROMPT, SENDOK, END } },

	/* QIRD forms. */
	{ "qird empty read",
	  IN("\r\n+QIRD: 0\r\n\r\nOK\r\n"), 0,
	  { LINE("+QIRD: 0"), OK, END } },
	{ "qird counter query",
	  IN("\r\n+QIRD: 3615,3530,85\r\n\r\nOK\r\n"), 0,
	  { LINE("+QIRD: 3615,3530,85"), OK, END } },
	{ "qird udp service, unquoted ip",
	  IN("\r\n+QIRD: 4,192.0.2.30,6969\r\nAAAA\r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 4,192.0.2.30,6969", "AAAA"), OK, END } },
	{ "qird udp service, ipv6",
	  IN("\r\n+QIRD: 2,\"2001:db8::1\",53\r\nhi\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 2,2001:db8::2,53\r\nho\r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 2,\"2001:db8::1\",53", "hi"), OK,
	    PAY("+QIRD: 2,2001:db8::2,53", "ho"), OK, END } },
	{ "qird udp service, empty read",
	  IN("\r\n+QIRD: 0,\"192.0.2.30\",6969\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 0,\"\",0\r\n\r\nOK\r\n"), 0,
	  { LINE("+QIRD: 0,\"192.0.2.30\",6969"), OK,
	    LINE("+QIRD: 0,\"\",0"), OK, END } },
	{ "qird udp service, empty read without an address (ref. 14.10)",
	  IN("\r\n+QIRD: 0,,0\r\n\r\nOK\r\n"
	     "\r\n+QIRD: 0,,\r\n\r\nOK\r\n"), 0,
	  { LINE("+QIRD: 0,,0"), OK, LINE("+QIRD: 0,,"), OK, END } },
	{ "payload containing OK",
	  IN("\r\n+QIRD: 6\r\n\r\nOK\r\n\r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 6", "\r\nOK\r\n"), OK, END } },
	{ "payload containing a urc",
	  IN("\r\n+QIRD: 22\r\n\r\n+QIURC: \"closed\",0\r\n\r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 22", "\r\n+QIURC: \"closed\",0\r\n"), OK, END } },
	{ "payload containing a header",
	  IN("\r\n+QIRD: 10\r\n+QIRD: 5\r\n\r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 10", "+QIRD: 5\r\n"), OK, END } },
	{ "payload binary, nul, ctrl-z, prompt",
	  IN("\r\n+QIRD: 8\r\n\0\x1a\r\n\0\xff> \r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 8", "\0\x1a\r\n\0\xff> "), OK, END } },
	{ "payload of one byte LF",
	  IN("\r\n+QIRD: 1\r\n\n\r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 1", "\n"), OK, END } },
	{ "final held until the byte after its CR",
	  IN("OK\r"), 0,
	  { END } },
	{ "final then LF",
	  IN("\r\nOK\r\n"), 0,
	  { OK, END } },
	{ "final, CR, then a line",
	  IN("OK\rRDY\r\n"), 0,
	  { OK, LINE("RDY"), END } },
	{ "final, CR, then the prompt",
	  IN("ERROR\r> "), 0,
	  { FIN(AT_FINAL_ERROR, "ERROR"), PROMPT, END } },
	{ "final, CR, CR LF",
	  IN("OK\r\r\nOK\r\n"), 0,
	  { OK, OK, END } },
	{ "header ended by bare LF",
	  IN("+QIRD: 3\nabc\nOK\r\n"), 0,
	  { PAY("+QIRD: 3", "abc"), OK, END } },
	{ "header ended by bare CR",
	  IN("+QIRD: 3\rabc\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 3", "abc"), OK, END } },
	{ "header CR then CR is data",
	  IN("+QIRD: 3\r\r\nab\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 3", "\r\na"), LINE("b"), OK, END } },
	{ "back to back payloads",
	  IN("\r\n+QIRD: 2\r\nab\r\n\r\n+QIRD: 2\r\ncd\r\n\r\nOK\r\n"), 0,
	  { PAY("+QIRD: 2", "ab"), PAY("+QIRD: 2", "cd"), OK, END } },

	/* URCs interleaved with responses (section 11.1, 11.2). */
	{ "urcs inside a qistate listing",
	  IN("\r\n" QISTATE0 "\r\n"
	     "\r\n+QIURC: \"recv\",0\r\n"
	     "\r\n" QISTATE1 "\r\n"
	     "\r\n+QIURC: \"closed\",1\r\n"
	     "\r\n\r\nOK\r\n"), 0,
	  { LINE(QISTATE0), LINE("+QIURC: \"recv\",0"), LINE(QISTATE1),
	    LINE("+QIURC: \"closed\",1"), OK, END } },
	{ "push payload inside a qistate listing",
	  IN("\r\n" QISTATE2 "\r\n"
	     "\r\n+QIURC: \"recv\",2,6\r\n\r\nOK\r\n\r\n"
	     "\r\n\r\nOK\r\n"), 0x0004,
	  { LINE(QISTATE2), PAY("+QIURC: \"recv\",2,6", "\r\nOK\r\n"), OK,
	    END } },
	{ "urc before the prompt",
	  IN("\r\n+QIURC: \"recv\",1\r\n\r\n> \r\nSEND OK\r\n"), 0,
	  { LINE("+QIURC: \"recv\",1"), PROMPT, SENDOK, END } },
	{ "urc after the prompt, before send ok",
	  IN("\r\n> \r\n+QIURC: \"closed\",4\r\n\r\nSEND OK\r\n"), 0,
	  { PROMPT, LINE("+QIURC: \"closed\",4"), SENDOK, END } },
	{ "urc after a qird payload",
	  IN("\r\n+QIRD: 5\r\nhello\r\n\r\n+QIURC: \"recv\",1\r\n\r\nOK\r\n"),
	  0,
	  { PAY("+QIRD: 5", "hello"), LINE("+QIURC: \"recv\",1"), OK, END } },
	{ "urc before a qird header",
	  IN("\r\n+QIURC: \"recv\",0\r\n\r\n+QIRD: 2\r\nOK\r\n\r\nOK\r\n"), 0,
	  { LINE("+QIURC: \"recv\",0"), PAY("+QIRD: 2", "OK"), OK, END } },

	/* recv URC: buffer mode (recvind) against direct push. */
	{ "recv with length, buffer mode",
	  IN("\r\n+QIURC: \"recv\",0,5\r\ntest1\r\n"), 0,
	  { LINE("+QIURC: \"recv\",0,5"), LINE("test1"), END } },
	{ "recv with length, other slot pushed",
	  IN("\r\n+QIURC: \"recv\",0,5\r\ntest1\r\n"), 0x0ffe,
	  { LINE("+QIURC: \"recv\",0,5"), LINE("test1"), END } },
	{ "recv with length, push mode",
	  IN("\r\n+QIURC: \"recv\",0,5\r\ntest1\r\n"), 0x0001,
	  { PAY("+QIURC: \"recv\",0,5", "test1"), END } },
	{ "recv without length, push mode",
	  IN("\r\n+QIURC: \"recv\",0\r\n"), 0x0fff,
	  { LINE("+QIURC: \"recv\",0"), END } },
	{ "recv push, slot 11",
	  IN("\r\n+QIURC: \"recv\",11,3\r\nabc\r\n"), 0x0800,
	  { PAY("+QIURC: \"recv\",11,3", "abc"), END } },
	{ "recv push, slot 12 does not exist",
	  IN("\r\n+QIURC: \"recv\",12,3\r\nabc\r\n"), 0x0fff,
	  { LINE("+QIURC: \"recv\",12,3"), LINE("abc"), END } },
	{ "recv push, zero length",
	  IN("\r\n+QIURC: \"recv\",0,0\r\n\r\n"), 0x0001,
	  { LINE("+QIURC: \"recv\",0,0"), END } },
	{ "other qiurc with four fields",
	  IN("\r\n" INCOMING11 "\r\n\r\n+QIURC: \"dnsgip\",0,1,600\r\n"),
	  0x0fff,
	  { LINE(INCOMING11), LINE("+QIURC: \"dnsgip\",0,1,600"), END } },

	/* Refused lengths: report and stay in line mode. */
	{ "badlen: too long",
	  IN("\r\n+QIRD: 1501\r\n\r\nOK\r\n"), 0,
	  { BADLEN("+QIRD: 1501"), OK, END } },
	{ "badlen: overflowing number",
	  IN("\r\n+QIRD: 99999999999999999999\r\nOK\r\n"), 0,
	  { BADLEN("+QIRD: 99999999999999999999"), OK, END } },
	{ "badlen: malformed",
	  IN("\r\n+QIRD: x\r\n\r\n+QIRD: -1\r\n\r\n+QIRD: 5,6\r\n"
	     "\r\n+QIRD: \r\n\r\n+QIRD: 5,abc,6\r\n\r\n+QIRD: 5,\"1.2.3.4\"\r\n"
	     "\r\n+QIRD: 5x\r\n\r\nOK\r\n"), 0,
	  { BADLEN("+QIRD: x"), BADLEN("+QIRD: -1"), BADLEN("+QIRD: 5,6"),
	    BADLEN("+QIRD: "), BADLEN("+QIRD: 5,abc,6"),
	    BADLEN("+QIRD: 5,\"1.2.3.4\""), BADLEN("+QIRD: 5x"), OK, END } },
	{ "badlen: odd shapes",
	  IN("\r\n+QIRD: 5,\"1.2.3.4\",x\r\n"
	     "\r\n+QIRD: x,1,2\r\n"
	     "\r\n+QIRD: x,\"1.2.3.4\",5\r\n"
	     "\r\n+QIRD: 1,2,3,4,5,6,7\r\n"
	     "\r\n+QIRD: 5,\"1.2.3.4,6\r\n"
	     "\r\n+QIRD: 5,\"1.2.3.4\"x,6\r\n"
	     "\r\n+QIRD: \"5\"\r\n"
	     "\r\nOK\r\n"), 0,
	  { BADLEN("+QIRD: 5,\"1.2.3.4\",x"), BADLEN("+QIRD: x,1,2"),
	    BADLEN("+QIRD: x,\"1.2.3.4\",5"), BADLEN("+QIRD: 1,2,3,4,5,6,7"),
	    BADLEN("+QIRD: 5,\"1.2.3.4,6"), BADLEN("+QIRD: 5,\"1.2.3.4\"x,6"),
	    BADLEN("+QIRD: \"5\""), OK, END } },
	{ "recv urcs of other shapes are lines",
	  IN("\r\n+QIURC: \"recv\",x,5\r\n"
	     "\r\n+QIURC: \"recv\",0,5,6\r\n"
	     "\r\n+QIURC: \"recv\",0,1,2,3,4,5,6\r\n"
	     "\r\n+QIURC: \"recv\",\"0\",5\r\n"
	     "\r\n+QIURC:\"recv\",0\r\n"), 0x0fff,
	  { LINE("+QIURC: \"recv\",x,5"), LINE("+QIURC: \"recv\",0,5,6"),
	    LINE("+QIURC: \"recv\",0,1,2,3,4,5,6"),
	    LINE("+QIURC: \"recv\",\"0\",5"), LINE("+QIURC:\"recv\",0"),
	    END } },
	{ "badlen: push",
	  IN("\r\n+QIURC: \"recv\",0,2000\r\n"
	     "\r\n+QIURC: \"recv\",0,abc\r\n"
	     "\r\n+QIURC: \"recv\",3,1501,\"1.2.3.4\",5\r\n"
	     "\r\nOK\r\n"), 0x0001,
	  { BADLEN("+QIURC: \"recv\",0,2000"), BADLEN("+QIURC: \"recv\",0,abc"),
	    BADLEN("+QIURC: \"recv\",3,1501,\"1.2.3.4\",5"), OK, END } },
	{ "buffer mode length is not checked",
	  IN("\r\n+QIURC: \"recv\",0,2000\r\n"), 0,
	  { LINE("+QIURC: \"recv\",0,2000"), END } },

	/* The prompt and '>'. */
	{ "prompt alone",
	  IN("\r\n> "), 0,
	  { PROMPT, END } },
	{ "gt without space is text",
	  IN("\r\n>x\r\n\r\n>\r\n\r\n>> \r\n\r\nA> \r\n>\n"), 0,
	  { LINE(">x"), LINE(">"), LINE(">> "), LINE("A> "), LINE(">"),
	    END } },
	{ "two prompts",
	  IN("\r\n> > "), 0,
	  { PROMPT, PROMPT, END } },

	/* Partial input gives nothing until its end arrives. */
	{ "partial line", IN("\r\nOK"), 0, { END } },
	{ "partial prompt", IN("\r\n>"), 0, { END } },
	{ "partial payload", IN("\r\n+QIRD: 5\r\nhel"), 0, { END } },
	{ "partial header", IN("\r\n+QIRD: 5\r"), 0, { END } },
	{ "empty lines only", IN("\r\n\r\n\n\n\r\r"), 0, { END } },

	/* Garbage. */
	{ "garbage and nuls",
	  IN("\x01\x02\xfe\r\n\0\r\nOK\0\r\n\0OK\r\n\x1b\x1a\r\n\r\nOK\r\n"), 0,
	  { LINE("\x01\x02\xfe"), LINE("?"), LINE("OK?"), LINE("?OK"),
	    LINE("\x1b\x1a"), OK, END } },
};

static struct rec	recs[MAXREC];
static size_t		nrecs;

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (*s);
}

/*
 * Feed in[0..len) in chunks: mode 0 is one call, 1 is byte by byte, and
 * 2.. is a pseudo-random chunking seeded by the mode.  Records events.
 */
static void
feed(const char *name, const uint8_t *in, size_t len, uint16_t push, int mode)
{
	static struct at_parser	p;
	struct at_event		ev;
	struct rec		*r;
	size_t			off = 0, chunk, used;
	uint32_t		seed = 0x9e3779b9U * (uint32_t)mode;
	static const size_t	maxc[] = { 2, 3, 5, 7, 16, 64, 300, 2000 };
	int			id;

	at_parser_init(&p);
	for (id = 0; id < AT_NSLOTS; id++)
		at_parser_set_push(&p, id, (push >> id) & 1);
	nrecs = 0;

	while (off < len) {
		if (mode == 0)
			chunk = len - off;
		else if (mode == 1)
			chunk = 1;
		else
			chunk = 1 + rnd(&seed) % maxc[mode % nitems(maxc)];
		if (chunk > len - off)
			chunk = len - off;
		while (chunk > 0) {
			used = at_parse(&p, in + off, chunk, &ev);
			ck_assert_msg(used >= 1 && used <= chunk,
			    "%s mode %d: consumed %zu of %zu", name, mode,
			    used, chunk);
			off += used;
			chunk -= used;
			if (ev.type == AT_EV_NONE)
				continue;
			ck_assert_msg(nrecs < MAXREC, "%s: too many events",
			    name);
			r = &recs[nrecs++];
			r->type = ev.type;
			r->final = ev.final;
			r->code = ev.code;
			r->line_len = ev.line_len;
			r->data_len = ev.data_len;
			ck_assert(ev.line_len <= AT_LINE_MAX);
			ck_assert(ev.data_len <= AT_PAYLOAD_MAX);
			if (ev.line != NULL) {
				ck_assert(ev.line[ev.line_len] == '\0');
				ck_assert_uint_eq(strlen(ev.line),
				    ev.line_len);
				memcpy(r->line, ev.line, ev.line_len + 1);
			} else
				r->line[0] = '\0';
			if (ev.data_len > 0)
				memcpy(r->data, ev.data, ev.data_len);
		}
	}
}

/* Compare the recorded events with what the case expects. */
static void
check_events(const char *name, int mode, const struct exp *e, size_t ne)
{
	const struct rec	*r;
	size_t			 i;

	ck_assert_msg(nrecs == ne, "%s mode %d: %zu events, expected %zu",
	    name, mode, nrecs, ne);
	for (i = 0; i < ne; i++) {
		r = &recs[i];
		ck_assert_msg(r->type == e[i].type,
		    "%s mode %d event %zu: type %d, expected %d",
		    name, mode, i, r->type, e[i].type);
		ck_assert_msg(r->final == e[i].final,
		    "%s mode %d event %zu: final %s, expected %s", name, mode,
		    i, at_final_name(r->final), at_final_name(e[i].final));
		if (e[i].type == AT_EV_FINAL)
			ck_assert_msg(r->code == e[i].code,
			    "%s mode %d event %zu: code %d, expected %d",
			    name, mode, i, r->code, e[i].code);
		if (e[i].line != NULL)
			ck_assert_msg(r->line_len == strlen(e[i].line) &&
			    memcmp(r->line, e[i].line, r->line_len) == 0,
			    "%s mode %d event %zu: line \"%s\", expected "
			    "\"%s\"", name, mode, i, r->line, e[i].line);
		else
			ck_assert_uint_eq(r->line_len, 0);
		ck_assert_msg(r->data_len == e[i].data_len,
		    "%s mode %d event %zu: data_len %zu, expected %zu",
		    name, mode, i, r->data_len, e[i].data_len);
		if (e[i].data_len > 0)
			ck_assert_msg(memcmp(r->data, e[i].data,
			    e[i].data_len) == 0, "%s mode %d event %zu: data",
			    name, mode, i);
	}
}

/* Run one case whole, byte by byte and in NSEEDS random chunkings. */
static void
run(const char *name, const void *in, size_t len, uint16_t push,
    const struct exp *e, size_t ne)
{
	int	mode;

	for (mode = 0; mode < 2 + NSEEDS; mode++) {
		feed(name, in, len, push, mode);
		check_events(name, mode, e, ne);
	}
}

static size_t
count_events(const struct exp *e)
{
	size_t	n = 0;

	while (n < MAXEV && e[n].type != AT_EV_NONE)
		n++;
	ck_assert_msg(n < MAXEV, "case table needs a larger MAXEV");
	return (n);
}

START_TEST(test_table)
{
	const struct tcase	*tc = &cases[_i];

	run(tc->name, tc->in, tc->in_len, tc->push, tc->ev,
	    count_events(tc->ev));
}
END_TEST

static char	bigin[8192];
static char	bigline[AT_LINE_MAX + 1];

static size_t
fill(size_t off, int c, size_t n)
{
	memset(bigin + off, c, n);
	return (off + n);
}

static size_t
put(size_t off, const char *s)
{
	size_t	len = strlen(s);

	memcpy(bigin + off, s, len);
	return (off + len);
}

START_TEST(test_line_max)
{
	struct exp	e[] = { LINE(bigline), OK };
	size_t		len;

	memset(bigline, 'A', AT_LINE_MAX);
	bigline[AT_LINE_MAX] = '\0';
	len = put(0, "\r\n");
	len = fill(len, 'A', AT_LINE_MAX);
	len = put(len, "\r\n\r\nOK\r\n");
	run("line of exactly AT_LINE_MAX", bigin, len, 0, e, nitems(e));
}
END_TEST

START_TEST(test_overlong)
{
	struct exp	e[] = { OVERLONG(bigline), OK };
	size_t		len;

	/* Discarded bytes may hold a prompt or anything else. */
	memset(bigline, 'A', AT_LINE_MAX);
	bigline[AT_LINE_MAX] = '\0';
	len = put(0, "\r\n");
	len = fill(len, 'A', AT_LINE_MAX + 1);
	len = put(len, "> +QIRD: 5");
	len = fill(len, 'B', 3000);
	len = put(len, "\r\n\r\nOK\r\n");
	run("overlong line", bigin, len, 0, e, nitems(e));

	/* One byte over, ended by a lone LF. */
	len = fill(0, 'A', AT_LINE_MAX + 1);
	len = put(len, "\nOK\n");
	run("overlong by one", bigin, len, 0, e, nitems(e));
}
END_TEST

START_TEST(test_overlong_twice)
{
	struct exp	e[] = { OVERLONG(bigline), OVERLONG(bigline),
			    LINE("x"), END };
	size_t		len;

	memset(bigline, 'A', AT_LINE_MAX);
	bigline[AT_LINE_MAX] = '\0';
	len = fill(0, 'A', AT_LINE_MAX * 2);
	len = put(len, "\r");
	len = fill(len, 'A', AT_LINE_MAX + 7);
	len = put(len, "\rx\r");
	run("overlong twice", bigin, len, 0, e, 3);
}
END_TEST

START_TEST(test_overlong_header)
{
	struct exp	e[] = { OVERLONG(bigline), LINE("hello"), OK };
	size_t		len;

	/* An overlong "+QIRD: 5   ..." must not start a payload. */
	len = put(0, "+QIRD: 5");
	len = fill(len, ' ', AT_LINE_MAX);
	memcpy(bigline, bigin, AT_LINE_MAX);
	bigline[AT_LINE_MAX] = '\0';
	len = put(len, "\r\nhello\r\n\r\nOK\r\n");
	run("overlong header", bigin, len, 0, e, nitems(e));
}
END_TEST

START_TEST(test_payload_max)
{
	static char	data[AT_PAYLOAD_MAX];
	struct exp	e[] = {
		{ AT_EV_PAYLOAD, AT_FINAL_NONE, -1, "+QIRD: 1500", data,
		    sizeof data },
		OK,
	};
	size_t		len, i;

	for (i = 0; i < sizeof data; i++)
		data[i] = "\r\nOK\r\n\0"[i % 7];
	len = put(0, "\r\n+QIRD: 1500\r\n");
	memcpy(bigin + len, data, sizeof data);
	len += sizeof data;
	len = put(len, "\r\n\r\nOK\r\n");
	run("payload of AT_PAYLOAD_MAX", bigin, len, 0, e, nitems(e));
}
END_TEST

START_TEST(test_parse_empty)
{
	struct at_parser	p;
	struct at_event		ev;

	at_parser_init(&p);
	ck_assert_uint_eq(at_parse(&p, (const uint8_t *)"", 0, &ev), 0);
	ck_assert_int_eq(ev.type, AT_EV_NONE);
}
END_TEST

START_TEST(test_set_push)
{
	struct at_parser	p;

	at_parser_init(&p);
	ck_assert_uint_eq(p.push_mask, 0);
	at_parser_set_push(&p, 0, true);
	at_parser_set_push(&p, 11, true);
	ck_assert_uint_eq(p.push_mask, 0x0801);
	at_parser_set_push(&p, -1, true);
	at_parser_set_push(&p, 12, true);
	at_parser_set_push(&p, 100, true);
	ck_assert_uint_eq(p.push_mask, 0x0801);
	at_parser_set_push(&p, 0, false);
	ck_assert_uint_eq(p.push_mask, 0x0800);
	at_parser_set_push(&p, 11, false);
	ck_assert_uint_eq(p.push_mask, 0);
}
END_TEST

/* Changing the mode between two recv URCs takes effect at once. */
START_TEST(test_push_switch)
{
	static const char	*in1 = "\r\n+QIURC: \"recv\",5,2\r\nab\r\n";
	struct at_parser	 p;
	struct at_event		 ev;
	size_t			 off = 0, len = strlen(in1);

	at_parser_init(&p);
	off += at_parse(&p, (const uint8_t *)in1, len, &ev);
	ck_assert_int_eq(ev.type, AT_EV_LINE);
	off += at_parse(&p, (const uint8_t *)in1 + off, len - off, &ev);
	ck_assert_int_eq(ev.type, AT_EV_LINE);
	ck_assert_str_eq(ev.line, "ab");

	at_parser_set_push(&p, 5, true);
	off = at_parse(&p, (const uint8_t *)in1, len, &ev);
	ck_assert_int_eq(ev.type, AT_EV_PAYLOAD);
	ck_assert_uint_eq(ev.data_len, 2);
	ck_assert(memcmp(ev.data, "ab", 2) == 0);
	ck_assert_str_eq(ev.line, "+QIURC: \"recv\",5,2");
	at_parse(&p, (const uint8_t *)in1 + off, len - off, &ev);
	ck_assert_int_eq(ev.type, AT_EV_NONE);
}
END_TEST

static const struct {
	const char	*line;
	bool		 urc;
} urcs[] = {
	{ "RDY", true },
	{ "APP RDY", true },
	{ "POWERED DOWN", true },
	{ "PSM POWER DOWN", true },
	{ "+CFUN: 1", true },
	{ "+CPIN: READY", true },
	{ "+QUSIM: 1", true },
	{ "+QIND: SMS DONE", true },
	{ "+QIND: \"csq\",20,99", true },
	{ "+QSIMSTAT: 1,1", true },
	{ "+CREG: 1", true },
	{ "+CGREG: 5", true },
	{ "+CEREG: 1,\"1A2B\",\"01A2B3C4\",8", true },
	{ "+CGEV: NW PDN DEACT 1", true },
	{ "+CTZV: +08", true },
	{ "+CTZE: \"+08\",0", true },
	{ "+QGPSURC: \"nmea\"", true },
	{ "+CMTI: \"SM\",1", true },
	{ "+QIURC: \"recv\",0", true },
	{ "+QIURC: \"closed\",3", true },
	{ "+QIURC: \"pdpdeact\",1", true },
	{ "+QIURC: \"incoming full\"", true },
	{ "+QIOPEN: 0,0", true },
	{ "+QPING: 0,4,4,0,173,823,397", true },
	{ "+QNTP: 0,\"2024/01/01,00:00:00+00\"", true },
	{ "OK", false },
	{ "ERROR", false },
	{ "+CME ERROR: 3", false },
	{ "SEND OK", false },
	{ "+QIRD: 5", false },
	{ "+QISTATE: 0,\"TCP\"", false },
	{ "+QISEND: 4,4,0", false },
	{ "+QIACT: 1,1,1,\"10.44.0.17\"", false },
	{ "+CSQ: 20,99", false },
	{ "AT", false },
	{ "RD", false },
	{ "+QIURC", false },
	{ " RDY", false },
	{ "", false },
};

/* A final result held for its LF can be taken as complete (at_flush). */
START_TEST(test_flush)
{
	struct at_parser	 p;
	struct at_event		 ev;
	const uint8_t		*in = (const uint8_t *)"\r\nOK\r";

	at_parser_init(&p);
	ck_assert(!at_final_pending(&p));
	ck_assert(!at_flush(&p, &ev));
	ck_assert_int_eq(ev.type, AT_EV_NONE);
	ck_assert_uint_eq(at_parse(&p, in, 5, &ev), 5);
	ck_assert_int_eq(ev.type, AT_EV_NONE);
	ck_assert(at_final_pending(&p));
	ck_assert(at_flush(&p, &ev));
	ck_assert_int_eq(ev.type, AT_EV_FINAL);
	ck_assert_int_eq(ev.final, AT_FINAL_OK);
	ck_assert_str_eq(ev.line, "OK");
	ck_assert(!at_final_pending(&p));
	/* The LF that comes late is an empty line: no event. */
	ck_assert_uint_eq(at_parse(&p, (const uint8_t *)"\n", 1, &ev), 1);
	ck_assert_int_eq(ev.type, AT_EV_NONE);
	ck_assert_uint_eq(at_parse(&p, (const uint8_t *)"\r\nERROR\r\n", 9,
	    &ev), 9);
	ck_assert_int_eq(ev.type, AT_EV_FINAL);
	ck_assert_int_eq(ev.final, AT_FINAL_ERROR);
}
END_TEST

/*
 * The framer takes its payload headers from every socket command family
 * (cmdfam.h): a family's read header and its push URC carry bytes, its
 * URCs are URCs.
 */
START_TEST(test_families)
{
	const struct cmdfam	*f;
	struct at_parser	 p;
	struct at_event		 ev;
	char			 in[128], line[64];
	size_t			 i, n, off;

	for (i = 0; (f = cmdfam_all[i]) != NULL; i++) {
		at_parser_init(&p);
		at_parser_set_push(&p, 2, true);
		n = (size_t)snprintf(in, sizeof(in), "\r\n%s 3\r\nab\n\r\n"
		    "OK\r\n%s \"recv\",2,2\r\nOK\r\n", f->read_hdr, f->urc);
		off = at_parse(&p, (const uint8_t *)in, n, &ev);
		ck_assert_int_eq(ev.type, AT_EV_PAYLOAD);
		snprintf(line, sizeof(line), "%s 3", f->read_hdr);
		ck_assert_str_eq(ev.line, line);
		ck_assert_uint_eq(ev.data_len, 3);
		ck_assert_int_eq(memcmp(ev.data, "ab\n", 3), 0);
		off += at_parse(&p, (const uint8_t *)in + off, n - off, &ev);
		ck_assert_int_eq(ev.type, AT_EV_FINAL);
		off += at_parse(&p, (const uint8_t *)in + off, n - off, &ev);
		ck_assert_int_eq(ev.type, AT_EV_PAYLOAD);
		ck_assert_uint_eq(ev.data_len, 2);
		ck_assert_int_eq(memcmp(ev.data, "OK", 2), 0);
		ck_assert(at_is_urc(ev.line));
		snprintf(line, sizeof(line), "%s 2,0", f->open_urc);
		ck_assert(at_is_urc(line));
	}
}
END_TEST

START_TEST(test_is_urc)
{
	ck_assert_msg(at_is_urc(urcs[_i].line) == urcs[_i].urc,
	    "at_is_urc(\"%s\") != %d", urcs[_i].line, urcs[_i].urc);
}
END_TEST

START_TEST(test_is_urc_null)
{
	ck_assert(!at_is_urc(NULL));
}
END_TEST

START_TEST(test_final_name)
{
	ck_assert_str_eq(at_final_name(AT_FINAL_NONE), "none");
	ck_assert_str_eq(at_final_name(AT_FINAL_OK), "OK");
	ck_assert_str_eq(at_final_name(AT_FINAL_ERROR), "ERROR");
	ck_assert_str_eq(at_final_name(AT_FINAL_CME_ERROR), "+CME ERROR");
	ck_assert_str_eq(at_final_name(AT_FINAL_CMS_ERROR), "+CMS ERROR");
	ck_assert_str_eq(at_final_name(AT_FINAL_SEND_OK), "SEND OK");
	ck_assert_str_eq(at_final_name(AT_FINAL_SEND_FAIL), "SEND FAIL");
	ck_assert_str_eq(at_final_name(AT_FINAL_CONNECT), "CONNECT");
	ck_assert_str_eq(at_final_name(AT_FINAL_NO_CARRIER), "NO CARRIER");
	ck_assert_str_eq(at_final_name((enum at_final)99), "unknown");
}
END_TEST

static Suite *
at_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("at");

	tc = tcase_create("framing");
	tcase_add_loop_test(tc, test_table, 0, nitems(cases));
	tcase_add_test(tc, test_line_max);
	tcase_add_test(tc, test_overlong);
	tcase_add_test(tc, test_overlong_twice);
	tcase_add_test(tc, test_overlong_header);
	tcase_add_test(tc, test_payload_max);
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_set_push);
	tcase_add_test(tc, test_push_switch);
	tcase_add_test(tc, test_flush);
	suite_add_tcase(s, tc);

	tc = tcase_create("classify");
	tcase_add_loop_test(tc, test_is_urc, 0, nitems(urcs));
	tcase_add_test(tc, test_families);
	tcase_add_test(tc, test_is_urc_null);
	tcase_add_test(tc, test_final_name);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(at_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
