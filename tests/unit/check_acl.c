/*
 * Unit tests of ACL files: tables of checks against two sample files
 * (users, anonymous clients, patterns, deny precedence, $SYS, hostile
 * client ids and usernames), of subscriptions, of filter coverage (also
 * checked against brute force over a universe of topics), and of
 * malformed files with the exact error.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/acl.h"
#include "broker/topic.h"
#include "util.h"

#define R	ACL_READ
#define W	ACL_WRITE

/* ---- sample files -------------------------------------------------- */

static const char sample[] =
	"# Anonymous clients: the lines before the first user line.\n"
	"topic read public/#\n"
	"topic readwrite anon/chat\n"
	"topic deny public/secret\n"
	"   topic read spaced/ws   \n"
	"\n"
	"user alice\n"
	"topic readwrite plant/#\n"
	"topic deny plant/hr/#\n"
	"topic read $SYS/broker/#\n"
	"topic write cmd/alice/+\n"
	"topic read sp ace/x\n"
	"topic\tread\ttabbed/x\r\n"
	"\n"
	"user bob\n"
	"topic read plant/line1/+\n"
	"topic write plant/line1/cmd\n"
	"\n"
	"user root\n"
	"topic #\n"
	"topic readwrite $SYS/#\n"
	"\n"
	"user carol\n"
	"# carol has patterns only\n"
	"\n"
	"user with space\n"
	"topic read ws/#\n"
	"\n"
	"# A second section for alice adds to the first.\n"
	"user alice\n"
	"topic read extra/alice\n"
	"\n"
	"# Patterns apply to everyone, wherever they stand.\n"
	"pattern readwrite dev/%c/#\n"
	"pattern read users/%u/#\n"
	"pattern deny dev/%c/locked\n"
	"pattern write status/%u/%c\n"
	"pattern read mixed/id-%c\n"
	"pattern read everyone/#\n";

/* No deny pattern: what hostile values are refused by patterns alone. */
static const char sample2[] =
	"pattern readwrite dev/%c/#\n"
	"pattern read %c/#\n"
	"pattern read inbox/%u\n"
	"user u\n"
	"topic read open/#\n";

struct check_row {
	const char	*cid;
	const char	*user;		/* NULL: anonymous */
	const char	*topic;
	int		 access;
	int		 want;
};

static const struct check_row rows[] = {
	/* Anonymous clients. */
	{ "anon1", NULL, "public/news", R, 1 },
	{ "anon1", NULL, "public/news", W, 0 },
	{ "anon1", NULL, "public", R, 1 },
	{ "anon1", NULL, "public/secret", R, 0 },
	{ "anon1", NULL, "public/secret", W, 0 },
	{ "anon1", NULL, "public/secret/x", R, 1 },
	{ "anon1", NULL, "anon/chat", R, 1 },
	{ "anon1", NULL, "anon/chat", W, 1 },
	{ "anon1", NULL, "anon/chat/x", W, 0 },
	{ "anon1", NULL, "spaced/ws", R, 1 },
	{ "anon1", NULL, "plant/line1/temp", R, 0 },
	{ "anon1", NULL, "dev/anon1/x", W, 1 },
	{ "anon1", NULL, "dev/anon1/locked", R, 0 },
	{ "anon1", NULL, "dev/anon2/x", W, 0 },
	{ "anon1", NULL, "users/anon1/x", R, 0 },	/* %u: no username */
	{ "anon1", NULL, "everyone/x", R, 1 },
	{ "anon1", NULL, "$SYS/broker/uptime", R, 0 },
	{ "anon1", NULL, "mixed/id-anon1", R, 1 },
	/* alice: her two sections and the patterns. */
	{ "a1", "alice", "plant/line1/temp", R, 1 },
	{ "a1", "alice", "plant/line1/temp", W, 1 },
	{ "a1", "alice", "plant", R, 1 },
	{ "a1", "alice", "plant/hr", R, 0 },
	{ "a1", "alice", "plant/hr/salaries", R, 0 },
	{ "a1", "alice", "plant/hr/salaries", W, 0 },
	{ "a1", "alice", "plant/hrx", R, 1 },
	{ "a1", "alice", "$SYS/broker/uptime", R, 1 },
	{ "a1", "alice", "$SYS/broker/uptime", W, 0 },
	{ "a1", "alice", "$SYS/other", R, 0 },
	{ "a1", "alice", "cmd/alice/x", W, 1 },
	{ "a1", "alice", "cmd/alice/x", R, 0 },
	{ "a1", "alice", "cmd/alice/x/y", W, 0 },
	{ "a1", "alice", "sp ace/x", R, 1 },
	{ "a1", "alice", "sp", R, 0 },
	{ "a1", "alice", "tabbed/x", R, 1 },
	{ "a1", "alice", "extra/alice", R, 1 },
	{ "a1", "alice", "public/news", R, 0 },	/* anonymous only */
	{ "a1", "alice", "users/alice/inbox", R, 1 },
	{ "a1", "alice", "users/alice/inbox", W, 0 },
	{ "a1", "alice", "users/bob/inbox", R, 0 },
	{ "a1", "alice", "dev/a1/x", W, 1 },
	{ "a1", "alice", "dev/a1", W, 1 },
	{ "a1", "alice", "dev/a2/x", W, 0 },
	{ "a1", "alice", "dev/a1/locked", R, 0 },
	{ "a1", "alice", "dev/a1/locked", W, 0 },
	{ "a1", "alice", "dev/a1/locked/x", W, 1 },
	{ "a1", "alice", "status/alice/a1", W, 1 },
	{ "a1", "alice", "status/alice/a1", R, 0 },
	{ "a1", "alice", "status/alice/a2", W, 0 },
	{ "a1", "alice", "status/bob/a1", W, 0 },
	{ "a1", "alice", "mixed/id-a1", R, 1 },
	{ "a1", "alice", "mixed/id-a2", R, 0 },
	{ "a1", "alice", "mixed/a1", R, 0 },
	{ "a1", "alice", "everyone/x", R, 1 },
	{ "a1", "Alice", "plant/line1/temp", R, 0 },	/* exact names */
	/* bob. */
	{ "b1", "bob", "plant/line1/temp", R, 1 },
	{ "b1", "bob", "plant/line1/temp", W, 0 },
	{ "b1", "bob", "plant/line1/cmd", W, 1 },
	{ "b1", "bob", "plant/line1/cmd", R, 1 },
	{ "b1", "bob", "plant/line2/temp", R, 0 },
	{ "b1", "bob", "plant/line1/a/b", R, 0 },
	{ "b1", "bob", "plant/line1", R, 0 },
	/* root: "#" is not $SYS; the deny pattern beats "#". */
	{ "r", "root", "anything/at/all", R, 1 },
	{ "r", "root", "anything/at/all", W, 1 },
	{ "r", "root", "$SYS/broker/x", R, 1 },
	{ "r", "root", "$other/x", R, 0 },
	{ "r", "root", "dev/r/locked", R, 0 },
	{ "r", "root", "dev/x/locked", R, 1 },
	/* carol: patterns only; an unknown user likewise. */
	{ "c1", "carol", "users/carol/x", R, 1 },
	{ "c1", "carol", "plant/x", R, 0 },
	{ "c1", "carol", "dev/c1/x", W, 1 },
	{ "d1", "dave", "users/dave/x", R, 1 },
	{ "d1", "dave", "public/news", R, 0 },
	{ "d1", "dave", "dev/d1/x", W, 1 },
	{ "w1", "with space", "ws/x", R, 1 },
	{ "w1", "with", "ws/x", R, 0 },
	/* A value that is not usable in the deny pattern refuses all. */
	{ "+", "carol", "users/carol/x", R, 0 },
	{ "#", "carol", "users/carol/x", R, 0 },
	{ "a/b", "alice", "plant/line1/temp", R, 0 },
	{ "", "alice", "plant/line1/temp", R, 0 },
	{ NULL, "alice", "plant/line1/temp", R, 0 },
	{ "$SYS", "alice", "plant/line1/temp", R, 0 },
	{ "%c", "alice", "plant/line1/temp", R, 1 },
	/* Bad requests. */
	{ "a1", "alice", "plant/+", R, 0 },
	{ "a1", "alice", "plant/#", W, 0 },
	{ "a1", "alice", "", R, 0 },
	{ "a1", "alice", "plant/x", 0, 0 },
	{ "a1", "alice", "plant/x", R | W, 0 },
};

/* Hostile values against sample2, which has no deny pattern. */
static const struct check_row rows2[] = {
	{ "a", NULL, "dev/a/b/x", W, 1 },
	{ "a/b", NULL, "dev/a/b/x", W, 0 },	/* mosquitto: allowed */
	{ "a/b", NULL, "a/b/x", R, 0 },
	{ "+", NULL, "dev/x/y", W, 0 },
	{ "#", NULL, "dev/x", W, 0 },
	{ "#", NULL, "x", R, 0 },
	{ "a+", NULL, "dev/a+/x", W, 0 },
	{ "", NULL, "dev//x", W, 0 },
	{ NULL, NULL, "dev/x", W, 0 },
	{ "$SYS", NULL, "$SYS/broker/uptime", R, 0 },
	{ "$SYS", NULL, "dev/$SYS/x", W, 0 },
	{ "sys", NULL, "sys/broker/uptime", R, 1 },
	{ "x$", NULL, "x$/y", R, 1 },
	/* A value is put in once, never expanded again. */
	{ "%u", "bob", "dev/bob/x", W, 0 },
	{ "%u", "bob", "dev/%u/x", W, 1 },
	{ "c", "%c", "inbox/c", R, 0 },
	{ "c", "%c", "inbox/%c", R, 1 },
	{ "c", "u", "inbox/u", R, 1 },
	{ "c", "u", "inbox/u/x", R, 0 },
	{ "c", "a/b", "inbox/a/b", R, 0 },
	{ "c", "+", "inbox/x", R, 0 },
	{ "c", "", "inbox/", R, 0 },
	/* Own rules still apply when a grant pattern's value is unusable. */
	{ "+", "u", "open/x", R, 1 },
	{ "+", "u", "dev/x/y", W, 0 },
};

struct sub_row {
	const char	*cid;
	const char	*user;
	const char	*filter;
	int		 want;
};

static const struct sub_row subs[] = {
	{ "a1", "alice", "plant/#", 1 },
	{ "a1", "alice", "plant/line1/temp", 1 },
	{ "a1", "alice", "plant/+/temp", 1 },
	{ "a1", "alice", "plant/hr/#", 0 },	/* a deny covers it */
	{ "a1", "alice", "plant/hr/x", 0 },
	{ "a1", "alice", "plant/+", 1 },	/* plant/hr: at delivery */
	{ "a1", "alice", "#", 1 },		/* filtered at delivery */
	{ "a1", "alice", "+/line1", 1 },	/* plant/line1 */
	{ "a1", "alice", "$SYS/broker/+", 1 },
	{ "a1", "alice", "$SYS/broker/#", 1 },
	{ "a1", "alice", "$SYS/#", 1 },	/* $SYS/broker/... */
	{ "a1", "alice", "cmd/alice/x", 0 },	/* write only */
	{ "a1", "alice", "users/alice/#", 1 },
	{ "a1", "alice", "users/+/inbox", 1 },	/* users/alice/inbox */
	{ "a1", "alice", "dev/a1/#", 1 },
	{ "a1", "alice", "dev/a1/locked", 0 },
	{ "a1", "alice", "dev/+/x", 1 },	/* dev/a1/x */
	{ "a1", "alice", "everyone/#", 1 },
	{ "b1", "bob", "plant/line1/+", 1 },
	{ "b1", "bob", "plant/line1/#", 1 },	/* plant/line1/+ */
	{ "b1", "bob", "plant/line1/temp", 1 },
	{ "b1", "bob", "plant/line1/cmd", 1 },
	{ "r", "root", "#", 1 },
	{ "r", "root", "+/x", 1 },
	{ "r", "root", "$SYS/#", 1 },
	{ "r", "root", "dev/r/#", 1 },
	{ "r", "root", "dev/r/locked", 0 },
	{ "anon1", NULL, "public/#", 1 },
	{ "anon1", NULL, "public/secret", 0 },
	{ "anon1", NULL, "public/+", 1 },
	{ "anon1", NULL, "anon/chat", 1 },
	{ "anon1", NULL, "#", 1 },		/* public/... */
	{ "anon1", NULL, "plant/#", 0 },	/* nothing readable */
	{ "a1", "alice", "cmd/#", 0 },		/* write only */
	{ "a1", "alice", "$SYS/other/#", 0 },
	/* Hostile client ids get nothing more. */
	{ "+", "carol", "dev/+/#", 0 },
	{ "#", "carol", "#", 0 },
	{ "#", "carol", "users/carol/#", 0 },
	{ "a/b", "carol", "dev/a/b/#", 0 },
	/* Invalid filters. */
	{ "a1", "alice", "plant/#/x", 0 },
	{ "a1", "alice", "plant/a+", 0 },
	{ "a1", "alice", "", 0 },
};

struct cover_row {
	const char	*rule;
	const char	*sub;
	int		 want;
};

static const struct cover_row covers[] = {
	{ "a/#", "a", 1 },
	{ "a/#", "a/#", 1 },
	{ "a/#", "a/b/+", 1 },
	{ "a/#", "a/+/#", 1 },
	{ "a/#", "a/", 1 },
	{ "a/#", "#", 0 },
	{ "a/#", "+", 0 },
	{ "a/#", "ab", 0 },
	{ "a/+", "a/#", 0 },
	{ "a/+", "a/b", 1 },
	{ "a/+", "a/+", 1 },
	{ "a/+", "a/", 1 },
	{ "a/+", "a", 0 },
	{ "a/+", "a/b/c", 0 },
	{ "a/+", "a/+/c", 0 },
	{ "a/+/#", "a/#", 0 },
	{ "a/+/#", "a/b/#", 1 },
	{ "a/+/#", "a/+", 1 },
	{ "a/+/#", "a", 0 },
	{ "+", "$SYS", 0 },
	{ "+", "$SYS/x", 0 },
	{ "#", "$SYS/x", 0 },
	{ "#", "$SYS/#", 0 },
	{ "#", "$", 0 },
	{ "+/#", "$SYS/x", 0 },
	{ "+/+", "$SYS/x", 0 },
	{ "$SYS/#", "$SYS/+", 1 },
	{ "$SYS/#", "$SYS", 1 },
	{ "$SYS/#", "$SYS/#", 1 },
	{ "$SYS/+", "$SYS/#", 0 },
	{ "$SYS/#", "#", 0 },
	{ "$SYS/#", "+/x", 0 },
	{ "a/$x", "a/$x", 1 },
	{ "a/+", "a/$x", 1 },
	{ "#", "#", 1 },
	{ "#", "+", 1 },
	{ "#", "+/+/#", 1 },
	{ "#", "a", 1 },
	{ "#", "/", 1 },
	{ "+/#", "#", 1 },	/* every topic has a first level */
	{ "+/#", "+", 1 },
	{ "+/#", "a/#", 1 },
	{ "+/+/#", "#", 0 },
	{ "+/+/#", "+/#", 0 },
	{ "+", "+", 1 },
	{ "+", "#", 0 },
	{ "+", "a", 1 },
	{ "+", "a/b", 0 },
	{ "+", "/", 0 },
	{ "+/+", "a/+", 1 },
	{ "+/+", "/", 1 },
	{ "+/+", "+/#", 0 },
	{ "a/b", "a/b", 1 },
	{ "a/b", "a/+", 0 },
	{ "a/b", "a/#", 0 },
	{ "a/b/c", "a/b", 0 },
	{ "a/b", "a/b/c", 0 },
	{ "+/b", "a/+", 0 },
	{ "a/+/c", "a/+/c", 1 },
	{ "a/+/c", "a/b/c", 1 },
	{ "a//b", "a/+/b", 0 },
	{ "a/+/b", "a//b", 1 },
	{ "/#", "/", 1 },
	{ "/#", "/+", 1 },
	{ "/#", "+", 0 },
	{ "/+/#", "/#", 1 },	/* "" is no topic: "/#" has no parent */
	{ "/+", "/", 1 },
	{ "a", "A", 0 },
	{ "sp ace/+", "sp ace/x", 1 },
};

struct bad_case {
	const char	*name;
	const char	*text;
	const char	*want;
	size_t		 len;	/* 0: strlen(text) */
};

static const struct bad_case bad_cases[] = {
	{ "unknown keyword", "frob x\n",
	  "acl:1: unknown keyword \"frob\" (want user, topic or pattern)" },
	{ "keyword case", "TOPIC read a\n",
	  "acl:1: unknown keyword \"TOPIC\" (want user, topic or pattern)" },
	{ "keyword glued", "usera\n",
	  "acl:1: unknown keyword \"usera\" (want user, topic or pattern)" },
	{ "topic alone", "topic\n",
	  "acl:1: missing topic filter after \"topic\"" },
	{ "topic and blanks", "topic \t \n",
	  "acl:1: missing topic filter after \"topic\"" },
	{ "pattern alone", "pattern\n",
	  "acl:1: missing topic filter after \"pattern\"" },
	{ "access without filter", "topic read\n",
	  "acl:1: missing topic filter after \"read\"" },
	{ "deny without filter", "user a\npattern deny  \r\n",
	  "acl:2: missing topic filter after \"deny\"" },
	{ "access case", "topic Read a\n",
	  "acl:1: unknown access \"Read\" (want read, write, readwrite or "
	  "deny)" },
	{ "filter with a space, no access", "topic foo bar\n",
	  "acl:1: unknown access \"foo\" (want read, write, readwrite or "
	  "deny)" },
	{ "subscribe is no access word", "topic subscribe a/#\n",
	  "acl:1: unknown access \"subscribe\" (want read, write, readwrite or "
	  "deny)" },
	{ "bad filter", "topic read a/#/b\n",
	  "acl:1: invalid topic filter \"a/#/b\"" },
	{ "bad filter, one word", "topic a+\n",
	  "acl:1: invalid topic filter \"a+\"" },
	{ "bad pattern", "pattern write dev/%c+\n",
	  "acl:1: invalid topic filter \"dev/%c+\"" },
	{ "bad pattern hash", "pattern write %c#\n",
	  "acl:1: invalid topic filter \"%c#\"" },
	{ "user alone", "user\n", "acl:1: missing username after \"user\"" },
	{ "user and blanks", "user   \n",
	  "acl:1: missing username after \"user\"" },
	{ "NUL", "topic read a\0b\n", "acl:1: NUL byte in the line", 15 },
	{ "line numbers", "# c\r\nuser a\r\n\r\n  topic read x\r\n"
	  "# topic bad\ntopic bad a\r\n",
	  "acl:6: unknown access \"bad\" (want read, write, readwrite or "
	  "deny)" },
	{ "last line without newline", "topic read a\ntopic read #/",
	  "acl:2: invalid topic filter \"#/\"" },
};

/* ---- helpers ------------------------------------------------------- */

static struct acl *
load(const char *text)
{
	struct acl	*a;
	char		 err[512] = "";

	a = acl_load_buf("acl", text, strlen(text), err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	return a;
}

static void
check_row(const struct acl *a, const struct check_row *r)
{
	ck_assert_msg(acl_check(a, r->cid, r->user, r->topic, strlen(r->topic),
	    r->access) == r->want, "client \"%s\" user \"%s\" %s \"%s\": "
	    "want %d", r->cid ? r->cid : "(null)",
	    r->user ? r->user : "(null)", r->access == R ? "read" :
	    r->access == W ? "write" : "?", r->topic, r->want);
}

/* ---- tests --------------------------------------------------------- */

START_TEST(test_check)
{
	struct acl	*a = load(sample);

	check_row(a, &rows[_i]);
	acl_free(a);
}
END_TEST

START_TEST(test_check2)
{
	struct acl	*a = load(sample2);

	check_row(a, &rows2[_i]);
	acl_free(a);
}
END_TEST

START_TEST(test_subscribe)
{
	const struct sub_row	*r = &subs[_i];
	struct acl		*a = load(sample);

	ck_assert_msg(acl_check_subscribe(a, r->cid, r->user, r->filter,
	    strlen(r->filter)) == r->want, "client \"%s\" user \"%s\" "
	    "subscribe \"%s\": want %d", r->cid, r->user ? r->user : "(null)",
	    r->filter, r->want);
	acl_free(a);
}
END_TEST

START_TEST(test_covers)
{
	const struct cover_row	*r = &covers[_i];

	ck_assert(topic_valid_filter(r->rule, strlen(r->rule)));
	ck_assert(topic_valid_filter(r->sub, strlen(r->sub)));
	ck_assert_msg(acl_filter_covers(r->rule, strlen(r->rule), r->sub,
	    strlen(r->sub)) == r->want, "\"%s\" covers \"%s\": want %d",
	    r->rule, r->sub, r->want);
}
END_TEST

/* Builds every string of 1..maxlevels levels over alpha into out. */
static size_t
build(const char *const *alpha, size_t na, int maxlevels, char (*out)[32],
    size_t cap, int filters)
{
	size_t	 n = 0, idx[4], i, total, k;
	int	 levels, l;
	char	 buf[32];

	for (levels = 1; levels <= maxlevels; levels++) {
		for (total = 1, l = 0; l < levels; l++)
			total *= na;
		for (k = 0; k < total; k++) {
			size_t	 v = k, len = 0;

			for (l = 0; l < levels; l++) {
				idx[l] = v % na;
				v /= na;
			}
			for (l = 0; l < levels; l++)
				len += (size_t)snprintf(buf + len,
				    sizeof(buf) - len, "%s%s", l ? "/" : "",
				    alpha[idx[l]]);
			if (len == 0 || (filters ?
			    !topic_valid_filter(buf, len) :
			    !topic_valid_name(buf, len)))
				continue;
			for (i = 0; i < n && strcmp(out[i], buf) != 0; i++)
				;
			if (i < n)
				continue;
			ck_assert_uint_lt(n, cap);
			memcpy(out[n++], buf, len + 1);
		}
	}
	return n;
}

/*
 * acl_filter_covers agrees with brute force for every pair of filters of
 * up to 3 levels: rule covers sub iff no topic of up to 4 levels (with a
 * level neither filter names) is matched by sub and not by rule.
 */
START_TEST(test_covers_brute)
{
	static const char *const falpha[] = { "a", "$s", "", "+", "#" };
	static const char *const talpha[] = { "a", "$s", "", "q" };
	char		(*f)[32] = xcalloc(512, sizeof(*f));
	char		(*t)[32] = xcalloc(512, sizeof(*t));
	size_t		 nf, nt, i, j, k, flen, rlen, ncov = 0;
	int		 want;

	nf = build(falpha, FMQ_NELEM(falpha), 3, f, 512, 1);
	nt = build(talpha, FMQ_NELEM(talpha), 4, t, 512, 0);
	ck_assert_uint_gt(nf, 50);
	ck_assert_uint_gt(nt, 300);
	for (i = 0; i < nf; i++) {
		rlen = strlen(f[i]);
		for (j = 0; j < nf; j++) {
			flen = strlen(f[j]);
			want = 1;
			for (k = 0; k < nt && want; k++)
				if (topic_match(f[j], flen, t[k],
				    strlen(t[k])) && !topic_match(f[i], rlen,
				    t[k], strlen(t[k])))
					want = 0;
			ncov += want;
			ck_assert_msg(acl_filter_covers(f[i], rlen, f[j],
			    flen) == want, "\"%s\" covers \"%s\": want %d",
			    f[i], f[j], want);
		}
		/* On topic names it is topic_match. */
		for (k = 0; k < nt; k++)
			ck_assert_int_eq(acl_filter_covers(f[i], rlen, t[k],
			    strlen(t[k])), topic_match(f[i], rlen, t[k],
			    strlen(t[k])));
	}
	ck_assert_uint_gt(ncov, nf);
	free(f);
	free(t);
}
END_TEST

/*
 * acl_filter_overlaps agrees with brute force: two filters of up to 3
 * levels overlap iff some topic of up to 4 levels matches both.
 */
START_TEST(test_overlaps_brute)
{
	static const char *const falpha[] = { "a", "$s", "", "+", "#" };
	static const char *const talpha[] = { "a", "$s", "", "q" };
	char		(*f)[32] = xcalloc(512, sizeof(*f));
	char		(*t)[32] = xcalloc(512, sizeof(*t));
	size_t		 nf, nt, i, j, k, alen, blen, nover = 0;
	int		 want;

	nf = build(falpha, FMQ_NELEM(falpha), 3, f, 512, 1);
	nt = build(talpha, FMQ_NELEM(talpha), 4, t, 512, 0);
	for (i = 0; i < nf; i++) {
		alen = strlen(f[i]);
		for (j = 0; j < nf; j++) {
			blen = strlen(f[j]);
			want = 0;
			for (k = 0; k < nt && !want; k++)
				want = topic_match(f[i], alen, t[k],
				    strlen(t[k])) && topic_match(f[j], blen,
				    t[k], strlen(t[k]));
			nover += want;
			ck_assert_msg(acl_filter_overlaps(f[i], alen, f[j],
			    blen) == want, "\"%s\" overlaps \"%s\": want %d",
			    f[i], f[j], want);
		}
	}
	ck_assert_uint_gt(nover, nf);
	ck_assert_uint_lt(nover, nf * nf);
	free(f);
	free(t);
}
END_TEST

START_TEST(test_bad)
{
	const struct bad_case	*c = &bad_cases[_i];
	struct acl		*a;
	char			 err[512] = "";

	a = acl_load_buf("acl", c->text, c->len ? c->len : strlen(c->text),
	    err, sizeof(err));
	ck_assert_msg(a == NULL, "%s: loaded", c->name);
	ck_assert_msg(strcmp(err, c->want) == 0, "%s:\n got: %s\nwant: %s",
	    c->name, err, c->want);
}
END_TEST

/* Empty and comment-only lists refuse everything (CVE-2018-12550). */
START_TEST(test_empty)
{
	static const char *const texts[] = { "", "\n\n", "# nothing\n  # x\n" };
	struct acl	*a;
	size_t		 i;

	for (i = 0; i < FMQ_NELEM(texts); i++) {
		a = load(texts[i]);
		ck_assert_int_eq(acl_check(a, "c", NULL, "a", 1, R), 0);
		ck_assert_int_eq(acl_check(a, "c", "u", "a", 1, W), 0);
		ck_assert_int_eq(acl_check_subscribe(a, "c", "u", "#", 1), 0);
		acl_free(a);
	}
	acl_free(NULL);
}
END_TEST

/* Blanks: the filter after an access word is the rest of the line. */
START_TEST(test_blanks)
{
	struct acl	*a;

	a = load("user u\r\ntopic readwrite  two  spaces \r\n"
	    "topic write\tx\ty\n\tpattern read %u\n");

	ck_assert_int_eq(acl_check(a, "c", "u", "two  spaces", 11, R), 1);
	ck_assert_int_eq(acl_check(a, "c", "u", "two spaces", 10, R), 0);
	ck_assert_int_eq(acl_check(a, "c", "u", "two  spaces ", 12, R), 0);
	ck_assert_int_eq(acl_check(a, "c", "u", "x\ty", 3, W), 1);
	ck_assert_int_eq(acl_check(a, "c", "u", "u", 1, R), 1);
	ck_assert_int_eq(acl_check(a, "c", "v", "v", 1, R), 1);
	ck_assert_int_eq(acl_check(a, "c", "v", "u", 1, R), 0);
	acl_free(a);
}
END_TEST

/* Only len bytes of a topic count. */
START_TEST(test_lengths)
{
	struct acl	*a = load("topic read a/b\n");

	ck_assert_int_eq(acl_check(a, "c", NULL, "a/bc", 3, R), 1);
	ck_assert_int_eq(acl_check(a, "c", NULL, "a/bc", 4, R), 0);
	ck_assert_int_eq(acl_check_subscribe(a, "c", NULL, "a/b#", 3), 1);
	acl_free(a);
}
END_TEST

/* Filters, lines and expansions at their limits. */
START_TEST(test_limits)
{
	struct acl	*a;
	char		 err[512] = "", want[256], *text, *cid;
	size_t		 n;

	/* A filter of 65535 bytes loads; 65536 does not. */
	text = xmalloc(ACL_LINE_MAX + 64);
	n = (size_t)sprintf(text, "topic read ");
	memset(text + n, 'a', 65535);
	text[n + 65535] = '\n';
	a = acl_load_buf("acl", text, n + 65536, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(acl_check(a, "c", NULL, text + n, 65535, R), 1);
	ck_assert_int_eq(acl_check(a, "c", NULL, text + n, 65534, R), 0);
	acl_free(a);
	text[n + 65535] = 'a';
	text[n + 65536] = '\n';
	ck_assert_ptr_null(acl_load_buf("acl", text, n + 65537, err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "acl:1: invalid topic filter \"%.64s\"...",
	    text + n);
	ck_assert_str_eq(err, want);

	/* A line of ACL_LINE_MAX bytes is read, one more is refused. */
	memset(text, ' ', ACL_LINE_MAX + 1);
	text[0] = '#';
	ck_assert_ptr_nonnull(a = acl_load_buf("acl", text, ACL_LINE_MAX, err,
	    sizeof(err)));
	acl_free(a);
	ck_assert_ptr_null(acl_load_buf("acl", text, ACL_LINE_MAX + 1, err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "acl:1: line longer than %d bytes",
	    ACL_LINE_MAX);
	ck_assert_str_eq(err, want);
	free(text);

	/* A long client id expands on the heap. */
	cid = xmalloc(5001);
	memset(cid, 'c', 5000);
	cid[5000] = '\0';
	a = load("pattern readwrite dev/%c/%c/#\n");
	text = xasprintf("dev/%s/%s/x", cid, cid);
	ck_assert_int_eq(acl_check(a, cid, NULL, text, strlen(text), W), 1);
	ck_assert_int_eq(acl_check(a, cid, NULL, text, strlen(text) - 2, W),
	    1);
	ck_assert_int_eq(acl_check(a, cid, NULL, text, strlen(text) - 3, W),
	    0);
	ck_assert_int_eq(acl_check(a, "c", NULL, text, strlen(text), W), 0);
	ck_assert_int_eq(acl_check_subscribe(a, cid, NULL, text,
	    strlen(text)), 1);
	free(text);
	free(cid);
	acl_free(a);
}
END_TEST

START_TEST(test_load_file)
{
	char		 dir[] = "/tmp/fmq-check-acl-XXXXXX", err[512] = "";
	char		*path, *want;
	struct acl	*a;
	size_t		 i, lines;
	int		 fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/acl", dir);
	ck_assert_ptr_null(acl_load(path, err, sizeof(err)));
	want = xasprintf("%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
	free(want);
	ck_assert_ptr_null(acl_load(dir, err, sizeof(err)));
	want = xasprintf("%s: not a regular file", dir);
	ck_assert_str_eq(err, want);
	free(want);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, sample, sizeof(sample) - 1),
	    (ssize_t)sizeof(sample) - 1);
	ck_assert_int_eq(write(fd, "user x\ntopic x y z\n", 19), 19);
	close(fd);
	ck_assert_ptr_null(acl_load(path, err, sizeof(err)));
	for (i = 0, lines = 0; i < sizeof(sample) - 1; i++)
		lines += sample[i] == '\n';
	want = xasprintf("%s:%zu: unknown access \"x\" (want read, write, "
	    "readwrite or deny)", path, lines + 2);
	ck_assert_str_eq(err, want);
	free(want);

	ck_assert_int_eq(truncate(path, sizeof(sample) - 1), 0);
	a = acl_load(path, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(acl_check(a, "a1", "alice", "plant/x", 7, W), 1);
	acl_free(a);

	ck_assert_int_eq(truncate(path, ACL_FILE_MAX + 1), 0);
	ck_assert_ptr_null(acl_load(path, err, sizeof(err)));
	want = xasprintf("%s: larger than 16 MiB", path);
	ck_assert_str_eq(err, want);
	free(want);
	unlink(path);
	rmdir(dir);
	free(path);
}
END_TEST

static Suite *
acl_suite(void)
{
	Suite	*s = suite_create("acl");
	TCase	*tc;

	tc = tcase_create("check");
	tcase_add_loop_test(tc, test_check, 0, (int)FMQ_NELEM(rows));
	tcase_add_loop_test(tc, test_check2, 0, (int)FMQ_NELEM(rows2));
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_blanks);
	tcase_add_test(tc, test_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("subscribe");
	tcase_add_loop_test(tc, test_subscribe, 0, (int)FMQ_NELEM(subs));
	tcase_add_test(tc, test_overlaps_brute);
	suite_add_tcase(s, tc);

	tc = tcase_create("covers");
	tcase_add_loop_test(tc, test_covers, 0, (int)FMQ_NELEM(covers));
	tcase_add_test(tc, test_covers_brute);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_bad, 0, (int)FMQ_NELEM(bad_cases));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(acl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
