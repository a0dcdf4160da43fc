/*
 * Reports as aligned tables for people and as CSV for spreadsheets. A
 * table is filled cell by cell, row after row; each cell keeps two texts,
 * the one a person reads (yuan with two decimals, h:mm, a local time) and
 * the raw one a program reads (fen, minutes, Unix ms). Tables pad by the
 * terminal width of their text (utf8.h), numbers to the right, and leave
 * no trailing blanks. CSV is csv.h's: RFC 4180, with a text cell that a
 * spreadsheet would run as a formula quoted with a leading apostrophe, so
 * a name typed at the desk cannot become one.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "coord.h"
#include "csv.h"
#include "utf8.h"

#define CELL_MAX 48 /* a formatted number or time */

/* One cell: what a person reads, and what a program reads. */
struct cell {
	char *shown;
	char *raw;
};

struct table {
	const struct table_col *cols;
	size_t ncols;
	int offset;
	struct cell *cells;
	size_t ncells, cap;
};

/* table_new starts an empty table. */
struct table *
table_new(const struct table_col *cols, size_t n, int offset)
{
	struct table *t = cb_xcalloc(1, sizeof(*t));

	t->cols = cols;
	t->ncols = n;
	t->offset = offset;
	return t;
}

/* add appends a cell, taking both strings. */
static void
add(struct table *t, char *shown, char *raw)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = cb_xreallocarray(t->cells, t->cap,
		    sizeof(*t->cells));
	}
	t->cells[t->ncells].shown = shown;
	t->cells[t->ncells].raw = raw;
	t->ncells++;
}

/* shown copies a cell's text for the terminal: no control characters (a
 * memo or a note could carry escape sequences); CSV and JSON keep them. */
static char *
shown(const char *s)
{
	char *c = cb_xstrdup(s);

	cbt_unctrl(c);
	return c;
}

/* table_text adds a text cell. */
void
table_text(struct table *t, const char *s)
{
	add(t, shown(s), cb_xstrdup(s));
}

/* table_pair adds a cell whose shown and raw texts differ. */
void
table_pair(struct table *t, const char *text, const char *raw)
{
	add(t, shown(text), cb_xstrdup(raw));
}

/* table_num adds a number, shown as its column's kind says. */
void
table_num(struct table *t, int64_t v)
{
	const struct table_col *c = &t->cols[t->ncells % t->ncols];
	char shown[CELL_MAX], raw[CELL_MAX];

	snprintf(raw, sizeof(raw), "%" PRId64, v);
	switch (c->kind) {
	case TK_FEN_SOME:
		if (v == 0) {
			shown[0] = '\0';
			break;
		}
		/* fall through */
	case TK_FEN:
		units_fen(v, shown, sizeof(shown));
		break;
	case TK_MINUTES:
		units_minutes(v, shown, sizeof(shown));
		break;
	case TK_TIME:
		if (v == 0)
			shown[0] = '\0';
		else
			units_time(v, t->offset, shown, sizeof(shown));
		break;
	case TK_FLAG:
		snprintf(shown, sizeof(shown), "%s", v ? "yes" : "");
		snprintf(raw, sizeof(raw), "%s", v ? "true" : "false");
		break;
	default:
		snprintf(shown, sizeof(shown), "%s", raw);
		break;
	}
	add(t, cb_xstrdup(shown), cb_xstrdup(raw));
}

/* table_rows counts complete and partial rows. */
size_t
table_rows(const struct table *t)
{
	return (t->ncells + t->ncols - 1) / t->ncols;
}

/* pad writes n blanks. */
static void
pad(FILE *f, size_t n)
{
	while (n-- > 0)
		fputc(' ', f);
}

/* right_aligned says whether a column's numbers align right. */
static bool
right_aligned(const struct table_col *c)
{
	return c->kind == TK_INT || c->kind == TK_FEN ||
	       c->kind == TK_FEN_SOME || c->kind == TK_MINUTES;
}

/* print_row prints one row of texts padded to the widths. */
static void
print_row(FILE *f, const struct table *t, const char *const *texts,
    const size_t *width)
{
	size_t owed = 0; /* blanks still to write before the next text */

	for (size_t i = 0; i < t->ncols; i++) {
		size_t w = utf8_width(texts[i]);

		if (i > 0)
			owed += 2;
		if (right_aligned(&t->cols[i])) {
			pad(f, owed + width[i] - w);
			owed = 0;
			fputs(texts[i], f);
		} else {
			if (w > 0) {
				pad(f, owed);
				owed = 0;
				fputs(texts[i], f);
			}
			owed += width[i] - w;
		}
	}
	fputc('\n', f);
}

/* print_table prints the aligned table. */
static void
print_table(const struct table *t, FILE *f)
{
	size_t *width = cb_xcalloc(t->ncols, sizeof(*width));
	const char **texts = cb_xcalloc(t->ncols, sizeof(*texts));

	for (size_t i = 0; i < t->ncols; i++)
		width[i] = utf8_width(t->cols[i].title);
	for (size_t i = 0; i < t->ncells; i++) {
		size_t w = utf8_width(t->cells[i].shown);

		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	for (size_t i = 0; i < t->ncols; i++)
		texts[i] = t->cols[i].title;
	print_row(f, t, texts, width);
	for (size_t r = 0; r * t->ncols < t->ncells; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			size_t k = r * t->ncols + i;

			texts[i] = k < t->ncells ? t->cells[k].shown : "";
		}
		print_row(f, t, texts, width);
	}
	free(texts);
	free(width);
}

/* print_csv prints a header line and one line per row. */
static void
print_csv(const struct table *t, FILE *f)
{
	for (size_t i = 0; i < t->ncols; i++) {
		if (i > 0)
			fputc(',', f);
		csv_field(f, t->cols[i].key, false);
	}
	csv_end(f);
	for (size_t k = 0; k < t->ncells; k++) {
		const struct table_col *c = &t->cols[k % t->ncols];

		if (k % t->ncols > 0)
			fputc(',', f);
		csv_field(f, t->cells[k].raw, c->kind == TK_TEXT);
		if (k % t->ncols == t->ncols - 1 || k == t->ncells - 1)
			csv_end(f);
	}
}

/* table_print prints and frees the table. */
void
table_print(struct table *t, FILE *f, enum coord_format format,
    const char *empty)
{
	if (format == FORMAT_CSV)
		print_csv(t, f);
	else if (t->ncells == 0 && empty != NULL)
		fprintf(f, "%s\n", empty);
	else
		print_table(t, f);
	for (size_t i = 0; i < t->ncells; i++) {
		free(t->cells[i].shown);
		free(t->cells[i].raw);
	}
	free(t->cells);
	free(t);
}
