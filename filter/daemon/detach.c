/*
 * detach.c - fork, wait for readiness, detach (see detach.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon/detach.h"

int detach_start(void)
{
	int p[2];
	pid_t pid;
	char b;
	ssize_t n;
	int status;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		return p[1];
	}
	close(p[1]);
	do
		n = read(p[0], &b, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && b == 'R')
		_exit(0);
	/* the child ended before it was ready: its status is ours */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(EX_SOFTWARE);
	_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : EX_SOFTWARE);
}

void detach_done(int fd)
{
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	(void)!write(fd, "R", 1);
	close(fd);
}
