/*
 * libFuzzer target for every request message that makes entries: the
 * input's bytes, signed as a call of one of the bank's methods, go through
 * the same write path as the server's (cb_bank_execute: unpack, the
 * request checks, the rules) against a centre with a family, an adult
 * volunteering on a shift in a room and a child checked in there
 * (tests/unit/testbank.c: f2, a3, c4, r6, s7). The batch
 * is abandoned after each input, so every input meets the same centre.
 *
 *   method (1, modulo the table) | signer (1: even the coordinator, odd
 *   the kiosk) | request bytes
 *
 * Beyond not crashing: no storage error; a refusal has a name and a
 * message; an accepted request's entry carries the call exactly as signed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/store.h"
#include "carebank/call.h"
#include "testbank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tb t;
static int ready;

/* cleanup removes the centre's store when the process ends. */
static void
cleanup(void)
{
	tb_close(&t);
}

/* setup makes the centre once per process. */
static void
setup(void)
{
	const char *fam, *adult, *child, *room, *shift;

	if (ready)
		return;
	tb_open(&t, NULL);
	fam = tb_family(&t);
	adult = tb_adult(&t, fam);
	child = tb_child(&t, fam, adult);
	room = tb_room(&t);
	shift = tb_shift(&t, room, TB_T0, TB_T0 + 3 * TB_HOUR, adult);
	if (tb_shift_in(&t, shift, adult) != 0 ||
	    tb_child_in(&t, child, room, adult) != 0)
		abort();
	t.now += 30 * TB_MIN;
	ready = 1;
	atexit(cleanup);
}

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cb_signed_call call;
	const struct cb_bank_method *m;
	const struct cb_key *key;
	uint8_t kid[CB_KEY_ID_LEN], sig[64];
	struct cb_bank_op op;
	struct cb_appended out;
	struct cb_batch *b;
	size_t n;

	carebank__v1__signed_call__init(&call);
	if (size < 2)
		return 0;
	setup();
	m = cb_bank_methods(&n);
	m += data[0] % n;
	key = data[1] % 2 ? t.kiosk : t.coord;
	cb_key_id(key, kid);
	if (cb_call_sign(key, m->path, t.now, data + 2, size - 2, sig) != 0)
		abort();
	call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, kid};
	call.method = (char *)(uintptr_t)m->path;
	call.client_time_ms = t.now;
	call.request = (ProtobufCBinaryData){size - 2, (uint8_t *)(uintptr_t)(data + 2)};
	call.signature = (ProtobufCBinaryData){64, sig};
	memset(&op, 0, sizeof(op));
	op.centre = TB_CENTRE;
	op.server_time_ms = t.now;
	op.call = &call;
	if (cb_batch_begin(t.store, &b) != 0 ||
	    cb_bank_execute(b, &op, &out) != 0)
		abort();
	if (op.refusal != 0 &&
	    (cb_refusal_name(op.refusal) == NULL || op.message[0] == '\0'))
		abort();
	if (op.refusal == 0 &&
	    (op.entry == NULL || op.entry->call == NULL ||
		op.entry->call->request.len != size - 2 ||
		(size > 2 &&
		    memcmp(op.entry->call->request.data, data + 2, size - 2) !=
			0)))
		abort();
	cb_batch_free(b);
	cb_bank_op_free(&op);
	return 0;
}
