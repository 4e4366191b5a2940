/* The EFI system partition: FAT32 made by mkfs.vfat (fixed volume id, --invariant) and
 * filled by mcopy with file times from SOURCE_DATE_EPOCH, so it is reproducible. It holds
 * EFI/BOOT/BOOTX64.EFI (GRUB with the A/B script) and EFI/stele/grubenv (the boot state). */
#ifndef STELE_ESP_H
#define STELE_ESP_H

#include <stdint.h>

#include "../lib/err.h"

#define ESP_GRUBENV_PATH "EFI/stele/grubenv"

int esp_make(const char *path, uint64_t size, const char *bootx64, const char grubenv[1024],
	     uint32_t volume_id, int64_t epoch, struct err *e);

#endif
