/*
 * carebank-kiosk: the program at the door of a centre. A parent scans a
 * card or types a member code, types a PIN, sees the family and picks an
 * action with one key; the kiosk signs the request and sends it, or, when
 * the server cannot be reached, keeps it in a durable queue and sends it
 * when the server is back. This header is the program's shared state and
 * the functions each file gives the others (one file, one job: term.c the
 * terminal, screen.c the layouts, door.c a parent's visit, act.c one
 * action, fam.c the family shown, say.c the words for refusals, queue.c
 * the queue file, sync.c sending it, views.c the offline family cache).
 */
#ifndef CAREBANK_KIOSK_H
#define CAREBANK_KIOSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/note.h"
#include "carebank/v1/service.pb-c.h"
#include "client.h"

#define KIOSK_PATH_MAX  4096
#define KIOSK_ROOMS_MAX 9   /* one key each */
#define KIOSK_LINE      256 /* bytes of a screen line */
#define KIOSK_LINES     48  /* lines of a screen */
#define KIOSK_MSG_LINES 6   /* lines of a result message */
#define KIOSK_CARD_MAX  64  /* as the server bounds them */

/* Ids and names of the family view, bounded. */
#define FAM_ID       24 /* bank ids: a letter and a decimal index */
#define FAM_NAME     96
#define FAM_CHILDREN 32
#define FAM_SHIFTS   10
#define FAM_OFFERS   8

#define KIOSK_METHOD(m) "/carebank.v1.Kiosk/" m

struct queue;
struct queue_action;
struct views;
struct term;

/* A room the kiosk offers at check-in (from --room or the config file). */
struct room {
	char id[FAM_ID];
	char label[64];
};

/* What was asked, to hold its receipt to. */
struct kiosk_sent {
	const char *method; /* the full method path */
	const uint8_t *req; /* the request bytes exactly as sent */
	size_t len;
};

/* How a line was typed: a scanner types a whole line in a burst. */
struct term_typed {
	int64_t max_gap_ms;
	size_t n;
};

/* A card or code typed where a choice was awaited (term_choice,
 * term_any_key). */
struct term_arrival {
	bool ready; /* a line waits to be served as a new visit */
	char line[KIOSK_CARD_MAX + 16];
	struct term_typed typed;
};

/* The program's state. */
struct kiosk {
	struct cbt_opts o;
	struct cbt *cbt;
	bool has_vk; /* receipts are checked against the centre's key */
	struct term *t;
	struct queue *q;
	struct views *views;
	char queue_path[KIOSK_PATH_MAX];
	char refused_path[KIOSK_PATH_MAX + 16];
	unsigned idle_s, retry_s;
	struct room rooms[KIOSK_ROOMS_MAX];
	size_t nrooms;
	char card_prefix[16];
	char label[64];
	bool offline;        /* the last attempt found no server */
	int64_t retry_at_ms; /* when to try the server again */
	char why_offline[256];
	char banner[3][KIOSK_LINE]; /* news for the staff on the idle screen */
	struct term_arrival arrival; /* the next parent, come mid-visit */
};

/* A child as the kiosk shows it. */
struct fam_child {
	char id[FAM_ID], name[FAM_NAME], room[FAM_ID];
	bool in, may_collect, pending;
	int64_t since_ms;
};

/* One of the adult's next shifts. */
struct fam_shift {
	char id[FAM_ID], room[FAM_ID], swap[FAM_ID], status[16];
	int64_t start_ms, end_ms;
	bool pending;
};

/* A swap offered to the adult. */
struct fam_offer {
	char id[FAM_ID], shift[FAM_ID], other[FAM_ID], from[FAM_ID];
	int kind; /* Carebank__V1__SwapKind */
	bool answered;
};

/* The family of the identified adult: Identify's FamilyView, bounded. */
struct fam {
	char family[FAM_ID], family_name[FAM_NAME];
	char adult[FAM_ID], adult_name[FAM_NAME];
	struct fam_child c[FAM_CHILDREN];
	size_t nc;
	int64_t minutes, owed_fen, today_fen;
	struct fam_shift s[FAM_SHIFTS];
	size_t ns;
	struct fam_offer w[FAM_OFFERS];
	size_t nw;
	bool pending; /* balances leave out actions not yet sent */
};

/* A parent's visit: who, what is shown, and the last result. */
struct session {
	struct fam f;
	bool offline;    /* identified without the server: no PIN check */
	int64_t seen_ms; /* offline: when the family was last seen */
	uint8_t key[32]; /* the card or code's key in the view cache */
	char msg[KIOSK_MSG_LINES][KIOSK_LINE];
	size_t nmsg;
};

/* What a parent asked for. */
enum act_kind {
	ACT_CHILD_IN,
	ACT_CHILD_OUT,
	ACT_SHIFT_START,
	ACT_SHIFT_END,
	ACT_SWAP_ACCEPT,
	ACT_SWAP_DECLINE,
	ACT_SWAP_OFFER,
	ACT_SWAP_WITHDRAW,
};

/* One action: its kind and what it names (ids, or "" when unused). */
struct act {
	enum act_kind kind;
	char child[FAM_ID], room[FAM_ID], shift[FAM_ID], swap[FAM_ID];
	char to_adult[FAM_ID], other_shift[FAM_ID];
};

/* term.c: the terminal. */
enum {
	TERM_TIMEOUT = 0,
	TERM_EOF = -1,
	TERM_CANCEL = -2,
	TERM_QUIT = -3,
	TERM_ARRIVAL = -4, /* term_choice: a line, not a key */
};
#define TERM_ESC   27
#define TERM_ENTER 13

int term_open(struct term **out);
void term_close(struct term *t);
bool term_ansi(const struct term *t);
int term_cols(const struct term *t);
int term_key(struct term *t, int timeout_ms);
int term_line(struct term *t, char *buf, size_t len, int timeout_ms,
    bool secret, struct term_typed *typed);
int term_choice(struct term *t, int timeout_ms, struct term_arrival *a);
int term_any_key(struct term *t, int timeout_ms, struct term_arrival *a);
void term_flush(struct term *t);
void term_draw(struct term *t, char lines[][KIOSK_LINE], size_t n);

/* screen.c: the layouts. */
void screen_idle(struct kiosk *k);
void screen_prompt(
    struct kiosk *k, const char *title, const char *hint, const char *prompt);
void screen_family(
    struct kiosk *k, const struct session *s, const char *menu[], size_t nmenu);
void screen_notice(
    struct kiosk *k, const char *title, const char *line1, const char *line2);
void screen_minutes(int64_t m, char *buf, size_t len);
void screen_money(int64_t fen, char *buf, size_t len);
void screen_time(int64_t ms, char *buf, size_t len);
const char *screen_room(const struct kiosk *k, const char *id);

/* door.c: a parent's visit, from the PIN to the goodbye. */
int door_visit(struct kiosk *k, bool card, const char *value);
bool door_card(const struct kiosk *k, char *line,
    const struct term_typed *typed, const char **value);

/* act.c: one action, sent or kept. */
void act_run(struct kiosk *k, struct session *s, const struct act *a);
int act_request(const struct kiosk *k, const struct act *a, const struct fam *f,
    const uint8_t id[16], int64_t event_ms, int presence, const char **method,
    uint8_t **req, size_t *len);
void act_msg(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* fam.c: the family view. */
int fam_from_view(const Carebank__V1__FamilyView *v, struct fam *f);
int fam_from_bytes(const uint8_t *buf, size_t len, struct fam *f);
uint8_t *fam_pack(const struct fam *f, size_t *len);
void fam_apply(struct fam *f, const char *method, const uint8_t *req,
    size_t len, const Carebank__V1__Result *res);
void fam_overlay(struct fam *f, const struct queue *q);
const char *fam_child_name(const struct fam *f, const char *id);
const ProtobufCMessageDescriptor *fam_request_type(const char *method);
void fam_describe(const struct fam *f, const char *method, const uint8_t *req,
    size_t len, char *buf, size_t buflen);

/* say.c: the words for a refusal or a failure. */
void say_refusal(struct session *s, const char *refusal, const char *who,
    const char *server_msg);
void say_status(struct session *s, const struct cbt_reply *r);

/* sync.c: sending the queue. */
enum { SYNC_DONE = 0, SYNC_OFFLINE = 1, SYNC_STUCK = 2 };
int sync_run(struct kiosk *k);
bool sync_try_due(struct kiosk *k);
void sync_went_offline(struct kiosk *k, const char *why);
int sync_recover(struct kiosk *k);
void sync_request_hex(const uint8_t *req, size_t len, char out[33]);
int sync_note_refused(struct kiosk *k, const char *line, size_t n);

/* aside.c: the staff set a waiting action aside; an exit status. */
int aside_action(struct kiosk *k, const char *seq);
struct queue *aside_open_queue(struct kiosk *k);
void aside_print(const char *label, const struct queue_action *a);

/* putback.c: the staff put a set-aside action back; an exit status. */
int aside_put_back(struct kiosk *k, const char *id);
void aside_list(const struct kiosk *k);

/* views.c: the last family seen per card, for offline use. */
int views_open(const char *path, struct views **out, char *err, size_t errlen);
void views_close(struct views *v);
void views_key(bool card, const char *value, uint8_t key[32]);
int views_get(
    struct views *v, const uint8_t key[32], struct fam *f, int64_t *seen_ms);
int views_put(struct views *v, const uint8_t key[32], const struct fam *f);
int views_family(struct views *v, const struct fam *f);
void views_apply(struct views *v, const char *family, const char *method,
    const uint8_t *req, size_t len, const Carebank__V1__Result *res);

/* main.c */
int64_t kiosk_now_ms(void);
void kiosk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
