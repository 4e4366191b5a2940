#include "contract.h"

#include <string.h>

const struct contract_arch contract_arches[] = {
	{CONTRACT_ARCH_X86_64, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
	 "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"},
	{CONTRACT_ARCH_ARM64, "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",
	 "DF3300CE-D69F-4C92-978C-9BFB0F38D820"},
	{NULL, NULL, NULL},
};

const struct contract_arch *contract_arch_find(const char *name)
{
	for (const struct contract_arch *a = contract_arches; name && a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}
