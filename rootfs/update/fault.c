#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool fault_is(const char *kind, const char *point)
{
	const char *v = getenv("STELE_UPDATE_FAULT");
	size_t n = strlen(kind);

	return v && strncmp(v, kind, n) == 0 && v[n] == ':' && strcmp(v + n + 1, point) == 0;
}

bool update_fault_pausing(const char *point)
{
	return fault_is("pause", point);
}

void update_fault_pause(const char *point)
{
	if (!fault_is("pause", point))
		return;
	fflush(stdout);
	fprintf(stderr, "stele-update: fault: paused at %s\n", point);
	fflush(stderr);
	for (;;)
		pause();
}

bool update_fault_corrupt(const char *point)
{
	return fault_is("corrupt", point);
}
