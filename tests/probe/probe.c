/*
 * probe: makes one raw system call (or a few), chosen on its command line,
 * and prints what the kernel answered. The seccomp integration tests run it
 * inside containers: it is built static into the busybox rootfs as
 * /bin/probe by scripts/busybox-rootfs.sh.
 *
 * usage: probe CMD [ARG...] [-- CMD [ARG...]]...
 *   syscall NR [ARG...]  the x86_64 syscall NR with up to six arguments
 *   x32 NR [ARG...]      the same with the x32 bit: NR | 0x40000000
 *   int80 NR [ARG...]    the i386 syscall NR through `int $0x80`
 *   trap NR [ARG...]     `syscall` with a SIGSYS handler (SA_SIGINFO)
 *                        installed; prints what the handler saw
 *   thread NR [ARG...]   `syscall` in a second thread; the main thread
 *                        joins it and prints whether it came back
 * An ARG is a number (strtoull: decimal, 0x hex, 0 octal; -1 is all ones)
 * or s:TEXT, a pointer to the string TEXT.
 *
 * Each call prints `call NR` first (flushed, so a killed call still shows
 * that it was reached), then `ret=R errno=E`: R is the value returned, -1
 * when the kernel returned an error, which is then E (0 on success).
 * Exit status 0, or 2 for a bad command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000UL

struct call {
	unsigned long nr;
	unsigned long a[6];
	long ret;
	int err;
	int returned;
};

static void usage(void)
{
	fputs("usage: probe syscall|x32|int80|trap|thread NR [ARG...] [-- ...]\n", stderr);
	exit(2);
}

static unsigned long number(const char *s)
{
	char *end;
	if (strncmp(s, "s:", 2) == 0)
		return (unsigned long)(s + 2);
	errno = 0;
	unsigned long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

static void print_ret(const struct call *c)
{
	printf("ret=%ld errno=%d\n", c->ret, c->err);
	fflush(stdout);
}

static void announce(const struct call *c)
{
	printf("call %lu\n", c->nr);
	fflush(stdout);
}

static void raw(struct call *c)
{
	errno = 0;
	c->ret = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
	c->err = c->ret == -1 ? errno : 0;
	c->returned = 1;
}

/* The i386 ABI: eax nr; ebx, ecx, edx, esi, edi, ebp the arguments (32
 * bits each); the kernel returns -errno in eax and may clear r8-r11. rbp
 * is saved in r13 rather than pushed: the stack (and its red zone) stays
 * untouched. */
static void int80(struct call *c)
{
	unsigned int eax = c->nr;
	register unsigned long ebp __asm__("r12") = (unsigned int)c->a[5];
	__asm__ volatile("mov %%rbp, %%r13\n\t"
			 "mov %k[ebp], %%ebp\n\t"
			 "int $0x80\n\t"
			 "mov %%r13, %%rbp"
			 : "+a"(eax)
			 : "b"((unsigned int)c->a[0]), "c"((unsigned int)c->a[1]),
			   "d"((unsigned int)c->a[2]), "S"((unsigned int)c->a[3]),
			   "D"((unsigned int)c->a[4]), [ebp] "r"(ebp)
			 : "r8", "r9", "r10", "r11", "r13", "memory", "cc");
	int r = (int)eax;
	if (r < 0 && r >= -4095) {
		c->ret = -1;
		c->err = -r;
	} else {
		c->ret = r;
		c->err = 0;
	}
	c->returned = 1;
}

static volatile sig_atomic_t trapped;
static volatile int trap_code, trap_syscall, trap_errno;
static volatile unsigned int trap_arch;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	trapped = 1;
	trap_code = si->si_code;
	trap_syscall = si->si_syscall;
	trap_arch = si->si_arch;
	trap_errno = si->si_errno;
}

static void trap(struct call *c)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		perror("probe: sigaction");
		exit(1);
	}
	trapped = 0;
	raw(c);
	if (trapped)
		printf("sigsys si_code=%d si_syscall=%d si_arch=%#x si_errno=%d\n", trap_code,
		       trap_syscall, trap_arch, trap_errno);
	else
		printf("no sigsys\n");
}

static void *in_thread(void *p)
{
	raw(p);
	return NULL;
}

static void thread(struct call *c)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, in_thread, c);
	if (e) {
		fprintf(stderr, "probe: pthread_create: %s\n", strerror(e));
		exit(1);
	}
	e = pthread_join(t, NULL);
	if (e) {
		fprintf(stderr, "probe: pthread_join: %s\n", strerror(e));
		exit(1);
	}
	if (c->returned)
		printf("thread: returned\n");
	else
		printf("thread: killed\n");
	printf("main: alive\n");
}

int main(int argc, char **argv)
{
	int i = 1;
	if (argc < 3)
		usage();
	while (i < argc) {
		const char *cmd = argv[i++];
		struct call c;
		memset(&c, 0, sizeof c);
		if (i >= argc)
			usage();
		c.nr = number(argv[i++]);
		for (int n = 0; i < argc && strcmp(argv[i], "--") != 0; n++, i++) {
			if (n == 6)
				usage();
			c.a[n] = number(argv[i]);
		}
		if (i < argc)
			i++; /* the "--" */
		if (strcmp(cmd, "x32") == 0)
			c.nr |= X32_SYSCALL_BIT;
		announce(&c);
		if (strcmp(cmd, "syscall") == 0 || strcmp(cmd, "x32") == 0)
			raw(&c);
		else if (strcmp(cmd, "int80") == 0)
			int80(&c);
		else if (strcmp(cmd, "trap") == 0)
			trap(&c);
		else if (strcmp(cmd, "thread") == 0)
			thread(&c);
		else
			usage();
		if (c.returned)
			print_ret(&c);
		fflush(stdout);
	}
	return 0;
}
