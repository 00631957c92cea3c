/*
 * test-cmdfam.c: the socket command family descriptor (src/cmdfam.c)
 * and the error table (src/errors.c).
 *
 * The builders must spell byte for byte what bg96d wrote before the
 * descriptor existed (the literals below), and a second family must be
 * expressible without code: a descriptor shaped like the SSL family's
 * gets its own commands from the same builders.
 */

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bg96d/cmdfam.h"
#include "bg96d/errors.h"
#include "bg96d/mline.h"
#include "bg96d/socksproto.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* What each command looked like as a literal in msock.c and modem.c. */
static const struct {
	const char	*want;
	int		 kind;		/* which builder */
	int		 id;
	size_t		 len;
	const char	*ip;
	int		 port;
} cmds[] = {
	{ "AT+QIRD=0", 'r', 0, 0, NULL, 0 },
	{ "AT+QIRD=11", 'r', 11, 0, NULL, 0 },
	{ "AT+QICLOSE=3,1", 'c', 3, 0, NULL, 1 },
	{ "AT+QICLOSE=11,10", 'c', 11, 0, NULL, 10 },
	{ "AT+QISEND=5,0", 'q', 5, 0, NULL, 0 },
	{ "AT+QISEND=4,1460", 's', 4, 1460, NULL, 0 },
	{ "AT+QISEND=0,1", 's', 0, 1, NULL, 0 },
	{ "AT+QISEND=9,12,\"10.0.0.2\",5353", 's', 9, 12, "10.0.0.2", 5353 },
	{ "AT+QISEND=2,3,\"2001:db8::1\",7", 's', 2, 3, "2001:db8::1", 7 },
};

START_TEST(test_builders)
{
	char	 buf[CMDFAM_CMD_MAX];
	int	 n = -1;

	switch (cmds[_i].kind) {
	case 'r':
		n = cmdfam_read(&cmdfam_qi, buf, sizeof(buf), cmds[_i].id);
		break;
	case 'c':
		n = cmdfam_close(&cmdfam_qi, buf, sizeof(buf), cmds[_i].id,
		    cmds[_i].port);
		break;
	case 'q':
		n = cmdfam_send_query(&cmdfam_qi, buf, sizeof(buf),
		    cmds[_i].id);
		break;
	case 's':
		n = cmdfam_send(&cmdfam_qi, buf, sizeof(buf), cmds[_i].id,
		    cmds[_i].len, cmds[_i].ip, cmds[_i].port);
		break;
	}
	ck_assert_str_eq(buf, cmds[_i].want);
	ck_assert_int_eq(n, (int)strlen(cmds[_i].want));
}
END_TEST

static const struct {
	const char		*want;
	struct cmdfam_open	 o;
} opens[] = {
	{ "AT+QIOPEN=1,11,\"TCP\",\"example.com\",80,0,0",
	    { 1, 11, "TCP", "example.com", 80, 0, 0, 0 } },
	{ "AT+QIOPEN=1,10,\"TCP\",\"93.184.216.34\",443,0,1",
	    { 1, 10, "TCP", "93.184.216.34", 443, 0, 1, 0 } },
	{ "AT+QIOPEN=2,0,\"UDP\",\"8.8.8.8\",53,0,0",
	    { 2, 0, "UDP", "8.8.8.8", 53, 0, 0, 0 } },
	{ "AT+QIOPEN=1,11,\"TCP LISTENER\",\"127.0.0.1\",0,8080,0",
	    { 1, 11, "TCP LISTENER", "127.0.0.1", 0, 8080, 0, 0 } },
	{ "AT+QIOPEN=16,5,\"UDP SERVICE\",\"127.0.0.1\",0,5000,1",
	    { 16, 5, "UDP SERVICE", "127.0.0.1", 0, 5000, 1, 0 } },
};

START_TEST(test_open)
{
	char	 buf[CMDFAM_CMD_MAX];
	int	 n;

	n = cmdfam_open(&cmdfam_qi, buf, sizeof(buf), &opens[_i].o);
	ck_assert_str_eq(buf, opens[_i].want);
	ck_assert_int_eq(n, (int)strlen(opens[_i].want));
}
END_TEST

/* The longest open fits: a 255-byte host (CONF_HOST_MAX) and every max. */
START_TEST(test_open_max)
{
	struct cmdfam_open	 o = { 16, 11, "TCP LISTENER", NULL, 65535,
				    65535, 2, 0 };
	char			 host[256], buf[CMDFAM_CMD_MAX];

	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	o.host = host;
	ck_assert_int_lt(cmdfam_open(&cmdfam_qi, buf, sizeof(buf), &o),
	    (int)sizeof(buf));
}
END_TEST

/* The names and prefixes the daemon matched as literals before. */
START_TEST(test_qi_names)
{
	ck_assert_str_eq(cmdfam_qi.state, "AT+QISTATE");
	ck_assert_str_eq(cmdfam_qi.urc, "+QIURC:");
	ck_assert_str_eq(cmdfam_qi.open_urc, "+QIOPEN:");
	ck_assert_str_eq(cmdfam_qi.read_hdr, "+QIRD:");
	ck_assert_str_eq(cmdfam_qi.send_hdr, "+QISEND:");
	ck_assert_str_eq(cmdfam_qi.state_hdr, "+QISTATE:");
	ck_assert_ptr_eq(cmdfam_all[0], &cmdfam_qi);
	ck_assert_ptr_null(cmdfam_all[1]);
}
END_TEST

/* A family shaped like the SSL one needs only a descriptor. */
static int
ssl_open_cmd(const struct cmdfam *f, char *buf, size_t size,
    const struct cmdfam_open *o)
{
	return snprintf(buf, size, "%s=%d,%d,%d,\"%s\",%d,%d", f->open,
	    o->context_id, o->ssl_context, o->id, o->host, o->port,
	    o->access_mode);
}

static const struct cmdfam ssl_like = {
	.name = "SSL",
	.open = "AT+QSSLOPEN",
	.send = "AT+QSSLSEND",
	.read = "AT+QSSLRECV",
	.close = "AT+QSSLCLOSE",
	.state = "AT+QSSLSTATE",
	.open_cmd = ssl_open_cmd,
	.read_len = 1500,
	.urc = "+QSSLURC:",
	.open_urc = "+QSSLOPEN:",
	.read_hdr = "+QSSLRECV:",
	.state_hdr = "+QSSLSTATE:",
};

START_TEST(test_second_family)
{
	struct cmdfam_open	 o = { 1, 4, NULL, "example.com", 443, 0, 0,
				    2 };
	char			 buf[CMDFAM_CMD_MAX];

	cmdfam_open(&ssl_like, buf, sizeof(buf), &o);
	ck_assert_str_eq(buf, "AT+QSSLOPEN=1,2,4,\"example.com\",443,0");
	cmdfam_read(&ssl_like, buf, sizeof(buf), 4);
	ck_assert_str_eq(buf, "AT+QSSLRECV=4,1500");
	cmdfam_send(&ssl_like, buf, sizeof(buf), 4, 100, NULL, 0);
	ck_assert_str_eq(buf, "AT+QSSLSEND=4,100");
	cmdfam_close(&ssl_like, buf, sizeof(buf), 4, 1);
	ck_assert_str_eq(buf, "AT+QSSLCLOSE=4,1");
	/* A prefix the family lacks matches nothing. */
	ck_assert_ptr_null(cmdfam_after("+QSSLSEND: 1,2,3",
	    ssl_like.send_hdr));
}
END_TEST

START_TEST(test_of_urc)
{
	ck_assert_ptr_eq(cmdfam_of_urc("+QIURC: \"closed\",3"), &cmdfam_qi);
	ck_assert_ptr_eq(cmdfam_of_urc("+QIOPEN: 3,0"), &cmdfam_qi);
	ck_assert_ptr_null(cmdfam_of_urc("+QIRD: 0"));
	ck_assert_ptr_null(cmdfam_of_urc("+CEREG: 1"));
	ck_assert_ptr_null(cmdfam_of_urc("+QIUR"));
	ck_assert_ptr_null(cmdfam_of_urc(""));
	ck_assert_ptr_eq(cmdfam_of_push("+QIURC: \"recv\",1,5"), &cmdfam_qi);
	ck_assert_ptr_null(cmdfam_of_push("+QIRD: 5"));
	ck_assert_ptr_null(cmdfam_of_push("+QIOPEN: 3,0"));
	ck_assert_str_eq(cmdfam_after("+QIRD: 5", "+QIRD:"), " 5");
	ck_assert_ptr_null(cmdfam_after("+QIRD: 5", NULL));
}
END_TEST

/* The line parser says which family a socket line came from. */
START_TEST(test_mline_fam)
{
	static const char *socket_lines[] = {
		"+QIURC: \"closed\",3", "+QIOPEN: 3,0", "+QIRD: 0",
		"+QISEND: 10,10,0",
		"+QISTATE: 0,\"TCP\",\"1.2.3.4\",80,0,2,1,0,0,\"uart1\"",
	};
	struct mline		 m;
	struct mline_data_hdr	 h;
	size_t			 i;

	for (i = 0; i < nitems(socket_lines); i++) {
		ck_assert_int_gt(mline_parse(socket_lines[i], &m),
		    MLINE_MALFORMED);
		ck_assert_ptr_eq(m.fam, &cmdfam_qi);
	}
	mline_parse("+CSQ: 20,99", &m);
	ck_assert_int_eq(m.kind, MLINE_CSQ);
	ck_assert_ptr_null(m.fam);
	mline_parse("+QIURC: \"no such\"", &m);
	ck_assert_int_eq(m.kind, MLINE_UNKNOWN);
	ck_assert_ptr_null(m.fam);
	ck_assert_int_eq(mline_parse_payload_header("+QIRD: 5", &h),
	    MLINE_DATA_HDR);
	ck_assert_ptr_eq(h.fam, &cmdfam_qi);
	ck_assert_int_eq(mline_parse_payload_header("+QIURC: \"recv\",1,5",
	    &h), MLINE_DATA_HDR);
	ck_assert_ptr_eq(h.fam, &cmdfam_qi);
	ck_assert_int_eq(mline_parse_payload_header("+QIRD: x", &h),
	    MLINE_MALFORMED);
	ck_assert_ptr_null(h.fam);
}
END_TEST

/* ---- errors.h ---- */

START_TEST(test_err_quectel)
{
	const struct err_info	*e;
	int			 code;

	/* Every code of reference section 9 has its own entry. */
	for (code = QERR_UNKNOWN; code <= QERR_PORT_BUSY; code++) {
		e = err_info(code);
		ck_assert_int_eq(e->code, code);
		ck_assert_ptr_nonnull(e->text);
		ck_assert_int_eq(strncmp(e->name, "QERR_", 5), 0);
		ck_assert_int_eq(e->context_lost, code == QERR_PDP_OPEN ||
		    code == QERR_PDP_BROKEN);
		ck_assert_int_eq(err_context_lost(code), e->context_lost);
		ck_assert_int_eq(e->retry == RETRY_CLOSE_SLOT,
		    code == QERR_ID_IN_USE);
	}
	ck_assert_str_eq(err_info(563)->name, "QERR_ID_IN_USE");
	ck_assert_str_eq(err_info(561)->name, "QERR_PDP_OPEN");
	ck_assert_str_eq(err_info(570)->name, "QERR_PDP_BROKEN");
}
END_TEST

START_TEST(test_err_own)
{
	static const int	 own[] = { ERR_OK, ERR_OPEN_TIMEOUT, ERR_MODEM,
				    ERR_INSTANCE, ERR_NO_SLOT, ERR_NOT_READY };
	size_t			 i;

	for (i = 0; i < nitems(own); i++) {
		ck_assert_int_eq(err_info(own[i])->code, own[i]);
		ck_assert_int_eq(strncmp(err_info(own[i])->name, "ERR_", 4), 0);
		ck_assert_int_eq(err_context_lost(own[i]), 0);
	}
	ck_assert_int_eq(err_info(ERR_MODEM)->retry, RETRY_MODEM);
	ck_assert_int_eq(err_info(ERR_OPEN_TIMEOUT)->retry, RETRY_NO);
}
END_TEST

/* README.md's socks.sock table: the reply a failed CONNECT gets. */
START_TEST(test_err_socks)
{
	int	 code;

	ck_assert_uint_eq(err_info(QERR_DNS_PARSE)->socks_rep, SOCKS_REP_HOST);
	ck_assert_uint_eq(err_info(QERR_CONNECT)->socks_rep,
	    SOCKS_REP_REFUSED);
	ck_assert_uint_eq(err_info(ERR_OPEN_TIMEOUT)->socks_rep,
	    SOCKS_REP_TTL);
	ck_assert_uint_eq(err_info(ERR_MODEM)->socks_rep, SOCKS_REP_NETWORK);
	ck_assert_uint_eq(err_info(QERR_PDP_OPEN)->socks_rep,
	    SOCKS_REP_NETWORK);
	ck_assert_uint_eq(err_info(QERR_PDP_BROKEN)->socks_rep,
	    SOCKS_REP_NETWORK);
	ck_assert_uint_eq(err_info(QERR_BUSY)->socks_rep, SOCKS_REP_FAILURE);
	/* "another modem error": every other Quectel code. */
	for (code = QERR_UNKNOWN; code <= QERR_PORT_BUSY; code++)
		if (code != QERR_PDP_OPEN && code != QERR_PDP_BROKEN &&
		    code != QERR_DNS_PARSE && code != QERR_CONNECT)
			ck_assert_uint_eq(err_info(code)->socks_rep,
			    SOCKS_REP_FAILURE);
}
END_TEST

/* An unknown code gets a generic entry, never NULL. */
START_TEST(test_err_unknown)
{
	static const int	 codes[] = { 1, 549, 575, 999, -99, 65535 };
	size_t			 i;

	for (i = 0; i < nitems(codes); i++) {
		ck_assert_str_eq(err_info(codes[i])->name, "ERR_UNKNOWN");
		ck_assert_int_eq(err_info(codes[i])->retry, RETRY_NO);
		ck_assert_int_eq(err_context_lost(codes[i]), 0);
		ck_assert_uint_eq(err_info(codes[i])->socks_rep,
		    SOCKS_REP_FAILURE);
	}
}
END_TEST

static Suite *
cmdfam_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("cmdfam");
	tc = tcase_create("cmdfam");
	tcase_add_loop_test(tc, test_builders, 0, nitems(cmds));
	tcase_add_loop_test(tc, test_open, 0, nitems(opens));
	tcase_add_test(tc, test_open_max);
	tcase_add_test(tc, test_qi_names);
	tcase_add_test(tc, test_second_family);
	tcase_add_test(tc, test_of_urc);
	tcase_add_test(tc, test_mline_fam);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_err_quectel);
	tcase_add_test(tc, test_err_own);
	tcase_add_test(tc, test_err_socks);
	tcase_add_test(tc, test_err_unknown);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(cmdfam_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
