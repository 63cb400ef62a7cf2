/*
 * The broker's security: the password file checked on a worker thread
 * (a PBKDF2 derivation takes about 0.1 s and never runs on the event
 * loop), the ACL file, failed logins logged at a bounded rate, and both
 * files reloaded on SIGHUP without dropping anybody. Loop thread, except
 * the worker.
 */
#ifndef FMQ_BROKER_SECURITY_H
#define FMQ_BROKER_SECURITY_H

#include <stddef.h>
#include <stdint.h>

struct broker;
struct cfg_broker;
struct conn;
struct security;

/* Loads the files the config names; NULL with the reason in err. */
struct security	*security_new(struct broker *, const struct cfg_broker *,
		    char *err, size_t errsz);
/* Starts the worker and watches its answers (after the loop exists). */
int		 security_start(struct security *);
void		 security_free(struct security *);
/* Loads the files again; on an error keeps the old ones (logged). */
void		 security_reload(struct security *, const struct cfg_broker *);

/* Whether a password file is loaded (usernames are then checked). */
int		 security_has_passwords(const struct security *);
/*
 * Queues a check of c's username and password; the answer comes back on
 * the loop as conn_login_done(c, ok). -1 when too many wait.
 */
int		 security_check(struct security *, struct conn *, const char *user,
		    size_t ulen, const void *password, size_t plen);
/* c closes: an answer for it is dropped. */
void		 security_forget(struct security *, struct conn *);
/* A refused login, logged at most 10 times a minute (then counted). */
void		 security_login_failed(struct security *, const char *listener,
		    const char *addr, const char *user, const char *why);

#endif
