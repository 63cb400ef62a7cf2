/*
 * TLS listeners with OpenSSL: contexts from the config, and read/write
 * wrappers that turn OpenSSL's WANT_READ/WANT_WRITE into EAGAIN so that
 * the connection code treats a TLS socket like a plain one.
 */
#include "config.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "broker/tls.h"
#include "conf.h"

/* The oldest OpenSSL error, as text, then the queue emptied. */
static void
ssl_reason(char *buf, size_t sz, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, sz);
	else
		snprintf(buf, sz, "%s", fallback);
	ERR_clear_error();
}

SSL_CTX *
tls_server_ctx(const struct cfg_tls *cfg, char *err, size_t errsz)
{
	SSL_CTX	*ctx;
	char	 why[256];
	int	 mode = SSL_VERIFY_NONE;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_reason(why, sizeof(why), "out of memory");
		snprintf(err, errsz, "TLS: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->min_version == CFG_TLS_1_3 ?
	    TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
		ssl_reason(why, sizeof(why), "unreadable");
		snprintf(err, errsz, "tls.cert %s: %s", cfg->cert, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reason(why, sizeof(why), "unreadable");
		if (strstr(why, "mismatch") == NULL) {
			snprintf(err, errsz, "tls.key %s: %s", cfg->key, why);
			goto fail;
		}
		snprintf(err, errsz, "tls.key %s does not belong to tls.cert %s "
		    "(%s)", cfg->key, cfg->cert, why);
		goto fail;
	}
	if (cfg->ca != NULL) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL) != 1) {
			ssl_reason(why, sizeof(why), "unreadable");
			snprintf(err, errsz, "tls.ca %s: %s", cfg->ca, why);
			goto fail;
		}
		if ((names = SSL_load_client_CA_file(cfg->ca)) != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	if (cfg->ciphers != NULL) {
		/* TLS 1.3 suites are named TLS_...; the rest are 1.2 lists. */
		int ok = strncmp(cfg->ciphers, "TLS_", 4) == 0 ?
		    SSL_CTX_set_ciphersuites(ctx, cfg->ciphers) :
		    SSL_CTX_set_cipher_list(ctx, cfg->ciphers);

		if (ok != 1) {
			ssl_reason(why, sizeof(why), "no usable cipher");
			snprintf(err, errsz, "tls.ciphers \"%s\": %s", cfg->ciphers,
			    why);
			goto fail;
		}
	}
	if (cfg->client_cert == CFG_CLIENT_CERT_REQUIRED)
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	else if (cfg->client_cert == CFG_CLIENT_CERT_OPTIONAL)
		mode = SSL_VERIFY_PEER;
	SSL_CTX_set_verify(ctx, mode, NULL);
	/* No session cache across connections: nothing to bound or leak. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *
tls_accept(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/* Maps the result r of an SSL_read/SSL_write to our convention. */
static ssize_t
tls_result(SSL *ssl, int r, char *why, size_t whysz)
{
	int	e = SSL_get_error(ssl, r);
	int	saved = errno;

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (r == 0 || saved == 0)
			return 0;	/* the peer closed without close_notify */
		errno = saved;
		snprintf(why, whysz, "%s", strerror(saved));
		return -1;
	default: {
		long v = SSL_get_verify_result(ssl);

		ssl_reason(why, whysz, "TLS error");
		/* Why a peer certificate failed is more useful than "failed". */
		if (v != X509_V_OK) {
			size_t n = strlen(why);

			snprintf(why + n, whysz - n, " (%s)",
			    X509_verify_cert_error_string(v));
		}
		errno = EPROTO;
		return -1;
	}
	}
}

ssize_t
tls_read(SSL *ssl, void *buf, size_t n, char *why, size_t whysz)
{
	int r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read(ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n)) > 0)
		return r;
	return tls_result(ssl, r, why, whysz);
}

ssize_t
tls_write(SSL *ssl, const void *buf, size_t n, char *why, size_t whysz)
{
	int r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n)) > 0)
		return r;
	return tls_result(ssl, r, why, whysz);
}

int
tls_peer_cn(SSL *ssl, char *buf, size_t sz)
{
	X509	*cert = SSL_get1_peer_certificate(ssl);
	int	 n = -1;

	if (cert == NULL)
		return -1;
	if (SSL_get_verify_result(ssl) == X509_V_OK)
		n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
		    NID_commonName, buf, (int)sz);
	X509_free(cert);
	return n > 0 ? 0 : -1;
}

void
tls_describe(SSL *ssl, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s %s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}
