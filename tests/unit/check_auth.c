/*
 * Unit tests of password files: fixed vectors written once by the real
 * mosquitto_passwd (and Python's hashlib), hashing and checking, a table of
 * malformed files with the exact error, auth_set_user on real files, and,
 * when mosquitto is installed, files it writes at test time and a broker
 * that must accept what auth_set_user writes.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/auth.h"
#include "util.h"

extern char **environ;

/* ---- tables -------------------------------------------------------- */

struct vector {
	const char	*line;
	const char	*user;
	const char	*password;
};

/* mosquitto_passwd 2.0.11 (-b, and -H sha512), then Python's hashlib. */
static const struct vector vectors[] = {
	{ "alice:$7$101$PAjAqXY7MP9+t9NN$mUSbpeRYk5DhZi9SQPWMob214R+jDjbN58rLF6"
	  "GBG7Qxl/lUhkpH5fntoOuCrNKfl9VuPdecD7CbYQjdOz2h2w==",
	  "alice", "correct horse" },
	{ "b\xc3\xb6" "b:$7$101$7PLkPCBmoVQUgNnf$rj7a8J6XcpH37aJDW1xBHyD7Qmgv6I"
	  "IGi7II/GXqehG+2YRf+OQ504mUerEzbjtca/jyC9j0i/2b/VEC9KtHfA==",
	  "b\xc3\xb6" "b", "p\xc3\xa4ssw\xc3\xb6rd" },
	{ "with space:$7$101$Yap6QZSi/ytBfYk8$5Nn0QNTNJcb68NPDSxO5yQwwmhi9FXcWT"
	  "nq75ZydnEFsXDVhYY/u80fVZJYKUK/2tnbjEX+abTiza02GlOvF1w==",
	  "with space", "" },
	{ "carol:$6$k1PC5GAprL5gfxyR$q5HFKoS7YfsYJiXUR3EfcgMCKFOLBSRX5WeOmFpjFP"
	  "MrD/hipk5x6AnMupuMrTEHGURcjAJArpUUgG6N401I8A==",
	  "carol", "hunter2" },
	{ "dave:$6$35sawhgZBrb44i8m$g+4sfp89af1NmPop1pz398WY9+OaZMNfzPrAqcMGbI"
	  "ZIEnYuURlrdmHmm4kv/BwQCEhg0JUqKUyowNUiDcb+XA==",
	  "dave", "p:a$s w#rd" },
	/* A 16-byte salt and 1000 iterations; a 5-byte salt (with '='). */
	{ "erin:$7$1000$AAECAwQFBgcICQoLDA0ODw==$dRkl1suaBv3rUx/tjDmdS01kKA/hP"
	  "PzcUJKLfLxS2iCQ7U80PCv8ZzJvWQZ+HLk0yn+PMZ7M3ZkVpadFxM0+Ng==",
	  "erin", "sixteen" },
	{ "frank:$6$//////8=$OHQHerS5ObGjhJDLKdc+0KxAnBTZUTRjSS8RL9n6urrHCXLfDd"
	  "quU2mTAoWzCH56sLS3EnbM0BuL4htIZxN9aQ==",
	  "frank", "five" },
};

#define SALT6	"k1PC5GAprL5gfxyR"
#define KEY6	"q5HFKoS7YfsYJiXUR3EfcgMCKFOLBSRX5WeOmFpjFPMrD/hipk5x6A" \
		"nMupuMrTEHGURcjAJArpUUgG6N401I8A=="
#define GOOD6	"$6$" SALT6 "$" KEY6
#define GOOD7	"$7$101$PAjAqXY7MP9+t9NN$mUSbpeRYk5DhZi9SQPWMob214R+jDjb" \
		"N58rLF6GBG7Qxl/lUhkpH5fntoOuCrNKfl9VuPdecD7CbYQjdOz2h2w=="
/* 32 and 66 bytes of base64. */
#define KEY32	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY66	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUm" \
		"JygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BB"
/* 65 bytes of salt. */
#define SALT65	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUm" \
		"JygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A="

struct bad_case {
	const char	*name;
	const char	*text;
	const char	*want;
	size_t		 len;	/* 0: strlen(text) */
};

static const struct bad_case bad_cases[] = {
	{ "missing colon", "alice " GOOD6 "\n",
	  "pw:1: missing ':' between username and hash" },
	{ "username only", "# users\n\nalice\n",
	  "pw:3: missing ':' between username and hash" },
	{ "empty username", ":" GOOD6 "\n", "pw:1: empty username" },
	{ "blank username", "  \t :" GOOD6 "\n", "pw:1: empty username" },
	{ "control in username", "a\x01" "b:" GOOD6 "\n",
	  "pw:1: control character in the username" },
	{ "tab in username", "a\tb:" GOOD6 "\n",
	  "pw:1: control character in the username" },
	{ "DEL in username", "a\x7f" ":" GOOD6 "\n",
	  "pw:1: control character in the username" },
	{ "NUL in a line", "alice:\0" GOOD6 "\n",
	  "pw:1: NUL byte in the line", 8 + sizeof(GOOD6) - 1 },
	{ "empty hash", "alice:\n", "pw:1: empty hash" },
	{ "blank hash", "alice:   \r\n", "pw:1: empty hash" },
	{ "plain-text password", "alice:secret\n",
	  "pw:1: unknown hash type (want $6$ or $7$; a plain-text password?)" },
	{ "dollar alone", "alice:$\n",
	  "pw:1: unknown hash type (want $6$ or $7$; a plain-text password?)" },
	{ "sha256-crypt", "alice:$5$abc$def\n",
	  "pw:1: unknown hash type \"$5$\" (want $6$ or $7$)" },
	{ "bcrypt", "alice:$2y$10$abcdefghijklmnopqrstuv\n",
	  "pw:1: unknown hash type \"$2y$\" (want $6$ or $7$)" },
	{ "argon2", "alice:$argon2id$v=19$m=65536\n",
	  "pw:1: unknown hash type (want $6$ or $7$; a plain-text password?)" },
	{ "iterations 0", "alice:$7$0$" SALT6 "$" KEY6 "\n",
	  "pw:1: iteration count 0" },
	{ "iterations 00", "alice:$7$00$" SALT6 "$" KEY6 "\n",
	  "pw:1: iteration count 0" },
	{ "iterations too many", "alice:$7$10000001$" SALT6 "$" KEY6 "\n",
	  "pw:1: iteration count above 10000000" },
	{ "iterations overflow", "alice:$7$99999999999999999999$" SALT6 "$"
	  KEY6 "\n", "pw:1: iteration count above 10000000" },
	{ "iterations not a number", "alice:$7$1e3$" SALT6 "$" KEY6 "\n",
	  "pw:1: iteration count is not a number" },
	{ "iterations negative", "alice:$7$-1$" SALT6 "$" KEY6 "\n",
	  "pw:1: iteration count is not a number" },
	{ "iterations empty", "alice:$7$$" SALT6 "$" KEY6 "\n",
	  "pw:1: empty iteration count" },
	{ "$7$ without fields", "alice:$7$\n",
	  "pw:1: malformed hash (want $7$ITERATIONS$SALT$KEY)" },
	{ "$7$ without key", "alice:$7$101$" SALT6 "\n",
	  "pw:1: malformed hash (want $7$ITERATIONS$SALT$KEY)" },
	{ "$6$ without key", "alice:$6$" SALT6 "\n",
	  "pw:1: malformed hash (want $6$SALT$KEY)" },
	{ "$6$ extra field", "alice:" GOOD6 "$x\n",
	  "pw:1: malformed hash (want $6$SALT$KEY)" },
	{ "$7$ in $6$ form", "alice:$7$" SALT6 "$" KEY6 "\n",
	  "pw:1: iteration count is not a number" },
	{ "empty salt", "alice:$6$$" KEY6 "\n", "pw:1: empty salt" },
	{ "salt not base64", "alice:$6$k1PC5GAp!L5gfxyR$" KEY6 "\n",
	  "pw:1: bad base64 in the salt" },
	{ "salt unpadded", "alice:$6$abcdefg$" KEY6 "\n",
	  "pw:1: bad base64 in the salt" },
	{ "salt misplaced padding", "alice:$6$ab=cdefg$" KEY6 "\n",
	  "pw:1: bad base64 in the salt" },
	{ "salt all padding", "alice:$6$====$" KEY6 "\n",
	  "pw:1: bad base64 in the salt" },
	{ "salt with a space", "alice:$6$k1PC 5GAprL5gfxy$" KEY6 "\n",
	  "pw:1: bad base64 in the salt" },
	{ "salt too long", "alice:$6$" SALT65 "$" KEY6 "\n",
	  "pw:1: salt longer than 64 bytes" },
	{ "key not base64", "alice:$6$" SALT6 "$q5HFKoS7*fsY\n",
	  "pw:1: bad base64 in the key" },
	{ "key empty", "alice:$6$" SALT6 "$\n", "pw:1: bad base64 in the key" },
	{ "key unpadded", "alice:$6$" SALT6 "$"
	  "q5HFKoS7YfsYJiXUR3EfcgMCKFOLBSRX5WeOmFpjFPMrD/hipk5x6AnMupuMrTE"
	  "HGURcjAJArpUUgG6N401I8A\n",
	  "pw:1: bad base64 in the key" },
	{ "key too short", "alice:$6$" SALT6 "$" KEY32 "\n",
	  "pw:1: key is 32 bytes (want 64)" },
	{ "key too long", "alice:$6$" SALT6 "$" KEY66 "\n",
	  "pw:1: key longer than 64 bytes" },
	{ "duplicate user",
	  "alice:" GOOD7 "\n# comment\ncarol:" GOOD6 "\n\nalice:" GOOD6 "\n",
	  "pw:5: user \"alice\" appears twice (first on line 1)" },
	{ "duplicate after trimming",
	  "carol:" GOOD6 "\n alice :" GOOD6 "\nalice:" GOOD7 "\n",
	  "pw:3: user \"alice\" appears twice (first on line 2)" },
	{ "earliest duplicate reported",
	  "b:" GOOD6 "\na:" GOOD6 "\na:" GOOD6 "\nb:" GOOD6 "\nb:" GOOD6 "\n",
	  "pw:3: user \"a\" appears twice (first on line 2)" },
	{ "line number after CRLF and comments",
	  "# users\r\n\r\ncarol:" GOOD6 "\r\n   # indented comment\r\n"
	  "\t\r\nbob\r\n", "pw:6: missing ':' between username and hash" },
	{ "last line without newline", "carol:" GOOD6 "\nbob:x",
	  "pw:2: unknown hash type (want $6$ or $7$; a plain-text password?)" },
};

/* Files auth_load_buf must accept, and how many users each has. */
struct good_case {
	const char	*name;
	const char	*text;
	size_t		 count;
};

static const struct good_case good_cases[] = {
	{ "empty", "", 0 },
	{ "comments and blanks", "# a comment\n\n   \n\t# another\n#x:y\n", 0 },
	{ "no final newline", "carol:" GOOD6, 1 },
	{ "CRLF", "carol:" GOOD6 "\r\nalice:" GOOD7 "\r\n", 2 },
	{ "blanks around fields", "  carol  :  " GOOD6 "  \n\talice\t:\t"
	  GOOD7 "\t\n", 2 },
	{ "case matters", "carol:" GOOD6 "\nCarol:" GOOD6 "\n", 2 },
	{ "UTF-8 and '#' inside", "caf\xc3\xa9#1:" GOOD6 "\n", 1 },
};

struct user_row {
	const char	*user;
	int		 ok;
};

static const struct user_row users[] = {
	{ "a", 1 },
	{ "alice", 1 },
	{ "with space", 1 },
	{ "x#", 1 },
	{ "caf\xc3\xa9", 1 },
	{ "$SYS", 1 },
	{ "", 0 },
	{ "a:b", 0 },
	{ ":", 0 },
	{ "#x", 0 },
	{ " x", 0 },
	{ "x ", 0 },
	{ "a\tb", 0 },
	{ "a\nb", 0 },
	{ "a\rb", 0 },
	{ "a\x7f", 0 },
	{ "\x1b[31m", 0 },
};

/* ---- helpers ------------------------------------------------------- */

/* A fresh directory under /tmp, removed with its files by rmtree. */
static char *
tmpdir(void)
{
	char	*d = xstrdup("/tmp/fmq-check-auth-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void
rmtree(char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
	free(dir);
}

/* The number of entries in dir, "." and ".." aside. */
static int
count_entries(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_text(const char *path, const char *text, size_t len, mode_t mode)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Reads a whole (small) file into a C string. */
static char *
read_text(const char *path, size_t *lenp)
{
	char	*buf = xmalloc(1 << 20);
	ssize_t	 n;
	int	 fd;

	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, (1 << 20) - 1);
	ck_assert_int_ge(n, 0);
	close(fd);
	buf[n] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)n;
	return buf;
}

static int
check(const struct auth_db *db, const char *user, const char *password)
{
	return auth_check(db, user, password, strlen(password));
}

/* Returns 1 if name is an executable in $PATH. */
static int
have_prog(const char *name)
{
	const char	*path = getenv("PATH"), *p, *colon;
	char		*f;
	int		 ok = 0;

	for (p = path; p != NULL && !ok; p = colon != NULL ? colon + 1 : NULL) {
		colon = strchr(p, ':');
		f = xasprintf("%.*s/%s", colon != NULL ? (int)(colon - p) :
		    (int)strlen(p), p, name);
		ok = access(f, X_OK) == 0;
		free(f);
	}
	return ok;
}

/* Starts argv with stdout and stderr to log (or /dev/null). */
static pid_t
spawn(char *const argv[], const char *log)
{
	posix_spawn_file_actions_t	 fa;
	pid_t				 pid;
	const char			*out;

	out = log != NULL ? log : "/dev/null";
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out,
	    O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	ck_assert_int_eq(posix_spawnp(&pid, argv[0], &fa, NULL, argv,
	    environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Waits up to ms for pid; returns its exit status, or -1 (killed). */
static int
wait_for(pid_t pid, int ms)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 st, i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Runs argv to completion (at most 10 s); returns its exit status. */
static int
run(char *const argv[])
{
	return wait_for(spawn(argv, NULL), 10000);
}

/* A loopback TCP port that was free a moment ago. */
static int
free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Returns 1 once something accepts on port, 0 after ms or if pid died. */
static int
wait_port(int port, pid_t pid, int ms)
{
	struct timespec		 ts = { 0, 20 * 1000 * 1000 };
	struct sockaddr_in	 sin;
	int			 fd, i, ok, st;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < ms / 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return 0;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

static double
seconds(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- vectors and hashing ------------------------------------------- */

START_TEST(test_vector)
{
	const struct vector	*v = &vectors[_i];
	struct auth_db		*db;
	char			 err[256] = "", *pw;
	size_t			 n = strlen(v->password);

	db = auth_load_buf("pw", v->line, strlen(v->line), err, sizeof(err));
	ck_assert_msg(db != NULL, "%s: %s", v->user, err);
	ck_assert_uint_eq(auth_count(db), 1);
	ck_assert_int_eq(check(db, v->user, v->password), 1);
	ck_assert_int_eq(check(db, v->user, "wrong"), 0);
	ck_assert_int_eq(check(db, "nobody", v->password), 0);
	ck_assert_int_eq(auth_check(db, NULL, v->password, n), 0);
	/* One byte more, one byte less, one byte changed. */
	pw = xasprintf("%sx", v->password);
	ck_assert_int_eq(auth_check(db, v->user, pw, n + 1), 0);
	if (n > 0) {
		ck_assert_int_eq(auth_check(db, v->user, pw, n - 1), 0);
		pw[0] ^= 1;
		ck_assert_int_eq(auth_check(db, v->user, pw, n), 0);
	}
	free(pw);
	auth_free(db);
}
END_TEST

/* Every vector in one file, in one database. */
START_TEST(test_vectors_together)
{
	struct auth_db	*db;
	char		 err[256] = "", *text = xstrdup("# vectors\n"), *t;
	size_t		 i, j;

	for (i = 0; i < FMQ_NELEM(vectors); i++) {
		t = xasprintf("%s%s\n", text, vectors[i].line);
		free(text);
		text = t;
	}
	db = auth_load_buf("pw", text, strlen(text), err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_uint_eq(auth_count(db), FMQ_NELEM(vectors));
	for (i = 0; i < FMQ_NELEM(vectors); i++)
		for (j = 0; j < FMQ_NELEM(vectors); j++)
			ck_assert_int_eq(check(db, vectors[i].user,
			    vectors[j].password), i == j ||
			    strcmp(vectors[i].password,
			    vectors[j].password) == 0);
	free(text);
	auth_free(db);
}
END_TEST

START_TEST(test_round_trip)
{
	struct auth_db	*db;
	char		 line[256], line2[256], err[256] = "", *salt, *key;
	static const unsigned char bin[] = { 'a', 0, 'b' };

	ck_assert_int_eq(auth_hash_line("alice", "s3cret", 1000, line,
	    sizeof(line)), 0);
	/* user:$7$1000$ + 16 characters of salt + $ + 88 of key. */
	ck_assert_int_eq(strncmp(line, "alice:$7$1000$", 14), 0);
	salt = line + 14;
	ck_assert_ptr_nonnull(key = strchr(salt, '$'));
	ck_assert_int_eq(key - salt, 16);
	ck_assert_uint_eq(strlen(key + 1), 88);
	ck_assert_str_eq(key + 1 + 86, "==");

	db = auth_load_buf("pw", line, strlen(line), err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(check(db, "alice", "s3cret"), 1);
	ck_assert_int_eq(check(db, "alice", "s3cret "), 0);
	ck_assert_int_eq(check(db, "alice", "S3cret"), 0);
	ck_assert_int_eq(check(db, "alice", ""), 0);
	ck_assert_int_eq(auth_check(db, "alice", NULL, 0), 0);
	ck_assert_int_eq(check(db, "Alice", "s3cret"), 0);
	ck_assert_int_eq(check(db, "alic", "s3cret"), 0);
	ck_assert_int_eq(check(db, "alicea", "s3cret"), 0);
	ck_assert_int_eq(check(db, "", "s3cret"), 0);
	auth_free(db);

	/* A fresh salt every time. */
	ck_assert_int_eq(auth_hash_line("alice", "s3cret", 1000, line2,
	    sizeof(line2)), 0);
	ck_assert_str_ne(line, line2);

	/* An empty password is a password. */
	ck_assert_int_eq(auth_hash_line("bob", "", 1, line, sizeof(line)), 0);
	db = auth_load_buf("pw", line, strlen(line), err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(auth_check(db, "bob", NULL, 0), 1);
	ck_assert_int_eq(auth_check(db, "bob", "", 0), 1);
	ck_assert_int_eq(check(db, "bob", "x"), 0);
	auth_free(db);

	/*
	 * MQTT passwords are bytes and a NUL inside counts. (HMAC pads a
	 * short key with zeros, so PBKDF2 itself cannot tell "a" from "a\0":
	 * mosquitto has the same property.)
	 */
	ck_assert_int_eq(auth_hash_line("carol", "ab", 1, line, sizeof(line)),
	    0);
	db = auth_load_buf("pw", line, strlen(line), err, sizeof(err));
	ck_assert_int_eq(auth_check(db, "carol", "ab", 2), 1);
	ck_assert_int_eq(auth_check(db, "carol", bin, sizeof(bin)), 0);
	ck_assert_int_eq(auth_check(db, "carol", bin, 1), 0);
	auth_free(db);
}
END_TEST

/* The default iteration count, once: it must stay well under a second. */
START_TEST(test_default_iterations)
{
	struct auth_db	*db;
	char		 line[256], err[256] = "", want[64];
	double		 t0;

	t0 = seconds();
	ck_assert_int_eq(auth_hash_line("alice", "s3cret",
	    AUTH_ITERATIONS_DEFAULT, line, sizeof(line)), 0);
	snprintf(want, sizeof(want), "alice:$7$%u$", AUTH_ITERATIONS_DEFAULT);
	ck_assert_int_eq(strncmp(line, want, strlen(want)), 0);
	db = auth_load_buf("pw", line, strlen(line), err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(check(db, "alice", "s3cret"), 1);
	ck_assert_int_eq(check(db, "alice", "s3creT"), 0);
	ck_assert_msg(seconds() - t0 < 3.0, "3 derivations took %.2f s",
	    seconds() - t0);
	auth_free(db);
}
END_TEST

START_TEST(test_user_row)
{
	const struct user_row	*r = &users[_i];
	char			 line[256];

	ck_assert_msg(auth_valid_user(r->user) == r->ok, "\"%s\": want %d",
	    r->user, r->ok);
	ck_assert_int_eq(auth_hash_line(r->user, "pw", 1, line, sizeof(line)),
	    r->ok ? 0 : -1);
}
END_TEST

START_TEST(test_hash_line_limits)
{
	char	 line[256], *user, *big;
	size_t	 need;

	ck_assert_int_eq(auth_valid_user(NULL), 0);
	ck_assert_int_eq(auth_hash_line("a", "pw", 0, line, sizeof(line)), -1);
	ck_assert_int_eq(auth_hash_line("a", "pw", AUTH_ITERATIONS_MAX + 1,
	    line, sizeof(line)), -1);
	ck_assert_int_eq(auth_hash_line("a", NULL, 1, line, sizeof(line)), 0);
	/* Exactly enough room, then one byte less. */
	ck_assert_int_eq(auth_hash_line("a", "pw", 1, line, sizeof(line)), 0);
	need = strlen(line) + 1;
	ck_assert_int_eq(auth_hash_line("a", "pw", 1, line, need), 0);
	ck_assert_int_eq(auth_hash_line("a", "pw", 1, line, need - 1), -1);
	ck_assert_str_eq(line, "");

	/* 65535 bytes of username is fine, 65536 is not. */
	user = xmalloc(AUTH_USER_MAX + 2);
	memset(user, 'u', AUTH_USER_MAX + 1);
	user[AUTH_USER_MAX + 1] = '\0';
	big = xmalloc(AUTH_USER_MAX + 128);
	ck_assert_int_eq(auth_valid_user(user), 0);
	ck_assert_int_eq(auth_hash_line(user, "pw", 1, big,
	    AUTH_USER_MAX + 128), -1);
	user[AUTH_USER_MAX] = '\0';
	ck_assert_int_eq(auth_valid_user(user), 1);
	ck_assert_int_eq(auth_hash_line(user, "pw", 1, big,
	    AUTH_USER_MAX + 128), 0);
	free(user);
	free(big);
}
END_TEST

/* ---- parsing ------------------------------------------------------- */

START_TEST(test_bad)
{
	const struct bad_case	*c = &bad_cases[_i];
	struct auth_db		*db;
	char			 err[512] = "";

	db = auth_load_buf("pw", c->text, c->len ? c->len : strlen(c->text),
	    err, sizeof(err));
	ck_assert_msg(db == NULL, "%s: loaded", c->name);
	ck_assert_msg(strcmp(err, c->want) == 0, "%s:\n got: %s\nwant: %s",
	    c->name, err, c->want);
}
END_TEST

START_TEST(test_good)
{
	const struct good_case	*c = &good_cases[_i];
	struct auth_db		*db;
	char			 err[512] = "";

	db = auth_load_buf("pw", c->text, strlen(c->text), err, sizeof(err));
	ck_assert_msg(db != NULL, "%s: %s", c->name, err);
	ck_assert_uint_eq(auth_count(db), c->count);
	if (c->count > 0 && strstr(c->text, "carol") != NULL)
		ck_assert_int_eq(check(db, "carol", "hunter2"), 1);
	if (strstr(c->text, "alice") != NULL)
		ck_assert_int_eq(check(db, "alice", "correct horse"), 1);
	if (strstr(c->text, "Carol") != NULL)
		ck_assert_int_eq(check(db, "CAROL", "hunter2"), 0);
	ck_assert_int_eq(check(db, "nobody", "x"), 0);
	auth_free(db);
}
END_TEST

/* Lines and usernames at their limits, built at run time. */
START_TEST(test_limits)
{
	struct auth_db	*db;
	char		 err[512] = "", want[128], *text, *p;
	size_t		 len;

	/* A 65535-byte username loads; 65536 bytes does not. */
	text = xmalloc(AUTH_USER_MAX + 512);
	memset(text, 'u', AUTH_USER_MAX);
	p = text + AUTH_USER_MAX;
	len = AUTH_USER_MAX + (size_t)sprintf(p, ":%s\n", GOOD6);
	db = auth_load_buf("pw", text, len, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_uint_eq(auth_count(db), 1);
	auth_free(db);
	memset(text, 'u', AUTH_USER_MAX + 1);
	len = AUTH_USER_MAX + 1 + (size_t)sprintf(text + AUTH_USER_MAX + 1,
	    ":%s\n", GOOD6);
	ck_assert_ptr_null(auth_load_buf("pw", text, len, err, sizeof(err)));
	ck_assert_str_eq(err, "pw:1: username longer than 65535 bytes");
	free(text);

	/* A line of AUTH_LINE_MAX bytes is read; one more byte is refused. */
	text = xmalloc(AUTH_LINE_MAX + 64);
	len = (size_t)sprintf(text, "# comment\n");
	memset(text + len, '#', AUTH_LINE_MAX);
	text[len + AUTH_LINE_MAX] = '\n';
	db = auth_load_buf("pw", text, len + AUTH_LINE_MAX + 1, err,
	    sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	auth_free(db);
	text[len + AUTH_LINE_MAX] = '#';
	ck_assert_ptr_null(auth_load_buf("pw", text, len + AUTH_LINE_MAX + 1,
	    err, sizeof(err)));
	snprintf(want, sizeof(want), "pw:2: line longer than %d bytes",
	    AUTH_LINE_MAX);
	ck_assert_str_eq(err, want);
	free(text);
}
END_TEST

START_TEST(test_load_file)
{
	char		*dir = tmpdir(), *path, err[512] = "", *want;
	struct auth_db	*db;
	int		 fd;

	path = xasprintf("%s/passwd", dir);
	ck_assert_ptr_null(auth_load(path, err, sizeof(err)));
	want = xasprintf("%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
	free(want);

	ck_assert_ptr_null(auth_load(dir, err, sizeof(err)));
	want = xasprintf("%s: not a regular file", dir);
	ck_assert_str_eq(err, want);
	free(want);

	write_text(path, "carol:" GOOD6 "\nbob\n", 6 + strlen(GOOD6) + 5, 0600);
	ck_assert_ptr_null(auth_load(path, err, sizeof(err)));
	want = xasprintf("%s:2: missing ':' between username and hash", path);
	ck_assert_str_eq(err, want);
	free(want);

	write_text(path, "carol:" GOOD6 "\n", 6 + strlen(GOOD6) + 1, 0600);
	db = auth_load(path, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(check(db, "carol", "hunter2"), 1);
	auth_free(db);
	auth_free(NULL);

	/* A file one byte over 16 MiB (sparse) is refused unread. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, AUTH_FILE_MAX + 1), 0);
	close(fd);
	ck_assert_ptr_null(auth_load(path, err, sizeof(err)));
	want = xasprintf("%s: larger than 16 MiB", path);
	ck_assert_str_eq(err, want);
	free(want);
	free(path);
	rmtree(dir);
}
END_TEST

/*
 * An unknown user costs about what a known one does. The bound is loose
 * (a factor of 3) so that a busy machine does not fail the test.
 */
START_TEST(test_unknown_user_timing)
{
	struct auth_db	*db;
	char		 line[256], err[256] = "";
	double		 t0, known = 1e9, unknown = 1e9, t;
	int		 i;

	ck_assert_int_eq(auth_hash_line("alice", "pw", 40000, line,
	    sizeof(line)), 0);
	db = auth_load_buf("pw", line, strlen(line), err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	for (i = 0; i < 3; i++) {
		t0 = seconds();
		ck_assert_int_eq(check(db, "alice", "wrong"), 0);
		if ((t = seconds() - t0) < known)
			known = t;
		t0 = seconds();
		ck_assert_int_eq(check(db, "mallory", "wrong"), 0);
		if ((t = seconds() - t0) < unknown)
			unknown = t;
	}
	ck_assert_msg(unknown > known / 3 && unknown < known * 3,
	    "known user %.4f s, unknown %.4f s", known, unknown);
	auth_free(db);
}
END_TEST

/* ---- auth_set_user ------------------------------------------------- */

START_TEST(test_set_user_create)
{
	char		*dir = tmpdir(), *path, err[512] = "", *text;
	struct auth_db	*db;
	struct stat	 st;
	mode_t		 old = umask(0);

	path = xasprintf("%s/passwd", dir);
	ck_assert_msg(auth_set_user(path, "alice", "pw1", 100, err,
	    sizeof(err)) == 0, "%s", err);
	umask(old);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(S_ISREG(st.st_mode), 1);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	text = read_text(path, NULL);
	ck_assert_int_eq(strncmp(text, "alice:$7$100$", 13), 0);
	ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1);
	free(text);
	db = auth_load(path, err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(check(db, "alice", "pw1"), 1);
	auth_free(db);
	/* No temporary file is left behind. */
	ck_assert_int_eq(count_entries(dir), 1);
	free(path);
	rmtree(dir);
}
END_TEST

START_TEST(test_set_user_edit)
{
	static const char head[] = "# fieldmq users\r\n\n  # indented\n";
	static const char mid[] = "\n# after carol\n";
	static const char tail[] = "alice:" GOOD7;	/* no final newline */
	char		*dir = tmpdir(), *path, err[512] = "", *text, *orig;
	char		*p;
	struct auth_db	*db;
	struct stat	 st;
	size_t		 len, olen;

	path = xasprintf("%s/passwd", dir);
	orig = xasprintf("%scarol:%s\n%s%s", head, GOOD6, mid, tail);
	olen = strlen(orig);
	write_text(path, orig, olen, 0640);

	/* Replace carol's line where it is; keep every other byte. */
	ck_assert_msg(auth_set_user(path, "carol", "new", 10, err,
	    sizeof(err)) == 0, "%s", err);
	text = read_text(path, &len);
	ck_assert_int_eq(strncmp(text, head, sizeof(head) - 1), 0);
	p = text + sizeof(head) - 1;
	ck_assert_int_eq(strncmp(p, "carol:$7$10$", 12), 0);
	p = strchr(p, '\n') + 1;
	ck_assert_str_eq(p, strstr(orig, mid));
	free(text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);

	db = auth_load(path, err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(check(db, "carol", "new"), 1);
	ck_assert_int_eq(check(db, "carol", "hunter2"), 0);
	ck_assert_int_eq(check(db, "alice", "correct horse"), 1);
	auth_free(db);

	/* A new user is appended, after a newline the file lacked. */
	ck_assert_msg(auth_set_user(path, "dave", "d", 10, err,
	    sizeof(err)) == 0, "%s", err);
	text = read_text(path, &len);
	p = strstr(text, tail);
	ck_assert_ptr_nonnull(p);
	p += strlen(tail);
	ck_assert_int_eq(strncmp(p, "\ndave:$7$10$", 12), 0);
	ck_assert_int_eq(text[len - 1], '\n');
	free(text);

	/* Set again: replaced, not repeated; blanks around a name match. */
	ck_assert_msg(auth_set_user(path, "dave", "d2", 10, err,
	    sizeof(err)) == 0, "%s", err);
	db = auth_load(path, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_uint_eq(auth_count(db), 3);
	ck_assert_int_eq(check(db, "dave", "d2"), 1);
	ck_assert_int_eq(check(db, "dave", "d"), 0);
	auth_free(db);
	ck_assert_int_eq(count_entries(dir), 1);
	free(orig);
	free(path);
	rmtree(dir);
}
END_TEST

START_TEST(test_set_user_refuse)
{
	char		*dir = tmpdir(), *path, err[512] = "", *text, *want;
	static const char bad[] = "carol:" GOOD6 "\n\nbob:plain\n";

	path = xasprintf("%s/passwd", dir);
	write_text(path, bad, sizeof(bad) - 1, 0600);
	ck_assert_int_eq(auth_set_user(path, "carol", "x", 10, err,
	    sizeof(err)), -1);
	want = xasprintf("%s:3: unknown hash type (want $6$ or $7$; a "
	    "plain-text password?)", path);
	ck_assert_str_eq(err, want);
	free(want);
	text = read_text(path, NULL);
	ck_assert_str_eq(text, bad);
	free(text);

	ck_assert_int_eq(auth_set_user(path, "a:b", "x", 10, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a valid username"));
	ck_assert_int_eq(auth_set_user(path, "a", "x", 0, err, sizeof(err)),
	    -1);
	want = xasprintf("%s: iteration count 0 is not in 1..10000000", path);
	ck_assert_str_eq(err, want);
	free(want);
	ck_assert_int_eq(auth_set_user(dir, "a", "x", 10, err, sizeof(err)),
	    -1);
	want = xasprintf("%s: not a regular file", dir);
	ck_assert_str_eq(err, want);
	free(want);
	free(path);
	path = xasprintf("%s/missing/passwd", dir);
	ck_assert_int_eq(auth_set_user(path, "a", "x", 10, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
	ck_assert_int_eq(count_entries(dir), 1);
	free(path);
	rmtree(dir);
}
END_TEST

/* Through a symbolic link: the link stays, its target changes. */
START_TEST(test_set_user_symlink)
{
	char		*dir = tmpdir(), *path, *link, err[512] = "";
	struct auth_db	*db;
	struct stat	 st;

	path = xasprintf("%s/real", dir);
	link = xasprintf("%s/link", dir);
	write_text(path, "carol:" GOOD6 "\n", 6 + strlen(GOOD6) + 1, 0600);
	ck_assert_int_eq(symlink("real", link), 0);
	ck_assert_msg(auth_set_user(link, "alice", "a", 10, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert_int_eq(S_ISLNK(st.st_mode), 1);
	db = auth_load(path, err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	ck_assert_uint_eq(auth_count(db), 2);
	ck_assert_int_eq(check(db, "alice", "a"), 1);
	auth_free(db);
	ck_assert_int_eq(count_entries(dir), 2);
	free(path);
	free(link);
	rmtree(dir);
}
END_TEST

/* ---- the real mosquitto -------------------------------------------- */

/* Files mosquitto_passwd writes now, in both formats, are read right. */
START_TEST(test_mosquitto_passwd)
{
	char		*dir, *path, err[512] = "";
	struct auth_db	*db;

	if (!have_prog("mosquitto_passwd")) {
		fprintf(stderr, "check_auth: mosquitto_passwd not installed, "
		    "skipped\n");
		return;
	}
	dir = tmpdir();
	path = xasprintf("%s/passwd", dir);
	{
		char *a1[] = { "mosquitto_passwd", "-b", "-c", path, "u7",
		    "pass seven", NULL };
		char *a2[] = { "mosquitto_passwd", "-H", "sha512", "-b", path,
		    "u6", "pass:six", NULL };
		char *a3[] = { "mosquitto_passwd", "-b", path,
		    "\xc3\xbcser", "\xc3\xa4\xc3\xb6\xc3\xbc", NULL };

		ck_assert_int_eq(run(a1), 0);
		ck_assert_int_eq(run(a2), 0);
		ck_assert_int_eq(run(a3), 0);
	}
	db = auth_load(path, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_uint_eq(auth_count(db), 3);
	ck_assert_int_eq(check(db, "u7", "pass seven"), 1);
	ck_assert_int_eq(check(db, "u7", "pass sevem"), 0);
	ck_assert_int_eq(check(db, "u6", "pass:six"), 1);
	ck_assert_int_eq(check(db, "u6", "pass:siz"), 0);
	ck_assert_int_eq(check(db, "\xc3\xbcser", "\xc3\xa4\xc3\xb6\xc3\xbc"),
	    1);
	auth_free(db);

	/* Our line in its file, then mosquitto_passwd edits the file. */
	ck_assert_msg(auth_set_user(path, "ours", "o", 50, err,
	    sizeof(err)) == 0, "%s", err);
	{
		char *a4[] = { "mosquitto_passwd", "-b", path, "u7", "changed",
		    NULL };

		ck_assert_int_eq(run(a4), 0);
	}
	db = auth_load(path, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(check(db, "ours", "o"), 1);
	ck_assert_int_eq(check(db, "u7", "changed"), 1);
	auth_free(db);
	free(path);
	rmtree(dir);
}
END_TEST

/*
 * A mosquitto broker on a free loopback port with a password file that
 * auth_set_user wrote (at the default iteration count) lets the user in
 * with the right password and not with a wrong one.
 */
START_TEST(test_mosquitto_broker)
{
	struct passwd	*pw;
	char		*dir, *path, *conf, *log, *text, port[16];
	char		 err[512] = "";
	pid_t		 pid;
	int		 p, up;

	if (!have_prog("mosquitto") || !have_prog("mosquitto_pub")) {
		fprintf(stderr, "check_auth: mosquitto or mosquitto_pub not "
		    "installed, skipped\n");
		return;
	}
	ck_assert_ptr_nonnull(pw = getpwuid(geteuid()));
	dir = tmpdir();
	path = xasprintf("%s/passwd", dir);
	conf = xasprintf("%s/mosquitto.conf", dir);
	log = xasprintf("%s/mosquitto.log", dir);
	ck_assert_msg(auth_set_user(path, "gw", "Gateway pw",
	    AUTH_ITERATIONS_DEFAULT, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(auth_set_user(path, "other", "x", 10, err,
	    sizeof(err)) == 0, "%s", err);
	p = free_port();
	snprintf(port, sizeof(port), "%d", p);
	/* "user": as root, mosquitto would switch to a user who can't read. */
	text = xasprintf("listener %d 127.0.0.1\nallow_anonymous false\n"
	    "password_file %s\nuser %s\npersistence false\n", p, path,
	    pw->pw_name);
	write_text(conf, text, strlen(text), 0600);
	free(text);
	{
		char *a[] = { "mosquitto", "-c", conf, NULL };

		pid = spawn(a, log);
	}
	up = wait_port(p, pid, 5000);
	if (up) {
		char *ok[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port,
		    "-u", "gw", "-P", "Gateway pw", "-t", "t", "-m", "m",
		    NULL };
		char *bad[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port,
		    "-u", "gw", "-P", "Gateway pW", "-t", "t", "-m", "m",
		    NULL };
		char *nouser[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p",
		    port, "-u", "nobody", "-P", "x", "-t", "t", "-m", "m",
		    NULL };

		ck_assert_msg(run(ok) == 0, "right password refused");
		ck_assert_msg(run(bad) != 0, "wrong password accepted");
		ck_assert_msg(run(nouser) != 0, "unknown user accepted");
	}
	kill(pid, SIGTERM);
	wait_for(pid, 5000);
	if (!up) {
		text = read_text(log, NULL);
		ck_abort_msg("mosquitto did not start: %s", text);
	}
	free(path);
	free(conf);
	free(log);
	rmtree(dir);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc;

	tc = tcase_create("vectors");
	tcase_add_loop_test(tc, test_vector, 0, (int)FMQ_NELEM(vectors));
	tcase_add_test(tc, test_vectors_together);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_default_iterations);
	tcase_add_loop_test(tc, test_user_row, 0, (int)FMQ_NELEM(users));
	tcase_add_test(tc, test_hash_line_limits);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_bad, 0, (int)FMQ_NELEM(bad_cases));
	tcase_add_loop_test(tc, test_good, 0, (int)FMQ_NELEM(good_cases));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("timing");
	tcase_add_test(tc, test_unknown_user_timing);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);

	tc = tcase_create("set_user");
	tcase_add_test(tc, test_set_user_create);
	tcase_add_test(tc, test_set_user_edit);
	tcase_add_test(tc, test_set_user_refuse);
	tcase_add_test(tc, test_set_user_symlink);
	suite_add_tcase(s, tc);

	tc = tcase_create("mosquitto");
	tcase_add_test(tc, test_mosquitto_passwd);
	tcase_add_test(tc, test_mosquitto_broker);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
