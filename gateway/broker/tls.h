/*
 * TLS for the broker's listeners (OpenSSL), on the event loop: no call
 * blocks. A connection's handshake happens inside its first reads; one
 * that stalls is closed by the listener's connect_timeout like any
 * connection that does not send CONNECT in time.
 */
#ifndef FMQ_BROKER_TLS_H
#define FMQ_BROKER_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

struct cfg_tls;

/*
 * A server context from a listener's tls: section: certificate chain,
 * key (checked against the certificate), CA for client certificates,
 * minimum version, ciphers. NULL with the reason in err.
 */
SSL_CTX	*tls_server_ctx(const struct cfg_tls *, char *err, size_t errsz);

/* A new server-side connection on fd; NULL if OpenSSL fails. */
SSL	*tls_accept(SSL_CTX *, int fd);

/*
 * read(2) and write(2) through TLS: bytes, 0 for a closed connection, or
 * -1 with errno EAGAIN (wait for the socket), or another errno with the
 * reason in why.
 */
ssize_t	 tls_read(SSL *, void *, size_t, char *why, size_t whysz);
ssize_t	 tls_write(SSL *, const void *, size_t, char *why, size_t whysz);

/* The client certificate's common name, if it sent a verified one. */
int	 tls_peer_cn(SSL *, char *buf, size_t sz);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", for the log. */
void	 tls_describe(SSL *, char *buf, size_t sz);

#endif
