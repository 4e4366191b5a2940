/* faultproxy: an HTTP proxy on 127.0.0.1 for the fleet tests, between stele-update and a
 * real server (lighttpd), that misbehaves as told. One request per connection (it asks the
 * server to close, and closes after the response). Before each request it reads MODEFILE,
 * one line:
 *   pass                 forward as is
 *   cut N                forward the first N bytes of the response, then close
 *   cut-once N           the same, once; then the file says "pass"
 *   cut-norange N        the same, once; then the file says "norange"
 *   norange              forward the request without its Range header (a server that
 *                        always answers 200 with the whole file)
 *   stall                read the request, never answer
 *   stall-after N        forward N bytes, then hang
 *   status CODE          answer CODE with an empty body
 *   endless              answer 200 with a body that never ends
 *   corrupt N            flip the body's byte N
 * optionally followed by " if SUBSTRING": only requests whose path holds it misbehave.
 * Every request is logged to LOGFILE: "PATH RANGE-HEADER BYTES-SENT".
 *
 * usage: faultproxy PORT UPSTREAM-PORT MODEFILE LOGFILE  (PORT 0: any; prints the port) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct mode {
	char what[32];
	long long n;
	char only[256];
};

static void read_mode(const char *file, struct mode *m)
{
	char line[512] = "pass", *p;
	FILE *f = fopen(file, "r");

	memset(m, 0, sizeof(*m));
	if (f) {
		if (!fgets(line, sizeof(line), f))
			strcpy(line, "pass");
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	if ((p = strstr(line, " if ")) != NULL) {
		snprintf(m->only, sizeof(m->only), "%s", p + 4);
		*p = '\0';
	}
	if (sscanf(line, "%31s %lld", m->what, &m->n) < 1)
		strcpy(m->what, "pass");
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int connect_local(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void serve(int c, int upstream, const char *modefile, const char *logfile)
{
	char req[16384], path[1024] = "?", range[128] = "-", buf[65536];
	size_t len = 0;
	long long sent = 0, body_at = -1;
	struct mode m;
	char *end = NULL, *p;
	int u;
	FILE *log;

	while (len < sizeof(req) - 1 && !(end = strstr(req, "\r\n\r\n"))) {
		ssize_t n = recv(c, req + len, sizeof(req) - 1 - len, 0);

		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
	}
	if (!end)
		return;
	sscanf(req, "%*s %1023s", path);
	if ((p = strcasestr(req, "\r\nRange: ")) != NULL)
		sscanf(p + 9, "%127[^\r]", range);
	read_mode(modefile, &m);
	if (m.only[0] && !strstr(path, m.only))
		strcpy(m.what, "pass");
	if (strcmp(m.what, "cut-once") == 0 || strcmp(m.what, "cut-norange") == 0) {
		FILE *f = fopen(modefile, "w");

		if (f) {
			fputs(m.what[4] == 'o' ? "pass\n" : "norange\n", f);
			fclose(f);
		}
		strcpy(m.what, "cut");
	}
	if (strcmp(m.what, "norange") == 0 && (p = strcasestr(req, "\r\nRange: ")) != NULL) {
		char *eol = strstr(p + 2, "\r\n");

		memmove(p, eol, strlen(eol) + 1);
		len = strlen(req);
		end = strstr(req, "\r\n\r\n");
	}
	if (strcmp(m.what, "stall") == 0) {
		while (recv(c, buf, sizeof(buf), 0) > 0)
			;
		goto out;
	}
	if (strcmp(m.what, "status") == 0) {
		int k = snprintf(buf, sizeof(buf), "HTTP/1.1 %lld Fault\r\nContent-Length: 0\r\n"
						   "Connection: close\r\n\r\n", m.n);
		send_all(c, buf, (size_t)k);
		goto out;
	}
	if (strcmp(m.what, "endless") == 0) {
		static const char h[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";

		memset(buf, ' ', sizeof(buf));
		if (send_all(c, h, sizeof(h) - 1) == 0)
			while (send_all(c, buf, sizeof(buf)) == 0)
				sent += (long long)sizeof(buf);
		goto out;
	}
	/* ask the server to close after this response: one request per connection */
	u = connect_local(upstream);
	if (u < 0)
		goto out;
	{
		size_t head = (size_t)(end - req) + 2;

		if (send_all(u, req, head) < 0 || send_all(u, "Connection: close\r\n\r\n", 21) < 0) {
			close(u);
			goto out;
		}
	}
	for (;;) {
		ssize_t n = recv(u, buf, sizeof(buf), 0);
		size_t k;

		if (n <= 0)
			break;
		k = (size_t)n;
		if (body_at < 0) {
			char *h = memmem(buf, k, "\r\n\r\n", 4);

			if (h)
				body_at = sent + (h - buf) + 4;
		}
		if (strcmp(m.what, "corrupt") == 0 && body_at >= 0 && m.n + body_at >= sent &&
		    m.n + body_at < sent + n)
			buf[m.n + body_at - sent] ^= 0x55;
		if ((strcmp(m.what, "cut") == 0 || strcmp(m.what, "stall-after") == 0) &&
		    sent + n > m.n)
			k = (size_t)(m.n - sent);
		if (send_all(c, buf, k) < 0)
			break;
		sent += (long long)k;
		if (k < (size_t)n) {
			if (strcmp(m.what, "stall-after") == 0)
				while (recv(c, buf, sizeof(buf), 0) > 0)
					;
			break;
		}
	}
	close(u);
out:
	log = fopen(logfile, "a");
	if (log) {
		fprintf(log, "%s %s %lld %s\n", path, range, sent, m.what);
		fclose(log);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int s, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: faultproxy PORT UPSTREAM-PORT MODEFILE LOGFILE\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 64) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
		perror("faultproxy");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(s);
			serve(c, atoi(argv[2]), argv[3], argv[4]);
			close(c);
			_exit(0);
		}
		close(c);
	}
}
