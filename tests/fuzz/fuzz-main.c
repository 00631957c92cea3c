/*
 * fuzz-main.c: run LLVMFuzzerTestOneInput over files without libFuzzer.
 *
 * Every argument is a file or a directory; directories are walked
 * recursively (entries starting with '.' are skipped).  Used to replay the
 * committed corpus as an ordinary test.  Exits 0 when every input ran.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	run_path(const char *);

static int	ninputs;

/* Read a whole file and hand it to the fuzz target. */
static int
run_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf = NULL, *nbuf;
	size_t	 len = 0, size = 0, n;
	int	 rv = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return (-1);
	}
	for (;;) {
		if (len == size) {
			size = size == 0 ? 4096 : size * 2;
			if ((nbuf = realloc(buf, size)) == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				goto out;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, size - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, len);
	ninputs++;
	rv = 0;
out:
	free(buf);
	fclose(f);
	return (rv);
}

static int
run_dir(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	char		*sub;
	int		 rv = 0;

	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&sub, "%s/%s", path, de->d_name) == -1) {
			rv = -1;
			break;
		}
		if (run_path(sub) != 0)
			rv = -1;
		free(sub);
	}
	closedir(d);
	return (rv);
}

static int
run_path(const char *path)
{
	struct stat	sb;

	if (stat(path, &sb) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (S_ISDIR(sb.st_mode))
		return (run_dir(path));
	return (run_file(path));
}

int
main(int argc, char **argv)
{
	int	i, rv = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file|dir ...\n", argv[0]);
		return (2);
	}
	for (i = 1; i < argc; i++) {
		if (run_path(argv[i]) != 0)
			rv = 1;
	}
	printf("%d inputs ran\n", ninputs);
	return (rv);
}
