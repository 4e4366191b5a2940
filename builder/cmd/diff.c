/* `stele diff OLD NEW [--json]`: what changed between two releases (builder/diff.h), as text
 * or JSON. Exit status as diff(1): 0 the same, 1 different, 2 bad usage or unreadable input. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/diff.h"
#include "builder/size.h"
#include "commands.h"

void cmd_diff_help(FILE *f)
{
	fprintf(f,
		"Usage: stele diff OLD NEW [--json]\n"
		"\n"
		"Shows what changed between two releases: the manifest's fields (version,\n"
		"rollback index, root hash, command line, health policy, provenance), the\n"
		"packages its inputs name (added, removed, at another version) and every file\n"
		"of the root filesystem (added, removed, and changed: content, type, symlink\n"
		"target, mode, owner; with sizes). OLD and NEW are each a disk image (its slot\n"
		"A, or B when only B holds one), a bundle, or a NAME.verity with NAME.rootfs.ext4\n"
		"beside it. Signatures are not checked here (stele verify does that).\n"
		"\n"
		"Exit status: 0 no difference, 1 differences, 2 bad usage or an input that is not\n"
		"a readable image.\n"
		"\n"
		"Options:\n"
		"      --json   print the differences as JSON on stdout\n"
		"  -h, --help   this help\n");
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int count(const cJSON *o, const char *key)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* A value on one line, cut at 120 bytes. */
static void print_value(const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);

	if (!s) {
		fputs("?", stdout);
		return;
	}
	printf("%.120s%s", s, strlen(s) > 120 ? "..." : "");
	free(s);
}

static void print_entry_line(char sign, const cJSON *x)
{
	char size[32];

	printf("  %c %s  %s", sign, jstr(x, "path"), jstr(x, "type"));
	if (strcmp(jstr(x, "type"), "reg") == 0)
		printf(" %s", size_str((unsigned long long)jnum(x, "size"), size, sizeof(size)));
	if (*jstr(x, "target"))
		printf(" -> %s", jstr(x, "target"));
	printf("\n");
}

static void print_changed(const cJSON *x)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(x, "old");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(x, "new");
	const cJSON *c;
	char a[32], b[32];
	const char *sep = "";

	printf("  ~ %s  ", jstr(x, "path"));
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(x, "changes"))
	{
		const char *what = c->valuestring;

		printf("%s", sep);
		sep = "; ";
		if (strcmp(what, "content") == 0)
			printf("content, %s -> %s",
			       size_str((unsigned long long)jnum(o, "size"), a, sizeof(a)),
			       size_str((unsigned long long)jnum(n, "size"), b, sizeof(b)));
		else if (strcmp(what, "mode") == 0)
			printf("mode %s -> %s", jstr(o, "mode"), jstr(n, "mode"));
		else if (strcmp(what, "owner") == 0)
			printf("owner %.0f:%.0f -> %.0f:%.0f", jnum(o, "uid"), jnum(o, "gid"),
			       jnum(n, "uid"), jnum(n, "gid"));
		else if (strcmp(what, "target") == 0)
			printf("target %s -> %s", jstr(o, "target"), jstr(n, "target"));
		else if (strcmp(what, "type") == 0)
			printf("type %s -> %s", jstr(o, "type"), jstr(n, "type"));
		else
			printf("%s", what);
	}
	printf("\n");
}

static void print_text(const cJSON *d)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(d, "manifest");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "packages");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(d, "files");
	const cJSON *x;
	char size[32];
	double delta = jnum(f, "size_change");

	printf("--- %s\n+++ %s\n", jstr(d, "old"), jstr(d, "new"));
	printf("manifest: %d field%s changed\n", cJSON_GetArraySize(m),
	       cJSON_GetArraySize(m) == 1 ? "" : "s");
	cJSON_ArrayForEach(x, m)
	{
		printf("  %s: ", jstr(x, "field"));
		print_value(cJSON_GetObjectItemCaseSensitive(x, "old"));
		printf(" -> ");
		print_value(cJSON_GetObjectItemCaseSensitive(x, "new"));
		printf("\n");
	}
	printf("packages: %d added, %d removed, %d changed\n", count(p, "added"),
	       count(p, "removed"), count(p, "changed"));
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "added"))
		printf("  + %s %s %s\n", jstr(x, "kind"), jstr(x, "name"), jstr(x, "version"));
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "removed"))
		printf("  - %s %s %s\n", jstr(x, "kind"), jstr(x, "name"), jstr(x, "version"));
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "changed"))
		printf("  ~ %s %s %s -> %s\n", jstr(x, "kind"), jstr(x, "name"), jstr(x, "old"),
		       jstr(x, "new"));
	printf("files: %d added, %d removed, %d changed; %s%s\n", count(f, "added"),
	       count(f, "removed"), count(f, "changed"), delta < 0 ? "-" : "+",
	       size_str((unsigned long long)(delta < 0 ? -delta : delta), size, sizeof(size)));
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(f, "added"))
		print_entry_line('+', x);
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(f, "removed"))
		print_entry_line('-', x);
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(f, "changed"))
		print_changed(x);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct diff_side a = {0}, b = {0};
	struct err e = {{0}};
	bool json = false, same;
	cJSON *d;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': cmd_diff_help(stdout); return 0;
		default: cmd_diff_help(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return fprintf(stderr, "stele diff: expected OLD and NEW\n"), EXIT_USAGE;
	if (diff_open(argv[optind], &a, &e) < 0 || diff_open(argv[optind + 1], &b, &e) < 0) {
		fprintf(stderr, "stele diff: %s\n", e.msg);
		diff_side_free(&a);
		diff_side_free(&b);
		return EXIT_USAGE;
	}
	d = diff_compare(&a, &b);
	diff_side_free(&a);
	diff_side_free(&b);
	if (!d)
		return fprintf(stderr, "stele diff: out of memory\n"), 1;
	same = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "identical"));
	if (json) {
		char *s = cJSON_Print(d);

		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		print_text(d);
	}
	cJSON_Delete(d);
	rc = same ? 0 : 1;
	return fflush(stdout) == 0 ? rc : EXIT_USAGE;
}
