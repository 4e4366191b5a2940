#include "poll.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/rollout.h"
#include "lib/tufclient.h"
#include "lib/updatecfg.h"
#include "choose.h"
#include "commit.h"
#include "fetch.h"
#include "install.h"
#include "journal.h"
#include "mark.h"
#include "slot.h"
#include "state.h"
#include "transitions.h"

/* One check's view of the device. */
struct device {
	const struct update_boot *boot;
	struct bootstate s;
	struct update_slot other;
	uint64_t floor;
	char machine_id[128];
};

struct check {
	struct update_ctx *c;
	const struct poll_opts *o;
	struct updatecfg cfg;
	struct device d;
	struct fetch f;
	struct tuf_client tc;
	struct tuf_target *targets;
	struct rollout_release *rels;
	size_t ntargets, nrels;
	int64_t now;
	struct choose_out out;
	const char *outcome; /* for poll.json and the metrics */
	char message[512];
};

static int64_t now_of(const struct poll_opts *o)
{
	return o->now ? o->now : (int64_t)time(NULL);
}

static int read_machine_id(struct check *k, struct err *e)
{
	char path[PATH_MAX];
	int rc;

	if (k->o->machine_id) {
		snprintf(k->d.machine_id, sizeof(k->d.machine_id), "%s", k->o->machine_id);
		return 0;
	}
	rc = k->c->test_mode ? -ENOENT
			     : io_read_text("/etc/machine-id", k->d.machine_id,
					    sizeof(k->d.machine_id), NULL, e);
	if (rc < 0 && k->c->data_dir) {
		rc = update_join(path, sizeof(path), k->c->data_dir, CONTRACT_DATA_MACHINE_ID, e);
		if (rc == 0)
			rc = io_read_text(path, k->d.machine_id, sizeof(k->d.machine_id), NULL, e);
	}
	io_chomp(k->d.machine_id);
	if (rc == 0 && !k->d.machine_id[0])
		rc = err_set(e, EINVAL, "the machine id is empty");
	return rc < 0 ? err_prefix(e, rc, "the machine id (the device's share of the fleet)") : 0;
}

static int load_config(struct check *k, struct err *e)
{
	const char *path = k->o->config ? k->o->config : CONTRACT_SLOT_UPDATE_JSON;
	char *buf;
	size_t len;
	int rc = io_read_alloc(path, 64 << 10, &buf, &len, e);

	if (rc == -ENOENT)
		return err_set(e, ENOENT, "%s: missing: this image was built without an \"update\" "
					  "section", path);
	if (rc < 0)
		return rc;
	rc = updatecfg_parse(path, buf, len, &k->cfg, e);
	free(buf);
	return rc;
}

static int load_device(struct check *k, struct err *e)
{
	char o;
	int rc = update_booted(k->c, &k->d.boot, e);

	if (rc == 0)
		rc = update_state_load(k->c, &k->d.s, e);
	if (rc == 0)
		rc = update_min_rollback(k->c->data_dir, &k->d.floor, e);
	if (rc < 0)
		return rc;
	o = update_other_slot(k->d.boot->slot);
	if (update_slot_read(k->c, o, &k->d.other, e) < 0)
		k->d.other.kind = UPDATE_SLOT_INVALID;
	return read_machine_id(k, e);
}

static int tuf_refresh(struct check *k, struct err *e)
{
	char store[PATH_MAX];
	const char *root = k->o->root ? k->o->root : CONTRACT_SLOT_TUF_ROOT;
	struct tuf_fetcher tf = {fetch_file, &k->f};
	int rc;

	if (!k->c->data_dir)
		return err_set(e, EINVAL, "no data partition: the TUF metadata has nowhere to live");
	rc = update_join(store, sizeof(store), k->c->data_dir, CONTRACT_DATA_TUF, e);
	if (rc < 0)
		return rc;
	if (mkdir(store, 0755) < 0 && errno != EEXIST)
		return err_sys(e, errno, "making %s", store);
	rc = tuf_client_open(&k->tc, store, root, e);
	if (rc == 0)
		rc = tuf_client_refresh(&k->tc, &tf, k->now, e);
	if (rc < 0)
		return err_prefix(e, rc, "repository %s", k->cfg.url);
	return tuf_targets_list(&k->tc.trusted[TUF_TARGETS], &k->targets, &k->ntargets, e);
}

static int channel_releases(struct check *k, struct err *e)
{
	k->rels = calloc(k->ntargets ? k->ntargets : 1, sizeof(*k->rels));
	if (!k->rels)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < k->ntargets; i++) {
		int rc = rollout_release_parse(&k->targets[i], k->cfg.channel, &k->rels[k->nrels], e);

		if (rc == 0)
			k->nrels++;
		else if (rc != -ENOENT)
			return rc;
	}
	return 0;
}

static void decide(struct check *k)
{
	const struct update_slot *u = &k->d.other;
	const struct bootstate_slot *t = update_state_slot(&k->d.s, update_other_slot(k->d.boot->slot));
	bool valid = u->kind == UPDATE_SLOT_VALID;
	struct choose_in in = {
		.rels = k->rels,
		.n = k->nrels,
		.channel = k->cfg.channel,
		.product = k->d.boot->product,
		.arch = valid ? u->info.m.arch : CONTRACT_ARCH_DEFAULT,
		.version = k->d.boot->version,
		.root_hash = k->d.boot->root_hash,
		.rollback_index = k->d.boot->rollback_index,
		.other_state = !valid ? CHOOSE_OTHER_NONE
			       : t->state == BOOTSTATE_GOOD ? CHOOSE_OTHER_GOOD
			       : t->state == BOOTSTATE_TRIAL ? CHOOSE_OTHER_TRIAL
							     : CHOOSE_OTHER_BAD,
		.other_version = valid ? u->info.m.version : NULL,
		.other_root_hash = valid ? u->info.m.verity.root_hash : NULL,
		.other_rollback_index = valid ? u->info.m.rollback_index : 0,
		.floor = k->d.floor,
		.share = rollout_share(k->d.boot->product, k->d.machine_id),
		.now = k->now,
	};

	choose(&in, &k->out);
}

static void journal(struct check *k, const char *event, const char *reason)
{
	struct journal_event ev = {.event = event,
				   .slot = k->d.boot ? k->d.boot->slot : 0,
				   .reason = reason};

	if (k->d.boot) {
		ev.from.version = k->d.boot->version;
		ev.from.root_hash = k->d.boot->root_hash;
	}
	if (k->out.rel) {
		ev.to.version = k->out.rel->version;
		ev.to.root_hash = k->out.rel->root_hash;
	}
	update_journal(k->c, &ev);
	if (strcmp(event, "poll-failed") != 0) { /* a failure is printed by main, once */
		printf("stele-update: poll: %s\n", reason);
		fflush(stdout);
	}
}

/* --- the download and the install, side by side -------------------------------------- */

struct download {
	struct fetch *f;
	char path[512];
	uint64_t length;
	uint8_t sha256[SHA256_LEN];
	int fd;
	int rc;
	struct err e;
};

static void *download_main(void *arg)
{
	struct download *d = arg;

	d->rc = fetch_stream(d->f, d->path, d->length, d->sha256, d->fd, &d->e);
	close(d->fd);
	return NULL;
}

static void on_retry(void *userdata, uint64_t have, uint64_t length, int attempt, const char *why)
{
	struct check *k = userdata;
	char msg[400];

	snprintf(msg, sizeof(msg), "download cut at %" PRIu64 " of %" PRIu64 " bytes (%s): resuming "
		 "from there, attempt %d", have, length, why, attempt + 1);
	journal(k, "poll-retry", msg);
}

static int install(struct check *k, struct err *e)
{
	const struct rollout_release *r = k->out.rel;
	struct download d = {.f = &k->f, .length = r->target->length};
	struct install_opts io = {.reboot = false};
	pthread_t th;
	int p[2], rc;

	if (k->cfg.max_size && r->target->length > k->cfg.max_size)
		return err_set(e, EFBIG, "version %s is %" PRIu64 " bytes, over this device's "
			       "max_size of %" PRIu64, r->version, r->target->length, k->cfg.max_size);
	memcpy(d.sha256, r->target->sha256, SHA256_LEN);
	rc = tuf_target_path(&k->tc, r->target, d.path, sizeof(d.path));
	if (rc < 0)
		return err_set(e, ENAMETOOLONG, "%s: name too long", r->target->name);
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	/* a pipe of 64 KiB makes the download and the installer take turns every 64 KiB: give
	 * it what the kernel allows an unprivileged pipe (1 MiB by default), or keep 64 KiB */
	(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	d.fd = p[1];
	io.fd = p[0];
	io.path = d.path;
	if (pthread_create(&th, NULL, download_main, &d) != 0) {
		close(p[0]);
		close(p[1]);
		return err_set(e, EAGAIN, "cannot start the download");
	}
	rc = update_install(k->c, &io, e); /* it reads, and closes, p[0] */
	pthread_join(th, NULL);
	/* the download's reason is the cause, unless it stopped because the installer refused */
	if (d.rc < 0 && !(rc < 0 && d.rc == -EPIPE)) {
		*e = d.e;
		return d.rc;
	}
	return rc;
}

static int reboot_now(struct check *k, struct err *e)
{
	if (k->cfg.reboot == UPDATECFG_REBOOT_NEVER)
		return 0;
	if (k->cfg.reboot == UPDATECFG_REBOOT_WINDOW && !updatecfg_in_window(&k->cfg, k->now))
		return 0;
	return update_reboot(k->c, e);
}

/* --- one check ------------------------------------------------------------------------ */

static bool inhibited(const struct check *k)
{
	struct stat st;

	return k->cfg.inhibit[0] && stat(k->cfg.inhibit, &st) == 0;
}

static int act(struct check *k, struct err *e)
{
	char msg[640], t[32];
	int rc;

	switch (k->out.what) {
	case CHOOSE_INSTALL:
		if (inhibited(k)) {
			snprintf(msg, sizeof(msg), "%s exists: version %s waits", k->cfg.inhibit,
				 k->out.rel->version);
			k->outcome = "inhibited";
			journal(k, "poll", msg);
			return 0;
		}
		if (!updatecfg_in_window(&k->cfg, k->now)) {
			tuf_time_format(updatecfg_next_window(&k->cfg, k->now), t);
			snprintf(msg, sizeof(msg), "version %s waits for the maintenance window at %s",
				 k->out.rel->version, t);
			k->outcome = "window";
			journal(k, "poll", msg);
			return 0;
		}
		journal(k, "poll", k->out.why);
		rc = install(k, e);
		if (rc < 0) {
			k->outcome = "install-failed";
			journal(k, "poll-failed", e->msg);
			return rc;
		}
		k->outcome = "installed";
		return reboot_now(k, e);
	case CHOOSE_PULL_BACK:
		journal(k, "pull-back", k->out.why);
		rc = update_rollback(k->c, false, e);
		if (rc == 0)
			rc = update_mark_bad(k->c, k->d.boot->slot, e);
		k->outcome = rc == 0 ? "pulled-back" : "pull-back-failed";
		if (rc < 0) {
			journal(k, "poll-failed", e->msg);
			return rc;
		}
		return reboot_now(k, e);
	default:
		k->outcome = choose_names[k->out.what];
		journal(k, "poll", k->out.why);
		return 0;
	}
}

static int check_once(struct check *k, struct err *e)
{
	int rc = load_config(k, e);
	struct fetch_opts fo = {0};

	if (rc == 0)
		rc = load_device(k, e);
	if (rc < 0)
		return rc;
	fo.base_url = k->cfg.url;
	fo.ca_file = k->cfg.ca[0] ? k->cfg.ca : NULL;
	fo.max_rate = (int64_t)k->cfg.max_rate;
	fo.retries = k->cfg.retries;
	fo.connect_timeout = fo.stall_timeout = fo.file_timeout = k->cfg.timeout;
	fo.on_retry = on_retry;
	fo.userdata = k;
	rc = fetch_init(&k->f, &fo, e);
	if (rc == 0)
		rc = tuf_refresh(k, e);
	if (rc == 0)
		rc = channel_releases(k, e);
	if (rc < 0) {
		k->outcome = "refused";
		journal(k, "poll-failed", e->msg);
		return rc;
	}
	decide(k);
	return act(k, e);
}

/* --- what is kept of it ---------------------------------------------------------------- */

static void save_last(struct check *k, int rc, const struct err *e)
{
	char path[PATH_MAX], t[32], *s;
	cJSON *o = cJSON_CreateObject();

	if (!o || !k->c->data_dir ||
	    update_join(path, sizeof(path), k->c->data_dir, CONTRACT_DATA_POLL, NULL) < 0) {
		cJSON_Delete(o);
		return;
	}
	tuf_time_format(k->now, t);
	cJSON_AddStringToObject(o, "channel", k->cfg.channel);
	cJSON_AddStringToObject(o, "url", k->cfg.url);
	cJSON_AddStringToObject(o, "last_check", t);
	cJSON_AddStringToObject(o, "outcome", rc < 0 && !k->outcome ? "failed" : k->outcome);
	cJSON_AddStringToObject(o, "message", rc < 0 ? e->msg : k->out.why);
	if (k->out.rel)
		cJSON_AddStringToObject(o, "release", k->out.rel->version);
	cJSON_AddNumberToObject(o, "requests", k->f.requests);
	cJSON_AddNumberToObject(o, "bytes", (double)k->f.bytes);
	s = cJSON_Print(o);
	cJSON_Delete(o);
	if (s && io_write_atomic(path, s, strlen(s), 0644, NULL) < 0)
		fprintf(stderr, "stele-update: warning: cannot write %s\n", path);
	free(s);
}

static void write_metrics(struct check *k, int rc)
{
	const char *path = k->o->metrics ? k->o->metrics
			   : k->c->test_mode ? NULL
					     : CONTRACT_RUN_METRICS;
	const struct update_boot *b = k->d.boot;
	char text[2048], labels[512];
	int n;

	if (!path || !b)
		return;
	snprintf(labels, sizeof(labels), "product=\"%s\",version=\"%s\",root_hash=\"%s\",slot=\"%c\"",
		 b->product, b->version, b->root_hash, b->slot);
	n = snprintf(text, sizeof(text),
		     "# HELP stele_info The running image.\n# TYPE stele_info gauge\n"
		     "stele_info{%s,channel=\"%s\"} 1\n"
		     "# HELP stele_last_check_timestamp_seconds When stele-update last polled.\n"
		     "# TYPE stele_last_check_timestamp_seconds gauge\n"
		     "stele_last_check_timestamp_seconds{%s} %" PRId64 "\n"
		     "# HELP stele_last_check_success Whether the last poll worked.\n"
		     "# TYPE stele_last_check_success gauge\n"
		     "stele_last_check_success{%s} %d\n"
		     "# HELP stele_last_check_result The last poll's outcome.\n"
		     "# TYPE stele_last_check_result gauge\n"
		     "stele_last_check_result{%s,result=\"%s\"} 1\n",
		     labels, k->cfg.channel, labels, k->now, labels, rc == 0, labels,
		     k->outcome ? k->outcome : "failed");
	if (n > 0 && (size_t)n < sizeof(text) && io_write_atomic(path, text, (size_t)n, 0644, NULL) < 0)
		fprintf(stderr, "stele-update: warning: cannot write %s\n", path);
}

static void check_free(struct check *k)
{
	if (k->tc.trusted[TUF_ROOT].json)
		tuf_client_close(&k->tc);
	free(k->targets);
	free(k->rels);
}

static int poll_one(struct update_ctx *c, const struct poll_opts *o, int64_t *ret_interval,
		    struct err *e)
{
	struct check *k = calloc(1, sizeof(*k));
	int rc;

	if (!k)
		return err_set(e, ENOMEM, "out of memory");
	k->c = c;
	k->o = o;
	k->now = now_of(o);
	rc = check_once(k, e);
	save_last(k, rc, e);
	write_metrics(k, rc);
	*ret_interval = k->cfg.interval ? k->cfg.interval : 6 * 3600;
	check_free(k);
	free(k);
	return rc;
}

int update_poll(struct update_ctx *c, const struct poll_opts *o, struct err *e)
{
	int64_t interval = 6 * 3600, backoff = 60;

	signal(SIGPIPE, SIG_IGN); /* an installer that refuses stops reading the download */
	for (;;) {
		int rc = poll_one(c, o, &interval, e);
		unsigned wait;

		if (o->once)
			return rc;
		if (rc < 0) {
			fprintf(stderr, "stele-update: poll: %s\n", e->msg);
			wait = (unsigned)(backoff < interval ? backoff : interval);
			backoff *= 2;
		} else {
			wait = (unsigned)(interval + (int64_t)(random() % (interval / 10 + 1)));
			backoff = 60;
		}
		sleep(wait);
	}
}

cJSON *update_poll_last(const struct update_ctx *c)
{
	char path[PATH_MAX], *buf;
	cJSON *o;

	if (!c->data_dir ||
	    update_join(path, sizeof(path), c->data_dir, CONTRACT_DATA_POLL, NULL) < 0 ||
	    io_read_alloc(path, 64 << 10, &buf, NULL, NULL) < 0)
		return NULL;
	o = cJSON_Parse(buf);
	free(buf);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
