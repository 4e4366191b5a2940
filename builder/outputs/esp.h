/* The EFI system partition: FAT32 made by mkfs.vfat (fixed volume id, --invariant) and
 * filled by mcopy with file times from SOURCE_DATE_EPOCH, so it is reproducible. It holds
 * EFI/BOOT/BOOTX64.EFI (GRUB with the A/B script) and EFI/stele/grubenv (the boot state). */
#ifndef STELE_OUTPUTS_ESP_H
#define STELE_OUTPUTS_ESP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/contract.h"
#include "lib/err.h"

#define ESP_GRUBENV_PATH CONTRACT_ESP_GRUBENV

#define ESP_FILE_MAX (256u << 20)

struct esp_files {
	const char *bootx64;       /* GRUB */
	const char *uki, *uki_sig; /* slot a's with Secure Boot, else NULL */
};

int esp_make(const char *path, uint64_t size, const struct esp_files *files,
	     const char grubenv[1024], uint32_t volume_id, int64_t epoch, struct err *e);

/* "IMAGE@@OFFSET" of a disk image's ESP, as mtools takes it (IMAGE as /proc/self/fd/N, a
 * descriptor left open, when the path itself holds "@@"). */
int esp_image_spec(const char *img, char *out, size_t n, struct err *e);
int esp_read_env(const char *spec, char env[1024], struct err *e);
int esp_write_env(const char *spec, const char env[1024], struct err *e);

#endif
