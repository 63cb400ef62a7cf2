/* TCP listeners: bind, listen, accept without blocking the loop. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/internal.h"
#include "log.h"
#include "loop.h"

/* Formats a peer address as "1.2.3.4:5678" or "[::1]:5678". */
static void
format_addr(const struct sockaddr_storage *ss, char *buf, size_t sz)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(buf, sz, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
		snprintf(buf, sz, "[%s]:%u", host, port);
	} else
		snprintf(buf, sz, "unknown");
}

/* Accepts every waiting connection, refusing those over the limits. */
static void
listener_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct listener		*li = arg;
	struct broker		*b = li->b;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 addr[48];
	int			 cfd, one = 1, over;

	for (int i = 0; i < 64; i++) {
		len = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("broker", li->name, "accept: %s",
				    strerror(errno));
			return;
		}
		format_addr(&ss, addr, sizeof(addr));
		over = li->nconns >= li->max_connections ||
		    b->nconns >= b->lim.max_connections;
		/* A little headroom to answer CONNACK 3; past it, just close. */
		if (over && b->nconns >= b->lim.max_connections + 64) {
			close(cfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_accept(li, cfd, addr, over);
	}
}

int
listener_open(struct broker *b, struct listener *li)
{
	struct addrinfo	 hints, *res = NULL;
	char		 port[16];
	int		 fd = -1, one = 1, r;

	snprintf(li->name, sizeof(li->name), "%s:%lld", li->bind,
	    (long long)li->port);
	snprintf(port, sizeof(port), "%lld", (long long)li->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(li->bind, port, &hints, &res)) != 0) {
		log_error("broker", li->name, "cannot listen: %s", gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 1024) == -1)
		goto fail;
	if (loop_add_fd(b->loop, fd, EPOLLIN, listener_io, li) == -1)
		goto fail;
	freeaddrinfo(res);
	li->fd = fd;
	log_info("broker", li->name, "listening");
	return 0;
fail:
	log_error("broker", li->name, "cannot listen: %s", strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

void
listener_close(struct listener *li)
{
	if (li->fd == -1)
		return;
	loop_del_fd(li->b->loop, li->fd);
	close(li->fd);
	li->fd = -1;
}
