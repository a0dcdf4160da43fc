/*
 * What the server's reads share (kiosk.c, directory.c, reports.c, preview.c,
 * audit.c): a read context over one snapshot of a centre (readctx.c: its
 * views, its directory's names, and an arena holding everything decoded
 * from them), the directory's records and PIN hashes (directory.c), and
 * writer continuations: the job a worker hands to the writer when a read
 * must change the directory (Identify's failure count, SetDirectory).
 */
#ifndef CAREBANK_READS_H
#define CAREBANK_READS_H

#include <stdbool.h>
#include <stdint.h>

#include "carebank/arena.h"
#include "carebank/v1/service.pb-c.h"
#include "carebank/v1/state.pb-c.h"
#include "srv.h"

#define SRV_DAY_MS    86400000LL
#define SRV_ID_MAX    24  /* bank ids: a letter and a decimal index */
#define DIR_HASH_LEN  32
#define DIR_SALT_LEN  16
#define DIR_NAME_MAX  128 /* bytes of UTF-8 */
#define DIR_PHONE_MAX 32
#define SRV_DIR_KEY_MAX   80  /* "l/c/" and 64 hex digits, with room */

typedef Carebank__V1__Policy srv_policy;

/* One read: a snapshot, one centre's views in it, an arena for the rest. */
struct srv_read {
	struct cb_snapshot *snap;
	struct cb_kv kv;
	struct cb_arena *arena;
	ProtobufCAllocator alloc;
	const char *centre;
	Carebank__V1__CentreState *state; /* the centre's record */
	const srv_policy *policy;          /* its policy */
	int64_t now;
};

/* A PIN as the directory keeps it: scrypt's parameters, salt and hash. */
struct dir_pin {
	uint8_t log2n, r, p;
	uint8_t salt[DIR_SALT_LEN];
	uint8_t hash[DIR_HASH_LEN];
};

/* A family's, adult's or child's directory record, decoded. */
struct dir_person {
	char name[DIR_NAME_MAX + 1];
	char phone[DIR_PHONE_MAX + 1];
	bool has_card, has_code, has_pin;
	uint8_t card[DIR_HASH_LEN]; /* the card's lookup hash */
	uint8_t code[DIR_HASH_LEN]; /* the member code's lookup hash */
	struct dir_pin pin;
};

/* A record read from the views: its id (the key after the prefix). */
struct srv_record {
	const char *id;
	void *msg;
};

/* readctx.c: reading one centre from one snapshot. */

/*
 * srv_read_open takes a snapshot of j's centre and its policy. On failure
 * it has answered the call and returns -1; srv_read_close is still safe.
 */
int srv_read_open(struct srv *s, struct srv_job *j, struct srv_read *r);
void srv_read_close(struct srv_read *r);

/*
 * srv_read_bind reads through kv (a snapshot's or the writer's batch) and
 * loads the centre's record; srv_read_open uses it. Returns 0 or a code.
 */
int srv_read_bind(struct srv_read *r, const char *centre,
    const struct cb_kv *kv);

/* srv_read_key decodes the record at key into the arena (*out). */
int srv_read_key(struct srv_read *r, const char *key,
    const ProtobufCMessageDescriptor *d, void *out);

/* srv_read_get decodes the record "<kind>/<id>" into the arena (*out). */
int srv_read_get(struct srv_read *r, char kind, const char *id,
    const ProtobufCMessageDescriptor *d, void *out);

/* srv_read_balance reads an account's balance; 0 if it never moved. */
int srv_read_balance(struct srv_read *r, const char *account, int64_t *out);

/* srv_read_family_account reads one of a family's accounts (minutes,
 * owed, subsidies); 0 if it never moved. */
int srv_read_family_account(struct srv_read *r, const char *family,
    const char *what, int64_t *out);

/* srv_read_family_balances reads a family's minutes and what it owes. */
int srv_read_family_balances(struct srv_read *r, const char *family,
    int64_t *minutes, int64_t *owed);

/* srv_read_name returns the directory name of an id ("" if none). */
const char *srv_read_name(struct srv_read *r, const char *id);

/* srv_read_all decodes every record whose key starts with prefix. */
int srv_read_all(struct srv_read *r, const char *prefix,
    const ProtobufCMessageDescriptor *d, struct srv_record **out, size_t *n);

/*
 * srv_read_lines decodes a family's statement lines with from <= time <= to,
 * in entry order, reading newest first and stopping once no older line can
 * be in the window (CB_LATE_LIMIT_MAX_MS): the work follows the lines since
 * from, not the family's whole history.
 */
int srv_read_lines(struct srv_read *r, const char *family, int64_t from,
    int64_t to, struct srv_record **out, size_t *n);

/* srv_read_kind decodes every record of a kind ('f', 's'...) in id order. */
int srv_read_kind(struct srv_read *r, char kind,
    const ProtobufCMessageDescriptor *d, struct srv_record **out, size_t *n);

/*
 * SRV_READ_PUSH appends a new zeroed message to v, an array of n pointers
 * with room for *cap in r's arena, and gives the message.
 */
#define SRV_READ_PUSH(r, v, n, cap)                                           \
	((v) = cb_arena_grow((r)->arena, (v), (n), (cap), sizeof(*(v))),     \
	    (v)[(n)++] = cb_arena_alloc((r)->arena, sizeof(**(v))))

/* srv_read_array allocates n zeroed messages of size bytes, as pointers. */
void **srv_read_array(struct srv_read *r, size_t n, size_t size);

/* srv_id_valid says whether id is a bank id of the kind ("f12"). */
bool srv_id_valid(char kind, const char *id);

/* srv_day_start finds the start of the centre's local day holding t. */
int64_t srv_day_start(const srv_policy *p, int64_t t);

/* srv_id_cmp orders bank ids of one kind by their numbers. */
int srv_id_cmp(const char *x, const char *y);

/* srv_be_get and srv_be_put read and write n big-endian bytes. */
uint64_t srv_be_get(const uint8_t *p, int n);
void srv_be_put(uint8_t *p, uint64_t v, int n);

/* srv_read_fail answers a storage error met while reading. */
void srv_read_fail(struct srv_job *j, int rc, const char *what);

/* srv_view_by_start is a qsort order for ShiftView pointers: by start. */
int srv_view_by_start(const void *a, const void *b);

/* srv_view_shift and srv_view_swap fill the API's views of records. */
void srv_view_shift(Carebank__V1__ShiftView *v, const char *id,
    const Carebank__V1__ShiftState *st);
void srv_view_swap(Carebank__V1__SwapView *v, const char *id,
    const Carebank__V1__SwapState *st);

/* directory.c: records, lookups and PINs. */

/* srv_dir_decode parses a directory record. Returns 0 or CB_ECORRUPT. */
int srv_dir_decode(const uint8_t *buf, size_t len, struct dir_person *p);

/*
 * srv_dir_lookup_key writes the directory key of a card (card true) or a
 * member code into key (SRV_DIR_KEY_MAX bytes), and its hash into hash.
 */
void srv_dir_lookup_key(const char *centre, bool card, const char *value,
    char *key, uint8_t hash[DIR_HASH_LEN]);

/*
 * srv_dir_pin_check hashes pin with stored's salt and parameters and
 * compares in constant time; with stored NULL it hashes against a dummy,
 * taking as long, and fails. Returns true on a match.
 */
bool srv_dir_pin_check(const struct dir_pin *stored, const char *pin,
    size_t len);

/*
 * srv_job_continue makes a writer job for j's call (referenced again) and
 * centre, running m's handler; size is the caller's struct, which starts
 * with the struct srv_job, so the handler can carry inline state.
 */
struct srv_job *srv_job_continue(const struct srv_job *j,
    const struct srv_method *m, size_t size);

#endif
