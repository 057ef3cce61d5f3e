/* Eight threads at once, each extracting every image given by path and through the read-at
 * callback, and comparing with what one thread got alone.
 *
 * Usage: threads IMAGE...      Ends with "N passed, M failed". */
#include "common.h"

#include <pthread.h>

#define THREADS 8

struct job {
    int argc;
    char **argv;
    char **want_path, **want_stream;
    int passed, failed;
};

static char *by_path(const char *image) {
    char *json = NULL;
    regnet_error *err = NULL;
    if (regnet_extract_path(image, NULL, &json, &err) != REGNET_OK) {
        fprintf(stderr, "%s: %s\n", image, regnet_error_message(err));
        regnet_error_free(err);
    }
    return json;
}

static char *by_stream(const char *image, size_t max_step) {
    int fd = open(image, O_RDONLY);
    if (fd < 0) return NULL;
    struct file_stream s = {fd, max_step, 0, (size_t)-1, 0, 0};
    char *json = NULL;
    regnet_error *err = NULL;
    if (regnet_extract_read_at(file_read_at, &s, file_size(fd), image, NULL, &json, &err) != REGNET_OK) {
        fprintf(stderr, "%s (read-at): %s\n", image, regnet_error_message(err));
        regnet_error_free(err);
    }
    close(fd);
    return json;
}

static void *run(void *arg) {
    struct job *j = arg;
    for (int i = 0; i < j->argc; i++) {
        char *p = by_path(j->argv[i]);
        char *s = by_stream(j->argv[i], 4096);
        if (p && strcmp(p, j->want_path[i]) == 0) j->passed++; else j->failed++;
        if (s && strcmp(s, j->want_stream[i]) == 0) j->passed++; else j->failed++;
        regnet_string_free(p);
        regnet_string_free(s);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE...\n", argv[0]);
        return 2;
    }
    int n = argc - 1;
    char *want_path[64], *want_stream[64];
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) {
        want_path[i] = by_path(argv[1 + i]);
        want_stream[i] = by_stream(argv[1 + i], 4096);
        if (!want_path[i] || !want_stream[i]) return 1;
    }
    pthread_t t[THREADS];
    struct job jobs[THREADS];
    for (int k = 0; k < THREADS; k++) {
        jobs[k] = (struct job){n, argv + 1, want_path, want_stream, 0, 0};
        if (pthread_create(&t[k], NULL, run, &jobs[k]) != 0) return 1;
    }
    int passed = 0, failed = 0;
    for (int k = 0; k < THREADS; k++) {
        pthread_join(t[k], NULL);
        passed += jobs[k].passed;
        failed += jobs[k].failed;
    }
    for (int i = 0; i < n; i++) {
        regnet_string_free(want_path[i]);
        regnet_string_free(want_stream[i]);
    }
    printf("threads: %d threads x %d images x (path, read-at): %d passed, %d failed\n", THREADS, n, passed, failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
