/*
 * fuzz_memfd.h - an input handed to a loader that reads a file by name,
 * without a file system: a memfd, named /proc/self/fd/N, rewritten for
 * every input. Included, not linked (static functions). Used by the
 * targets of file loaders: fuzz_config, fuzz_rate_overrides, and the DNS
 * fixture of fuzz_dnsfix.h.
 *
 * Why not a file under TMPDIR: truncating a file on a disk mounted with
 * "discard" (as / is here) waits for the device, and most of a target's
 * time went there (see fuzz_dnsfix.h).
 */
#ifndef FUZZ_MEMFD_H
#define FUZZ_MEMFD_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

struct fz_memfd {
	int fd; /* -1 until the first write */
	char path[64];
};

#define FZ_MEMFD_INIT  \
	{              \
		-1, "" \
	}

/* fz_memfd_write - M (made on first use, NAME for /proc/self/fd's link)
 * now holds exactly LEN bytes of DATA; its path, or abort */
static inline const char *fz_memfd_write(struct fz_memfd *m, const char *name, const void *data,
					 size_t len)
{
	size_t off = 0;

	if (m->fd < 0) {
		if ((m->fd = memfd_create(name, MFD_CLOEXEC)) < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
	}
	if (ftruncate(m->fd, 0) != 0)
		abort();
	while (off < len) {
		ssize_t n = pwrite(m->fd, (const char *)data + off, len - off, (off_t)off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	return m->path;
}

/* fz_memfd_close - M goes (it may be written again: made anew) */
static inline void fz_memfd_close(struct fz_memfd *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

#endif
