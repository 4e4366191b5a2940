/* `stele run IMAGE`: boots an image in QEMU with OVMF (UEFI). KVM only when a short probe boot
 * proves it works (on some hosts /dev/kvm exists but guests hang), else TCG; STELE_ACCEL or
 * --accel overrides. The serial console is the terminal with --console (or without a display). */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "builder/fileutil.h"
#include "lib/credential.h"
#include "lib/input.h"

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define OVMF_CODE_SB "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
#define MAX_DISKS 4
#define MAX_SECRETS 8

static int copy_file(const char *from, const char *to)
{
	char *buf;
	size_t len;
	int fd, r = file_read_all(from, 64u << 20, &buf, &len, NULL);

	if (r < 0)
		return r;
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	r = fd < 0 ? -errno : write_all(fd, buf, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

#define RUN_REPO_ADDR "10.0.2.100" /* on QEMU's user network (10.0.2.0/24) */

void cmd_run_help(FILE *f)
{
	fprintf(f,
		"Usage: stele run IMAGE [options]\n"
		"\n"
		"Boots IMAGE (raw, qcow2, vmdk or vhdx) in QEMU with UEFI firmware (OVMF), as a\n"
		"virtio disk, with a watchdog (i6300esb) for trial boots.\n"
		"\n"
		"Options:\n"
		"      --snapshot       write nothing to IMAGE (changes go to a temporary overlay)\n"
		"      --console        serial console on this terminal, no window (also the\n"
		"                       default without $DISPLAY); quit with Ctrl-a x\n"
		"      --disk FILE      attach FILE as another virtio disk (repeatable)\n"
		"      --memory MIB     guest memory (default 1024)\n"
		"      --ssh PORT       a virtio network card on QEMU's user network, isolated\n"
		"                       (restrict=on: the guest reaches nothing), with host port\n"
		"                       PORT on 127.0.0.1 forwarded to the guest's port 22\n"
		"      --repo-port PORT a virtio network card on QEMU's user network, isolated\n"
		"                       (restrict=on), where the guest's " RUN_REPO_ADDR ":80 reaches\n"
		"                       the host's 127.0.0.1:PORT (guestfwd): an update repository\n"
		"                       served on the host, for \"update\": {\"url\": \"http://" RUN_REPO_ADDR "\"}\n"
		"      --secret NAME=FILE  pass FILE's bytes (at most 32 KiB) to the guest as the\n"
		"                       credential NAME (SMBIOS type 11, as systemd reads it):\n"
		"                       stele-init puts it in /run/credstore/NAME (tmpfs; also\n"
		"                       /run/stele/credentials/NAME), where LoadCredential=NAME\n"
		"                       finds it; never on a disk (repeatable, up to 8)\n"
		"      --secure-boot    Secure Boot enforcing: OVMF's secboot firmware (SMM) with\n"
		"                       the variable store the build wrote beside IMAGE\n"
		"                       (<product>-<version>.ovmf-vars.fd: the product's PK, KEK\n"
		"                       and db enrolled), or --vars FILE\n"
		"      --vars FILE      the UEFI variable store to start from (a copy is used)\n"
		"      --accel kvm|tcg  accelerator (default: $STELE_ACCEL, else KVM when a probe\n"
		"                       boot proves it works, else TCG)\n"
		"      --dry-run        print the QEMU command line instead of running it\n"
		"      --print-accel    probe and print the accelerator that would be used\n"
		"  -h, --help           this help\n");
}

/* KVM works when OVMF, started under it, writes to the serial console within a few seconds
 * (where KVM is broken, guests die with "KVM internal error" or hang in the firmware). */
static bool kvm_works(void)
{
	char dir[] = "/tmp/stele-kvm-probe-XXXXXX", vars[64], out[64], code[160], vars_arg[128];
	char serial[80];
	char *argv[] = {"qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-m", "128",
			"-nodefaults", "-display", "none", "-no-reboot", "-drive", code, "-drive",
			vars_arg, "-serial", serial, NULL};
	bool ok = false, exited = false;
	struct stat st;
	pid_t pid;

	if (access("/dev/kvm", R_OK | W_OK) != 0 || !mkdtemp(dir))
		return false;
	snprintf(vars, sizeof(vars), "%s/vars.fd", dir);
	snprintf(out, sizeof(out), "%s/serial.txt", dir);
	snprintf(code, sizeof(code), "if=pflash,format=raw,unit=0,readonly=on,file=%s", OVMF_CODE);
	snprintf(vars_arg, sizeof(vars_arg), "if=pflash,format=raw,unit=1,file=%s", vars);
	snprintf(serial, sizeof(serial), "file:%s", out);
	if (copy_file(OVMF_VARS, vars) == 0 && (pid = fork()) >= 0) {
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);
			dup2(null, 0), dup2(null, 1), dup2(null, 2);
			execvp(argv[0], argv);
			_exit(127);
		}
		for (int i = 0; i < 80 && !ok && !exited; i++) { /* 8 seconds */
			ok = stat(out, &st) == 0 && st.st_size > 0;
			exited = waitpid(pid, NULL, WNOHANG) == pid;
			if (!ok && !exited)
				nanosleep(&(struct timespec){0, 100000000}, NULL);
		}
		if (!exited) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	unlink(vars);
	unlink(out);
	rmdir(dir);
	return ok;
}

static const char *choose_accel(const char *opt)
{
	const char *env = getenv("STELE_ACCEL");

	if (opt)
		return opt;
	if (env && *env)
		return env;
	return kvm_works() ? "kvm" : "tcg";
}

/* QEMU would wait on a FIFO and read /dev/zero as a disk: only files and block devices. */
static int check_disk(const char *path)
{
	struct err e = {{0}};
	int fd;

	if (input_open(path, O_RDONLY, INPUT_REG | INPUT_BLK, "a disk image or block device",
		       &fd, NULL, &e) < 0) {
		fprintf(stderr, "stele run: %s\n", e.msg);
		return -1;
	}
	close(fd);
	return 0;
}

static const char *image_format(const char *path)
{
	char magic[8] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, magic, sizeof(magic)) != sizeof(magic))
			magic[0] = '\0';
		close(fd);
	}
	if (memcmp(magic, "QFI\xfb", 4) == 0)
		return "qcow2";
	if (memcmp(magic, "KDMV", 4) == 0)
		return "vmdk";
	return memcmp(magic, "vhdxfile", 8) == 0 ? "vhdx" : "raw";
}

struct run_opts {
	bool snapshot, console, dry_run, print_accel, secure_boot;
	const char *accel, *memory, *vars;
	const char *disks[MAX_DISKS];
	int ndisks;
	const char *secrets[MAX_SECRETS]; /* NAME=FILE */
	int nsecrets;
	unsigned ssh_port; /* 0: no network */
	unsigned repo_port; /* the guest's 10.0.2.100:80 reaches the host's 127.0.0.1:PORT */
	unsigned stdio_to;  /* internal: QEMU runs `stele run --stdio-to PORT` per connection */
};

static int check_disks(const char *image, const struct run_opts *o)
{
	if (check_disk(image) < 0)
		return -1;
	for (int i = 0; i < o->ndisks; i++)
		if (check_disk(o->disks[i]) < 0)
			return -1;
	return 0;
}

static int parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{"snapshot", no_argument, NULL, 's'}, {"console", no_argument, NULL, 'c'},
		{"disk", required_argument, NULL, 'd'}, {"memory", required_argument, NULL, 'm'},
		{"accel", required_argument, NULL, 'a'}, {"dry-run", no_argument, NULL, 'n'},
		{"print-accel", no_argument, NULL, 'p'}, {"ssh", required_argument, NULL, 'S'},
		{"secret", required_argument, NULL, 'C'}, {"help", no_argument, NULL, 'h'},
		{"secure-boot", no_argument, NULL, 'B'}, {"vars", required_argument, NULL, 'V'},
		{"repo-port", required_argument, NULL, 'R'},
		{"stdio-to", required_argument, NULL, 'T'},
		{0},
	};
	int c;

	o->memory = "1024";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->snapshot = true; break;
		case 'c': o->console = true; break;
		case 'n': o->dry_run = true; break;
		case 'p': o->print_accel = true; break;
		case 'B': o->secure_boot = true; break;
		case 'V': o->vars = optarg; break;
		case 'm': o->memory = optarg; break;
		case 'a':
			if (strcmp(optarg, "kvm") != 0 && strcmp(optarg, "tcg") != 0)
				return fprintf(stderr, "stele run: --accel kvm|tcg\n"), -1;
			o->accel = optarg;
			break;
		case 'S':
		case 'T':
		case 'R': {
			char *end;
			unsigned long port = strtoul(optarg, &end, 10);
			if (!*optarg || *end || optarg[0] == '-' || port < 1 || port > 65535)
				return fprintf(stderr, "stele run: --%s %s: expected a port from 1 to "
						       "65535\n", c == 'S' ? "ssh" : "repo-port", optarg), -1;
			*(c == 'S' ? &o->ssh_port : c == 'R' ? &o->repo_port : &o->stdio_to) = (unsigned)port;
			break;
		}
		case 'C': {
			const char *eq = strchr(optarg, '=');

			if (o->nsecrets == MAX_SECRETS)
				return fprintf(stderr, "stele run: at most %d --secret\n", MAX_SECRETS), -1;
			if (!eq || !credential_name_ok(optarg, (size_t)(eq - optarg)) || !eq[1])
				return fprintf(stderr, "stele run: --secret %.80s: expected NAME=FILE, NAME "
						       "of letters, digits, '_', '.' and '-' (at most %d)\n",
					       optarg, CREDENTIAL_NAME_MAX), -1;
			o->secrets[o->nsecrets++] = optarg;
			break;
		}
		case 'd':
			if (o->ndisks == MAX_DISKS)
				return fprintf(stderr, "stele run: at most %d --disk\n", MAX_DISKS), -1;
			o->disks[o->ndisks++] = optarg;
			break;
		case 'h': cmd_run_help(stdout); exit(0);
		default: cmd_run_help(stderr); return -1;
		}
	}
	if (argc - optind != 1 && !o->print_accel && !o->stdio_to)
		return fprintf(stderr, "stele run: expected one IMAGE\n"), -1;
	return 0;
}

/* A private copy of the UEFI variable store, so runs do not share boot entries, in a private
 * directory under $TMPDIR that is removed when QEMU exits (or we are killed). */
static int vars_copy(const char *from, char *dir, size_t dn, char *out, size_t n)
{
	const char *t = getenv("TMPDIR");
	int r;

	snprintf(dir, dn, "%s/stele-run-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(out, n, "%s/OVMF_VARS.fd", dir);
	r = copy_file(from, out);
	if (r < 0) {
		unlink(out);
		rmdir(dir);
	}
	return r;
}

/* Each secret as a memfd holding "io.systemd.credential.binary:NAME=BASE64", which QEMU reads
 * as /dev/fd/N (inherited): the bytes never reach a file or QEMU's command line. */
static int secret_fd(const char *spec, struct err *e)
{
	const char *eq = strchr(spec, '=');
	char *buf = NULL, *text = NULL;
	size_t len = 0, n;
	int fd = -1, r;

	r = file_read_all(eq + 1, CREDENTIAL_SIZE_MAX, &buf, &len, e);
	if (r < 0)
		return err_prefix(e, r, "--secret %.*s", (int)(eq - spec), spec);
	n = sizeof(CREDENTIAL_BINARY_PREFIX) - 1 + (size_t)(eq - spec) + 1;
	text = malloc(n + 4 * ((len + 2) / 3) + 1);
	if (!text) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(text, n + 1, CREDENTIAL_BINARY_PREFIX "%.*s=", (int)(eq - spec), spec);
	credential_base64_encode((const uint8_t *)buf, len, text + n);
	fd = memfd_create("stele-secret", 0); /* no CLOEXEC: QEMU opens /dev/fd/N */
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0) {
		r = err_sys(e, errno, "--secret %.*s: a memfd", (int)(eq - spec), spec);
		goto out;
	}
	r = fd, fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (buf)
		explicit_bzero(buf, len);
	if (text)
		explicit_bzero(text, strlen(text));
	free(buf);
	free(text);
	return r;
}

static volatile pid_t qemu_pid;

/* SIGINT, SIGTERM, SIGHUP: passed on to QEMU, whose exit we wait for to clean up after it. */
static void forward_signal(int sig)
{
	if (qemu_pid > 0)
		kill(qemu_pid, sig);
}

/* Runs QEMU as a child (not exec: its temporary files outlive it otherwise); returns our exit
 * status: QEMU's, or 128 + the signal that ended it. */
static int run_qemu(char **args)
{
	struct sigaction sa = {.sa_handler = forward_signal}, old[3];
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	int status = 0, err;
	pid_t pid;

	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &old[i], NULL);
		execvp(args[0], args);
		fprintf(stderr, "stele run: %s: %s (install qemu-system-x86)\n", args[0],
			strerror(errno));
		_exit(127);
	}
	err = errno;
	qemu_pid = pid;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	qemu_pid = 0;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (pid < 0) {
		fprintf(stderr, "stele run: fork: %s\n", strerror(err));
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* One guest connection to the repository address, as QEMU's guestfwd hands it to a command
 * on stdin and stdout, carried to 127.0.0.1:port (a chardev would carry one connection
 * only, for QEMU's whole life). */
static int stdio_to(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd p[2];
	bool in_open = true, out_open = true;
	char buf[65536];
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "stele run: 127.0.0.1:%u: %s\n", port, strerror(errno));
		return 1;
	}
	while (in_open || out_open) {
		p[0] = (struct pollfd){.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN};
		p[1] = (struct pollfd){.fd = out_open ? s : -1, .events = POLLIN};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write_all(i == 0 ? s : STDOUT_FILENO, buf, (size_t)n) < 0) {
				if (i == 0) {
					in_open = false;
					shutdown(s, SHUT_WR);
				} else { /* the server is done: so is the guest's connection */
					out_open = in_open = false;
					shutdown(STDOUT_FILENO, SHUT_WR); /* a socket: QEMU's end sees it */
					close(STDOUT_FILENO);
				}
			}
		}
	}
	close(s);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	char *args[64], code[256], vars_arg[300], vars[256], vdir[256], nic[4400], self[4096];
	char drives[MAX_DISKS + 1][4200], smbios[MAX_SECRETS][64];
	int n = 0, rc, sfd[MAX_SECRETS];

	if (parse(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (o.stdio_to)
		return stdio_to(o.stdio_to);
	if (o.print_accel) {
		printf("%s\n", choose_accel(o.accel));
		return 0;
	}
	if (check_disks(argv[optind], &o) < 0)
		return EXIT_USAGE;
	if (access(argv[optind], R_OK) != 0 || access(OVMF_CODE, R_OK) != 0) {
		fprintf(stderr, "stele run: %s: %s\n",
			access(OVMF_CODE, R_OK) ? OVMF_CODE " (install ovmf)" : argv[optind],
			strerror(errno));
		return EXIT_USAGE;
	}
	const char *code_file = o.secure_boot ? OVMF_CODE_SB : OVMF_CODE;
	char sb_vars[4200];
	if (o.secure_boot && !o.vars) { /* minimal-1.0.0.img -> minimal-1.0.0.ovmf-vars.fd */
		const char *dot = strrchr(argv[optind], '.'), *slash = strrchr(argv[optind], '/');
		int stem = dot && (!slash || dot > slash) ? (int)(dot - argv[optind])
							  : (int)strlen(argv[optind]);
		snprintf(sb_vars, sizeof(sb_vars), "%.*s.ovmf-vars.fd", stem, argv[optind]);
		o.vars = sb_vars;
	}
	if (access(code_file, R_OK) != 0 || (o.vars && access(o.vars, R_OK) != 0)) {
		fprintf(stderr, "stele run: %s: %s%s\n", access(code_file, R_OK) ? code_file : o.vars,
			strerror(errno), o.secure_boot && access(code_file, R_OK) == 0
					 ? " (a build with \"secure_boot\" writes it; or --vars)" : "");
		return EXIT_USAGE;
	}
	if (!o.dry_run && (rc = vars_copy(o.vars ? o.vars : OVMF_VARS, vdir, sizeof(vdir), vars,
					  sizeof(vars))) < 0) {
		fprintf(stderr, "stele run: copying %s: %s\n", o.vars ? o.vars : OVMF_VARS,
			strerror(-rc));
		return 1;
	}
	if (o.dry_run)
		snprintf(vars, sizeof(vars), "OVMF_VARS_COPY");
	o.accel = choose_accel(o.accel);
	snprintf(code, sizeof(code), "if=pflash,format=raw,unit=0,readonly=on,file=%s", code_file);
	snprintf(vars_arg, sizeof(vars_arg), "if=pflash,format=raw,unit=1,file=%s", vars);
	snprintf(drives[0], sizeof(drives[0]), "if=virtio,format=%s,file=%s%s",
		 image_format(argv[optind]), argv[optind], o.snapshot ? ",snapshot=on" : "");
	for (int i = 0; i < o.ndisks; i++)
		snprintf(drives[i + 1], sizeof(drives[0]), "if=virtio,format=%s,file=%s",
			 image_format(o.disks[i]), o.disks[i]);
	const char *fixed[] = {"qemu-system-x86_64", "-machine", o.secure_boot ? "q35,smm=on" : "q35",
			       "-accel", o.accel,
			       "-m", o.memory, "-smp", "2", "-drive", code, "-drive", vars_arg,
			       "-device", "i6300esb", "-no-user-config"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		args[n++] = (char *)fixed[i];
	if (o.secure_boot) { /* the variable store is writable only from SMM */
		args[n++] = "-global";
		args[n++] = "driver=cfi.pflash01,property=secure,value=on";
	}
	args[n++] = "-nic";
	if (o.repo_port) { /* QEMU runs this program for each connection */
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (len <= 0 || strchr((self[len] = '\0', self), ',') || strchr(self, ' '))
			return fprintf(stderr, "stele run: --repo-port: this program's path must have "
					       "no comma or space\n"), 1;
	}
	if (o.ssh_port || o.repo_port) {
		/* only these forwards, to and from the host's loopback; restrict=on cuts the guest
		 * off from every other address */
		int k = snprintf(nic, sizeof(nic), "user,model=virtio-net-pci,restrict=on");

		if (o.ssh_port)
			k += snprintf(nic + k, sizeof(nic) - (size_t)k,
				      ",hostfwd=tcp:127.0.0.1:%u-:22", o.ssh_port);
		if (o.repo_port)
			snprintf(nic + k, sizeof(nic) - (size_t)k,
				 ",guestfwd=tcp:" RUN_REPO_ADDR ":80-cmd:%s run --stdio-to %u", self,
				 o.repo_port);
		args[n++] = nic;
	} else {
		args[n++] = "none";
	}
	for (int i = 0; i <= o.ndisks; i++) {
		args[n++] = "-drive";
		args[n++] = drives[i];
	}
	for (int i = 0; i < o.nsecrets; i++) {
		struct err e = {{0}};

		sfd[i] = secret_fd(o.secrets[i], &e);
		if (sfd[i] < 0) {
			fprintf(stderr, "stele run: %s\n", e.msg);
			while (i-- > 0)
				close(sfd[i]);
			if (!o.dry_run) {
				unlink(vars);
				rmdir(vdir);
			}
			return EXIT_USAGE;
		}
		snprintf(smbios[i], sizeof(smbios[i]), "type=11,path=/dev/fd/%d", sfd[i]);
		args[n++] = "-smbios";
		args[n++] = smbios[i];
	}
	if (o.console || !getenv("DISPLAY")) {
		args[n++] = "-nographic";
		args[n++] = "-serial";
		args[n++] = "mon:stdio";
	} else {
		args[n++] = "-serial";
		args[n++] = "vc";
	}
	args[n] = NULL;
	if (o.dry_run) {
		for (int i = 0; i < n; i++)
			printf("%s%s", i ? " " : "", args[i]);
		printf("\n");
		return 0;
	}
	fprintf(stderr, "stele run: %s with %s\n", argv[optind], o.accel);
	rc = run_qemu(args);
	for (int i = 0; i < o.nsecrets; i++)
		close(sfd[i]);
	unlink(vars);
	rmdir(vdir);
	return rc;
}
