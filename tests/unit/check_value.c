/* Unit tests of the configuration value syntax (config/value.c). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/topic.h"
#include "config/value.h"

struct dcase {
	const char	*in;
	int		 ok;
	uint64_t	 want;
};

static const struct dcase durations[] = {
	{ "0", 1, 0 }, { "500ms", 1, 500 }, { "1s", 1, 1000 }, { "1.5s", 1, 1500 },
	{ "5m", 1, 300000 }, { "2h", 1, 7200000 }, { "30d", 1, 2592000000ull },
	{ "1 sec", 0, 0 }, { "1sec", 0, 0 }, { "1", 0, 0 }, { "s", 0, 0 },
	{ "-1s", 0, 0 }, { "", 0, 0 }, { "1s ", 0, 0 }, { " 1s", 0, 0 },
	{ "1e3s", 0, 0 }, { "99999999999999999999d", 0, 0 }, { "1..2s", 0, 0 },
	{ "0.5ms", 1, 1 }, { "1S", 0, 0 }, { "10ms", 1, 10 },
};

START_TEST(test_duration)
{
	const struct dcase *c = &durations[_i];
	uint64_t v = 12345;
	int r = cfg_parse_duration(c->in, &v);

	ck_assert_msg((r == 0) == c->ok, "\"%s\": got %d", c->in, r);
	if (c->ok)
		ck_assert_uint_eq(v, c->want);
	else
		ck_assert_uint_eq(v, 12345);
}
END_TEST

static const struct dcase sizes[] = {
	{ "0", 1, 0 }, { "512", 1, 512 }, { "100B", 1, 100 }, { "64KiB", 1, 65536 },
	{ "512MiB", 1, 536870912ull }, { "1GiB", 1, 1073741824ull },
	{ "2TiB", 1, 2199023255552ull }, { "1.5KiB", 1, 1536 },
	{ "1MB", 0, 0 }, { "1 MiB", 0, 0 }, { "MiB", 0, 0 }, { "-1", 0, 0 },
	{ "1mib", 0, 0 }, { "", 0, 0 }, { "99999999TiB", 0, 0 },
};

START_TEST(test_size)
{
	const struct dcase *c = &sizes[_i];
	uint64_t v = 777;
	int r = cfg_parse_size(c->in, &v);

	ck_assert_msg((r == 0) == c->ok, "\"%s\": got %d", c->in, r);
	ck_assert_uint_eq(v, c->ok ? c->want : 777);
}
END_TEST

static const struct {
	const char	*in;
	int		 r, v;
} bools[] = {
	{ "true", 0, 1 }, { "True", 0, 1 }, { "TRUE", 0, 1 }, { "yes", 0, 1 },
	{ "on", 0, 1 }, { "ON", 0, 1 }, { "false", 0, 0 }, { "no", 0, 0 },
	{ "Off", 0, 0 }, { "tRUE", -1, 0 }, { "TrUe", -1, 0 }, { "1", -1, 0 },
	{ "y", -1, 0 }, { "", -1, 0 }, { "truee", -1, 0 },
};

START_TEST(test_bool)
{
	int v = 42;
	int r = cfg_parse_bool(bools[_i].in, &v);

	ck_assert_msg(r == bools[_i].r, "\"%s\": got %d", bools[_i].in, r);
	ck_assert_int_eq(v, r == 0 ? bools[_i].v : 42);
}
END_TEST

START_TEST(test_int)
{
	int64_t v = 0;

	ck_assert_int_eq(cfg_parse_int("502", 1, 65535, &v), 0);
	ck_assert_int_eq(v, 502);
	ck_assert_int_eq(cfg_parse_int("0x10", 0, 100, &v), 0);
	ck_assert_int_eq(v, 16);
	ck_assert_int_eq(cfg_parse_int("-3", -5, 5, &v), 0);
	ck_assert_int_eq(v, -3);
	ck_assert_int_eq(cfg_parse_int("65536", 1, 65535, &v), -1);
	ck_assert_int_eq(cfg_parse_int("0", 1, 65535, &v), -1);
	ck_assert_int_eq(cfg_parse_int("010", 0, 100, &v), -1);
	ck_assert_int_eq(cfg_parse_int("12abc", 0, 100, &v), -1);
	ck_assert_int_eq(cfg_parse_int(" 1", 0, 100, &v), -1);
	ck_assert_int_eq(cfg_parse_int("", 0, 100, &v), -1);
	ck_assert_int_eq(cfg_parse_int("99999999999999999999", 0, INT64_MAX, &v), -1);
	ck_assert_int_eq(v, -3);
}
END_TEST

START_TEST(test_double)
{
	double d = 0;

	ck_assert_int_eq(cfg_parse_double("0.1", &d), 0);
	ck_assert_double_eq(d, 0.1);
	ck_assert_int_eq(cfg_parse_double("-1e3", &d), 0);
	ck_assert_double_eq(d, -1000);
	ck_assert_int_eq(cfg_parse_double("nan", &d), -1);
	ck_assert_int_eq(cfg_parse_double("inf", &d), -1);
	ck_assert_int_eq(cfg_parse_double("1e999", &d), -1);
	ck_assert_int_eq(cfg_parse_double("1.2.3", &d), -1);
	ck_assert_int_eq(cfg_parse_double("", &d), -1);
	ck_assert_double_eq(d, -1000);
}
END_TEST

START_TEST(test_secret)
{
	char	 err[256] = "", path[] = "/tmp/fmq-secret-XXXXXX";
	char	*s;
	int	 fd;

	s = cfg_resolve_secret("plain", err, sizeof(err));
	ck_assert_str_eq(s, "plain");
	free(s);
	setenv("FMQ_TEST_SECRET", "s3cret", 1);
	s = cfg_resolve_secret("${env:FMQ_TEST_SECRET}", err, sizeof(err));
	ck_assert_str_eq(s, "s3cret");
	free(s);
	unsetenv("FMQ_TEST_UNSET");
	ck_assert_ptr_null(cfg_resolve_secret("${env:FMQ_TEST_UNSET}", err,
	    sizeof(err)));
	ck_assert_str_eq(err, "environment variable FMQ_TEST_UNSET is not set");
	ck_assert_ptr_null(cfg_resolve_secret("${vault:x}", err, sizeof(err)));
	ck_assert_str_eq(err, "unknown reference \"${vault:x}\" (use ${env:NAME} "
	    "or ${file:PATH})");

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "from-file\n", 10), 10);
	close(fd);
	{
		char ref[64];

		snprintf(ref, sizeof(ref), "${file:%s}", path);
		s = cfg_resolve_secret(ref, err, sizeof(err));
		ck_assert_str_eq(s, "from-file");
		free(s);
	}
	unlink(path);
	ck_assert_ptr_null(cfg_resolve_secret("${file:/nonexistent/x}", err,
	    sizeof(err)));
	ck_assert_str_eq(err, "cannot read /nonexistent/x: No such file or directory");
}
END_TEST

START_TEST(test_edit_distance)
{
	ck_assert_uint_eq(cfg_edit_distance("poll", "poll"), 0);
	ck_assert_uint_eq(cfg_edit_distance("pol", "poll"), 1);
	ck_assert_uint_eq(cfg_edit_distance("listners", "listeners"), 1);
	ck_assert_uint_eq(cfg_edit_distance("kitten", "sitting"), 3);
	ck_assert_uint_eq(cfg_edit_distance("", "abc"), 3);
}
END_TEST

static const struct {
	const char	*f;
	int		 ok;
} filters[] = {
	{ "a/b/c", 1 }, { "plant/+/+", 1 }, { "#", 1 }, { "a/#", 1 }, { "+", 1 },
	{ "/", 1 }, { "a//b", 1 }, { "+/+/#", 1 }, { "$SYS/#", 1 },
	{ "a/#/b", 0 }, { "a#", 0 }, { "a/b+", 0 }, { "+a", 0 }, { "", 0 },
	{ "##", 0 },
};

START_TEST(test_topic_filter)
{
	ck_assert_msg(topic_valid_filter(filters[_i].f, strlen(filters[_i].f)) ==
	    filters[_i].ok,
	    "\"%s\"", filters[_i].f);
}
END_TEST

START_TEST(test_identifier)
{
	ck_assert(cfg_valid_identifier("readings"));
	ck_assert(cfg_valid_identifier("_x1"));
	ck_assert(!cfg_valid_identifier("1x"));
	ck_assert(!cfg_valid_identifier("a-b"));
	ck_assert(!cfg_valid_identifier("x; DROP TABLE y"));
	ck_assert(!cfg_valid_identifier("sqlite_master"));
	ck_assert(!cfg_valid_identifier(""));
	ck_assert(!cfg_valid_identifier("a2345678901234567890123456789012345678901234567890123456789012345"));
}
END_TEST

static Suite *
value_suite(void)
{
	Suite	*s = suite_create("value");
	TCase	*tc;

	tc = tcase_create("duration");
	tcase_add_loop_test(tc, test_duration, 0, sizeof(durations) / sizeof(durations[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("size");
	tcase_add_loop_test(tc, test_size, 0, sizeof(sizes) / sizeof(sizes[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("bool");
	tcase_add_loop_test(tc, test_bool, 0, sizeof(bools) / sizeof(bools[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("numbers");
	tcase_add_test(tc, test_int);
	tcase_add_test(tc, test_double);
	suite_add_tcase(s, tc);
	tc = tcase_create("secret");
	tcase_add_test(tc, test_secret);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_edit_distance);
	tcase_add_loop_test(tc, test_topic_filter, 0, sizeof(filters) / sizeof(filters[0]));
	tcase_add_test(tc, test_identifier);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(value_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
