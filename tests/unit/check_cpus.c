/*
 * check_cpus.c - CPU affinity and cgroup quota (util/cpus.h)
 *
 * Each case builds a cgroup tree in a temporary directory, as the kernel
 * lays one out under /sys/fs/cgroup (v2 unified, v1's cpu controller, or
 * the hybrid of both that systemd used to mount), with the membership file
 * /proc/self/cgroup would have, and reads the quota back. The daemon's use
 * of the real files is covered by the integration suite (a live cgroup
 * with a quota; tests/integration/daemon.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "unit.h"
#include "util/cpus.h"

/* the tree of the running test: a fresh temporary directory */
struct tree {
	char root[256];
};

static void tree_new(struct tree *t)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(t->root, sizeof(t->root), "%s/gatehouse-cpus-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert(mkdtemp(t->root) != NULL);
}

/* tree_put - REL (under the tree, directories made as needed) holds TEXT */
static void tree_put(const struct tree *t, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	for (char *p = path + strlen(t->root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s", path);
	fputs(text, f);
	ck_assert(fclose(f) == 0);
}

/* tree_quota - cpus_quota() with the tree's "proc.cgroup" and "fs" */
static long tree_quota(const struct tree *t)
{
	char proc[300], fs[300];

	snprintf(proc, sizeof(proc), "%s/proc.cgroup", t->root);
	snprintf(fs, sizeof(fs), "%s/fs", t->root);
	return cpus_quota(proc, fs);
}

static void tree_free(const struct tree *t)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	ck_assert(system(cmd) == 0);
}

START_TEST(cpus_v2_quota_rounds_up)
{
	struct tree t;

	tree_new(&t);
	tree_put(&t, "proc.cgroup", "0::/system.slice/gatehouse.service\n");
	tree_put(&t, "fs/cgroup.controllers", "cpuset cpu io memory pids\n");
	tree_put(&t, "fs/system.slice/cpu.max", "max 100000\n");
	tree_put(&t, "fs/system.slice/gatehouse.service/cpu.max", "150000 100000\n");
	ck_assert_int_eq(tree_quota(&t), 2);
	/* less than one CPU is one */
	tree_put(&t, "fs/system.slice/gatehouse.service/cpu.max", "20000 100000\n");
	ck_assert_int_eq(tree_quota(&t), 1);
	/* exactly three */
	tree_put(&t, "fs/system.slice/gatehouse.service/cpu.max", "30000 10000\n");
	ck_assert_int_eq(tree_quota(&t), 3);
	/* the largest number a file could hold: rounded up without overflow */
	tree_put(&t, "fs/system.slice/gatehouse.service/cpu.max", "9223372036854775807 100000\n");
	ck_assert_int_eq(tree_quota(&t), 9223372036854775807LL / 100000 + 1);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_v2_parent_binds)
{
	struct tree t;

	tree_new(&t);
	tree_put(&t, "proc.cgroup", "0::/system.slice/gatehouse.service\n");
	tree_put(&t, "fs/system.slice/cpu.max", "50000 100000\n");
	tree_put(&t, "fs/system.slice/gatehouse.service/cpu.max", "400000 100000\n");
	ck_assert_int_eq(tree_quota(&t), 1);
	/* the other way round, the child's is the smaller */
	tree_put(&t, "fs/system.slice/cpu.max", "800000 100000\n");
	ck_assert_int_eq(tree_quota(&t), 4);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_v2_no_quota)
{
	struct tree t;

	tree_new(&t);
	tree_put(&t, "proc.cgroup", "0::/system.slice/gatehouse.service\n");
	tree_put(&t, "fs/system.slice/cpu.max", "max 100000\n");
	tree_put(&t, "fs/system.slice/gatehouse.service/cpu.max", "max 100000\n");
	ck_assert_int_eq(tree_quota(&t), 0);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_v2_root_in_a_namespace)
{
	struct tree t;

	/* inside a cgroup namespace the process's cgroup is "/": the mount's
	 * top, which is the container's own cgroup and has the limit */
	tree_new(&t);
	tree_put(&t, "proc.cgroup", "0::/\n");
	tree_put(&t, "fs/cpu.max", "250000 100000\n");
	ck_assert_int_eq(tree_quota(&t), 3);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_v1_quota)
{
	struct tree t;

	/* hybrid: v2 mounted without the cpu controller, v1's cpu,cpuacct */
	tree_new(&t);
	tree_put(&t, "proc.cgroup",
		 "9:name=systemd:/docker/abc\n4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n"
		 "0::/docker/abc\n");
	tree_put(&t, "fs/unified/docker/abc/cgroup.procs", "1\n");
	tree_put(&t, "fs/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
	tree_put(&t, "fs/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
	tree_put(&t, "fs/cpu,cpuacct/docker/cpu.cfs_quota_us", "-1\n");
	tree_put(&t, "fs/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
	tree_put(&t, "fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n");
	tree_put(&t, "fs/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
	ck_assert_int_eq(tree_quota(&t), 3);
	tree_put(&t, "fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
	ck_assert_int_eq(tree_quota(&t), 0);
	/* a parent's limit binds */
	tree_put(&t, "fs/cpu,cpuacct/docker/cpu.cfs_quota_us", "100000\n");
	ck_assert_int_eq(tree_quota(&t), 1);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_v1_separate_mount)
{
	struct tree t;

	/* the cpu controller alone at ROOT/cpu, listed as "cpuacct,cpu" too */
	tree_new(&t);
	tree_put(&t, "proc.cgroup", "3:cpuacct,cpu:/gh\n");
	tree_put(&t, "fs/cpu/gh/cpu.cfs_quota_us", "200000\n");
	tree_put(&t, "fs/cpu/gh/cpu.cfs_period_us", "100000\n");
	ck_assert_int_eq(tree_quota(&t), 2);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_v1_path_outside_the_mount)
{
	struct tree t;

	/* a container without a cgroup namespace sees the host's path; its
	 * mount shows only its own subtree, whose top has the limit */
	tree_new(&t);
	tree_put(&t, "proc.cgroup", "2:cpu,cpuacct:/kubepods/pod1/c0ffee\n");
	tree_put(&t, "fs/cpu,cpuacct/cpu.cfs_quota_us", "150000\n");
	tree_put(&t, "fs/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
	ck_assert_int_eq(tree_quota(&t), 2);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_other_controllers_are_not_cpu)
{
	struct tree t;

	/* "cpuset" and "cpuacct" alone are not the cpu controller: the quota
	 * files of a cpu mount do not apply to a process listed only there */
	tree_new(&t);
	tree_put(&t, "proc.cgroup", "5:cpuset:/gh\n6:cpuacct:/gh\n");
	tree_put(&t, "fs/cpu/gh/cpu.cfs_quota_us", "100000\n");
	tree_put(&t, "fs/cpu/gh/cpu.cfs_period_us", "100000\n");
	ck_assert_int_eq(tree_quota(&t), 0);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_unreadable_is_no_quota)
{
	static const char *const bad[] = {
		"",		   /* empty */
		"100000\n",	   /* no period */
		"abc 100000\n",	   /* not a number */
		"100000 abc\n",	   /* nor this */
		"0 100000\n",	   /* zero is no quota */
		"-5 100000\n",	   /* nor is a negative one */
		"100000 0\n",	   /* a zero period */
		"100000 100000x\n" /* trailing junk */
	};
	struct tree t;

	tree_new(&t);
	ck_assert_int_eq(tree_quota(&t), 0); /* no membership file at all */
	tree_put(&t, "proc.cgroup", "not a cgroup line\n0::/gh\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tree_put(&t, "fs/gh/cpu.max", bad[i]);
		ck_assert_msg(tree_quota(&t) == 0, "cpu.max \"%s\"", bad[i]);
	}
	/* the same file, readable, counts: the cases above fail for their content */
	tree_put(&t, "fs/gh/cpu.max", "100000 100000\n");
	ck_assert_int_eq(tree_quota(&t), 1);
	tree_free(&t);
}
END_TEST

START_TEST(cpus_usable_within_affinity)
{
	long a = cpus_affinity(), u = cpus_usable();

	ck_assert_int_ge(a, 1);
	ck_assert_int_ge(u, 1);
	ck_assert_int_le(u, a);
}
END_TEST

static Suite *cpus_suite(void)
{
	Suite *s = suite_create("cpus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cpus_v2_quota_rounds_up);
	tcase_add_test(tc, cpus_v2_parent_binds);
	tcase_add_test(tc, cpus_v2_no_quota);
	tcase_add_test(tc, cpus_v2_root_in_a_namespace);
	tcase_add_test(tc, cpus_v1_quota);
	tcase_add_test(tc, cpus_v1_separate_mount);
	tcase_add_test(tc, cpus_v1_path_outside_the_mount);
	tcase_add_test(tc, cpus_other_controllers_are_not_cpu);
	tcase_add_test(tc, cpus_unreadable_is_no_quota);
	tcase_add_test(tc, cpus_usable_within_affinity);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(cpus_suite());
}
