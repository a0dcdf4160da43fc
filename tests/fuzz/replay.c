/*
 * Corpus replay: runs a fuzz target's LLVMFuzzerTestOneInput over every file
 * in the directories (or files) named on the command line, so ctest exercises
 * each corpus in the ordinary sanitizer build without libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "carebank/file.h"
#include "carebank/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (16u << 20)

/* run_file feeds one corpus file to the target. */
static int
run_file(const char *path)
{
	uint8_t *buf;
	size_t len;

	if (cb_file_read(path, INPUT_MAX, &buf, &len) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

/* run_path replays a file or every regular file in a directory. */
static int
run_path(const char *path, size_t *count)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s does not exist\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((dir = opendir(path)) == NULL)
		return -1;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = cb_xasprintf("%s/%s", path, de->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			(*count)++;
			rc = run_file(p);
		}
		free(p);
	}
	closedir(dir);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: replay corpus-dir-or-file ...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) != 0)
			return 1;
	if (count == 0) {
		fprintf(stderr, "replay: empty corpus\n");
		return 1;
	}
	printf("replayed %zu inputs\n", count);
	return 0;
}
