/* Unit tests of the serial-line pattern code (drivers/serial.c). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "drivers/serial.h"

static const struct {
	const char	*pattern;
	int		 ok;
	size_t		 ngroups;
	const char	*why;
} compiles[] = {
	{ "T=(?<temperature>[0-9.]+)", 1, 1, NULL },
	{ "T=(?P<t>[0-9.]+) H=(?P<h>[0-9]+)", 1, 2, NULL },
	{ "(a)(?<x>b)\\((?<y>c)[(]", 1, 2, NULL },
	{ "[]a(](?<z>d)", 1, 1, NULL },
	{ "T=([0-9.]+)", 0, 0, "no named group such as (?<temperature>[0-9.]+)" },
	{ "T=(?:x)", 0, 0, "\"(?\" must start a named group such as (?<name>...)" },
	{ "(?<>x)", 0, 0, "\"(?\" must start a named group such as (?<name>...)" },
	{ "(?<a>[0-9", 0, 0, NULL },
	/* Found by fuzz_serial: glibc took gigabytes for "(]++++...)". */
	{ "T=(?<t>]++++++++++++++++++++++++++)", 0, 0,
	  "two quantifiers in a row at character 10" },
	{ "(?<t>a*?)", 0, 0, "two quantifiers in a row at character 8" },
	{ "(?<t>a{2}+)", 0, 0, "two quantifiers in a row at character 10" },
	{ "(?<t>\\++)", 1, 1, NULL },
};

START_TEST(test_compile)
{
	struct sline_pattern	p;
	char			why[200] = "";
	int			r = sline_pattern_compile(&p, compiles[_i].pattern,
	    why, sizeof(why));

	ck_assert_msg((r == 0) == compiles[_i].ok, "%s: %d %s",
	    compiles[_i].pattern, r, why);
	if (r == 0) {
		ck_assert_uint_eq(p.ngroups, compiles[_i].ngroups);
		sline_pattern_free(&p);
	} else if (compiles[_i].why != NULL)
		ck_assert_str_eq(why, compiles[_i].why);
}
END_TEST

struct got {
	char	text[512];
};

static void
collect(const char *name, const struct drv_value *v, void *arg)
{
	struct got	*g = arg;
	char		 val[600];
	size_t		 n = strlen(g->text);

	drv_value_json(v, val, sizeof(val));
	snprintf(g->text + n, sizeof(g->text) - n, "%s%s=%s", n ? " " : "",
	    name, val);
}

static const struct {
	const char	*pattern;
	const char	*line;
	int		 n;
	const char	*want;
} matches[] = {
	{ "T=(?<t>-?[0-9.]+) H=(?<h>[0-9]+) ID=(?<id>[A-Z0-9]+)",
	  "T=21.5 H=40 ID=S1", 3, "t=21.5 h=40 id=\"S1\"" },
	{ "T=(?<t>-?[0-9.]+)", "T=-3", 1, "t=-3" },
	{ "T=(?<t>[^ ]*)", "T=abc", 1, "t=\"abc\"" },
	{ "T=(?<t>[0-9.]+)( H=(?<h>[0-9]+))?", "T=1.5", 1, "t=1.5" },
	{ "(a)(?<x>b)\\((?<y>c)", "ab(c", 2, "x=\"b\" y=\"c\"" },
	{ "T=(?<t>[0-9.]+)", "nothing here", -1, "" },
	{ "V=(?<v>.*)", "V=\"quoted\"", 1, "v=\"\\\"quoted\\\"\"" },
};

START_TEST(test_match)
{
	struct sline_pattern	p;
	struct got		g = { "" };
	char			why[200];

	ck_assert_int_eq(sline_pattern_compile(&p, matches[_i].pattern, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(sline_match(&p, matches[_i].line, collect, &g),
	    matches[_i].n);
	ck_assert_str_eq(g.text, matches[_i].want);
	sline_pattern_free(&p);
}
END_TEST

static Suite *
serial_suite(void)
{
	Suite	*s = suite_create("serial");
	TCase	*tc = tcase_create("pattern");

	tcase_add_loop_test(tc, test_compile, 0, sizeof(compiles) / sizeof(compiles[0]));
	tcase_add_loop_test(tc, test_match, 0, sizeof(matches) / sizeof(matches[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(serial_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
