/* rss: runs a command and prints its peak resident set size in KiB (with
 * the children it waited for) on stderr as "rss KIB".
 *
 * The kernel counts the memory a process had before its execve into its
 * peak RSS; started from a large process (the Python bench) every runtime
 * would read as that process's size. This small static program starts the
 * command with vfork, so the floor is its own few hundred KiB. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: rss COMMAND [ARG...]\n", stderr);
        return 2;
    }
    pid_t pid = vfork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return 125;
    fprintf(stderr, "rss %ld\n", ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
