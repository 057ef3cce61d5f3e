/* Helpers shared by the C tests of libregnet: reading files, a read-at callback over a file. */
#ifndef REGNET_TEST_COMMON_H
#define REGNET_TEST_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regnet.h>

/* The whole file at `path`, NUL-terminated; its length in *len. Exits on failure. */
static inline char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(2);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) exit(2);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            cap *= 2;
            char *b = realloc(buf, cap + 1);
            if (!b) exit(2);
            buf = b;
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* A file read through the read-at callback: short reads of 1..max_step bytes (cycling), or a
 * failure after `fail_after` calls. */
struct file_stream {
    int fd;
    size_t max_step;   /* 0: as many bytes as asked */
    size_t calls;
    size_t fail_after; /* (size_t)-1: never */
    int32_t fail_code;
    int overclaim;     /* claim one byte more than asked */
};

static inline int32_t file_read_at(void *user, uint64_t offset, uint8_t *buf, size_t len, size_t *out_read) {
    struct file_stream *s = user;
    s->calls++;
    if (s->calls > s->fail_after) return s->fail_code;
    if (s->overclaim) {
        *out_read = len + 1;
        return 0;
    }
    size_t want = len;
    if (s->max_step > 0) {
        size_t step = 1 + (s->calls % s->max_step);
        if (want > step) want = step;
    }
    ssize_t got;
    do {
        got = pread(s->fd, buf, want, (off_t)offset);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return errno ? errno : -1;
    *out_read = (size_t)got;
    return 0;
}

static inline uint64_t file_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    return (uint64_t)st.st_size;
}

#endif
