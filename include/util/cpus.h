/*
 * cpus.h - how many CPUs this process can keep busy
 *
 * Two things limit it: the CPUs it may run on (its affinity, which a
 * cpuset or systemd's CPUAffinity= narrows) and the CPU time its cgroup may
 * use (systemd's CPUQuota=, docker's --cpus, a Kubernetes limit), which
 * affinity does not show. A quota of 150% on a 16-CPU host lets the process
 * run 1.5 CPUs' worth; more threads waiting for work than that only wake
 * to be throttled.
 *
 * The quota is read from the cgroup file system: cgroup v2's cpu.max, or
 * cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us, in the process's own
 * cgroup and every cgroup above it up to the mount (a parent's quota binds
 * its children too); the smallest, rounded up to whole CPUs. Where the
 * process's cgroup is not under the mount (a container without a cgroup
 * namespace sees the host's path but only its own subtree), the mount's
 * top is taken as its cgroup.
 *
 * Threads: no state. Errors: a file that cannot be read or parsed is "no
 * quota" (the affinity alone decides), never a failure.
 */
#ifndef UTIL_CPUS_H
#define UTIL_CPUS_H

/* cpus_usable - CPUs this process can keep busy: its affinity, lowered to
 * its cgroup's quota (cpus_quota() on the running system); at least 1 */
long cpus_usable(void);

/* cpus_affinity - the CPUs this process may run on (the online CPUs when
 * the affinity cannot be read); at least 1 */
long cpus_affinity(void);

/* cpus_quota - the CPU quota, rounded up to whole CPUs, of the process
 * whose cgroup membership file (/proc/PID/cgroup) is PROC_CGROUP, with the
 * cgroup file systems mounted under ROOT (/sys/fs/cgroup): cgroup v2 at
 * ROOT itself, v1's cpu controller at ROOT/cpu,cpuacct or ROOT/cpu;
 * 0 when there is no quota or it cannot be read */
long cpus_quota(const char *proc_cgroup, const char *root);

#endif
