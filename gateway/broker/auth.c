/*
 * Password files in mosquitto_passwd's format: parsing, checking a
 * password against a user's entry, hashing a new entry, and replacing one
 * line of a file atomically. The file's text is parsed into an array of
 * entries sorted by username; each entry remembers where its line was, so
 * auth_set_user can rewrite one line and keep the rest byte for byte.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "broker/auth.h"
#include "util.h"

#define KEY_LEN		64	/* SHA-512's output, PBKDF2's key */
#define B64_MAX		88	/* base64 of 64 bytes: the longest */
#define ERRNO_MAX	128

enum hash_type {
	HASH_SHA512,		/* $6$ */
	HASH_PBKDF2		/* $7$ */
};

/* One user of the file. */
struct entry {
	char		*user;
	size_t		 user_len;
	enum hash_type	 type;
	unsigned	 iterations;	/* HASH_PBKDF2 only */
	size_t		 salt_len;
	unsigned char	 salt[AUTH_SALT_MAX];
	unsigned char	 key[KEY_LEN];
	size_t		 lineno;
	size_t		 off;		/* the line in the text, */
	size_t		 end;		/* its newline included */
};

struct auth_db {
	struct entry	*v;		/* sorted by user, then line */
	size_t		 n;
	struct entry	 dummy;		/* for unknown users */
};

/* ---- small helpers ------------------------------------------------- */

static void	 seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Decodes padded base64 strictly: a multiple of 4 characters of the
 * standard alphabet, '=' only as the last one or two. Returns the number
 * of bytes, -1 if s is not base64, or -2 if it holds more than cap bytes.
 */
static int
b64_decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
	unsigned char	 tmp[B64_MAX / 4 * 3];
	size_t		 i, pad = 0;
	int		 n;

	if (len == 0 || len % 4 != 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (c == '=' && i + 2 >= len &&
		    (i + 1 == len || s[i + 1] == '='))
			pad++;
		else if (pad > 0 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/'))
			return -1;
	}
	if (len / 4 * 3 - pad > cap || len > B64_MAX)
		return -2;
	n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3)
		return -1;
	n -= (int)pad;
	memcpy(out, tmp, (size_t)n);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return n;
}

/* Derives the key of password under e's hash type, salt and iterations. */
static int
derive(const struct entry *e, const void *password, size_t len,
    unsigned char key[KEY_LEN])
{
	EVP_MD_CTX	*ctx;
	unsigned int	 klen = 0;
	int		 ok;

	if (password == NULL)
		password = "";
	if (len > INT_MAX)
		return -1;
	if (e->type == HASH_PBKDF2)
		return PKCS5_PBKDF2_HMAC(password, (int)len, e->salt,
		    (int)e->salt_len, (int)e->iterations, EVP_sha512(), KEY_LEN,
		    key) == 1 ? 0 : -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, password, len) == 1 &&
	    EVP_DigestUpdate(ctx, e->salt, e->salt_len) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &klen) == 1 && klen == KEY_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* ---- parsing ------------------------------------------------------- */

static int
valid_user(const char *s, size_t len, const char **why)
{
	size_t	 i;

	*why = NULL;
	if (len == 0)
		*why = "empty username";
	else if (len > AUTH_USER_MAX)
		*why = "username longer than 65535 bytes";
	else if (s[0] == '#')
		*why = "username starts with '#'";
	else if (s[0] == ' ' || s[len - 1] == ' ')
		*why = "username starts or ends with a space";
	for (i = 0; *why == NULL && i < len; i++) {
		if (s[i] == ':')
			*why = "':' in the username";
		else if (is_control((unsigned char)s[i]))
			*why = "control character in the username";
	}
	return *why == NULL;
}

int
auth_valid_user(const char *user)
{
	const char	*why;

	return user != NULL && valid_user(user, strlen(user), &why);
}

/* Reads the ITERATIONS of a $7$ hash: decimal, 1..AUTH_ITERATIONS_MAX. */
static int
parse_iterations(const char *s, size_t len, unsigned *out, const char **why)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0) {
		*why = "empty iteration count";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*why = "iteration count is not a number";
			return -1;
		}
		/* Stops growing once too large: no overflow. */
		if (v <= AUTH_ITERATIONS_MAX)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0) {
		*why = "iteration count 0";
		return -1;
	}
	if (v > AUTH_ITERATIONS_MAX) {
		*why = "iteration count above 10000000";
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Parses the hash after "user:" into e; writes why on failure. */
static int
parse_hash(const char *s, size_t len, struct entry *e, char *why,
    size_t whysz)
{
	const char	*p, *end = s + len, *d1, *d2, *msg = NULL;
	int		 n;

	if (len >= 3 && memcmp(s, "$7$", 3) == 0) {
		e->type = HASH_PBKDF2;
		p = s + 3;
		if ((d1 = memchr(p, '$', (size_t)(end - p))) == NULL) {
			seterr(why, whysz, "malformed hash (want "
			    "$7$ITERATIONS$SALT$KEY)");
			return -1;
		}
		if (parse_iterations(p, (size_t)(d1 - p), &e->iterations,
		    &msg) == -1) {
			seterr(why, whysz, "%s", msg);
			return -1;
		}
		p = d1 + 1;
	} else if (len >= 3 && memcmp(s, "$6$", 3) == 0) {
		e->type = HASH_SHA512;
		p = s + 3;
	} else {
		/* Name a "$N$" prefix, never echo what may be a password. */
		if (len >= 3 && s[0] == '$' && (d1 = memchr(s + 1, '$',
		    len - 1 < 4 ? len - 1 : 4)) != NULL)
			seterr(why, whysz, "unknown hash type \"%.*s\" (want "
			    "$6$ or $7$)", (int)(d1 - s + 1), s);
		else
			seterr(why, whysz, "unknown hash type (want $6$ or "
			    "$7$; a plain-text password?)");
		return -1;
	}
	d2 = memchr(p, '$', (size_t)(end - p));
	if (d2 == NULL || memchr(d2 + 1, '$', (size_t)(end - d2 - 1)) != NULL) {
		seterr(why, whysz, "malformed hash (want %s)",
		    e->type == HASH_PBKDF2 ? "$7$ITERATIONS$SALT$KEY" :
		    "$6$SALT$KEY");
		return -1;
	}
	if (d2 == p) {
		seterr(why, whysz, "empty salt");
		return -1;
	}
	n = b64_decode(p, (size_t)(d2 - p), e->salt, sizeof(e->salt));
	if (n == -2) {
		seterr(why, whysz, "salt longer than %d bytes", AUTH_SALT_MAX);
		return -1;
	}
	if (n <= 0) {
		seterr(why, whysz, "bad base64 in the salt");
		return -1;
	}
	e->salt_len = (size_t)n;
	p = d2 + 1;
	n = b64_decode(p, (size_t)(end - p), e->key, sizeof(e->key));
	if (n == -1) {
		seterr(why, whysz, "bad base64 in the key");
		return -1;
	}
	if (n == -2) {
		seterr(why, whysz, "key longer than %d bytes", KEY_LEN);
		return -1;
	}
	if (n != KEY_LEN) {
		seterr(why, whysz, "key is %d bytes (want %d)", n, KEY_LEN);
		return -1;
	}
	return 0;
}

/*
 * Parses one line (without its newline) into e, pointing *userp at the
 * username in s. Returns 1 for an entry, 0 for a blank line or a comment,
 * -1 with why for a bad line.
 */
static int
parse_line(const char *s, size_t len, struct entry *e, const char **userp,
    char *why, size_t whysz)
{
	const char	*colon, *msg;
	size_t		 ulen;

	if (memchr(s, '\0', len) != NULL) {
		seterr(why, whysz, "NUL byte in the line");
		return -1;
	}
	while (len > 0 && (is_blank(s[len - 1]) || s[len - 1] == '\r'))
		len--;
	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	if (len == 0 || s[0] == '#')
		return 0;
	if ((colon = memchr(s, ':', len)) == NULL) {
		seterr(why, whysz, "missing ':' between username and hash");
		return -1;
	}
	ulen = (size_t)(colon - s);
	while (ulen > 0 && is_blank(s[ulen - 1]))
		ulen--;
	if (!valid_user(s, ulen, &msg)) {
		seterr(why, whysz, "%s", msg);
		return -1;
	}
	*userp = s;
	e->user_len = ulen;
	len -= (size_t)(colon + 1 - s);
	s = colon + 1;
	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	if (len == 0) {
		seterr(why, whysz, "empty hash");
		return -1;
	}
	return parse_hash(s, len, e, why, whysz) == -1 ? -1 : 1;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;
	size_t			 n;
	int			 c;

	n = x->user_len < y->user_len ? x->user_len : y->user_len;
	c = memcmp(x->user, y->user, n);

	if (c != 0)
		return c;
	if (x->user_len != y->user_len)
		return x->user_len < y->user_len ? -1 : 1;
	return x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}

/* Returns the entry of user, or NULL. */
static const struct entry *
lookup(const struct auth_db *db, const char *user, size_t len)
{
	size_t	 lo = 0, hi = db->n, mid, n;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		n = len < db->v[mid].user_len ? len : db->v[mid].user_len;
		if ((c = memcmp(user, db->v[mid].user, n)) == 0)
			c = len < db->v[mid].user_len ? -1 :
			    len > db->v[mid].user_len;
		if (c == 0)
			return &db->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
same_user(const struct entry *a, const struct entry *b)
{
	return a->user_len == b->user_len &&
	    memcmp(a->user, b->user, a->user_len) == 0;
}

static int
unsigned_cmp(const void *a, const void *b)
{
	unsigned	 x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/*
 * Sets up the entry unknown users are derived against: the hash type and
 * iteration count most entries have (the higher on a tie), a random salt
 * and key. An empty file gets a cheap SHA-512 entry: no user to hide.
 */
static void
make_dummy(struct auth_db *db)
{
	struct entry	*d = &db->dummy;
	unsigned	*cost, best = 0;
	size_t		 i, run, bestrun = 0;

	d->type = HASH_SHA512;
	d->salt_len = AUTH_SALT_LEN;
	if (RAND_bytes(d->salt, AUTH_SALT_LEN) != 1 ||
	    RAND_bytes(d->key, KEY_LEN) != 1)
		memset(d->key, 0xa5, KEY_LEN);
	if (db->n == 0)
		return;
	/* The cost of an entry: its iteration count, 0 for SHA-512. */
	cost = xreallocarray(NULL, db->n, sizeof(*cost));
	for (i = 0; i < db->n; i++)
		cost[i] = db->v[i].type == HASH_PBKDF2 ?
		    db->v[i].iterations : 0;
	qsort(cost, db->n, sizeof(*cost), unsigned_cmp);
	for (i = 0, run = 0; i < db->n; i++) {
		run = i > 0 && cost[i] == cost[i - 1] ? run + 1 : 1;
		if (run >= bestrun) {
			bestrun = run;
			best = cost[i];
		}
	}
	free(cost);
	if (best > 0) {
		d->type = HASH_PBKDF2;
		d->iterations = best;
	}
}

struct auth_db *
auth_load_buf(const char *name, const char *text, size_t len, char *err,
    size_t errsz)
{
	struct auth_db	*db = xcalloc(1, sizeof(*db));
	struct entry	 e;
	char		 why[128];
	const char	*nl;
	const char	*user;
	size_t		 off = 0, end, ll, lineno = 0, cap = 0, i, first;
	size_t		 dup = 0, dupfirst = 0;
	int		 r;

	while (off < len) {
		nl = memchr(text + off, '\n', len - off);
		ll = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		end = off + ll + (nl != NULL);
		lineno++;
		if (ll > AUTH_LINE_MAX) {
			seterr(err, errsz, "%s:%zu: line longer than %d bytes",
			    name, lineno, AUTH_LINE_MAX);
			goto fail;
		}
		memset(&e, 0, sizeof(e));
		r = parse_line(text + off, ll, &e, &user, why, sizeof(why));
		if (r < 0) {
			seterr(err, errsz, "%s:%zu: %s", name, lineno, why);
			goto fail;
		}
		if (r > 0) {
			e.user = xstrndup(user, e.user_len);
			e.lineno = lineno;
			e.off = off;
			e.end = end;
			if (db->n == cap) {
				cap = cap ? cap * 2 : 16;
				db->v = xreallocarray(db->v, cap,
				    sizeof(*db->v));
			}
			db->v[db->n++] = e;
		}
		off = end;
	}
	if (db->n > 0)
		qsort(db->v, db->n, sizeof(*db->v), entry_cmp);
	/* Sorted by user then line: report the earliest repeated line. */
	for (i = 1, first = 0; i < db->n; i++) {
		if (!same_user(&db->v[i], &db->v[i - 1])) {
			first = i;
			continue;
		}
		if (dup == 0 || db->v[i].lineno < db->v[dup].lineno) {
			dup = i;
			dupfirst = first;
		}
	}
	if (dup > 0) {
		seterr(err, errsz, "%s:%zu: user \"%.*s\" appears twice (first "
		    "on line %zu)", name, db->v[dup].lineno,
		    db->v[dup].user_len > 64 ? 64 : (int)db->v[dup].user_len,
		    db->v[dup].user, db->v[dupfirst].lineno);
		goto fail;
	}
	make_dummy(db);
	return db;
fail:
	OPENSSL_cleanse(&e, sizeof(e));
	auth_free(db);
	return NULL;
}

struct auth_db *
auth_load(const char *path, char *err, size_t errsz)
{
	struct auth_db	*db;
	struct stat	 st;
	char		*text;
	size_t		 len;

	if (read_file_max(path, AUTH_FILE_MAX, &text, &len, &st, err, errsz) == -1)
		return NULL;
	db = auth_load_buf(path, text, len, err, errsz);
	free(text);
	return db;
}

void
auth_free(struct auth_db *db)
{
	size_t	 i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++)
		free(db->v[i].user);
	if (db->v != NULL)
		OPENSSL_cleanse(db->v, db->n * sizeof(*db->v));
	free(db->v);
	OPENSSL_cleanse(db, sizeof(*db));
	free(db);
}

size_t
auth_count(const struct auth_db *db)
{
	return db->n;
}

/* ---- checking and hashing ------------------------------------------ */

int
auth_check(const struct auth_db *db, const char *user, const void *password,
    size_t len)
{
	const struct entry	*e = NULL, *use;
	unsigned char		 key[KEY_LEN];
	int			 same = 0;

	if (user != NULL)
		e = lookup(db, user, strlen(user));
	use = e != NULL ? e : &db->dummy;
	/* The same work whether or not the user exists. */
	if (derive(use, password, len, key) == 0)
		same = CRYPTO_memcmp(key, use->key, KEY_LEN) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	return e != NULL && same;
}

int
auth_hash_line(const char *user, const char *password, unsigned iterations,
    char *out, size_t outsz)
{
	struct entry	 e;
	char		 salt64[B64_MAX + 1], key64[B64_MAX + 1];
	int		 n, rc = -1;

	if (!auth_valid_user(user) || iterations < 1 ||
	    iterations > AUTH_ITERATIONS_MAX)
		return -1;
	if (password == NULL)
		password = "";
	memset(&e, 0, sizeof(e));
	e.type = HASH_PBKDF2;
	e.iterations = iterations;
	e.salt_len = AUTH_SALT_LEN;
	if (RAND_bytes(e.salt, AUTH_SALT_LEN) != 1 ||
	    derive(&e, password, strlen(password), e.key) == -1)
		goto done;
	EVP_EncodeBlock((unsigned char *)salt64, e.salt, AUTH_SALT_LEN);
	EVP_EncodeBlock((unsigned char *)key64, e.key, KEY_LEN);
	n = snprintf(out, outsz, "%s:$7$%u$%s$%s", user, iterations, salt64,
	    key64);
	if (n >= 0 && (size_t)n < outsz)
		rc = 0;
	else if (outsz > 0)
		out[0] = '\0';
done:
	OPENSSL_cleanse(&e, sizeof(e));
	return rc;
}

/* ---- rewriting the file -------------------------------------------- */

/* Writes all of buf to fd. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces target with data: a temporary file in the same directory,
 * written, synced and renamed over it, then the directory synced. The new
 * file gets old's mode and owner, or mode 0600 if old is NULL.
 */
static int
replace_file(const char *target, const char *data, size_t len,
    const struct stat *old, const char *name, char *err, size_t errsz)
{
	char		 ebuf[ERRNO_MAX];
	const char	*slash = strrchr(target, '/'), *what;
	char		*dir, *tmp;
	int		 fd, dfd, rc = -1;

	if (slash == NULL)
		dir = xstrdup(".");
	else
		dir = xstrndup(target, slash == target ? 1 : (size_t)(slash -
		    target));
	tmp = xasprintf("%s/.%s.XXXXXX", dir, slash != NULL ? slash + 1 :
	    target);
	if ((fd = mkstemp(tmp)) == -1) {
		seterr(err, errsz, "%s: cannot create %s: %s", name, tmp,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	what = "cannot keep the owner";
	if (old != NULL && (old->st_uid != geteuid() ||
	    old->st_gid != getegid()) &&
	    fchown(fd, old->st_uid, old->st_gid) == -1)
		goto fail;
	what = "cannot set the mode";
	if (fchmod(fd, old != NULL ? old->st_mode & 07777 : 0600) == -1)
		goto fail;
	what = "cannot write";
	if (write_all(fd, data, len) == -1)
		goto fail;
	what = "cannot sync";
	if (fsync(fd) == -1)
		goto fail;
	what = "cannot close";
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "cannot rename the new file into place";
	if (rename(tmp, target) == -1)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		seterr(err, errsz, "%s: written, but cannot sync %s: %s", name,
		    dir, strerror_r(errno, ebuf, sizeof(ebuf)));
		if (dfd != -1)
			close(dfd);
		goto out;
	}
	close(dfd);
	rc = 0;
	goto out;
fail:
	seterr(err, errsz, "%s: %s: %s", name, what,
	    strerror_r(errno, ebuf, sizeof(ebuf)));
	if (fd != -1)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dir);
	return rc;
}

int
auth_set_user(const char *path, const char *user, const char *password,
    unsigned iterations, char *err, size_t errsz)
{
	char		 ebuf[ERRNO_MAX];
	struct auth_db	*db = NULL;
	const struct entry *e;
	struct stat	 st;
	char		*target, *text = NULL, *line = NULL, *out = NULL;
	size_t		 len = 0, linesz, ll, olen;
	int		 exists = 1, rc = -1;

	if (!auth_valid_user(user)) {
		seterr(err, errsz, "%s: not a valid username (1 to 65535 "
		    "bytes, no ':' or control characters, not starting with "
		    "'#' or a space, not ending with a space)", path);
		return -1;
	}
	if (iterations < 1 || iterations > AUTH_ITERATIONS_MAX) {
		seterr(err, errsz, "%s: iteration count %u is not in 1..%u",
		    path, iterations, AUTH_ITERATIONS_MAX);
		return -1;
	}
	/* A symbolic link stays; the file it points to is replaced. */
	if ((target = realpath(path, NULL)) == NULL) {
		if (errno != ENOENT) {
			seterr(err, errsz, "%s: %s", path,
			    strerror_r(errno, ebuf, sizeof(ebuf)));
			return -1;
		}
		target = xstrdup(path);
		exists = 0;
	}
	if (exists && read_file_max(target, AUTH_FILE_MAX, &text, &len, &st, err, errsz) == -1)
		goto done;
	if ((db = auth_load_buf(path, text != NULL ? text : "", len, err,
	    errsz)) == NULL)
		goto done;
	linesz = strlen(user) + 128;
	line = xmalloc(linesz);
	if (auth_hash_line(user, password, iterations, line, linesz) == -1) {
		seterr(err, errsz, "%s: cannot hash the password", path);
		goto done;
	}
	ll = strlen(line);
	out = xmalloc(len + ll + 2);
	if ((e = lookup(db, user, strlen(user))) != NULL) {
		memcpy(out, text, e->off);
		memcpy(out + e->off, line, ll);
		out[e->off + ll] = '\n';
		memcpy(out + e->off + ll + 1, text + e->end, len - e->end);
		olen = len - (e->end - e->off) + ll + 1;
	} else {
		olen = len;
		if (len > 0)
			memcpy(out, text, len);
		if (len > 0 && text[len - 1] != '\n')
			out[olen++] = '\n';
		memcpy(out + olen, line, ll);
		olen += ll;
		out[olen++] = '\n';
	}
	rc = replace_file(target, out, olen, exists ? &st : NULL, path, err,
	    errsz);
done:
	auth_free(db);
	free(text);
	free(line);
	free(out);
	free(target);
	return rc;
}
