/*
 * carebankd's shared pieces: the configuration, the running server's context,
 * and the jobs that carry one call from the event loop (src/rpc) through a
 * worker thread (signature, then reads) to the writer thread (rules, group
 * commit) and back. The server is the only place that knows both the
 * transport and the ledger.
 */
#ifndef CAREBANK_SRV_H
#define CAREBANK_SRV_H

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "carebank/bank.h"
#include "carebank/rpc.h"
#include "carebank/sign.h"
#include "carebank/store.h"

#define SRV_MAX_LISTEN 8

/* Configuration: the file's settings, then flags over them. */
struct srv_config {
	char *data;                     /* data directory */
	char *listen[SRV_MAX_LISTEN];   /* HOST:PORT, [v6]:PORT */
	int nlisten;
	char *tls_cert, *tls_key, *client_ca;
	char *metrics;                  /* loopback HOST:PORT, or NULL */
	unsigned workers;               /* signature threads, and as many for
					   reads; 0: cores */
	unsigned max_batch;             /* writes per commit */
	int64_t time_window_ms;         /* allowed client clock difference */
	unsigned drain_ms;              /* in-flight grace at shutdown */
	uint64_t map_size;              /* LMDB map size, bytes; 0: default */
	size_t max_message;             /* receive limit, bytes */
	size_t max_buffered;            /* held requests and responses */
	char *port_file;                /* write the bound port here (tests) */
};

/* What a job is for. */
enum srv_job_kind {
	JOB_WRITE,  /* a call that makes an entry: through the writer */
	JOB_READ,   /* a read served on a worker from a snapshot */
	JOB_WRITER, /* a non-entry job the writer must run (directory, preview) */
};

struct srv;
struct srv_job;

/* A read or writer-side handler for a method that makes no entry. */
typedef void (*srv_read_fn)(struct srv *s, struct srv_job *j);

/* A method the server routes: the bank's writes and the server's reads. */
struct srv_method {
	const char *path;
	const ProtobufCMessageDescriptor *request;
	unsigned roles;
	enum srv_job_kind kind;
	srv_read_fn fn; /* JOB_READ and JOB_WRITER */
	/* Server-streaming reads: how the loop keeps them going. */
	enum rpc_kind rpc_kind;
	void (*on_writable)(struct rpc_call *call, void *arg);
	void (*on_cancel)(struct rpc_call *call, int reason, void *arg);
};

/* One call on its way through the server. */
struct srv_job {
	struct srv_job *next;
	struct rpc_call *call;       /* referenced */
	const struct srv_method *m;
	uint8_t *bytes;              /* the request message, verbatim */
	size_t len;
	char centre[CB_CENTRE_ID_MAX + 1];
	uint8_t key_id[CB_KEY_ID_LEN];
	int64_t client_ms;
	uint8_t sig[CB_ED25519_SIG_LEN];
	int role;                    /* the verified caller's role */
	ProtobufCMessage *req;       /* decoded request, canonical */
	size_t held;                 /* bytes charged to the call (rpc_call_hold) */
	int64_t queued_ns;
	/* Set by the writer: the answer, sent once the batch is durable. */
	enum { OUT_NONE, OUT_RECEIPT, OUT_REFUSED, OUT_STATUS, OUT_REPLY } out;
	uint64_t index;              /* OUT_RECEIPT */
	int status, refusal;         /* OUT_STATUS, OUT_REFUSED */
	char message[256];
	uint8_t *reply;              /* OUT_REPLY: packed response */
	size_t replylen;
	bool full_ok;                /* the answer stands if the batch
					fails for a full store */
	bool replay;                 /* OUT_RECEIPT of an entry found by
					its request id: it may be older
					than the batch, and stand */
};

/* A method as registered with the transport: the handler's argument. */
struct srv_route {
	struct srv *srv;
	const struct srv_method *m;
};

/* A watcher of a centre's checkpoints (Audit.WatchCheckpoints). */
struct srv_watch {
	struct srv_watch *next;
	struct rpc_call *call;
	char centre[CB_CENTRE_ID_MAX + 1];
};

/* A FIFO of jobs with a condition to wait on. */
struct srv_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct srv_job *head, *tail;
	size_t n;
	bool closed;
};

#define SRV_NSTATUS 17 /* gRPC status codes, OK to UNAUTHENTICATED */

/* Counters for the metrics page; all atomics. */
struct srv_stats {
	/*
	 * Calls by method (the index in srv_methods; the last row counts
	 * every other path: health, reflection, unknown) and final status.
	 */
	atomic_ullong (*calls)[SRV_NSTATUS];
	size_t ncalls;                    /* rows: methods + 1 */
	atomic_ullong batches, batch_entries, commit_ns, commit_max_ns;
	atomic_ullong apply_ns, answer_ns; /* the writer's other phases */
	atomic_ullong refusals, replays, verify_fail;
	atomic_ullong pin_failures, pin_lockouts; /* Kiosk.Identify */
	atomic_ullong pin_device_refusals;        /* a device over budget */
};

struct srv {
	struct srv_config *cfg;
	struct srv_route *routes;         /* one per registered method */
	struct cb_store *store;
	struct rpc_server *rpc;
	struct srv_queue work, read, write;
	pthread_t *workers;               /* check callers */
	pthread_t *readers;               /* serve reads; as many */
	unsigned nworkers;
	pthread_t writer;
	struct cb_batch *batch;           /* writer thread: the open batch */
	int64_t last_ms;                  /* writer thread: last server time,
					     from the newest entry at start */
	pthread_mutex_t watch_mu;
	struct srv_watch *watches;
	struct srv_stats stats;
	atomic_int exit_code;             /* nonzero: storage failure */
	struct evhttp *metrics;           /* the metrics listener, or NULL */
	atomic_int stopping;
	/*
	 * Centres whose log key the store holds: loaded at start, then by the
	 * writer thread alone, for a centre made by `carebankd init` since.
	 */
	char (*keyed)[CB_CENTRE_ID_MAX + 1];
	size_t nkeyed;
	struct srv_guesses *guesses;      /* PIN failures of unheld cards,
					     and of each device */
	struct srv_keeper *keeper;        /* keeps DIR/<centre>.signed */
};

/* signed.c: the checkpoint the server last published, kept outside the
 * store, so that a store put back from a backup is not served. */
char *srv_signed_path(const char *data, const char *id);
int srv_signed_check(struct cb_store *store, const char *data,
    const struct cb_centre_info *info, char *err, size_t errlen);
int srv_keeper_start(struct srv *s);
void srv_keeper_touch(struct srv *s, const char *id);
void srv_keeper_stop(struct srv *s);
void srv_keeper_free(struct srv *s);

/* A PIN failure count: of an adult (in the store) or of a card or code
 * nobody holds (guesses.c, in memory). */
struct srv_pin_count {
	uint32_t failures;
	int64_t last_ms, until_ms;
};

/* guesses.c: the counts of cards and codes nobody holds. */
#define SRV_GUESSES 4096
struct srv_guesses *srv_guesses_new(size_t cap);
void srv_guesses_free(struct srv_guesses *g);
void srv_guesses_get(struct srv_guesses *g, const char *key,
    struct srv_pin_count *c);
void srv_guesses_put(struct srv_guesses *g, const char *key,
    const struct srv_pin_count *c);
size_t srv_guesses_count(struct srv_guesses *g);
/* A device's budget of wrong PINs: a burst, then one per window / burst. */
#define SRV_KIOSK_BURST 32
int64_t srv_guesses_kiosk_wait(struct srv_guesses *g, const char *centre,
    const uint8_t *key, int64_t now, int64_t window_ms);
void srv_guesses_kiosk_fail(struct srv_guesses *g, const char *centre,
    const uint8_t *key, int64_t now, int64_t window_ms);

/* config.c */
void srv_config_defaults(struct srv_config *c);
int srv_config_file(struct srv_config *c, const char *path, char *err,
    size_t errlen);
int srv_config_flag(struct srv_config *c, const char *key, const char *v,
    char *err, size_t errlen);
int srv_config_check(const struct srv_config *c, char *err, size_t errlen);
int srv_config_parse_addr(const char *s, char *host, size_t hostlen,
    uint16_t *port);
void srv_config_free(struct srv_config *c);

/* queue.c */
void srv_queue_init(struct srv_queue *q);
void srv_queue_push(struct srv_queue *q, struct srv_job *j);
struct srv_job *srv_queue_pop(struct srv_queue *q, size_t max, size_t *n);
void srv_queue_close(struct srv_queue *q);
void srv_queue_destroy(struct srv_queue *q);
void srv_job_free(struct srv_job *j);

/*
 * auth.c: check a job's signature and role; 0 or a reply was sent. keys is
 * the calling worker's own cache of the keys it has built.
 */
struct cb_key_cache;
#define SRV_KEY_CACHE 256
int srv_auth(struct srv *s, struct cb_key_cache *keys, struct srv_job *j);
int srv_auth_again(struct srv *s, struct srv_job *j);
int srv_key_still_good(struct srv *s, const char *centre,
    const uint8_t *key_id, char *why, size_t whylen);

/* srv_out_status and srv_out_reply set a writer job's answer. */
void srv_out_status(struct srv_job *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void srv_out_reply(struct srv_job *j, const ProtobufCMessage *msg);

/* status.c: the one mapping from codes and refusals to gRPC status. */
int srv_status_of_code(int code);
int srv_status_of_refusal(int refusal);
void srv_fail(struct srv_job *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void srv_refuse(struct srv_job *j, const struct cb_bank_op *op);
void srv_reply(struct srv_job *j, const ProtobufCMessage *msg);

/* routes.c: the method table. */
const struct srv_method *srv_method_find(const char *path);
const struct srv_method *srv_methods(size_t *n);

/*
 * srv_views_upgrade gives a centre's views what this carebank keeps and the
 * one that wrote them did not (cb_views_upgrade), in one transaction, before
 * any call is served; *from is the format they had (CB_VIEWS_FORMAT: they
 * were left alone). Returns 0 or a code (CB_EFORMAT: a newer carebank's).
 */
int srv_views_upgrade(struct cb_store *store, const char *id,
    unsigned *from);

/* work.c: workers and the writer. */
int srv_work_start(struct srv *s);
void srv_work_stop(struct srv *s);
void srv_dispatch(struct srv *s, struct srv_job *j);
int srv_last_entry_ms(struct cb_store *store,
    const struct cb_centre_info *info, int64_t *ms);

/*
 * receipt.c: the receipt of entry index, the same bytes however often it is
 * asked for: the entry, the proof of its inclusion in the checkpoint of the
 * batch that appended it, that checkpoint, and what the entry did, all
 * read in snap (the writer answers a whole batch from one snapshot).
 */
int srv_receipt(struct cb_snapshot *snap, const char *centre, uint64_t index,
    uint8_t **out, size_t *len);

/*
 * audit.c: tell checkpoint watchers a centre's log grew; end every watch as
 * shutdown begins (loop thread); drop them all once the loop has stopped.
 */
void srv_watch_notify(struct srv *s, const char *centre);
void srv_watch_close(struct srv *s);
void srv_watch_release(struct srv *s);

/* metrics.c: Prometheus text on a loopback port, if configured. */
int srv_metrics_start(struct srv *s);
void srv_metrics_stop(struct srv *s);

/* serve.c */
int srv_serve(struct srv_config *cfg);

/*
 * srv_log_key_load gives the store centre id's log key from the data
 * directory and adds the centre to s->keyed. Returns 0 or a core code.
 */
int srv_log_key_load(struct srv *s, const char *id);

/*
 * checkconf.c: srv_log_key_read loads a centre's log key from the data
 * directory and checks it is the one the log was made with; 0 and *out, or
 * a core code with a sentence in err.
 */
int srv_log_key_read(const char *data, const struct cb_centre_info *info,
    struct cb_key **out, char *err, size_t errlen);

/*
 * srv_check_data opens the store in data read-only and checks every
 * centre's log key, writing a line per centre to out (unless NULL).
 * Returns 0, or -1 with a sentence in err (no store, no centre, a key
 * missing, too open or not the log's).
 */
int srv_check_data(const char *data, FILE *out, char *err, size_t errlen);

/* audit.c: loop callbacks of the streaming Audit methods. */
void srv_stream_writable(struct rpc_call *call, void *arg);
void srv_stream_cancel(struct rpc_call *call, int reason, void *arg);

/* Reads (kiosk.c, reports.c, audit.c, directory.c). */
void srv_identify(struct srv *s, struct srv_job *j);
/* srv_kiosk_forget forgets an adult's count of wrong PINs in memory, as
 * the directory's erase deletes the stored one; called by the writer. */
void srv_kiosk_forget(struct srv *s, const char *centre, const char *adult);
void srv_set_directory(struct srv *s, struct srv_job *j);
void srv_preview_settlement(struct srv *s, struct srv_job *j);
void srv_balances(struct srv *s, struct srv_job *j);
void srv_statement(struct srv *s, struct srv_job *j);
void srv_fund(struct srv *s, struct srv_job *j);
void srv_flagged(struct srv *s, struct srv_job *j);
void srv_present(struct srv *s, struct srv_job *j);
void srv_roster(struct srv *s, struct srv_job *j);
void srv_get_checkpoint(struct srv *s, struct srv_job *j);
void srv_entries(struct srv *s, struct srv_job *j);
void srv_inclusion(struct srv *s, struct srv_job *j);
void srv_consistency(struct srv *s, struct srv_job *j);
void srv_watch_checkpoints(struct srv *s, struct srv_job *j);

/* log.c: one line per call and server events, to stderr. */
void srv_log(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Time. */
int64_t srv_now_ms(void);

#endif
