/* Strict, table-driven validation of JSON documents (profiles): unknown keys, duplicate keys,
 * wrong types and malformed sizes, modes and owners are errors naming the file and the JSON
 * path ("p.json: layout.slot_size: expected a size such as \"512M\""). */
#ifndef STELE_JSON_H
#define STELE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "lib/err.h"

enum jkind {
	J_STRING,
	J_INT,
	J_BOOL,
	J_SIZE,             /* "512M" or an integer number of bytes */
	J_PERCENT_OR_SIZE,  /* "10%" or a size */
	J_MODE,             /* "0644" */
	J_OWNER,            /* "0:0" */
	J_OBJECT,
	J_ARRAY,
	J_ANY,              /* validated elsewhere */
};

struct jfield {
	const char *key;
	enum jkind kind;
	const struct jfield *fields;      /* J_OBJECT, or the elements of a J_ARRAY of J_OBJECT */
	enum jkind elem;                  /* J_ARRAY: element kind */
	const char *const *choices;       /* J_STRING (or string elements): allowed values */
	long min, max;                    /* J_INT bounds (both 0: any non-negative); J_SIZE and
					   * the size of J_PERCENT_OR_SIZE: bytes (max 0: any) */
	long align;                       /* J_SIZE: a multiple of this many bytes (0: any) */
	/* Semantic check after the kind matched (a string's characters, a name's form). */
	int (*check)(const cJSON *v, const char *file, const char *path, struct err *e);
	bool required;
};

/* Validates obj against fields; path is the JSON path of obj ("" for the document). */
int json_check_object(const cJSON *obj, const struct jfield *fields, const char *file,
		      const char *path, struct err *e);
/* Validates one value against a field description. */
int json_check_value(const cJSON *v, const struct jfield *f, const char *file, const char *path,
		     struct err *e);

/* Deepest nesting of arrays and objects a document may have (cJSON's CJSON_NESTING_LIMIT is
 * far deeper; a profile needs 4). */
#define JSON_MAX_NESTING 32

/* Parses a document of at most max_bytes (a UTF-8 byte order mark at the start is skipped);
 * errors give line and column. */
int json_parse_file(const char *file, size_t max_bytes, cJSON **ret, char **ret_bytes,
		    size_t *ret_len, struct err *e);
int json_parse_buf(const char *file, const char *buf, size_t len, cJSON **ret, struct err *e);

/* Builds "a.b", "a[3]" style JSON paths; returns false on truncation. */
bool json_path_key(char *out, size_t n, const char *base, const char *key);
bool json_path_index(char *out, size_t n, const char *base, int index);

#endif
