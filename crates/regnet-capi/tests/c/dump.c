/* Prints what libregnet returns, for scripts/test-capi.sh to compare with the regnet command.
 *
 *   dump path IMAGE [OPTIONS_JSON]      regnet_extract_path
 *   dump readat IMAGE MAX_STEP [NAME]   regnet_extract_read_at over the file, 1..MAX_STEP bytes a call
 *   dump hive SYSTEM [LOG ...]          regnet_report_from_hive over the files' bytes
 *   dump map PLAN JSON_FILE ...         regnet_map of the JSON files (reports, batch lines, VM files)
 *
 * The JSON goes to stdout; on failure "error CODE KIND: MESSAGE" goes to stderr and the exit code is 1. */
#include "common.h"

static int finish(regnet_status st, char *json, regnet_error *err) {
    if (st != REGNET_OK) {
        fprintf(stderr, "error %d %s: %s\n", regnet_error_code(err), regnet_error_kind(err), regnet_error_message(err));
        regnet_error_free(err);
        return 1;
    }
    puts(json);
    regnet_string_free(json);
    return 0;
}

int main(int argc, char **argv) {
    char *json = NULL;
    regnet_error *err = NULL;
    if (argc >= 3 && strcmp(argv[1], "path") == 0) {
        regnet_status st = regnet_extract_path(argv[2], argc > 3 ? argv[3] : NULL, &json, &err);
        return finish(st, json, err);
    }
    if (argc >= 4 && strcmp(argv[1], "readat") == 0) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) {
            perror(argv[2]);
            return 2;
        }
        struct file_stream s = {fd, (size_t)strtoul(argv[3], NULL, 10), 0, (size_t)-1, 0, 0};
        regnet_status st = regnet_extract_read_at(file_read_at, &s, file_size(fd), argc > 4 ? argv[4] : NULL, NULL,
                                                  &json, &err);
        fprintf(stderr, "dump: %zu read-at calls\n", s.calls);
        close(fd);
        return finish(st, json, err);
    }
    if (argc >= 3 && strcmp(argv[1], "hive") == 0) {
        size_t n_logs = (size_t)argc - 3, hive_len;
        char *hive = read_file(argv[2], &hive_len);
        char *logs[REGNET_MAX_LOGS];
        size_t lens[REGNET_MAX_LOGS];
        if (n_logs > REGNET_MAX_LOGS) n_logs = REGNET_MAX_LOGS;
        for (size_t i = 0; i < n_logs; i++) logs[i] = read_file(argv[3 + i], &lens[i]);
        regnet_status st = regnet_report_from_hive((const uint8_t *)hive, hive_len, (const uint8_t *const *)logs, lens,
                                                   n_logs, NULL, &json, &err);
        for (size_t i = 0; i < n_logs; i++) free(logs[i]);
        free(hive);
        return finish(st, json, err);
    }
    if (argc >= 4 && strcmp(argv[1], "map") == 0) {
        char *plan = read_file(argv[2], NULL);
        size_t cap = 3, used = 1;
        char *vms = malloc(cap);
        strcpy(vms, "[");
        for (int i = 3; i < argc; i++) {
            size_t n;
            char *one = read_file(argv[i], &n);
            cap += n + 2;
            vms = realloc(vms, cap);
            if (i > 3) vms[used++] = ',';
            memcpy(vms + used, one, n);
            used += n;
            free(one);
        }
        vms[used++] = ']';
        vms[used] = '\0';
        regnet_status st = regnet_map(vms, plan, NULL, NULL, &json, &err);
        free(vms);
        free(plan);
        return finish(st, json, err);
    }
    fprintf(stderr, "usage: dump path IMAGE [OPTIONS] | readat IMAGE MAX_STEP [NAME] | hive SYSTEM [LOG...] | map PLAN JSON...\n");
    return 2;
}
