/*
 * An index of descriptor sets for server reflection. Reflection answers
 * with serialized FileDescriptorProtos, so rather than decode and re-encode
 * them the index reads the protobuf wire format directly (varint keys;
 * length-delimited fields; see protobuf's encoding guide) and keeps pointers
 * to each file's exact bytes, with its name, its dependencies, the fully
 * qualified names it declares and the extensions it defines:
 *
 *   FileDescriptorSet      1: file (FileDescriptorProto, repeated)
 *   FileDescriptorProto    1: name  2: package  3: dependency  4: message_type
 *                          5: enum_type  6: service  7: extension
 *   DescriptorProto        1: name  2: field  3: nested_type  4: enum_type
 *                          6: extension
 *   EnumDescriptorProto    1: name  2: value (1: name)
 *   ServiceDescriptorProto 1: name  2: method (1: name)
 *   FieldDescriptorProto   1: name  2: extendee  3: number
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/error.h"
#include "carebank/xalloc.h"

#include "descset.h"

/* Nesting deeper than this is refused rather than recursed into. */
#define MAX_DEPTH 32

/* A cursor over protobuf wire bytes. */
struct pbr {
	const uint8_t *p, *end;
};

/* One decoded field: number, wire type, and its bytes or value. */
struct pbf {
	uint32_t num;
	int wt;
	const uint8_t *data;
	size_t len;
	uint64_t val;
};

/* varint reads a base-128 varint of at most ten bytes. */
static int
varint(struct pbr *r, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70 && r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* next reads the next field; returns 1, 0 at the end, -1 if malformed. */
static int
next(struct pbr *r, struct pbf *f)
{
	uint64_t key, n;

	memset(f, 0, sizeof(*f));
	if (r->p == r->end)
		return 0;
	if (varint(r, &key) != 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	switch (f->wt) {
	case 0:
		return varint(r, &f->val) == 0 ? 1 : -1;
	case 1:
		n = 8;
		break;
	case 2:
		if (varint(r, &n) != 0)
			return -1;
		break;
	case 5:
		n = 4;
		break;
	default:
		return -1;
	}
	if (n > (uint64_t)(r->end - r->p))
		return -1;
	f->data = r->p;
	f->len = (size_t)n;
	r->p += n;
	return 1;
}

/* str copies a length-delimited field as a C string. */
static char *
str(const struct pbf *f)
{
	char *s = cb_xmalloc(f->len + 1);

	memcpy(s, f->data, f->len);
	s[f->len] = '\0';
	return s;
}

/* qualify joins a scope and a name with a dot. */
static char *
qualify(const char *scope, const struct pbf *name)
{
	char *leaf = str(name), *q;

	if (*scope == '\0')
		return leaf;
	q = cb_xasprintf("%s.%s", scope, leaf);
	free(leaf);
	return q;
}

/* name_of finds field 1 (name) of a message; NULL if absent. */
static char *
name_of(const uint8_t *p, size_t len, const char *scope)
{
	struct pbr r = {p, p + len};
	struct pbf f;
	int rc;

	while ((rc = next(&r, &f)) > 0)
		if (f.num == 1 && f.wt == 2)
			return qualify(scope, &f);
	return NULL;
}

/* add_sym records one declared name. */
static void
add_sym(struct rpc_descset *ds, char *name, size_t file, int type)
{
	if (ds->nsyms == ds->capsyms) {
		ds->capsyms = ds->capsyms ? ds->capsyms * 2 : 64;
		ds->syms =
		    cb_xreallocarray(ds->syms, ds->capsyms, sizeof(*ds->syms));
	}
	ds->syms[ds->nsyms++] = (struct rpc_dsym){name, file, type};
}

/* add_ext records an extension (a FieldDescriptorProto with extendee). */
static int
add_ext(struct rpc_descset *ds, const struct pbf *field, const char *scope,
        size_t file)
{
	struct pbr r = {field->data, field->data + field->len};
	struct pbf f;
	char *extendee = NULL;
	int64_t number = -1;
	int rc;

	while ((rc = next(&r, &f)) > 0) {
		if (f.num == 2 && f.wt == 2) {
			free(extendee);
			extendee = str(&f);
		} else if (f.num == 3 && f.wt == 0)
			number = (int32_t)f.val;
	}
	if (rc < 0 || extendee == NULL || number < 0) {
		free(extendee);
		return rc < 0 ? -1 : 0;
	}
	if (ds->nexts == ds->capexts) {
		ds->capexts = ds->capexts ? ds->capexts * 2 : 16;
		ds->exts =
		    cb_xreallocarray(ds->exts, ds->capexts, sizeof(*ds->exts));
	}
	ds->exts[ds->nexts].extendee =
	    cb_xstrdup(extendee + (extendee[0] == '.'));
	ds->exts[ds->nexts].number = (int32_t)number;
	ds->exts[ds->nexts].file = file;
	ds->nexts++;
	free(extendee);
	add_sym(ds, name_of(field->data, field->len, scope), file, 0);
	return 0;
}

/* add_children indexes enum values or service methods (field 2). */
static int
add_children(struct rpc_descset *ds, const struct pbf *parent,
             const char *scope, size_t file)
{
	struct pbr r = {parent->data, parent->data + parent->len};
	struct pbf f;
	int rc;

	while ((rc = next(&r, &f)) > 0) {
		char *name;

		if (f.num != 2 || f.wt != 2)
			continue;
		if ((name = name_of(f.data, f.len, scope)) == NULL)
			return -1;
		add_sym(ds, name, file, 0);
	}
	return rc;
}

/* add_message indexes a message, its fields, nested types and enums. */
static int
add_message(struct rpc_descset *ds, const struct pbf *msg, const char *scope,
            size_t file, int depth)
{
	struct pbr r = {msg->data, msg->data + msg->len};
	struct pbf f;
	char *name = name_of(msg->data, msg->len, scope);
	int rc = 0;

	if (name == NULL || depth > MAX_DEPTH) {
		free(name);
		return -1;
	}
	add_sym(ds, name, file, 1);
	while (rc >= 0 && (rc = next(&r, &f)) > 0) {
		char *child;

		if (f.wt != 2)
			continue;
		if (f.num == 2) {
			if ((child = name_of(f.data, f.len, name)) == NULL)
				return -1;
			add_sym(ds, child, file, 0);
		} else if (f.num == 3)
			rc = add_message(ds, &f, name, file, depth + 1);
		else if (f.num == 4) {
			if ((child = name_of(f.data, f.len, name)) == NULL)
				return -1;
			add_sym(ds, child, file, 0);
			rc = add_children(ds, &f, name, file);
		} else if (f.num == 6)
			rc = add_ext(ds, &f, name, file);
	}
	return rc;
}

/* add_file indexes one FileDescriptorProto. */
static int
add_file(struct rpc_descset *ds, const struct pbf *file)
{
	struct pbr r = {file->data, file->data + file->len};
	struct pbf f;
	struct rpc_dfile df = {file->data, file->len, NULL, NULL, 0};
	char *pkg = NULL;
	size_t idx = ds->nfiles;
	int rc;

	while ((rc = next(&r, &f)) > 0) {
		if (f.num == 1 && f.wt == 2 && df.name == NULL)
			df.name = str(&f);
		else if (f.num == 2 && f.wt == 2 && pkg == NULL)
			pkg = str(&f);
		else if (f.num == 3 && f.wt == 2) {
			df.deps = cb_xreallocarray(df.deps, df.ndeps + 1,
			                           sizeof(*df.deps));
			df.deps[df.ndeps++] = str(&f);
		}
	}
	if (rc < 0 || df.name == NULL || rpc_descset_file(ds, df.name) >= 0) {
		for (size_t i = 0; i < df.ndeps; i++)
			free(df.deps[i]);
		free(df.deps);
		free(df.name);
		free(pkg);
		return rc < 0 || df.name == NULL ? -1 : 0;
	}
	if (ds->nfiles == ds->capfiles) {
		ds->capfiles = ds->capfiles ? ds->capfiles * 2 : 16;
		ds->files = cb_xreallocarray(ds->files, ds->capfiles,
		                             sizeof(*ds->files));
	}
	ds->files[ds->nfiles++] = df;
	if (pkg == NULL)
		pkg = cb_xstrdup("");
	r = (struct pbr){file->data, file->data + file->len};
	while (rc >= 0 && (rc = next(&r, &f)) > 0) {
		char *name;

		if (f.wt != 2)
			continue;
		if (f.num == 4)
			rc = add_message(ds, &f, pkg, idx, 0);
		else if (f.num == 5 || f.num == 6) {
			if ((name = name_of(f.data, f.len, pkg)) == NULL) {
				rc = -1;
				break;
			}
			add_sym(ds, name, idx, 0);
			rc = add_children(ds, &f, f.num == 5 ? pkg : name, idx);
		} else if (f.num == 7)
			rc = add_ext(ds, &f, pkg, idx);
	}
	free(pkg);
	return rc < 0 ? -1 : 0;
}

/* truncate_to drops entries added after a failed set. */
static void
truncate_to(struct rpc_descset *ds, size_t nfiles, size_t nsyms, size_t nexts)
{
	while (ds->nfiles > nfiles) {
		struct rpc_dfile *f = &ds->files[--ds->nfiles];

		for (size_t i = 0; i < f->ndeps; i++)
			free(f->deps[i]);
		free(f->deps);
		free(f->name);
	}
	while (ds->nsyms > nsyms)
		free(ds->syms[--ds->nsyms].name);
	while (ds->nexts > nexts)
		free(ds->exts[--ds->nexts].extendee);
}

/* rpc_descset_add indexes every file of a set. */
int
rpc_descset_add(struct rpc_descset *ds, const uint8_t *set, size_t len)
{
	struct pbr r = {set, set + len};
	struct pbf f;
	size_t nfiles = ds->nfiles, nsyms = ds->nsyms, nexts = ds->nexts;
	int rc;

	while ((rc = next(&r, &f)) > 0) {
		if (f.num != 1 || f.wt != 2)
			continue;
		if (add_file(ds, &f) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc < 0) {
		truncate_to(ds, nfiles, nsyms, nexts);
		return CB_EFORMAT;
	}
	return 0;
}

/* rpc_descset_file finds a file by name. */
long
rpc_descset_file(const struct rpc_descset *ds, const char *name)
{
	for (size_t i = 0; i < ds->nfiles; i++)
		if (strcmp(ds->files[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* rpc_descset_symbol finds a declared name. */
const struct rpc_dsym *
rpc_descset_symbol(const struct rpc_descset *ds, const char *name)
{
	for (size_t i = 0; i < ds->nsyms; i++)
		if (strcmp(ds->syms[i].name, name) == 0)
			return &ds->syms[i];
	return NULL;
}

/* rpc_descset_extension finds the file that extends type with number. */
long
rpc_descset_extension(const struct rpc_descset *ds, const char *type,
                      int32_t number)
{
	for (size_t i = 0; i < ds->nexts; i++)
		if (ds->exts[i].number == number &&
		    strcmp(ds->exts[i].extendee, type) == 0)
			return (long)ds->exts[i].file;
	return -1;
}

/* rpc_descset_free frees the index. */
void
rpc_descset_free(struct rpc_descset *ds)
{
	truncate_to(ds, 0, 0, 0);
	free(ds->files);
	free(ds->syms);
	free(ds->exts);
	memset(ds, 0, sizeof(*ds));
}
