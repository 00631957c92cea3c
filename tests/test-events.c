/*
 * test-events.c: a subscriber's bounded queue (events.c): order, the
 * bound, the count of dropped events and where the gap is, and the
 * shared messages' references.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/events.h"

static struct evmsg *
msg(int i)
{
	char	 buf[32];
	int	 n = snprintf(buf, sizeof(buf), "{\"n\":%d}\n", i);

	return evmsg_new(buf, (size_t)n);
}

static int
msg_n(const struct evmsg *m)
{
	return atoi(m->data + 5);
}

START_TEST(test_order)
{
	struct evq		 q;
	struct evmsg		*m;
	unsigned long long	 gap;
	int			 i, round;

	evq_init(&q);
	ck_assert_ptr_null(evq_pop(&q, &gap));
	/* Several rounds: the ring wraps. */
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 100; i++) {
			m = msg(round * 100 + i);
			ck_assert(evq_push(&q, m));
			ck_assert_int_eq(m->refs, 2);
			evmsg_unref(m);
		}
		for (i = 0; i < 100; i++) {
			m = evq_pop(&q, &gap);
			ck_assert_ptr_nonnull(m);
			ck_assert_int_eq(msg_n(m), round * 100 + i);
			ck_assert_int_eq(gap, 0);
			ck_assert_int_eq(m->refs, 1);
			evmsg_unref(m);
		}
		ck_assert_ptr_null(evq_pop(&q, &gap));
	}
	ck_assert_int_eq(evq_take_dropped(&q), 0);
}
END_TEST

START_TEST(test_bound)
{
	struct evq		 q;
	struct evmsg		*m;
	unsigned long long	 gap;
	int			 i;

	evq_init(&q);
	for (i = 0; i < EVENTS_QUEUE_MAX + 1000; i++) {
		m = msg(i);
		ck_assert(evq_push(&q, m) == (i < EVENTS_QUEUE_MAX));
		/* A dropped event is not kept: only the caller holds it. */
		ck_assert_int_eq(m->refs, i < EVENTS_QUEUE_MAX ? 2 : 1);
		evmsg_unref(m);
	}
	ck_assert_int_eq(q.n, EVENTS_QUEUE_MAX);
	ck_assert_int_eq(q.dropped, 1000);
	ck_assert_int_eq(q.dropped_total, 1000);
	/* Room for two: the gap goes with the first event after it. */
	for (i = 0; i < 2; i++) {
		m = evq_pop(&q, &gap);
		ck_assert_int_eq(msg_n(m), i);
		ck_assert_int_eq(gap, 0);
		evmsg_unref(m);
	}
	m = msg(5000);
	ck_assert(evq_push(&q, m));
	evmsg_unref(m);
	m = msg(5001);
	ck_assert(evq_push(&q, m));
	evmsg_unref(m);
	m = msg(5002);
	ck_assert(!evq_push(&q, m));	/* full again */
	evmsg_unref(m);
	for (i = 2; i < EVENTS_QUEUE_MAX; i++) {
		m = evq_pop(&q, &gap);
		ck_assert_int_eq(msg_n(m), i);
		ck_assert_int_eq(gap, 0);
		evmsg_unref(m);
	}
	m = evq_pop(&q, &gap);
	ck_assert_int_eq(msg_n(m), 5000);
	ck_assert_int_eq(gap, 1000);
	evmsg_unref(m);
	m = evq_pop(&q, &gap);
	ck_assert_int_eq(msg_n(m), 5001);
	ck_assert_int_eq(gap, 0);
	evmsg_unref(m);
	ck_assert_ptr_null(evq_pop(&q, &gap));
	/* The drop after the last queued event is told when empty. */
	ck_assert_int_eq(evq_take_dropped(&q), 1);
	ck_assert_int_eq(evq_take_dropped(&q), 0);
	ck_assert_int_eq(q.dropped_total, 1001);
}
END_TEST

/* One message in many queues; the last reference frees it. */
START_TEST(test_shared)
{
	struct evq		 q[4];
	struct evmsg		*m = msg(7), *p;
	unsigned long long	 gap;
	int			 i;

	for (i = 0; i < 4; i++) {
		evq_init(&q[i]);
		ck_assert(evq_push(&q[i], m));
	}
	ck_assert_int_eq(m->refs, 5);
	evmsg_unref(m);
	p = evq_pop(&q[0], &gap);
	ck_assert_ptr_eq(p, m);
	evmsg_unref(p);
	ck_assert_int_eq(m->refs, 3);
	for (i = 1; i < 4; i++)
		evq_clear(&q[i]);	/* the last one frees it (ASan, valgrind) */
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(q[i].n, 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc = tcase_create("evq");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_shared);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
