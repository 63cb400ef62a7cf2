/*
 * Topic names and filters, and the subscription tree: a trie of topic
 * levels whose nodes hold subscribers, with '+' and '#' children. Owners
 * are opaque pointers (sessions, in-process clients). Loop thread only.
 */
#ifndef FMQ_BROKER_TOPIC_H
#define FMQ_BROKER_TOPIC_H

#include <stddef.h>
#include <stdint.h>

/* A topic name for PUBLISH: 1..65535 bytes, no '+' or '#'. */
int	 topic_valid_name(const char *, size_t);
/* A topic filter: '+' alone in a level, '#' alone and last. */
int	 topic_valid_filter(const char *, size_t);
/*
 * Does filter match topic? Levels compare byte-wise; '+' matches one
 * level (also an empty one), '#' the parent level and everything below;
 * a topic starting with '$' is not matched by a filter starting with a
 * wildcard (MQTT 3.1.1 section 4.7.2).
 */
int	 topic_match(const char *filter, size_t flen, const char *topic, size_t tlen);

struct topic_tree;

typedef void (*topic_match_cb)(void *owner, uint8_t options, void *arg);

struct topic_tree *topic_tree_new(void);
/* Frees the tree (not the owners); accepts NULL. */
void	 topic_tree_free(struct topic_tree *);
/*
 * Subscribes owner (not NULL) to filter (validated by the caller) with options (the
 * granted QoS in bits 0-1 for now). Returns 1 if the subscription is new,
 * 0 if it replaced owner's earlier one on the same filter.
 */
int	 topic_tree_add(struct topic_tree *, const char *filter, size_t len,
	    void *owner, uint8_t options);
/* Removes owner's subscription to filter; returns 1 if there was one. */
int	 topic_tree_remove(struct topic_tree *, const char *filter, size_t len,
	    void *owner);
/*
 * Calls cb once for every subscription whose filter matches topic (an
 * owner with overlapping filters is called once per filter: the caller
 * merges). cb must not change the tree.
 */
void	 topic_tree_match(struct topic_tree *, const char *topic, size_t len,
	    topic_match_cb cb, void *arg);
/* The number of subscriptions in the tree. */
size_t	 topic_tree_count(const struct topic_tree *);

/*
 * Retained messages: one value per topic name, found by filter.
 */
struct retain_tree;

typedef void (*retain_free_cb)(void *value);
typedef void (*retain_match_cb)(const char *topic, size_t len, void *value, void *arg);

struct retain_tree *retain_tree_new(retain_free_cb);
/* Frees the tree and every value (with the free callback); accepts NULL. */
void	 retain_tree_free(struct retain_tree *);
/*
 * Sets topic's value (taken); NULL deletes it. The old value, if any, is
 * released with the free callback. Returns the number of retained topics.
 */
size_t	 retain_tree_set(struct retain_tree *, const char *topic, size_t len,
	    void *value);
/* Calls cb for every retained topic that filter matches ('$' rule too); cb must not change the tree. */
void	 retain_tree_match(struct retain_tree *, const char *filter, size_t len,
	    retain_match_cb cb, void *arg);
size_t	 retain_tree_count(const struct retain_tree *);

#endif
