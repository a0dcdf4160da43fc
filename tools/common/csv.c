/* CSV fields and lines (csv.h). */
#include <string.h>

#include "csv.h"

void
csv_field(FILE *f, const char *s, bool text)
{
	bool formula = text && s[0] != '\0' && strchr("=+-@", s[0]) != NULL;
	bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;

	if (!quote) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
csv_end(FILE *f)
{
	fputs("\r\n", f);
}
