/*
 * test-log.c: log.c writes every message as one escaped line, and
 * log_escape() output (already escaped) passes through unchanged.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg96d/log.h"

/* Run one log call with stderr sent to a file; return what it wrote. */
static char *
capture(void (*fn)(void *), void *arg)
{
	static char	 out[65536];
	FILE		*f = tmpfile();
	int		 saved;
	size_t		 n;

	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	fn(arg);
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static void
info_s(void *arg)
{
	log_info("modem: %s", (const char *)arg);
}

static const struct {
	const char	*in;
	const char	*out;
} cases[] = {
	{ "plain text", "modem: plain text\n" },
	{ "-> ready", "modem: -> ready\n" },
	{ "a\r\nb", "modem: a\\r\\nb\n" },
	{ "tab\there", "modem: tab\\there\n" },
	{ "\x1b[2J\x07", "modem: \\x1b[2J\\x07\n" },
	{ "del\x7f", "modem: del\\x7f\n" },
	{ "\xc3\xa9\xff\x80", "modem: \\xc3\\xa9\\xff\\x80\n" },
	{ "fake\nmodem: ready", "modem: fake\\nmodem: ready\n" },
	/* Already escaped text (log_escape output) is kept readable. */
	{ "\\r\\n\\x01 and a \\\\ backslash",
	    "modem: \\r\\n\\x01 and a \\\\ backslash\n" },
	{ "+QIURC: \"recv\",1", "modem: +QIURC: \"recv\",1\n" },
};

START_TEST(test_escape_all)
{
	log_init(LOG_DEBUG);
	ck_assert_str_eq(capture(info_s, (void *)cases[_i].in), cases[_i].out);
}
END_TEST

static void
warnx_long(void *arg)
{
	static char	 big[5000];

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
}

/* A message of nothing but line ends stays one line, cut, escaped. */
START_TEST(test_long)
{
	const char	*out;
	size_t		 n;

	log_init(LOG_DEBUG);
	out = capture(warnx_long, NULL);
	n = strlen(out);
	ck_assert_uint_eq(n, 2 * 2047 + 1);
	ck_assert(out[n - 1] == '\n');
	ck_assert_ptr_eq(strchr(out, '\n'), out + n - 1);
}
END_TEST

static void
via_escape(void *arg)
{
	char	 esc[32];
	const char *payload = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	log_debug("slot 1: %s", log_escape(esc, sizeof(esc), payload,
	    strlen(payload)));
}

START_TEST(test_log_escape_callers)
{
	log_init(LOG_DEBUG);
	ck_assert_str_eq(capture(via_escape, NULL),
	    "slot 1: GET / HTTP/1.1\\r\\nHost: x\\r...\n");
}
END_TEST

static void
below_level(void *arg)
{
	log_debug("not shown\n");
}

START_TEST(test_level)
{
	log_init(LOG_INFO);
	ck_assert_str_eq(capture(below_level, NULL), "");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("escape");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, test_escape_all, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_long);
	tcase_add_test(tc, test_log_escape_callers);
	tcase_add_test(tc, test_level);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
