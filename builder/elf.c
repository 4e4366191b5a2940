#include "elf.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool in_bounds(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* Structures are copied out with memcpy: offsets in a hostile file need not be aligned. */
static Elf64_Phdr phdr(const uint8_t *buf, const Elf64_Ehdr *h, int i)
{
	Elf64_Phdr p;

	memcpy(&p, buf + h->e_phoff + (uint64_t)i * sizeof(p), sizeof(p));
	return p;
}

static Elf64_Shdr shdr(const uint8_t *buf, const Elf64_Ehdr *h, int i)
{
	Elf64_Shdr s;

	memcpy(&s, buf + h->e_shoff + (uint64_t)i * sizeof(s), sizeof(s));
	return s;
}

static Elf64_Dyn dyn_at(const uint8_t *buf, uint64_t off, uint64_t i)
{
	Elf64_Dyn d;

	memcpy(&d, buf + off + i * sizeof(d), sizeof(d));
	return d;
}

static int check_header(const uint8_t *buf, size_t len, Elf64_Ehdr *h, struct err *e)
{
	if (len < sizeof(*h))
		return err_set(e, EINVAL, "not an ELF file");
	memcpy(h, buf, sizeof(*h));
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0)
		return err_set(e, EINVAL, "not an ELF file");
	if (h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_ident[EI_DATA] != ELFDATA2LSB)
		return err_set(e, EINVAL, "not a little-endian 64-bit ELF file");
	if (h->e_phnum && (h->e_phentsize != sizeof(Elf64_Phdr) ||
			   !in_bounds(len, h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf64_Phdr))))
		return err_set(e, EINVAL, "ELF program headers out of bounds");
	if (h->e_shnum && (h->e_shentsize != sizeof(Elf64_Shdr) ||
			   !in_bounds(len, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr))))
		return err_set(e, EINVAL, "ELF section headers out of bounds");
	return 0;
}

/* Maps a virtual address to a file offset through the PT_LOAD segments. */
static bool vaddr_to_off(const uint8_t *buf, const Elf64_Ehdr *h, uint64_t vaddr, uint64_t *off)
{
	for (int i = 0; i < h->e_phnum; i++) {
		Elf64_Phdr ph = phdr(buf, h, i);

		if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*off = ph.p_offset + (vaddr - ph.p_vaddr);
			return true;
		}
	}
	return false;
}

static int copy_str(const uint8_t *buf, size_t len, uint64_t off, char *out, size_t n)
{
	const uint8_t *end;

	if (off >= len)
		return -EINVAL;
	end = memchr(buf + off, '\0', len - off);
	if (!end || (size_t)(end - (buf + off)) >= n)
		return -EINVAL;
	memcpy(out, buf + off, (size_t)(end - (buf + off)) + 1);
	return 0;
}

static int read_dynamic(const uint8_t *buf, size_t len, const Elf64_Ehdr *h,
			const Elf64_Phdr *dyn, struct elf_deps *d, struct err *e)
{
	uint64_t count, strtab = 0, stroff;
	bool have_strtab = false;

	if (!in_bounds(len, dyn->p_offset, dyn->p_filesz))
		return err_set(e, EINVAL, "ELF dynamic section out of bounds");
	count = dyn->p_filesz / sizeof(Elf64_Dyn);
	for (uint64_t i = 0; i < count && dyn_at(buf, dyn->p_offset, i).d_tag != DT_NULL; i++)
		if (dyn_at(buf, dyn->p_offset, i).d_tag == DT_STRTAB) {
			strtab = dyn_at(buf, dyn->p_offset, i).d_un.d_ptr;
			have_strtab = true;
		}
	if (!have_strtab || !vaddr_to_off(buf, h, strtab, &stroff))
		return err_set(e, EINVAL, "ELF file without a usable string table");
	for (uint64_t i = 0; i < count; i++) {
		Elf64_Dyn dt = dyn_at(buf, dyn->p_offset, i);

		if (dt.d_tag == DT_NULL)
			break;
		if (dt.d_tag != DT_NEEDED)
			continue;
		if (d->nneeded == ELF_MAX_NEEDED)
			return err_set(e, E2BIG, "more than %d needed libraries", ELF_MAX_NEEDED);
		if (stroff + dt.d_un.d_val < stroff ||
		    copy_str(buf, len, stroff + dt.d_un.d_val, d->needed[d->nneeded],
			     sizeof(d->needed[0])) < 0)
			return err_set(e, EINVAL, "bad DT_NEEDED string");
		d->nneeded++;
	}
	return 0;
}

int elf_deps(const uint8_t *buf, size_t len, struct elf_deps *d, struct err *e)
{
	Elf64_Ehdr h;
	int r;

	memset(d, 0, sizeof(*d));
	r = check_header(buf, len, &h, e);
	if (r < 0)
		return r;
	for (int i = 0; i < h.e_phnum; i++) {
		Elf64_Phdr ph = phdr(buf, &h, i);

		if (ph.p_type == PT_INTERP) {
			if (!in_bounds(len, ph.p_offset, ph.p_filesz) || ph.p_filesz == 0 ||
			    ph.p_filesz > sizeof(d->interp) ||
			    buf[ph.p_offset + ph.p_filesz - 1] != '\0')
				return err_set(e, EINVAL, "bad ELF interpreter");
			memcpy(d->interp, buf + ph.p_offset, ph.p_filesz);
		}
		if (ph.p_type == PT_DYNAMIC) {
			r = read_dynamic(buf, len, &h, &ph, d, e);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int elf_modinfo_depends(const uint8_t *buf, size_t len, char *out, size_t n, struct err *e)
{
	Elf64_Ehdr h;
	Elf64_Shdr names;
	int r;

	out[0] = '\0';
	r = check_header(buf, len, &h, e);
	if (r < 0)
		return r;
	if (h.e_shstrndx >= h.e_shnum)
		return err_set(e, EINVAL, "module without section names");
	names = shdr(buf, &h, h.e_shstrndx);
	if (!in_bounds(len, names.sh_offset, names.sh_size))
		return err_set(e, EINVAL, "module section names out of bounds");
	for (int i = 0; i < h.e_shnum; i++) {
		Elf64_Shdr sh = shdr(buf, &h, i);
		char name[32];
		const char *p, *end;

		if (sh.sh_name >= names.sh_size ||
		    copy_str(buf, names.sh_offset + names.sh_size, names.sh_offset + sh.sh_name, name,
			     sizeof(name)) < 0 ||
		    strcmp(name, ".modinfo") != 0)
			continue;
		if (!in_bounds(len, sh.sh_offset, sh.sh_size))
			return err_set(e, EINVAL, ".modinfo out of bounds");
		p = (const char *)buf + sh.sh_offset;
		end = p + sh.sh_size;
		while (p < end) {
			const char *z = memchr(p, '\0', (size_t)(end - p));
			size_t l = z ? (size_t)(z - p) : (size_t)(end - p);

			if (l > 8 && strncmp(p, "depends=", 8) == 0) {
				if (l - 8 >= n)
					return err_set(e, E2BIG, "depends= too long");
				memcpy(out, p + 8, l - 8);
				out[l - 8] = '\0';
				return 0;
			}
			p += l + 1;
		}
		return 0;
	}
	return err_set(e, EINVAL, "module without a .modinfo section");
}
