/*
 * carebank-audit statement and verify-statement: a family's portable
 * statement (statement.proto). Making one takes every entry of a verified
 * export that moved the family's accounts, with inclusion proofs against the
 * export's checkpoint. Checking one needs only the centre's verifier key:
 * the checkpoint's signature, each entry's proof, that each of the family's
 * postings starts from the balance the previous one left, and (entries of
 * rules 6 on) that it follows the entry listed before it: each such
 * posting names the entry that posted to the family before it, so any
 * entry left out in between shows, even a set of them that cancel out. (Entries after the last one listed cannot be ruled out by a
 * statement alone: it is as of its checkpoint.)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/entry.h"
#include "carebank/file.h"
#include "carebank/tiles.h"
#include "carebank/v1/statement.pb-c.h"
#include "carebank/xalloc.h"
#include "audit.h"

#define STATEMENT_MAX (64u << 20)

typedef Carebank__V1__FamilyStatement statement;
typedef Carebank__V1__StatementProof proof_msg;

/* A family's accounts, as the entries name them: its minutes, what it
 * owes, and (from rules 3 on) the subsidies the centre paid it. */
enum { ACC_MINUTES, ACC_OWED, ACC_SUBSIDIES, ACC_N };

struct accounts {
	char name[ACC_N][64];
};

/* accounts_of names a family's accounts. */
static void
accounts_of(const char *family, struct accounts *a)
{
	static const char *const what[ACC_N] = {"minutes", "owed",
	    "subsidies"};

	for (int k = 0; k < ACC_N; k++)
		snprintf(a->name[k], sizeof(a->name[k]), "family/%s/%s",
		    family, what[k]);
}

/* account_of gives the ACC_ of one of the family's accounts, or -1. */
static int
account_of(const struct accounts *a, const char *account)
{
	for (int k = 0; k < ACC_N; k++)
		if (strcmp(account, a->name[k]) == 0)
			return k;
	return -1;
}

/* stated points at the balance a statement gives for an account. */
static int64_t *
stated(statement *st, int k)
{
	return k == ACC_MINUTES ? &st->minutes :
	       k == ACC_OWED	? &st->owed_fen :
				  &st->subsidies_fen;
}

/* touches says whether an entry posts to the family's accounts. */
static int
touches(const cb_entry *e, const struct accounts *a)
{
	for (size_t i = 0; i < e->n_postings; i++)
		if (account_of(a, e->postings[i]->account) >= 0)
			return 1;
	return 0;
}

struct collect {
	struct cb_tiles_reader *rd;
	struct accounts acc;
	uint64_t size;
	statement st;
	int rc;
};

/* take adds an entry that touches the family, with its proof. */
static int
take(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	struct collect *c = ctx;
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN];
	proof_msg *pm;
	cb_entry *e;
	size_t n;
	int hit;

	if (cb_entry_decode(leaf, len, &e) != 0)
		return c->rc = CB_EFORMAT;
	hit = touches(e, &c->acc);
	cb_entry_free(e);
	if (!hit)
		return 0;
	if ((c->rc = cb_tiles_inclusion(c->rd, index, c->size, proof, &n)))
		return c->rc;
	pm = cb_xcalloc(1, sizeof(*pm));
	carebank__v1__statement_proof__init(pm);
	pm->index = index;
	pm->entry.data = cb_xmemdup(leaf, len);
	pm->entry.len = len;
	pm->inclusion = cb_xcalloc(n ? n : 1, sizeof(*pm->inclusion));
	for (size_t i = 0; i < n; i++)
		pm->inclusion[i] = (ProtobufCBinaryData){CB_HASH_LEN,
		    cb_xmemdup(proof[i], CB_HASH_LEN)};
	pm->n_inclusion = n;
	c->st.entries = cb_xreallocarray(c->st.entries, c->st.n_entries + 1,
	    sizeof(*c->st.entries));
	c->st.entries[c->st.n_entries++] = pm;
	return 0;
}

/* last_balances sets the statement's balances from its last entries. */
static void
last_balances(statement *st, const struct accounts *a)
{
	for (size_t i = 0; i < st->n_entries; i++) {
		cb_entry *e;

		if (cb_entry_decode(st->entries[i]->entry.data,
			st->entries[i]->entry.len, &e) != 0)
			continue;
		for (size_t k = 0; k < e->n_postings; k++) {
			int acc = account_of(a, e->postings[k]->account);

			if (acc >= 0)
				*stated(st, acc) = e->postings[k]->balance;
		}
		cb_entry_free(e);
	}
}

/* statement_free frees what take allocated. */
static void
statement_free(statement *st)
{
	for (size_t i = 0; i < st->n_entries; i++) {
		for (size_t k = 0; k < st->entries[i]->n_inclusion; k++)
			free(st->entries[i]->inclusion[k].data);
		free(st->entries[i]->inclusion);
		free(st->entries[i]->entry.data);
		free(st->entries[i]);
	}
	free(st->entries);
}

/* audit_statement writes a family's statement from a verified export. */
int
audit_statement(const struct audit_args *a)
{
	struct collect c = {0};
	struct cb_vkey vk;
	struct cb_checkpoint cp;
	struct cb_report rep;
	uint8_t *note = NULL, *buf;
	char *path, *vline;
	size_t len;
	int rc, status = 1;

	if (audit_vkey(a->key, &vk) != 0)
		return 2;
	if (audit_check(a, &vk, &cp) != 0)
		return 1;
	if (cb_tiles_open(a->out, &vk, &c.rd, &cp, &rep) != 0)
		return 1;
	carebank__v1__family_statement__init(&c.st);
	accounts_of(a->family, &c.acc);
	c.size = cp.size;
	(void)cb_tiles_read_leaves(c.rd, 0, cp.size, take, &c);
	path = cb_xasprintf("%s/checkpoint", a->out);
	rc = cb_file_read(path, 8192, &note, &len);
	free(path);
	if (c.rc != 0 || rc != 0) {
		fprintf(stderr, "carebank-audit: reading the export failed\n");
		goto out;
	}
	vline = cb_vkey_format(&vk);
	c.st.verifier_key = vline;
	c.st.checkpoint = (ProtobufCBinaryData){len, note};
	c.st.family = (char *)(uintptr_t)a->family;
	last_balances(&c.st, &c.acc);
	len = carebank__v1__family_statement__get_packed_size(&c.st);
	buf = cb_xmalloc(len);
	carebank__v1__family_statement__pack(&c.st, buf);
	rc = cb_file_write(a->statement, buf, len, 0644, CB_FILE_REPLACE);
	free(buf);
	free(vline);
	if (rc != 0) {
		fprintf(stderr, "carebank-audit: cannot write %s: %s\n",
		    a->statement, cb_strerror(rc));
		goto out;
	}
	printf("statement of family %s: %zu entries, %lld minutes, owes "
	       "%lld fen, paid %lld fen in subsidies, as of %llu entries; "
	       "written to %s\n",
	    a->family, c.st.n_entries, (long long)c.st.minutes,
	    (long long)c.st.owed_fen, (long long)c.st.subsidies_fen,
	    (unsigned long long)cp.size, a->statement);
	status = 0;
out:
	statement_free(&c.st);
	free(note);
	cb_tiles_close(c.rd);
	return status;
}

/* Where the listed entries have left the family's accounts and chain. */
struct trail {
	int64_t bal[ACC_N];
	uint64_t last; /* 1 + the index of the last entry listed */
	bool chained;  /* a posting of rules 6 on has been listed */
};

/*
 * follows checks that a posting of rules 6 on names the entry listed
 * before it that posted to the family (p->after), or starts the family's
 * chain; then notes the entry as the last. Returns 0 or -1, having said
 * why.
 */
static int
follows(const cb_entry *e, const cb_posting *p, struct trail *t)
{
	int rc = 0;

	if (e->rules >= 6 && p->after != 0 && p->after != t->last) {
		printf("FAILED: entry %llu follows entry %llu of the family, "
		       "which the statement leaves out\n",
		    (unsigned long long)e->index,
		    (unsigned long long)(p->after - 1));
		rc = -1;
	} else if (e->rules >= 6 && p->after == 0 && t->chained) {
		printf("FAILED: entry %llu starts the family's chain again\n",
		    (unsigned long long)e->index);
		rc = -1;
	}
	t->chained |= e->rules >= 6;
	t->last = e->index + 1;
	return rc;
}

/* check_entry checks one listed entry: canonical, proven, continuous. */
static int
check_entry(const proof_msg *pm, const struct cb_checkpoint *cp,
    const struct accounts *a, struct trail *t)
{
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN], h[CB_HASH_LEN];
	cb_entry *e;
	int rc = 0;

	if (pm->n_inclusion > CB_MERKLE_MAX_PROOF ||
	    cb_entry_decode(pm->entry.data, pm->entry.len, &e) != 0) {
		printf("FAILED: entry %llu is not a valid entry\n",
		    (unsigned long long)pm->index);
		return -1;
	}
	for (size_t i = 0; i < pm->n_inclusion; i++) {
		if (pm->inclusion[i].len != CB_HASH_LEN)
			rc = -1;
		else
			memcpy(proof[i], pm->inclusion[i].data, CB_HASH_LEN);
	}
	cb_merkle_leaf_hash(pm->entry.data, pm->entry.len, h);
	if (rc != 0 || e->index != pm->index ||
	    cb_merkle_verify_inclusion(h, pm->index, cp->size, proof,
		pm->n_inclusion, cp->root) != 0) {
		printf("FAILED: entry %llu is not proven to be in the log\n",
		    (unsigned long long)pm->index);
		cb_entry_free(e);
		return -1;
	}
	for (size_t k = 0; k < e->n_postings && rc == 0; k++) {
		const cb_posting *p = e->postings[k];
		int acc = account_of(a, p->account);
		int64_t want;

		if (acc < 0)
			continue;
		if (__builtin_add_overflow(t->bal[acc], p->amount, &want) ||
		    want != p->balance) {
			printf("FAILED: entry %llu starts %s from %lld, but the "
			       "entry before left %lld: entries are missing\n",
			    (unsigned long long)pm->index, p->account,
			    (long long)(p->balance - p->amount),
			    (long long)t->bal[acc]);
			rc = -1;
		} else {
			rc = follows(e, p, t);
		}
		t->bal[acc] = p->balance;
	}
	cb_entry_free(e);
	return rc;
}

/* audit_verify_statement checks a statement offline. */
int
audit_verify_statement(const struct audit_args *a)
{
	struct cb_vkey vk, claimed;
	struct cb_checkpoint cp;
	struct accounts acc;
	statement *st;
	uint8_t *buf;
	size_t len;
	struct trail t = {{0}, 0, false};
	uint64_t last = 0;
	int rc, status = 1;

	if (audit_vkey(a->key, &vk) != 0)
		return 2;
	if ((rc = cb_file_read(a->statement, STATEMENT_MAX, &buf, &len))) {
		fprintf(stderr, "carebank-audit: %s: %s\n", a->statement,
		    cb_strerror(rc));
		return 1;
	}
	st = carebank__v1__family_statement__unpack(NULL, len, buf);
	free(buf);
	if (st == NULL) {
		printf("FAILED: %s is not a statement\n", a->statement);
		return 1;
	}
	if (cb_vkey_parse(st->verifier_key, strlen(st->verifier_key),
		&claimed) != 0 ||
	    strcmp(claimed.name, vk.name) != 0 ||
	    memcmp(claimed.pub, vk.pub, sizeof(vk.pub)) != 0) {
		printf("FAILED: the statement is not from the log of %s\n",
		    vk.name);
		goto out;
	}
	if (cb_checkpoint_open((const char *)st->checkpoint.data,
		st->checkpoint.len, &vk, &cp) != 0) {
		printf("FAILED: its checkpoint is not signed by %s\n", vk.name);
		goto out;
	}
	accounts_of(st->family, &acc);
	for (size_t i = 0; i < st->n_entries; i++) {
		if (i > 0 && st->entries[i]->index <= last) {
			printf("FAILED: entries are out of order\n");
			goto out;
		}
		last = st->entries[i]->index;
		if (check_entry(st->entries[i], &cp, &acc, &t))
			goto out;
	}
	if (t.bal[ACC_MINUTES] != st->minutes ||
	    t.bal[ACC_OWED] != st->owed_fen ||
	    t.bal[ACC_SUBSIDIES] != st->subsidies_fen) {
		printf("FAILED: the entries leave %lld minutes, %lld fen owed "
		       "and %lld fen of subsidies, not the %lld, %lld and "
		       "%lld stated\n",
		    (long long)t.bal[ACC_MINUTES], (long long)t.bal[ACC_OWED],
		    (long long)t.bal[ACC_SUBSIDIES], (long long)st->minutes,
		    (long long)st->owed_fen, (long long)st->subsidies_fen);
		goto out;
	}
	printf("statement of family %s in %s: %zu entries, each proven in "
	       "the log of %llu entries signed by %s\n",
	    st->family, cp.origin, st->n_entries, (unsigned long long)cp.size,
	    vk.name);
	printf("balance: %lld minutes; owes %lld fen; paid %lld fen in "
	       "subsidies\nOK\n",
	    (long long)st->minutes, (long long)st->owed_fen,
	    (long long)st->subsidies_fen);
	status = 0;
out:
	carebank__v1__family_statement__free_unpacked(st, NULL);
	return status;
}
