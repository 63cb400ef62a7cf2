/*
 * Access control lists in mosquitto's acl_file format, and the checks
 * the broker makes against them. Loaded once, never changed: any thread
 * may check against a loaded list at the same time.
 *
 * The file, one statement a line (leading and trailing blanks ignored;
 * blank lines and lines starting with '#' skipped):
 *   user NAME                       the following topic lines are NAME's
 *                                   (the rest of the line; a name given
 *                                   twice continues its section)
 *   topic [ACCESS] FILTER           for the anonymous clients (no
 *                                   username) before the first user line,
 *                                   for the section's user after it
 *   pattern [ACCESS] FILTER         for every client, wherever it stands,
 *                                   with "%c" replaced by the client id
 *                                   and "%u" by the username
 * ACCESS is read, write, readwrite or deny (lower case); without it the
 * line grants readwrite and FILTER is the single word. With it, FILTER is
 * the rest of the line and may hold spaces. FILTER must be a valid topic
 * filter. Anything else is an error; so is an access word with no filter
 * after it (mosquitto would take "topic read" as readwrite on "read").
 *
 * The rules that apply to a client are its user section's topic lines
 * (the anonymous ones if it has no username; none if its username has no
 * section) and every pattern line.
 *  - write governs PUBLISH, including the will message and retained
 *    messages; read governs receiving messages, and SUBSCRIBE.
 *  - deny wins: a topic that any applying deny rule matches is refused
 *    both ways, whatever grants it. (mosquitto 2.0 checks a user's topic
 *    lines, denials first, before the patterns, so there a pattern deny
 *    does not override a user's topic grant; here it does.)
 *  - otherwise a topic is allowed if some applying rule with the access
 *    matches it, else refused. An ACL with no rules refuses everything.
 *  - filters follow MQTT: a rule starting with '+' or '#' does not match
 *    a topic starting with '$' ("#" does not give $SYS/...).
 *  - a %c or %u value is used only if it is at least one byte and holds
 *    no '/', '+' or '#' and does not start with '$', so that it can only
 *    ever name one ordinary level: "dev/%c/#" gives client "a/b" nothing
 *    (mosquitto would give it dev/a/b/#, inside client "a"'s dev/a/#),
 *    and "%c/#" gives client "$SYS" nothing. A pattern whose value is not
 *    usable grants nothing; a deny pattern whose value is not usable
 *    refuses everything to that client, since what it was meant to hide
 *    cannot be known. A %u pattern does not apply to a client with no
 *    username (mosquitto's rule), deny or not.
 *
 * SUBSCRIBE: mosquitto 2.0 accepts every subscription under acl_file and
 * filters each message at delivery. acl_check_subscribe refuses the
 * filters that could never deliver anything: it grants a filter that
 * shares a topic with some applying read rule ("#" when a/# is readable)
 * unless a deny rule covers all of it. The broker then calls
 * acl_check(ACL_READ) for every message it delivers, retained ones
 * included, so "#" brings only what the client may read.
 *
 * With no ACL loaded at all, the broker allows everything: that is the
 * caller's decision, not this module's.
 */
#ifndef FMQ_BROKER_ACL_H
#define FMQ_BROKER_ACL_H

#include <stddef.h>

#define ACL_READ	0x1	/* receive messages, subscribe */
#define ACL_WRITE	0x2	/* publish, wills, retained */

#define ACL_FILE_MAX	(16u * 1024 * 1024)
/* The longest line: "pattern readwrite " and the longest filter. */
#define ACL_LINE_MAX	(65535 + 64)

struct acl;

/*
 * Reads an ACL file. Returns NULL and writes "PATH:LINE: what is wrong"
 * (or "PATH: why" for I/O) to err on the first bad line. Files over
 * ACL_FILE_MAX and lines over ACL_LINE_MAX bytes are refused.
 */
struct acl	*acl_load(const char *path, char *err, size_t errsz);
/* The same from len bytes of text (borrowed); name stands for the path. */
struct acl	*acl_load_buf(const char *name, const char *text, size_t len,
		    char *err, size_t errsz);
/* Frees the list; accepts NULL. */
void		 acl_free(struct acl *);

/*
 * Returns 1 if the client may have access (ACL_READ or ACL_WRITE, one of
 * them) to the topic name of len bytes, else 0. client_id is the client's
 * id as a C string (NULL is taken as unusable for %c); username is NULL
 * for an anonymous client. Neither may hold a NUL byte of their own (MQTT
 * forbids U+0000: the codec refuses it). An invalid topic name is refused.
 */
int		 acl_check(const struct acl *, const char *client_id,
		    const char *username, const char *topic, size_t len,
		    int access);
/*
 * Returns 1 if the client may subscribe to the topic filter of len bytes:
 * some applying read rule covers it and no applying deny rule does. An
 * invalid filter is refused.
 */
int		 acl_check_subscribe(const struct acl *,
		    const char *client_id, const char *username,
		    const char *filter, size_t len);

/*
 * Does filter rule cover filter sub, that is, does rule match every topic
 * sub matches? Both must be valid filters. "a/#" covers "a", "a/#" and
 * "a/b/+"; "a/+" does not cover "a/#"; "#" and "+/#" do not cover
 * "$SYS/x"; "$SYS/#" covers "$SYS/+". For a topic name sub it is
 * topic_match(rule, sub).
 */
/* Whether some topic matches both filters ('$' rules included). */
int		 acl_filter_overlaps(const char *a, size_t alen, const char *b,
		    size_t blen);
int		 acl_filter_covers(const char *rule, size_t rlen,
		    const char *sub, size_t slen);

#endif
