/*
 * The centre's directory: personal data kept beside the log and never in it
 * (DESIGN 4), so a family's names can be erased without breaking a proof.
 * Coordinator.SetDirectory writes it; Kiosk.Identify reads it (kiosk.c).
 * Keys, within the centre's part of the directory:
 *
 *   p/<id>       the record of a family, adult or child (below)
 *   l/c/<hex>    card lookup: SHA-256("carebank-card-v1" 0x00 centre 0x00
 *                card) in hex -> the adult id
 *   l/m/<hex>    member-code lookup, likewise with "carebank-code-v1"
 *   L/<key>      PIN failures (kiosk.c), by adult id, or by the lookup key
 *                of a card or code nobody holds
 *
 * A record is a version byte, then fields, each a tag byte, a big-endian
 * 16-bit length and that many bytes, in this order, each at most once:
 *
 *   +----+-----+-------+------+-----+-------+-------+-----+-------+----
 *   | 01 | 'n' | len:2 | name | 'p' | len:2 | phone | 'c' | 00 20 | ...
 *   +----+-----+-------+------+-----+-------+-------+-----+-------+----
 *   'c'  the card's lookup hash (32)    'm'  the member code's (32)
 *   's'  the PIN: log2 N (1), r (1), p (1), salt (16), scrypt hash (32)
 *
 * PINs are hashed with scrypt (OpenSSL's EVP_KDF "SCRYPT") at N = 2^14,
 * r = 8, p = 1: 16 MiB and some tens of milliseconds on one core, which
 * makes a stolen directory slow to guess through while a kiosk stays quick.
 * Each PIN has its own random 16-byte salt, and the parameters are stored
 * with the hash so they can be raised later. Lookup hashes only keep card
 * numbers from being read off a copy of the store (they are short enough
 * to guess); the PIN is the secret, and it is wiped as soon as it is hashed.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "reads.h"

#define DIR_VERSION    1
#define DIR_RECORD_MAX 512
#define PIN_LOG2N      14
#define PIN_R          8
#define PIN_P          1
#define PIN_LEN        (3 + DIR_SALT_LEN + DIR_HASH_LEN)
#define PIN_MAXMEM     (256u << 20)
#define CARD_MAX       64
#define CODE_MAX       32

/* What SetDirectory hands from the worker to the writer. */
struct dir_job {
	struct srv_job job; /* first: the writer sees a job */
	char id[SRV_ID_MAX];
	bool clear;
	struct dir_person set; /* empty fields: unchanged */
};

static void dir_apply(struct srv *s, struct srv_job *j);

static const struct srv_method apply_method = {
	.path = "/carebank.v1.Coordinator/SetDirectory",
	.request = &carebank__v1__directory_request__descriptor,
	.roles = CB_ROLES_COORDINATOR,
	.kind = JOB_WRITER,
	.fn = dir_apply,
	.rpc_kind = RPC_UNARY,
};

/* put_field appends one tag-length-value field; 0 or -1 if it won't fit. */
static int
put_field(uint8_t *buf, size_t *off, uint8_t tag, const void *v, size_t len)
{
	if (len > 0xffff || *off + 3 + len > DIR_RECORD_MAX)
		return -1;
	buf[(*off)++] = tag;
	buf[(*off)++] = (uint8_t)(len >> 8);
	buf[(*off)++] = (uint8_t)len;
	memcpy(buf + *off, v, len);
	*off += len;
	return 0;
}

/* encode writes a record into buf (DIR_RECORD_MAX bytes); its length. */
static size_t
encode(const struct dir_person *p, uint8_t *buf)
{
	uint8_t pin[PIN_LEN];
	size_t off = 0;
	int rc = 0;

	buf[off++] = DIR_VERSION;
	if (p->name[0] != '\0')
		rc |= put_field(buf, &off, 'n', p->name, strlen(p->name));
	if (p->phone[0] != '\0')
		rc |= put_field(buf, &off, 'p', p->phone, strlen(p->phone));
	if (p->has_card)
		rc |= put_field(buf, &off, 'c', p->card, DIR_HASH_LEN);
	if (p->has_code)
		rc |= put_field(buf, &off, 'm', p->code, DIR_HASH_LEN);
	if (p->has_pin) {
		pin[0] = p->pin.log2n;
		pin[1] = p->pin.r;
		pin[2] = p->pin.p;
		memcpy(pin + 3, p->pin.salt, DIR_SALT_LEN);
		memcpy(pin + 3 + DIR_SALT_LEN, p->pin.hash, DIR_HASH_LEN);
		rc |= put_field(buf, &off, 's', pin, sizeof(pin));
	}
	if (rc != 0)
		abort(); /* every field was bounded before: a broken invariant */
	return off;
}

/* text_field copies a text field, refusing NULs and overlong values. */
static int
text_field(char *dst, size_t max, const uint8_t *v, size_t len)
{
	if (len > max || memchr(v, '\0', len) != NULL)
		return CB_ECORRUPT;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/* srv_dir_decode parses a record; PINs with unusable parameters fail. */
int
srv_dir_decode(const uint8_t *buf, size_t len, struct dir_person *p)
{
	size_t off = 1, n;
	int last = 0, rc = 0;

	memset(p, 0, sizeof(*p));
	if (len < 1 || buf[0] != DIR_VERSION)
		return CB_ECORRUPT;
	while (rc == 0 && off < len) {
		const uint8_t *v = buf + off + 3;
		int tag;

		if (len - off < 3)
			return CB_ECORRUPT;
		tag = buf[off];
		n = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (n > len - off - 3)
			return CB_ECORRUPT;
		off += 3 + n;
		switch (tag) {
		case 'n':
			rc = last < 1 ? text_field(p->name, DIR_NAME_MAX, v, n) :
					CB_ECORRUPT;
			last = 1;
			break;
		case 'p':
			rc = last < 2 ? text_field(p->phone, DIR_PHONE_MAX, v,
					    n) :
					CB_ECORRUPT;
			last = 2;
			break;
		case 'c':
		case 'm':
			if (n != DIR_HASH_LEN || last >= (tag == 'c' ? 3 : 4))
				return CB_ECORRUPT;
			memcpy(tag == 'c' ? p->card : p->code, v, n);
			*(tag == 'c' ? &p->has_card : &p->has_code) = true;
			last = tag == 'c' ? 3 : 4;
			break;
		case 's':
			if (n != PIN_LEN || last >= 5 || v[0] < 10 ||
			    v[0] > 20 || v[1] < 1 || v[1] > 16 || v[2] < 1 ||
			    v[2] > 4)
				return CB_ECORRUPT;
			p->pin.log2n = v[0];
			p->pin.r = v[1];
			p->pin.p = v[2];
			memcpy(p->pin.salt, v + 3, DIR_SALT_LEN);
			memcpy(p->pin.hash, v + 3 + DIR_SALT_LEN, DIR_HASH_LEN);
			p->has_pin = true;
			last = 5;
			break;
		default:
			return CB_ECORRUPT;
		}
	}
	return rc;
}

/* lookup_key names the lookup record of a hash. */
static void
lookup_key(bool card, const uint8_t hash[DIR_HASH_LEN], char *key)
{
	memcpy(key, card ? "l/c/" : "l/m/", 4);
	cb_hex_encode(hash, DIR_HASH_LEN, key + 4);
}

/* srv_dir_lookup_key hashes a card or member code into its lookup key. */
void
srv_dir_lookup_key(const char *centre, bool card, const char *value,
    char *key, uint8_t hash[DIR_HASH_LEN])
{
	static const char tag_card[] = "carebank-card-v1";
	static const char tag_code[] = "carebank-code-v1";
	uint8_t buf[sizeof(tag_card) + CB_CENTRE_ID_MAX + 1 + CARD_MAX];
	size_t cl = strnlen(centre, CB_CENTRE_ID_MAX);
	size_t vl = strnlen(value, CARD_MAX), off;

	/* Both tags are 16 bytes; with their NULs, 17, as call.h's tag. */
	memcpy(buf, card ? tag_card : tag_code, sizeof(tag_card));
	off = sizeof(tag_card);
	memcpy(buf + off, centre, cl);
	off += cl;
	buf[off++] = '\0';
	memcpy(buf + off, value, vl);
	off += vl;
	SHA256(buf, off, hash);
	lookup_key(card, hash, key);
}

/* pin_hash runs scrypt over a PIN. Returns 0 or CB_ECRYPTO. */
static int
pin_hash(const struct dir_pin *par, const char *pin, size_t len,
    uint8_t out[DIR_HASH_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t n = 1ull << par->log2n, maxmem = PIN_MAXMEM;
	uint32_t r = par->r, p = par->p;
	OSSL_PARAM ps[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
		    (void *)(uintptr_t)pin, len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)(uintptr_t)par->salt, DIR_SALT_LEN),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
		    &maxmem),
		OSSL_PARAM_END,
	};
	int rc = CB_ECRYPTO;

	/* OpenSSL copies the password into the context and wipes it there. */
	if (ctx != NULL && EVP_KDF_derive(ctx, out, DIR_HASH_LEN, ps) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* pin_make hashes a new PIN with a fresh salt. */
static int
pin_make(const char *pin, size_t len, struct dir_pin *out)
{
	out->log2n = PIN_LOG2N;
	out->r = PIN_R;
	out->p = PIN_P;
	if (RAND_bytes(out->salt, DIR_SALT_LEN) != 1)
		return CB_ECRYPTO;
	return pin_hash(out, pin, len, out->hash);
}

/* srv_dir_pin_check checks a PIN, against a dummy when there is none. */
bool
srv_dir_pin_check(const struct dir_pin *stored, const char *pin, size_t len)
{
	static const struct dir_pin dummy = {.log2n = PIN_LOG2N,
	    .r = PIN_R,
	    .p = PIN_P,
	    .salt = "carebank-dummy"};
	uint8_t h[DIR_HASH_LEN];
	bool ok;

	if (pin_hash(stored ? stored : &dummy, pin, len, h) != 0)
		return false;
	ok = CRYPTO_memcmp(h, stored ? stored->hash : dummy.hash,
		 DIR_HASH_LEN) == 0;
	cb_wipe(h, sizeof(h));
	return ok && stored != NULL;
}

/* srv_job_continue makes a writer job carrying on j's call. */
struct srv_job *
srv_job_continue(const struct srv_job *j, const struct srv_method *m,
    size_t size)
{
	struct srv_job *c = cb_xcalloc(1, size);

	rpc_call_ref(j->call);
	c->call = j->call;
	c->held = size; /* its reply, when it has one, is not counted */
	rpc_call_hold(c->call, c->held);
	c->m = m;
	memcpy(c->centre, j->centre, sizeof(c->centre));
	memcpy(c->key_id, j->key_id, sizeof(c->key_id));
	c->client_ms = j->client_ms;
	c->role = j->role;
	c->queued_ns = j->queued_ns;
	return c;
}

/*
 * printable says whether s is 2 to max printable ASCII characters. Never
 * one: at the kiosk's menus a line of one key is a choice, and a longer
 * one the next parent's card or code (term_choice).
 */
static bool
printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return n >= 2 && n <= max;
}

/* valid_name refuses control characters and overlong names. */
static bool
valid_name(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return false;
	return n <= DIR_NAME_MAX;
}

/* valid_phone allows digits, spaces and + - ( ). */
static bool
valid_phone(const char *s)
{
	size_t n = strlen(s);

	return n <= DIR_PHONE_MAX && strspn(s, "0123456789 +-()") == n;
}

/* valid_pin allows 4 to 12 decimal digits. */
static bool
valid_pin(const char *s)
{
	size_t n = strlen(s);

	return n >= 4 && n <= 12 && strspn(s, "0123456789") == n;
}

/* check_request refuses what SetDirectory cannot store; 0 or answered. */
static int
check_request(struct srv_job *j, const Carebank__V1__DirectoryRequest *r)
{
	bool adult = r->id[0] == 'a';
	bool any = r->name[0] || r->phone[0] || r->card[0] ||
	    r->member_code[0] || r->pin[0];
	const char *bad = NULL;

	if (r->id[0] == '\0')
		bad = "say which family, adult or child";
	else if (strchr("fac", r->id[0]) == NULL)
		bad = "the id is not a family, adult or child id";
	else if (r->clear && any)
		bad = "clear erases the whole record: send no fields with it";
	else if (!r->clear && !any)
		bad = "nothing to set: send a field, or clear";
	else if (!valid_name(r->name))
		bad = "a name is at most 128 bytes, without control characters";
	else if (!adult && (r->phone[0] || r->card[0] || r->member_code[0] ||
			       r->pin[0]))
		bad = "only adults have a phone, card, member code or PIN";
	else if (!valid_phone(r->phone))
		bad = "a phone number is at most 32 digits, spaces and + - ( )";
	else if (r->card[0] && !printable(r->card, CARD_MAX))
		bad = "a card is 2 to 64 printable characters, no spaces";
	else if (r->member_code[0] && !printable(r->member_code, CODE_MAX))
		bad = "a member code is 2 to 32 printable characters, no spaces";
	else if (r->pin[0] && !valid_pin(r->pin))
		bad = "a PIN is 4 to 12 digits";
	if (bad == NULL)
		return 0;
	srv_fail(j, RPC_STATUS_INVALID_ARGUMENT, "%s", bad);
	return -1;
}

/* prepare fills the writer's job: hashes made, the PIN wiped. */
static int
prepare(struct srv_job *j, const Carebank__V1__DirectoryRequest *r,
    struct dir_job *d)
{
	char key[SRV_DIR_KEY_MAX];

	snprintf(d->id, sizeof(d->id), "%s", r->id);
	d->clear = r->clear;
	snprintf(d->set.name, sizeof(d->set.name), "%s", r->name);
	snprintf(d->set.phone, sizeof(d->set.phone), "%s", r->phone);
	if ((d->set.has_card = r->card[0] != '\0'))
		srv_dir_lookup_key(j->centre, true, r->card, key, d->set.card);
	if ((d->set.has_code = r->member_code[0] != '\0'))
		srv_dir_lookup_key(j->centre, false, r->member_code, key,
		    d->set.code);
	if ((d->set.has_pin = r->pin[0] != '\0') &&
	    pin_make(r->pin, strlen(r->pin), &d->set.pin) != 0) {
		srv_fail(j, RPC_STATUS_INTERNAL, "the PIN could not be hashed");
		return -1;
	}
	return 0;
}

/*
 * srv_set_directory (Coordinator.SetDirectory) runs on a worker: it checks
 * the request and that the id exists, hashes the PIN there rather than on
 * the writer (scrypt is slow on purpose), wipes it, and hands the change to
 * the writer, which applies it in its batch (dir_apply).
 */
void
srv_set_directory(struct srv *s, struct srv_job *j)
{
	Carebank__V1__DirectoryRequest *r = (void *)j->req;
	static const ProtobufCMessageDescriptor *const kinds[] = {
	    &carebank__v1__family_state__descriptor,
	    &carebank__v1__adult_state__descriptor,
	    &carebank__v1__child_state__descriptor};
	static const char *const nouns[] = {"family", "adult", "child"};
	struct srv_read rd = {0};
	struct dir_job *d = NULL;
	void *rec;
	int k, rc;

	if (check_request(j, r) != 0 || srv_read_open(s, j, &rd) != 0)
		goto out;
	k = (int)(strchr("fac", r->id[0]) - "fac");
	rc = srv_id_valid(r->id[0], r->id) ?
		 srv_read_get(&rd, r->id[0], r->id, kinds[k], &rec) :
		 CB_ENOTFOUND;
	if (rc == CB_ENOTFOUND) {
		srv_fail(j, RPC_STATUS_NOT_FOUND, "there is no %s %s here",
		    nouns[k], r->id);
		goto out;
	}
	if (rc != 0) {
		srv_read_fail(j, rc, "the views");
		goto out;
	}
	d = (struct dir_job *)srv_job_continue(j, &apply_method, sizeof(*d));
	if (prepare(j, r, d) != 0)
		goto out;
	srv_queue_push(&s->write, &d->job);
	d = NULL;
out:
	if (d != NULL) {
		cb_wipe(&d->set.pin, sizeof(d->set.pin));
		srv_job_free(&d->job);
	}
	srv_read_close(&rd);
	cb_wipe(r->pin, strlen(r->pin));
	cb_wipe(j->bytes, j->len);
}

/* get_person reads a record in the batch; *found false when there is none. */
static int
get_person(struct srv *s, const struct srv_job *j, const char *key,
    struct dir_person *p, bool *found)
{
	uint8_t *buf;
	size_t len;
	int rc;

	*found = false;
	memset(p, 0, sizeof(*p));
	rc = cb_batch_dir_get(s->batch, j->centre, key, strlen(key), &buf, &len);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	rc = srv_dir_decode(buf, len, p);
	free(buf);
	*found = rc == 0;
	return rc;
}

/* holder reads who holds a lookup key, into id ("" for nobody). */
static int
holder(struct srv *s, const struct srv_job *j, const char *key, char *id)
{
	uint8_t *buf;
	size_t len;
	int rc;

	id[0] = '\0';
	rc = cb_batch_dir_get(s->batch, j->centre, key, strlen(key), &buf, &len);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (len >= SRV_ID_MAX || memchr(buf, '\0', len) != NULL)
		rc = CB_ECORRUPT;
	else
		snprintf(id, SRV_ID_MAX, "%.*s", (int)len, (const char *)buf);
	free(buf);
	return rc;
}

/* del_key deletes a directory key that may be absent. */
static int
del_key(struct srv *s, const struct srv_job *j, const char *key)
{
	int rc = cb_batch_dir_del(s->batch, j->centre, key, strlen(key));

	return rc == CB_ENOTFOUND ? 0 : rc;
}

/* relink points a card or code lookup at id, freeing the old one. */
static int
relink(struct srv *s, struct dir_job *d, bool card, bool had,
    const uint8_t *old, const uint8_t *hash)
{
	char key[SRV_DIR_KEY_MAX];
	int rc;

	if (had && memcmp(old, hash, DIR_HASH_LEN) != 0) {
		lookup_key(card, old, key);
		if ((rc = del_key(s, &d->job, key)) != 0)
			return rc;
	}
	lookup_key(card, hash, key);
	return cb_batch_dir_put(s->batch, d->job.centre, key, strlen(key),
	    d->id, strlen(d->id));
}

/* taken refuses a card or code another adult holds; 1 if it did. */
static int
taken(struct srv *s, struct dir_job *d, bool card, const uint8_t *hash,
    int *rc)
{
	char key[SRV_DIR_KEY_MAX], who[SRV_ID_MAX];

	lookup_key(card, hash, key);
	if ((*rc = holder(s, &d->job, key, who)) != 0)
		return 0;
	if (who[0] == '\0' || strcmp(who, d->id) == 0)
		return 0;
	srv_out_status(&d->job, RPC_STATUS_ALREADY_EXISTS,
	    "that %s belongs to another adult of this centre",
	    card ? "card" : "member code");
	return 1;
}

/* merge sets the fields of the request over the record. */
static int
merge(struct srv *s, struct dir_job *d)
{
	struct dir_person p;
	uint8_t buf[DIR_RECORD_MAX];
	char key[SRV_DIR_KEY_MAX];
	bool found;
	size_t len;
	int rc = 0;

	snprintf(key, sizeof(key), "p/%s", d->id);
	if ((rc = get_person(s, &d->job, key, &p, &found)) != 0)
		return rc;
	if ((d->set.has_card && taken(s, d, true, d->set.card, &rc)) ||
	    (rc == 0 && d->set.has_code &&
		taken(s, d, false, d->set.code, &rc)))
		return 0;
	if (rc == 0 && d->set.has_card &&
	    (rc = relink(s, d, true, p.has_card, p.card, d->set.card)) == 0) {
		memcpy(p.card, d->set.card, DIR_HASH_LEN);
		p.has_card = true;
	}
	if (rc == 0 && d->set.has_code &&
	    (rc = relink(s, d, false, p.has_code, p.code, d->set.code)) == 0) {
		memcpy(p.code, d->set.code, DIR_HASH_LEN);
		p.has_code = true;
	}
	if (rc != 0)
		return rc;
	if (d->set.name[0] != '\0')
		memcpy(p.name, d->set.name, sizeof(p.name));
	if (d->set.phone[0] != '\0')
		memcpy(p.phone, d->set.phone, sizeof(p.phone));
	if (d->set.has_pin) {
		p.pin = d->set.pin;
		p.has_pin = true;
	}
	len = encode(&p, buf);
	rc = cb_batch_dir_put(s->batch, d->job.centre, key, strlen(key), buf,
	    len);
	cb_wipe(&p.pin, sizeof(p.pin));
	cb_wipe(buf, sizeof(buf));
	return rc;
}

/* erase removes every record of an id: its own, lookups and failures. */
static int
erase(struct srv *s, struct dir_job *d)
{
	struct dir_person p;
	char key[SRV_DIR_KEY_MAX], who[SRV_ID_MAX];
	bool found;
	int rc;

	snprintf(key, sizeof(key), "p/%s", d->id);
	rc = get_person(s, &d->job, key, &p, &found);
	if (rc == CB_ECORRUPT)
		rc = 0; /* a damaged record is erased all the same */
	if (rc != 0 || (rc = del_key(s, &d->job, key)) != 0)
		return rc;
	for (int i = 0; i < 2 && found; i++) {
		if (!(i == 0 ? p.has_card : p.has_code))
			continue;
		lookup_key(i == 0, i == 0 ? p.card : p.code, key);
		if ((rc = holder(s, &d->job, key, who)) != 0)
			return rc;
		if (strcmp(who, d->id) == 0 &&
		    (rc = del_key(s, &d->job, key)) != 0)
			return rc;
	}
	snprintf(key, sizeof(key), "L/%s", d->id);
	if ((rc = del_key(s, &d->job, key)) == 0)
		srv_kiosk_forget(s, d->job.centre, d->id);
	return rc;
}

/* dir_apply changes the directory in the writer's batch, all or nothing. */
static void
dir_apply(struct srv *s, struct srv_job *j)
{
	struct dir_job *d = (struct dir_job *)j;
	Carebank__V1__DirectoryReply rep;
	int rc, end;

	carebank__v1__directory_reply__init(&rep);
	if ((rc = cb_batch_request_begin(s->batch)) == 0) {
		rc = d->clear ? erase(s, d) : merge(s, d);
		end = cb_batch_request_end(s->batch, rc == 0 &&
						       j->out == OUT_NONE);
		rc = rc ? rc : end;
	}
	cb_wipe(&d->set.pin, sizeof(d->set.pin));
	if (rc != 0) {
		srv_out_status(j, srv_status_of_code(rc),
		    "the directory could not be changed: %s", cb_strerror(rc));
		return;
	}
	if (j->out != OUT_NONE)
		return; /* refused: a card or code is taken */
	rep.id = d->id;
	srv_out_reply(j, &rep.base);
}
