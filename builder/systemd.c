#include "systemd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image-files.h"
#include "lib/contract.h"

#define UNIT_DIR "/usr/lib/systemd/system"

struct image_file {
	const char *path;
	const char *text;
	uint32_t mode;
};

static const struct image_file systemd_files[] = {
	{UNIT_DIR "/stele-health.service", embed_stele_health_service, 0644},
	{"/usr/lib/stele/ready", embed_ready, 0755},
	{"/etc/systemd/journald.conf.d/stele.conf", embed_journald_conf, 0644},
};

static const struct image_file ssh_files[] = {
	{UNIT_DIR "/stele-ssh-host-keys.service", embed_stele_ssh_host_keys_service, 0644},
	{"/usr/lib/stele/ssh-host-keys", embed_ssh_host_keys, 0755},
	{"/etc/ssh/sshd_config.d/stele-host-keys.conf", embed_sshd_host_keys_conf, 0644},
};

static const struct image_file snakeoil_files[] = {
	{UNIT_DIR "/stele-ssl-snakeoil.service", embed_stele_ssl_snakeoil_service, 0644},
	{"/usr/lib/stele/ssl-snakeoil", embed_ssl_snakeoil, 0755},
};

static const struct image_file console_shell_file = {
	"/etc/systemd/system/serial-getty@.service.d/stele-console-shell.conf",
	embed_console_shell_conf, 0644};

/* Enabling a unit is a symlink in the .wants/ or .requires/ directory of its target. */
struct unit_link {
	const char *link, *unit;
};

static const struct unit_link systemd_links[] = {
	{"/etc/systemd/system/multi-user.target.wants/stele-health.service", "stele-health.service"},
	{"/etc/systemd/system/boot-complete.target.requires/stele-health.service",
	 "stele-health.service"},
};

static const struct unit_link ssh_links[] = {
	{"/etc/systemd/system/ssh.service.requires/stele-ssh-host-keys.service",
	 "stele-ssh-host-keys.service"},
};

static const struct unit_link snakeoil_links[] = {
	{"/etc/systemd/system/multi-user.target.wants/stele-ssl-snakeoil.service",
	 "stele-ssl-snakeoil.service"},
};

static const struct image_file poll_file = {UNIT_DIR "/stele-update-poll.service",
					    embed_stele_update_poll_service, 0644};
static const struct unit_link poll_link = {"/etc/systemd/system/timers.target.wants/"
					   "stele-update-poll.timer", "stele-update-poll.timer"};


/* ssl-cert's postinst makes a key and a self-signed certificate; in the image they become
 * symlinks to the machine's own, which stele-ssl-snakeoil.service makes on data. */
static const struct {
	const char *path, *target;
} snakeoil[] = {
	{"/etc/ssl/private/ssl-cert-snakeoil.key", CONTRACT_VAR_SNAKEOIL_DIR "/ssl-cert-snakeoil.key"},
	{"/etc/ssl/certs/ssl-cert-snakeoil.pem", CONTRACT_VAR_SNAKEOIL_DIR "/ssl-cert-snakeoil.pem"},
};

bool systemd_in_tree(const struct tree *t)
{
	const struct tree_node *n = tree_resolve(t, "/lib/systemd/systemd");

	if (!n)
		n = tree_resolve(t, "/usr/lib/systemd/systemd");
	return n && n->inode->type == TREE_REG;
}

static int put_file(struct tree *t, const struct image_file *f, struct err *e)
{
	struct tree_inode *in = tree_inode_new(TREE_REG, f->mode);
	char *buf = strdup(f->text);
	int r;

	if (!in || !buf) {
		tree_inode_unref(in);
		free(buf);
		return err_set(e, ENOMEM, "out of memory");
	}
	tree_inode_set_mem(in, buf, strlen(buf));
	r = tree_put(t, f->path, in, e);
	tree_inode_unref(in);
	return r < 0 ? err_prefix(e, r, "adding %s", f->path) : 0;
}

static int put_link(struct tree *t, const struct unit_link *l, struct err *e)
{
	struct tree_inode *in = tree_inode_new(TREE_SYMLINK, 0777);
	char target[256];
	int r;

	if (!in)
		return err_set(e, ENOMEM, "out of memory");
	snprintf(target, sizeof(target), UNIT_DIR "/%s", l->unit);
	r = tree_inode_set_target(in, target, e);
	if (r == 0)
		r = tree_put(t, l->link, in, e);
	tree_inode_unref(in);
	return r < 0 ? err_prefix(e, r, "enabling %s", l->unit) : 0;
}

static int put_all(struct tree *t, const struct image_file *f, size_t nf,
		   const struct unit_link *l, size_t nl, struct err *e)
{
	int r = 0;

	for (size_t i = 0; i < nf && r == 0; i++)
		r = put_file(t, &f[i], e);
	for (size_t i = 0; i < nl && r == 0; i++)
		r = put_link(t, &l[i], e);
	return r;
}

/* /etc/ssh/ssh_host_*: openssh-server's postinst writes them; an image must not carry
 * them (every disk made from it would share one host identity). */
static int remove_host_keys(struct tree *t, unsigned *ret_n, struct err *e)
{
	struct tree_node *dir = tree_lookup(t, "/etc/ssh");
	char path[TREE_PATH_MAX];
	unsigned n = 0;
	int r = 0;

	*ret_n = 0;
	if (!dir || dir->inode->type != TREE_DIR)
		return 0;
	for (size_t i = dir->nchildren; i-- > 0 && r == 0;) {
		const char *name = dir->children[i]->name;

		if (strncmp(name, "ssh_host_", 9) != 0)
			continue;
		snprintf(path, sizeof(path), "/etc/ssh/%s", name);
		r = tree_remove(t, path, e);
		n++;
	}
	*ret_n = n;
	return r;
}

/* A machine id in the image would be every machine's: keep the file, empty (systemd's
 * "not set yet"); stele-init binds the machine's own from data over it. */
static int clear_machine_id(struct tree *t, bool *ret_cleared, struct err *e)
{
	struct tree_node *n = tree_lookup(t, "/etc/machine-id");
	struct tree_inode *in;
	char *empty;
	int r;

	*ret_cleared = false;
	if (n && n->inode->type == TREE_REG && n->inode->size == 0)
		return 0;
	if (!n && !systemd_in_tree(t))
		return 0;
	in = tree_inode_new(TREE_REG, 0444);
	empty = strdup("");
	if (!in || !empty) {
		tree_inode_unref(in);
		free(empty);
		return err_set(e, ENOMEM, "out of memory");
	}
	tree_inode_set_mem(in, empty, 0);
	r = tree_put(t, "/etc/machine-id", in, e);
	tree_inode_unref(in);
	if (r == 0 && tree_lookup(t, "/var/lib/dbus/machine-id") &&
	    tree_lookup(t, "/var/lib/dbus/machine-id")->inode->type == TREE_REG)
		r = tree_remove(t, "/var/lib/dbus/machine-id", e);
	*ret_cleared = n != NULL;
	return r;
}

/* The snakeoil pair becomes symlinks to the machine's own (systemd trees; without systemd
 * nothing would make them, so they are only removed). */
static int replace_snakeoil(struct tree *t, bool sd, bool *ret_found, struct err *e)
{
	const struct tree_node *n = tree_lookup(t, snakeoil[0].path);
	int r = 0;

	*ret_found = n && n->inode->type == TREE_REG;
	if (!*ret_found)
		return 0;
	for (size_t i = 0; i < sizeof(snakeoil) / sizeof(snakeoil[0]) && r == 0; i++) {
		struct tree_inode *in;

		if (tree_lookup(t, snakeoil[i].path))
			r = tree_remove(t, snakeoil[i].path, e);
		if (r < 0 || !sd)
			continue;
		in = tree_inode_new(TREE_SYMLINK, 0777);
		if (!in)
			return err_set(e, ENOMEM, "out of memory");
		r = tree_inode_set_target(in, snakeoil[i].target, e);
		if (r == 0)
			r = tree_put(t, snakeoil[i].path, in, e);
		tree_inode_unref(in);
	}
	if (r == 0 && sd)
		r = put_all(t, snakeoil_files, sizeof(snakeoil_files) / sizeof(snakeoil_files[0]),
			    snakeoil_links, sizeof(snakeoil_links) / sizeof(snakeoil_links[0]), e);
	return r;
}

/* The timer is written here, from the profile's interval: a tenth of it as random delay
 * spreads a fleet's requests, and the first check comes a minute after boot. */
static int put_poll_timer(struct tree *t, int64_t interval, struct err *e)
{
	static char text[1024];
	struct image_file timer = {UNIT_DIR "/stele-update-poll.timer", text, 0644};
	int r;

	snprintf(text, sizeof(text),
		 "# Written by stele from the profile's update.interval: when stele-update-poll\n"
		 "# checks the repository.\n"
		 "[Unit]\nDescription=stele: check the update repository every %llds\n\n"
		 "[Timer]\nOnBootSec=60\nOnUnitActiveSec=%lld\nRandomizedDelaySec=%lld\n\n"
		 "[Install]\nWantedBy=timers.target\n",
		 (long long)interval, (long long)interval, (long long)(interval / 10));
	r = put_all(t, &poll_file, 1, &poll_link, 1, e);
	return r < 0 ? r : put_file(t, &timer, e);
}

int appliance_prepare(struct tree *t, const struct appliance_opts *o, struct err *e)
{
	unsigned keys = 0;
	bool cleared = false, snake = false, sshd;
	int r;

	r = remove_host_keys(t, &keys, e);
	if (r == 0)
		r = clear_machine_id(t, &cleared, e);
	if (r == 0)
		r = replace_snakeoil(t, systemd_in_tree(t), &snake, e);
	if (r < 0)
		return r;
	if (snake)
		reportf(o->report, BUILD_PROGRESS, "%s ssl-cert's snakeoil key and certificate "
			"(package scripts made them; %s)",
			systemd_in_tree(t) ? "replaced" : "removed",
			systemd_in_tree(t) ? "each machine makes its own on first boot, on data"
					   : "nothing in an image without systemd would remake them");
	if (keys)
		reportf(o->report, BUILD_PROGRESS, "removed %u SSH host key files package scripts "
			"left in the tree (each machine makes its own on first boot)", keys);
	if (cleared)
		reportf(o->report, BUILD_PROGRESS, "emptied /etc/machine-id (each machine gets its "
			"own on data)");
	if (!systemd_in_tree(t))
		return 0;
	sshd = tree_resolve(t, "/usr/sbin/sshd") != NULL;
	r = put_all(t, systemd_files, sizeof(systemd_files) / sizeof(systemd_files[0]),
		    systemd_links, sizeof(systemd_links) / sizeof(systemd_links[0]), e);
	if (r == 0 && sshd)
		r = put_all(t, ssh_files, sizeof(ssh_files) / sizeof(ssh_files[0]), ssh_links,
			    sizeof(ssh_links) / sizeof(ssh_links[0]), e);
	if (r == 0 && o->console_shell)
		r = put_file(t, &console_shell_file, e);
	if (r == 0 && o->poll_interval)
		r = put_poll_timer(t, o->poll_interval, e);
	if (r == 0)
		reportf(o->report, BUILD_PROGRESS, "systemd: stele-health.service%s%s",
			sshd ? ", SSH host keys on first boot" : "",
			o->console_shell ? ", console shell" : "");
	return r;
}
