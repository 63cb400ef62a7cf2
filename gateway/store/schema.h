/* The migrations of schema/NNNN_*.sql, embedded at build time. */
#ifndef FMQ_STORE_SCHEMA_H
#define FMQ_STORE_SCHEMA_H

struct schema_migration {
	unsigned	 version;	/* NNNN */
	const char	*name;		/* "0002_broker" */
	const char	*sql;
};

extern const struct schema_migration schema_migrations[];
extern const unsigned schema_nmigrations;

#endif
