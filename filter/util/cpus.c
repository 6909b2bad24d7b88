/*
 * cpus.c - affinity and cgroup CPU quota (see cpus.h)
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cpus.h"

/* the smallest quota seen so far, as QUOTA/PERIOD; none while period == 0 */
struct cpus_min {
	long long quota, period;
};

/* cpus_read_line - the first line of DIR/NAME into BUF (the kernel's
 * cgroup files are one short line); false if there is none */
static bool cpus_read_line(const char *dir, const char *name, char *buf, size_t size)
{
	char *path;
	FILE *f;
	bool ok;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return false;
	f = fopen(path, "re");
	free(path);
	if (f == NULL)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	return ok;
}

/* cpus_number - the whole of S (up to trailing white space) as a number
 * into *V; false if it is anything else */
static bool cpus_number(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return false;
	end += strspn(end, " \t\n");
	return *end == '\0';
}

/* cpus_note - M becomes QUOTA/PERIOD if that is a quota smaller than M's */
static void cpus_note(struct cpus_min *m, long long quota, long long period)
{
	if (quota <= 0 || period <= 0)
		return; /* -1 (v1) is "no quota"; 0 is not a quota either */
	/* v1 allows quotas up to about 2^44 us: the products would not fit */
	if (m->period == 0 ||
	    (double)quota / (double)period < (double)m->quota / (double)m->period) {
		m->quota = quota;
		m->period = period;
	}
}

/* cpus_level_v2 - DIR's cpu.max ("max PERIOD" or "QUOTA PERIOD") into M */
static void cpus_level_v2(const char *dir, struct cpus_min *m)
{
	char line[128], *sp;
	long long quota, period;

	if (!cpus_read_line(dir, "cpu.max", line, sizeof(line)))
		return;
	sp = strchr(line, ' ');
	if (sp == NULL)
		return;
	*sp = '\0';
	if (strcmp(line, "max") == 0 || !cpus_number(line, &quota) || !cpus_number(sp + 1, &period))
		return;
	cpus_note(m, quota, period);
}

/* cpus_level_v1 - DIR's cpu.cfs_quota_us and cpu.cfs_period_us into M */
static void cpus_level_v1(const char *dir, struct cpus_min *m)
{
	char line[64];
	long long quota, period;

	if (!cpus_read_line(dir, "cpu.cfs_quota_us", line, sizeof(line)) ||
	    !cpus_number(line, &quota))
		return;
	if (!cpus_read_line(dir, "cpu.cfs_period_us", line, sizeof(line)) ||
	    !cpus_number(line, &period))
		return;
	cpus_note(m, quota, period);
}

static bool cpus_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* cpus_walk - LEVEL(dir) for MOUNT/PATH and each directory above it up to
 * MOUNT itself; MOUNT alone when MOUNT/PATH is not there (see cpus.h) */
static void cpus_walk(const char *mount, const char *path,
		      void (*level)(const char *dir, struct cpus_min *m), struct cpus_min *m)
{
	size_t top = strlen(mount);
	char *dir, *slash;

	while (*path == '/')
		path++;
	if (asprintf(&dir, "%s/%s", mount, path) < 0)
		return;
	if (!cpus_is_dir(dir))
		dir[top] = '\0';
	for (;;) {
		size_t len = strlen(dir);

		while (len > top && dir[len - 1] == '/')
			dir[--len] = '\0';
		level(dir, m);
		if (len <= top)
			break;
		slash = strrchr(dir + top, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
	}
	free(dir);
}

/* cpus_has_cpu - the v1 controller list LIST ("cpu,cpuacct") names "cpu" */
static bool cpus_has_cpu(const char *list, size_t len)
{
	while (len > 0) {
		size_t n = strcspn(list, ",");

		if (n > len)
			n = len;
		if (n == 3 && strncmp(list, "cpu", 3) == 0)
			return true;
		list += n;
		len -= n;
		if (len > 0) {
			list++;
			len--;
		}
	}
	return false;
}

/* cpus_v1_mount - where v1's cpu controller is mounted under ROOT, or NULL */
static char *cpus_v1_mount(const char *root)
{
	static const char *const names[] = { "cpu,cpuacct", "cpuacct,cpu", "cpu" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *dir;

		if (asprintf(&dir, "%s/%s", root, names[i]) < 0)
			return NULL;
		if (cpus_is_dir(dir))
			return dir;
		free(dir);
	}
	return NULL;
}

long cpus_quota(const char *proc_cgroup, const char *root)
{
	struct cpus_min m = { 0, 0 };
	FILE *f = fopen(proc_cgroup, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		return 0;
	/* "ID:CONTROLLERS:PATH" per hierarchy; v2 is "0::PATH" */
	while ((n = getline(&line, &cap, f)) > 0) {
		char *c1 = strchr(line, ':'), *c2, *path;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
			continue;
		path = c2 + 1;
		if (c2 == c1 + 1 && strncmp(line, "0:", 2) == 0) {
			cpus_walk(root, path, cpus_level_v2, &m);
		} else if (cpus_has_cpu(c1 + 1, (size_t)(c2 - c1 - 1))) {
			char *mount = cpus_v1_mount(root);

			if (mount != NULL)
				cpus_walk(mount, path, cpus_level_v1, &m);
			free(mount);
		}
	}
	free(line);
	fclose(f);
	if (m.period == 0)
		return 0;
	return (long)(m.quota / m.period + (m.quota % m.period != 0)); /* rounded up, no overflow */
}

long cpus_affinity(void)
{
	cpu_set_t set;
	long n;

	/* more CPUs than CPU_SETSIZE make this fail: the online count then */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

long cpus_usable(void)
{
	long n = cpus_affinity(), q = cpus_quota("/proc/self/cgroup", "/sys/fs/cgroup");

	return q > 0 && q < n ? q : n;
}
