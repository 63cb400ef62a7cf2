/*
 * Password files in mosquitto_passwd's format, for CONNECT. One entry a
 * line, "username:hash", where hash is one of
 *   $7$ITERATIONS$SALT$KEY   PBKDF2-HMAC-SHA512 of the password with SALT,
 *                            a 64-byte KEY (mosquitto 2.x writes this)
 *   $6$SALT$KEY              SHA-512 of the password bytes followed by the
 *                            SALT bytes, a 64-byte KEY (mosquitto 1.x)
 * SALT and KEY are padded base64. Blank lines and lines whose first
 * non-blank byte is '#' are skipped. Blanks around the username and the
 * hash are ignored, as mosquitto does; a line ending in "\r\n" is fine.
 *
 * A username is 1..AUTH_USER_MAX bytes without ':' or control bytes
 * (0x00-0x1f, 0x7f), does not start with '#' (the line would be a
 * comment) and neither starts nor ends with a space (mosquitto trims them).
 *
 * A loaded database is never changed: any thread may call auth_check on it
 * at the same time. auth_check costs a whole PBKDF2 derivation (about
 * 0.1 s at AUTH_ITERATIONS_DEFAULT): call it on a worker thread, never on
 * the event loop, and bound how many run at once.
 */
#ifndef FMQ_BROKER_AUTH_H
#define FMQ_BROKER_AUTH_H

#include <stddef.h>

/*
 * What auth_hash_line's callers (fieldmq passwd) use. mosquitto 2.0 writes
 * 101 iterations; OWASP's 2023 figure for PBKDF2-HMAC-SHA512 is 210,000,
 * and mosquitto accepts any count of at least 1 when it reads the file.
 */
#define AUTH_ITERATIONS_DEFAULT	210000u
#define AUTH_ITERATIONS_MAX	10000000u	/* more is refused */
#define AUTH_USER_MAX		65535		/* bytes, as MQTT */
#define AUTH_FILE_MAX		(16u * 1024 * 1024)
/* The longest line: the longest username, ':' and 1 KiB of hash. */
#define AUTH_LINE_MAX		(AUTH_USER_MAX + 1 + 1024)
#define AUTH_SALT_LEN		12	/* as mosquitto_passwd */
#define AUTH_SALT_MAX		64	/* the longest read */

struct auth_db;

/*
 * Reads a password file. Returns NULL and writes "PATH:LINE: what is
 * wrong" (or "PATH: why" for I/O) to err on the first bad line: unknown
 * hash type, bad base64, a key that is not 64 bytes, a missing ':', a bad
 * or repeated username, an iteration count of 0 or above
 * AUTH_ITERATIONS_MAX. Files over AUTH_FILE_MAX and lines over
 * AUTH_LINE_MAX bytes are refused. An empty file gives an empty database.
 */
struct auth_db	*auth_load(const char *path, char *err, size_t errsz);
/* The same from len bytes of text (borrowed); name stands for the path. */
struct auth_db	*auth_load_buf(const char *name, const char *text,
		    size_t len, char *err, size_t errsz);
/* Frees the database, wiping its keys; accepts NULL. */
void		 auth_free(struct auth_db *);
/* The number of users. */
size_t		 auth_count(const struct auth_db *);

/*
 * Returns 1 if user (NULL: none) is in the database and the len bytes at
 * password (NULL only if len is 0) are its password, else 0. The keys are
 * compared in constant time; an unknown user still costs one derivation
 * with the hash type and iteration count most common in the file, so the
 * time taken does not tell which users exist (it can still tell a user
 * whose own count differs from the common one).
 */
int		 auth_check(const struct auth_db *, const char *user,
		    const void *password, size_t len);

/* Returns 1 if user (a C string) may be written to a password file. */
int		 auth_valid_user(const char *user);

/*
 * Writes "user:$7$iterations$salt$key" (no newline) to out, with a fresh
 * AUTH_SALT_LEN-byte salt from RAND_bytes. Returns 0, or -1 if user is not
 * valid, iterations is outside 1..AUTH_ITERATIONS_MAX, out is too small
 * (strlen(user) + 128 bytes always suffice) or the derivation failed.
 */
int		 auth_hash_line(const char *user, const char *password,
		    unsigned iterations, char *out, size_t outsz);

/*
 * Sets user's password in the file at path (following a symbolic link):
 * replaces the user's line where it is, or appends one, and keeps every
 * other line byte for byte. A missing file is created with mode 0600; an
 * existing one keeps its mode and owner. The new file is written to a
 * temporary file in the same directory, synced, renamed over the old one,
 * and the directory synced. Refuses an existing file that auth_load would
 * refuse. Returns 0, or -1 with "PATH: why" (or "PATH:LINE: ...") in err.
 * Two programs setting passwords in one file at once may lose one change.
 */
int		 auth_set_user(const char *path, const char *user,
		    const char *password, unsigned iterations, char *err,
		    size_t errsz);

#endif
