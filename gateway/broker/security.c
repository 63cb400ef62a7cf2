/*
 * Passwords and ACLs for the broker. The worker thread owns nothing but
 * a reference to the password database it checks against: a reload
 * swaps the database under a mutex, and the old one is freed by whoever
 * drops its last reference. Answers come back through a queue that the
 * loop watches; a connection that closed in the meantime is forgotten
 * (looked up by pointer and serial number among those waiting).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "broker/acl.h"
#include "broker/auth.h"
#include "broker/internal.h"
#include "broker/security.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "queue.h"
#include "util.h"

#define MAX_WAITING	256	/* logins queued for the worker */
#define FAIL_LOG_MAX	10	/* failed logins logged a minute */

struct pwdb {
	struct auth_db	*db;
	int		 refs;		/* under security.lock */
};

struct request {
	struct conn	*c;
	uint64_t	 serial;
	struct pwdb	*pw;
	int		 ok;
	size_t		 ulen, plen;
	char		 data[];	/* user NUL password */
};

struct security {
	struct broker	*b;
	pthread_mutex_t	 lock;
	struct pwdb	*pw;		/* NULL: no password file */
	struct acl	*acl;
	struct queue	*todo;		/* requests for the worker */
	struct queue	*done;		/* answers for the loop */
	pthread_t	 worker;
	int		 running;
	struct request	**waiting;	/* requests whose answer is awaited */
	size_t		 nwaiting;
	uint64_t	 fail_window_ms, fails_in_window, fails_unlogged;
};

static void
pwdb_unref(struct security *sec, struct pwdb *pw)
{
	int last;

	if (pw == NULL)
		return;
	pthread_mutex_lock(&sec->lock);
	last = --pw->refs == 0;
	pthread_mutex_unlock(&sec->lock);
	if (last) {
		auth_free(pw->db);
		free(pw);
	}
}

/* Loads the two files; 0, or -1 with err (nothing changed). */
static int
load(const struct cfg_broker *cfg, struct pwdb **pwp, struct acl **aclp,
    char *err, size_t errsz)
{
	struct auth_db	*db = NULL;
	struct acl	*acl = NULL;

	*pwp = NULL;
	*aclp = NULL;
	if (cfg->password_file != NULL &&
	    (db = auth_load(cfg->password_file, err, errsz)) == NULL)
		return -1;
	if (cfg->acl_file != NULL &&
	    (acl = acl_load(cfg->acl_file, err, errsz)) == NULL) {
		auth_free(db);
		return -1;
	}
	if (db != NULL) {
		*pwp = xcalloc(1, sizeof(**pwp));
		(*pwp)->db = db;
		(*pwp)->refs = 1;
	}
	*aclp = acl;
	return 0;
}

struct security *
security_new(struct broker *b, const struct cfg_broker *cfg, char *err,
    size_t errsz)
{
	struct security *sec = xcalloc(1, sizeof(*sec));

	sec->b = b;
	pthread_mutex_init(&sec->lock, NULL);
	if (load(cfg, &sec->pw, &sec->acl, err, errsz) == -1) {
		pthread_mutex_destroy(&sec->lock);
		free(sec);
		return NULL;
	}
	b->acl = sec->acl;
	if (sec->pw != NULL)
		log_info("broker", NULL, "%s: %zu users", cfg->password_file,
		    auth_count(sec->pw->db));
	if (sec->acl != NULL)
		log_info("broker", NULL, "%s: access control on", cfg->acl_file);
	return sec;
}

static void *
worker_main(void *arg)
{
	struct security	*sec = arg;
	void		*item;

	while (queue_pop_wait(sec->todo, &item, 1, -1) == 1) {
		struct request *r = item;

		r->ok = auth_check(r->pw->db, r->data, r->data + r->ulen + 1,
		    r->plen);
		/* The password is no longer needed. */
		explicit_bzero(r->data + r->ulen + 1, r->plen);
		if (queue_push(sec->done, r, -1) == -1)
			break;	/* closed: stopping */
	}
	return NULL;
}

/* Answers from the worker. */
static void
on_done(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct security	*sec = arg;
	void		*items[64];
	size_t		 n;

	n = queue_pop(sec->done, items, FMQ_NELEM(items));
	for (size_t i = 0; i < n; i++) {
		struct request *r = items[i];

		for (size_t j = 0; j < sec->nwaiting; j++)
			if (sec->waiting[j] == r) {
				sec->waiting[j] = sec->waiting[--sec->nwaiting];
				if (r->c != NULL)
					conn_login_done(r->c, r->ok);
				break;
			}
		pwdb_unref(sec, r->pw);
		free(r);
	}
	broker_flush(sec->b);
}

static void
free_request(void *item)
{
	free(item);
}

int
security_start(struct security *sec)
{
	int r;

	if (sec->pw == NULL && sec->acl == NULL)
		return 0;
	sec->todo = queue_new("auth", MAX_WAITING, QUEUE_REJECT, free_request);
	sec->done = queue_new("auth-done", MAX_WAITING, QUEUE_BLOCK,
	    free_request);
	if (sec->todo == NULL || sec->done == NULL ||
	    loop_add_fd(sec->b->loop, queue_fd(sec->done), EPOLLIN, on_done,
	    sec) == -1)
		return -1;
	if ((r = pthread_create(&sec->worker, NULL, worker_main, sec)) != 0) {
		log_error("broker", NULL, "cannot start the login thread: %s",
		    strerror(r));
		return -1;
	}
	sec->running = 1;
	return 0;
}

void
security_free(struct security *sec)
{
	void *item;

	if (sec == NULL)
		return;
	if (sec->running) {
		queue_close(sec->todo);
		queue_close(sec->done);
		pthread_join(sec->worker, NULL);
		loop_del_fd(sec->b->loop, queue_fd(sec->done));
	}
	/* Requests still queued hold references on the database. */
	while (sec->todo != NULL && queue_pop(sec->todo, &item, 1) == 1) {
		pwdb_unref(sec, ((struct request *)item)->pw);
		free(item);
	}
	while (sec->done != NULL && queue_pop(sec->done, &item, 1) == 1) {
		pwdb_unref(sec, ((struct request *)item)->pw);
		free(item);
	}
	queue_free(sec->todo);
	queue_free(sec->done);
	free(sec->waiting);
	pwdb_unref(sec, sec->pw);
	acl_free(sec->acl);
	sec->b->acl = NULL;
	pthread_mutex_destroy(&sec->lock);
	free(sec);
}

void
security_reload(struct security *sec, const struct cfg_broker *cfg)
{
	struct pwdb	*pw, *old;
	struct acl	*acl;
	char		 err[512];

	if (load(cfg, &pw, &acl, err, sizeof(err)) == -1) {
		log_error("broker", NULL, "reload: %s: keeping the password and "
		    "ACL files loaded before", err);
		return;
	}
	if ((pw != NULL || acl != NULL) && !sec->running &&
	    security_start(sec) == -1) {
		log_error("broker", NULL, "reload: cannot start checking "
		    "logins: keeping the previous files");
		pwdb_unref(sec, pw);
		acl_free(acl);
		return;
	}
	pthread_mutex_lock(&sec->lock);
	old = sec->pw;
	sec->pw = pw;
	pthread_mutex_unlock(&sec->lock);
	pwdb_unref(sec, old);
	acl_free(sec->acl);
	sec->acl = acl;
	sec->b->acl = acl;
	log_info("broker", NULL, "reloaded: %s, %s", pw ? "passwords checked" :
	    "no password file", acl ? "access control on" : "no ACL file");
	if (pw != NULL)
		log_info("broker", NULL, "%s: %zu users", cfg->password_file,
		    auth_count(pw->db));
}

int
security_has_passwords(const struct security *sec)
{
	return sec != NULL && sec->pw != NULL;
}

int
security_check(struct security *sec, struct conn *c, const char *user,
    size_t ulen, const void *password, size_t plen)
{
	struct request *r = xmalloc(sizeof(*r) + ulen + plen + 2);

	r->c = c;
	r->ok = 0;
	r->ulen = ulen;
	r->plen = plen;
	memcpy(r->data, user, ulen);
	r->data[ulen] = '\0';
	if (plen > 0)
		memcpy(r->data + ulen + 1, password, plen);
	r->data[ulen + 1 + plen] = '\0';
	pthread_mutex_lock(&sec->lock);
	r->pw = sec->pw;
	r->pw->refs++;
	pthread_mutex_unlock(&sec->lock);
	if (queue_push(sec->todo, r, 0) == -1) {
		pwdb_unref(sec, r->pw);
		explicit_bzero(r->data, ulen + plen + 2);
		free(r);
		return -1;
	}
	sec->waiting = xreallocarray(sec->waiting, sec->nwaiting + 1,
	    sizeof(*sec->waiting));
	sec->waiting[sec->nwaiting++] = r;
	return 0;
}

void
security_forget(struct security *sec, struct conn *c)
{
	if (sec == NULL)
		return;
	for (size_t i = 0; i < sec->nwaiting; i++)
		if (sec->waiting[i]->c == c)
			sec->waiting[i]->c = NULL;	/* answered into the void */
}

void
security_login_failed(struct security *sec, const char *listener,
    const char *addr, const char *user, const char *why)
{
	uint64_t now;

	if (sec == NULL)
		return;
	now = loop_now(sec->b->loop);

	if (now >= sec->fail_window_ms + 60000) {
		if (sec->fails_unlogged > 0)
			log_warn("broker", listener, "%llu more failed logins in "
			    "the last minute were not logged one by one",
			    (unsigned long long)sec->fails_unlogged);
		sec->fail_window_ms = now;
		sec->fails_in_window = sec->fails_unlogged = 0;
	}
	if (sec->fails_in_window++ < FAIL_LOG_MAX)
		log_warn("broker", listener, "failed login from %s%s%s%s: %s",
		    addr, user ? " as \"" : "", user ? user : "", user ? "\"" : "",
		    why);
	else
		sec->fails_unlogged++;
}
