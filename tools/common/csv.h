/*
 * CSV as RFC 4180 writes it, for the spreadsheets of a centre's coordinator
 * and its auditors: a field is quoted when it holds a comma, a quote or a
 * line break, and lines end in CRLF. A text field that a spreadsheet would
 * take for a formula (it starts with =, +, - or @) is quoted and starts
 * with an apostrophe, so that a memo or a review's note typed by anyone is
 * shown, never run.
 */
#ifndef CAREBANK_TOOL_CSV_H
#define CAREBANK_TOOL_CSV_H

#include <stdbool.h>
#include <stdio.h>

/* csv_field writes one field; text says it is free text, not a number. */
void csv_field(FILE *f, const char *s, bool text);

/* csv_end ends a line. */
void csv_end(FILE *f);

#endif
