/*
 * carebank-audit verify: everything an auditor can check offline. The
 * export's own checks (tiles.h) run leaf by leaf, and each leaf is also
 * replayed through the bank's rules into a scratch store, so every posting
 * and balance in the log is recomputed; the recomputed balances are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/replay.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"
#include "audit.h"
#include "client.h"

#define FILE_MAX 8192

struct vctx {
	const struct cb_vkey *vk;
	struct cb_report *report;
	char *scratch_dir;
	struct cb_store *scratch;
	struct cb_replay *replay;
	char centre[CB_CENTRE_ID_MAX + 1];
};

/* audit_vkey reads a verifier key given as a line or as a file. */
int
audit_vkey(const char *arg, struct cb_vkey *vk)
{
	char err[512];

	if (cbt_vkey_read(arg, vk, err, sizeof(err)) != 0) {
		fprintf(stderr, "carebank-audit: %s\n", err);
		return -1;
	}
	return 0;
}

/* load_since opens an earlier checkpoint with the same key. */
static int
load_since(const char *path, const struct cb_vkey *vk,
    struct cb_checkpoint *cp)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if ((rc = cb_file_read(path, FILE_MAX, &buf, &len)) != 0) {
		fprintf(stderr, "carebank-audit: cannot read %s: %s\n", path,
		    cb_strerror(rc));
		return -1;
	}
	rc = cb_checkpoint_open((const char *)buf, len, vk, cp);
	free(buf);
	if (rc != 0) {
		fprintf(stderr, "carebank-audit: %s is not a checkpoint signed by "
				"%s: %s\n",
		    path, vk->name, cb_checkpoint_why(rc));
		return -1;
	}
	return 0;
}

/* start_replay makes the scratch store when the first leaf names the
 * centre. */
static int
start_replay(struct vctx *v, const uint8_t *leaf, size_t len)
{
	struct cb_store_opts opts = {.no_sync = true};
	const char *tmp = getenv("TMPDIR");
	cb_entry *e;
	int rc;

	if ((rc = cb_entry_decode(leaf, len, &e)) != 0)
		return rc; /* the log checker refused it first */
	snprintf(v->centre, sizeof(v->centre), "%s", e->centre);
	cb_entry_free(e);
	v->scratch_dir = cb_xasprintf("%s/carebank-audit-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(v->scratch_dir) == NULL)
		return cb_report_fail(v->report, CB_EIO, 0, "replay",
		    "cannot make a scratch directory");
	if ((rc = cb_store_open(v->scratch_dir, &opts, &v->scratch)) != 0 ||
	    (rc = cb_replay_new(v->scratch, v->centre, v->vk->name, v->report,
		 &v->replay)) != 0)
		return cb_report_fail(v->report, rc, 0, "replay",
		    "cannot start the replay: %s", cb_strerror(rc));
	return 0;
}

/* on_leaf replays one accepted leaf through the rules. */
static int
on_leaf(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	struct vctx *v = ctx;
	int rc;

	if (index == 0 && (rc = start_replay(v, leaf, len)) != 0)
		return rc;
	return cb_replay_leaf(v->replay, index, leaf, len);
}

/* print_balance prints one recomputed account balance. */
static int
print_balance(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	uint64_t u = 0;

	(void)ctx;
	if (vlen != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | val[i];
	printf("  %-32.*s %12lld\n", (int)klen - 2, (const char *)key + 2,
	    (long long)(int64_t)u);
	return 0;
}

/* print_balances lists every account the replay recomputed. */
static void
print_balances(struct vctx *v)
{
	struct cb_snapshot *snap;
	struct cb_kv kv;

	if (cb_store_snapshot(v->scratch, &snap) != 0)
		return;
	if (cb_snapshot_views(snap, v->centre, &kv) == 0) {
		printf("balances recomputed from the entries (minutes, or fen "
		       "for owed and centre money):\n");
		(void)kv.scan(kv.ctx, "b/", 2, print_balance, NULL);
	}
	cb_snapshot_free(snap);
}

/* cleanup removes the scratch store. */
static void
cleanup(struct vctx *v)
{
	char *p;

	if (v->replay != NULL && cb_replay_finish(v->replay) != 0)
		fprintf(stderr, "carebank-audit: the replay's scratch store "
				"failed to commit\n");
	cb_store_close(v->scratch);
	if (v->scratch_dir != NULL) {
		p = cb_xasprintf("%s/data.mdb", v->scratch_dir);
		unlink(p);
		free(p);
		p = cb_xasprintf("%s/lock.mdb", v->scratch_dir);
		unlink(p);
		free(p);
		rmdir(v->scratch_dir);
		free(v->scratch_dir);
	}
}

/*
 * check runs every check on the export in a->out (and, with since, that it
 * extends that checkpoint): the tiles, leaves, signatures and chain, and
 * the replay of every leaf through the rules into v's scratch store.
 */
static int
check(const struct audit_args *a, struct vctx *v, struct cb_checkpoint *cp,
    const struct cb_checkpoint *since)
{
	struct cb_tiles_check chk = {.leaf = on_leaf, .ctx = v, .since = since};
	int rc = cb_tiles_verify_with(a->out, v->vk, &chk, cp, v->report);

	if (rc == 0 && v->replay != NULL) {
		rc = cb_replay_finish(v->replay);
		v->replay = NULL;
	}
	return rc;
}

/* audit_check verifies the export in a->out as verify does, quietly. */
int
audit_check(const struct audit_args *a, const struct cb_vkey *vk,
    struct cb_checkpoint *cp)
{
	struct cb_report rep;
	struct vctx v = {.vk = vk, .report = &rep};
	int rc = check(a, &v, cp, NULL);

	if (rc != 0)
		fprintf(stderr, "carebank-audit: the export does not verify "
				"(carebank-audit verify says more): %s: %s\n",
		    rep.where[0] ? rep.where : a->out,
		    rep.why[0] ? rep.why : cb_strerror(rc));
	cleanup(&v);
	return rc;
}

/* seconds writes ms as seconds with three decimals. */
static const char *
seconds(int64_t ms, char buf[32])
{
	snprintf(buf, 32, "%lld.%03lld s", (long long)(ms / 1000),
	    (long long)(ms % 1000));
	return buf;
}

/* The hint for an early entry stamped with the entry before's time. */
#define SAME_TIME                                                           \
	"; its server time is the entry before's, as when the server's "   \
	"clock went back (the server then stamps entries with the last "   \
	"one's time until it catches up)"

/*
 * window_failed says, when --call-window is set and some call lies
 * further from its entry's server time, which one; 1 if so.
 */
static int
window_failed(const struct audit_args *a, const struct cb_report *rep)
{
	char b1[32], b2[32];
	int early = rep->call_early_ms >= rep->call_late_ms;
	int64_t ms = early ? rep->call_early_ms : rep->call_late_ms;

	if (a->window_ms < 0 || ms <= a->window_ms)
		return 0;
	printf("FAILED at entry %llu: its call was signed %s %s the entry's "
	       "server time, more than --call-window %s%s\n",
	    (unsigned long long)(early ? rep->call_early_at
	                               : rep->call_late_at),
	    seconds(ms, b1), early ? "before" : "after",
	    seconds(a->window_ms, b2),
	    early && rep->call_early_same ? SAME_TIME : "");
	return 1;
}

/* audit_verify checks an export completely; returns the exit status. */
int
audit_verify(const struct audit_args *a)
{
	struct cb_vkey vk;
	struct cb_checkpoint cp, since;
	struct cb_report rep;
	struct vctx v = {.vk = &vk, .report = &rep};
	char gaps[192];
	int rc;

	if (audit_vkey(a->key, &vk) != 0)
		return 2;
	if (a->since != NULL && load_since(a->since, &vk, &since) != 0)
		return 1;
	if ((rc = check(a, &v, &cp, a->since ? &since : NULL)) != 0) {
		printf("FAILED at %s: %s\n", rep.where[0] ? rep.where : a->out,
		    rep.why[0] ? rep.why : cb_strerror(rc));
		cleanup(&v);
		return 1;
	}
	if (window_failed(a, &rep)) {
		cleanup(&v);
		return 1;
	}
	printf("log %s: %llu entries, checkpoint signed by %s\n", cp.origin,
	    (unsigned long long)cp.size, vk.name);
	printf("  every leaf canonical and chained to the one before\n");
	printf("  every actor signature verified (%llu keys in the log's "
	       "history)\n",
	    (unsigned long long)rep.keys);
	cb_report_call_gaps(&rep, gaps, sizeof(gaps));
	printf("  %s%s\n", gaps,
	    a->window_ms >= 0 ? ", within --call-window" : "");
	printf("  postings sum to zero per unit in every entry\n");
	printf("  hash tiles and root match the signed checkpoint\n");
	printf("  replaying the rules reproduces every entry, posting and "
	       "balance\n");
	if (a->since != NULL)
		printf("  extends the earlier checkpoint of %llu entries "
		       "(consistency proof verified)\n",
		    (unsigned long long)since.size);
	if (v.scratch != NULL)
		print_balances(&v);
	printf("OK\n");
	cleanup(&v);
	return 0;
}
