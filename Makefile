# stele: plain Makefile. `make` builds the programs into build/, `make image` builds the
# default profile into out/, `make check` runs every test, `make bench` the benchmarks.

CC      ?= gcc
PKGS    := ext2fs com_err libcjson libarchive liblzma libcrypto fdisk blkid libguestfs
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
           -Wno-format-nonliteral -Wno-format-truncation -Wundef -Wpointer-arith -Wvla -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -I. -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE $(WARN) $(CFLAGS) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

VERSION := $(shell cat VERSION)
# Sources per folder (docs/architecture.md has the map).
LIB_SRC      := lib/err.c lib/hash.c lib/verity.c lib/slot.c lib/sign.c lib/manifest.c lib/bundle.c \
                lib/input.c lib/gpt.c lib/gptgrow.c lib/contract.c lib/io.c lib/policy.c lib/rollback.c \
                lib/credential.c lib/authenticode.c lib/tuf.c lib/tufclient.c lib/rollout.c lib/updatecfg.c
BOOT_SRC     := bootloader/bootstate.c
CORE_SRC     := builder/build.c builder/report.c builder/profile.c builder/json.c builder/size.c builder/tree.c \
                builder/fileutil.c builder/keys.c builder/elf.c builder/initramfs.c \
                builder/systemd.c builder/progs.c builder/overlay.c builder/archive.c \
                builder/secrets.c builder/diff.c builder/provision.c builder/secureboot.c
SOURCES_SRC  := builder/sources/source.c builder/sources/source-dir.c \
                builder/sources/source-tar.c builder/sources/source-debs.c \
                builder/sources/source-mmdebstrap.c builder/sources/source-image.c \
                builder/sources/tarcheck.c
OUTPUTS_SRC  := builder/outputs/ext4.c builder/outputs/slotimg.c builder/outputs/image.c \
                builder/outputs/disk.c builder/outputs/esp.c builder/outputs/gptread.c \
                builder/outputs/bundlewrite.c builder/outputs/output.c builder/outputs/pass.c \
                builder/outputs/vdisk.c builder/outputs/uki.c
CMD_SRC      := builder/cmd/main.c builder/cmd/build.c builder/cmd/verity.c builder/cmd/keygen.c \
                builder/cmd/verify.c builder/cmd/run.c builder/cmd/state.c builder/cmd/diff.c \
                builder/cmd/provision.c builder/cmd/repo.c
REPO_SRC     := builder/repo/repo.c
BUILDER_SRC  := $(CORE_SRC) $(REPO_SRC) $(SOURCES_SRC) $(OUTPUTS_SRC) $(BOOT_SRC)
STELE_SRC    := $(CMD_SRC) $(BUILDER_SRC) $(LIB_SRC)
# Device programs: rootfs/init (stele-init), rootfs/update (stele-update), rootfs/common (both)
COMMON_SRC   := rootfs/common/partitions.c rootfs/common/util.c rootfs/common/slotcheck.c \
                rootfs/common/watchdog.c
INIT_SRC     := rootfs/init/stele-init.c rootfs/init/cmdline.c rootfs/init/console.c \
                rootfs/init/dm.c rootfs/init/fstree.c rootfs/init/grow.c rootfs/init/modules.c \
                rootfs/init/sysroot.c rootfs/init/credentials.c rootfs/init/slotfind.c bootloader/bootstate.c $(COMMON_SRC) $(LIB_SRC)
UPDATE_MODS  := rootfs/update/bundle.c rootfs/update/bootimg.c rootfs/update/checks.c \
                rootfs/update/commit.c rootfs/update/ctx.c rootfs/update/fault.c \
                rootfs/update/health.c rootfs/update/install.c rootfs/update/journal.c \
                rootfs/update/mark.c rootfs/update/slot.c rootfs/update/state.c \
                rootfs/update/status.c rootfs/update/stream.c rootfs/update/transitions.c \
                rootfs/update/choose.c rootfs/update/fetch.c rootfs/update/poll.c \
                $(COMMON_SRC) $(LIB_SRC) $(BOOT_SRC)
UPDATE_SRC   := rootfs/update/stele-update.c $(UPDATE_MODS)
HDRS_ALL      = $(wildcard lib/*.h bootloader/*.h builder/*.h builder/*/*.h rootfs/*/*.h) $(GEN)

UNIT_TESTS := $(wildcard tests/test-*.c)
TEST_TOOLS := tests/mkfixture.c tests/mkbundle.c tests/gptedit.c tests/pgpsign.c tests/faultproxy.c

# Debian packages: build dependencies, then the independent oracles the tests use.
DEPS := gcc make pkg-config libext2fs-dev libcjson-dev libarchive-dev liblzma-dev libssl-dev \
        libfdisk-dev libblkid-dev libguestfs-dev libcurl4-openssl-dev lighttpd nginx-light curl supermin grub-efi-amd64-bin grub-common dosfstools mtools \
        qemu-system-x86 qemu-utils ovmf systemd-boot-efi sbsigntool efitools gpg \
        e2fsprogs dpkg apt mmdebstrap util-linux fdisk procps coreutils tar bc cryptsetup-bin \
        openssl clang openssh-client iproute2 \
        libclang-rt-14-dev
# libguestfs's appliance (the image base) boots the host's kernel: a host without one gets
# Debian's cloud kernel (never booted on the host itself, only inside the appliance)
DEPS += $(if $(wildcard /boot/vmlinuz-*),,linux-image-cloud-amd64)

B := build
A := build/asan

.PHONY: all image check deps unit cli bench clean qemu-test
all: $(B)/stele $(B)/stele-init $(if $(wildcard rootfs/update/stele-update.c),$(B)/stele-update) \
     $(B)/BOOTX64.EFI $(B)/mkgrub.sh $(B)/grub.cfg

# Device programs: never sanitizer builds (they run inside the images).
INIT_LIBS = -Wl,--as-needed $(shell pkg-config --libs libcjson libcrypto blkid 2>/dev/null)
UPDATE_LIBS = $(INIT_LIBS) -ldl # libcurl: dlopen'd by a poll (rootfs/update/fetch.c)
$(B)/stele-init: $(INIT_SRC) $(HDRS_ALL) Makefile | $(B)
	$(CC) $(ALL_CFLAGS) -o $@ $(INIT_SRC) $(INIT_LIBS)

$(B)/stele-update: $(UPDATE_SRC) $(HDRS_ALL) Makefile | $(B)
	$(CC) $(ALL_CFLAGS) -o $@ $(UPDATE_SRC) $(UPDATE_LIBS)

$(B)/BOOTX64.EFI: bootloader/grub.cfg bootloader/mkgrub.sh | $(B)
	bootloader/mkgrub.sh bootloader/grub.cfg $@

# A Secure Boot build makes its own GRUB (with the product's OpenPGP key in) from these.
$(B)/mkgrub.sh: bootloader/mkgrub.sh | $(B)
	cp $< $@
$(B)/grub.cfg: bootloader/grub.cfg | $(B)
	cp $< $@

GEN := $(B)/gen/default-profile.h $(B)/gen/image-files.h
HDRS = $(HDRS_ALL)

$(B)/stele: $(STELE_SRC) $(HDRS) VERSION Makefile | $(B)
	$(CC) $(ALL_CFLAGS) -I$(B)/gen -DSTELE_VERSION='"$(VERSION)"' -o $@ $(STELE_SRC) $(LIBS)

# The sanitizer build: each source compiled once into build/asan/obj, linked into stele and
# into every unit test (they all link the builder and lib/).
A_OBJ = $(patsubst %.c,$(A)/obj/%.o,$(1))
$(A)/obj/%.o: %.c $(HDRS) VERSION Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -I$(B)/gen -DSTELE_VERSION='"$(VERSION)"' -c -o $@ $<
$(A)/libstele.a: $(call A_OBJ,$(BUILDER_SRC) $(LIB_SRC)) | $(A)
	rm -f $@ && ar rcs $@ $^

$(A)/stele: $(call A_OBJ,$(CMD_SRC)) $(A)/libstele.a | $(A)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

# Files stele puts into images (systemd units and their scripts), compiled in.
IMAGE_FILES := $(wildcard rootfs/systemd/*)
$(B)/gen/image-files.h: $(IMAGE_FILES) tools/embed.sh
	mkdir -p $(@D)
	tools/embed.sh $(IMAGE_FILES) > $@.tmp && mv $@.tmp $@

# The default profile is compiled in, so `stele build` works from any directory; the scripts
# it ships (profiles/minimal/init) are spliced in as "content".
$(B)/gen/default-profile.h: profiles/minimal.json $(wildcard profiles/minimal/*) tools/splice-profile.sh
	mkdir -p $(@D)
	tools/splice-profile.sh $< > $@.json
	{ echo 'static const char default_profile[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $@.json; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@ && rm -f $@.json

$(A)/test-%: tests/test-%.c tests/tap.h $(A)/libstele.a $(HDRS) | $(A)
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -I$(B)/gen -DSTELE_VERSION='"$(VERSION)"' -o $@ $< $(A)/libstele.a $(LIBS)

# Device code under test (rootfs/, the GRUB model in bootloader/) is not in libstele.a: each
# of these tests links the modules it tests (compiled once under the sanitizers, above).
DEVICE_TESTS     := fstree bootchoice transitions cmdline journal credential choose
fstree_MODS      := rootfs/init/fstree.c lib/err.c
bootchoice_MODS  := $(BOOT_SRC) lib/io.c lib/input.c lib/err.c
transitions_MODS := rootfs/update/transitions.c $(BOOT_SRC) lib/io.c lib/input.c lib/err.c
cmdline_MODS     := rootfs/init/cmdline.c lib/err.c
journal_MODS     := rootfs/update/journal.c lib/err.c
credential_MODS  := rootfs/init/credentials.c lib/credential.c lib/err.c
choose_MODS      := rootfs/update/choose.c lib/rollout.c lib/updatecfg.c lib/tuf.c lib/input.c lib/hash.c lib/err.c
define device_test
$(A)/test-$(1): tests/test-$(1).c tests/tap.h $(call A_OBJ,$($(1)_MODS)) $(HDRS) | $(A)
	$$(CC) $$(ALL_CFLAGS) $$(SAN) -O1 -o $$@ $$< $(call A_OBJ,$($(1)_MODS)) $$(INIT_LIBS)
endef
$(foreach t,$(DEVICE_TESTS),$(eval $(call device_test,$(t))))

$(A)/mkfixture: tests/mkfixture.c | $(A)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)

$(A)/faultproxy: tests/faultproxy.c | $(A)
	$(CC) $(ALL_CFLAGS) -o $@ $<

$(A)/blkid-parts: tests/blkid-parts.c | $(A)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)

$(A)/gptedit: tests/gptedit.c lib/gptgrow.c lib/gpt.c lib/err.c | $(A)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^)

$(A)/mkbundle: tests/mkbundle.c builder/outputs/bundlewrite.c builder/outputs/pass.c builder/fileutil.c \
               lib/bundle.c lib/hash.c lib/verity.c lib/io.c \
               lib/input.c \
               lib/err.c $(HDRS) | $(A)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LIBS)

$(A)/pgpsign: tests/pgpsign.c builder/secureboot.c builder/fileutil.c builder/keys.c lib/err.c lib/input.c lib/io.c lib/hash.c lib/authenticode.c \
              $(HDRS) | $(A)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LIBS)

# stele-update under the sanitizers, for its host tests (tests/cli/90-update.sh)
$(A)/stele-update: $(UPDATE_SRC) $(HDRS_ALL) Makefile | $(A)
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -o $@ $(UPDATE_SRC) $(UPDATE_LIBS)

$(B) $(A):
	mkdir -p $@

deps:
	@./tools/deps.sh $(DEPS)
	@./tools/npm-deps.sh $(B)/npm

PROFILE ?= profiles/minimal.json
image: deps
	$(MAKE) all
	$(B)/stele build $(PROFILE) -o out

check: deps
	$(MAKE) -j$(shell nproc 2>/dev/null || echo 2) all $(A)/stele $(patsubst tests/%.c,$(A)/%,$(UNIT_TESTS)) $(A)/mkfixture \
		$(A)/blkid-parts $(A)/gptedit $(A)/mkbundle $(A)/pgpsign $(A)/stele-update $(A)/faultproxy
	./tests/run.sh $(A)

qemu-test: deps
	$(MAKE) all $(A)/gptedit $(A)/pgpsign
	./qemu-tests/run.sh

bench: deps
	$(MAKE) all
	./bench/run.sh $(B)

clean:
	rm -rf build
