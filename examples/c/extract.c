/* extract: prints the network settings report (JSON) of the guest on a disk image, read through
 * libregnet's read-at callback: the program reads the image itself (pread on a file descriptor), as
 * a program reading from a backup store or an object store would.
 *
 * Build: cc -std=c11 -O2 -o extract extract.c $(pkg-config --cflags --libs regnet)
 * Run:   ./extract disk.vmdk [OPTIONS_JSON]     e.g. '{"limits": {"max_bytes_read": 67108864}}' */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regnet.h>

/* regnet_read_at_fn: up to `len` bytes at `offset`; fewer is fine, 0 means the end. */
static int32_t read_at(void *user, uint64_t offset, uint8_t *buf, size_t len, size_t *out_read) {
    int fd = *(const int *)user;
    ssize_t n;
    do {
        n = pread(fd, buf, len, (off_t)offset);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno; /* non-zero: regnet stops and reports REGNET_CALLBACK with this code */
    *out_read = (size_t)n;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s IMAGE [OPTIONS_JSON]\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    char *report = NULL;
    regnet_error *err = NULL;
    regnet_status status = regnet_extract_read_at(read_at, &fd, (uint64_t)st.st_size, argv[1],
                                                  argc > 2 ? argv[2] : NULL, &report, &err);
    close(fd);
    if (status != REGNET_OK) {
        fprintf(stderr, "regnet: %s (%s, status %d)\n", regnet_error_message(err), regnet_error_kind(err), status);
        regnet_error_free(err);
        return 1;
    }
    puts(report);
    regnet_string_free(report);
    return 0;
}
