/* Every entry point of libregnet, from C, on the bundled example and (when given) a Linux image.
 *
 * Usage: test_capi EXAMPLE_DIR [LINUX_IMAGE]
 * Prints one line per check and ends with "N passed, M failed"; exits 1 when a check failed. */
#include "common.h"

static int passed, failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static char path_buf[4][4096];

static const char *in_dir(int slot, const char *dir, const char *name) {
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
    return path_buf[slot];
}

/* The outcome of one call, checked for the out-pointer rules. The JSON (on success) is returned
 * and must be freed with regnet_string_free; the error (on failure) is put in *err. */
static char *expect_status(const char *what, regnet_status got, regnet_status want, char *json,
                           regnet_error *err, const char *kind, const char *msg_part) {
    CHECK(got == want, "%s: status %d, wanted %d (%s)", what, got, want,
          err ? regnet_error_message(err) : "no error object");
    if (got == REGNET_OK) {
        CHECK(json != NULL && err == NULL, "%s: success leaves the JSON and no error", what);
    } else {
        CHECK(json == NULL && err != NULL, "%s: failure leaves an error and no JSON", what);
        if (err) {
            CHECK(regnet_error_code(err) == got, "%s: error code %d", what, regnet_error_code(err));
            if (kind) CHECK(strcmp(regnet_error_kind(err), kind) == 0, "%s: kind %s, wanted %s", what,
                            regnet_error_kind(err), kind);
            if (msg_part) CHECK(strstr(regnet_error_message(err), msg_part) != NULL,
                                "%s: message \"%s\" lacks \"%s\"", what, regnet_error_message(err), msg_part);
            printf("  %s: %s: %s\n", what, regnet_error_kind(err), regnet_error_message(err));
        }
        regnet_error_free(err);
    }
    return json;
}

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

static void versions(void) {
    CHECK(regnet_abi_version() == REGNET_ABI_VERSION && REGNET_ABI_VERSION == 1, "ABI version %u",
          regnet_abi_version());
    const char *v = regnet_version();
    CHECK(v && v[0] >= '0' && v[0] <= '9', "version %s", v ? v : "(null)");
    printf("libregnet %s, ABI %u\n", v, regnet_abi_version());
}

static void by_path(const char *dir) {
    char *json = NULL;
    regnet_error *err = NULL;
    regnet_status st = regnet_extract_path(in_dir(0, dir, "disk.qcow2"), NULL, &json, &err);
    json = expect_status("extract disk.qcow2", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "\"hostname\":\"APP-SRV-07\"") && contains(json, "\"schema_version\":1"),
          "the report of disk.qcow2");
    regnet_string_free(json);

    json = NULL, err = NULL;
    st = regnet_extract_path(in_dir(0, dir, "app-srv-07.vmx"), "{\"disk\": \"scsi0:0\"}", &json, &err);
    json = expect_status("extract app-srv-07.vmx", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "\"hypervisor\":\"vmware\"") && contains(json, "\"network\":\"Prod-VLAN10\""),
          "the VM part of the report");
    regnet_string_free(json);

    json = NULL, err = NULL;
    st = regnet_extract_path(in_dir(0, dir, "disk.qcow2"), "{\"logs\": false, \"container\": \"qcow2\", \"partition\": 1}",
                             &json, &err);
    json = expect_status("extract without logs", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "dirty_not_recovered"), "no logs replayed: the stale hive is said to be so");
    regnet_string_free(json);

    /* err_out may be NULL: the status still tells. */
    json = NULL;
    st = regnet_extract_path(in_dir(0, dir, "disk.qcow2"), NULL, &json, NULL);
    CHECK(st == REGNET_OK && json != NULL, "extract with err_out NULL");
    regnet_string_free(json);
}

static void path_errors(const char *dir) {
    char *json = (char *)"stale";
    regnet_error *err = (regnet_error *)&json; /* stale values: the call must reset both */
    regnet_status st = regnet_extract_path("/nonexistent/regnet/disk.qcow2", NULL, &json, &err);
    expect_status("missing file", st, REGNET_IO, json, err, "io", "/nonexistent/regnet/disk.qcow2");

    const char *disk = in_dir(0, dir, "disk.qcow2");
    json = NULL, err = NULL;
    st = regnet_extract_path(disk, "{\"partition\": ", &json, &err);
    expect_status("options not JSON", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "options JSON");
    json = NULL, err = NULL;
    st = regnet_extract_path(disk, "{\"partiton\": 1}", &json, &err);
    expect_status("unknown option", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "partiton");
    json = NULL, err = NULL;
    st = regnet_extract_path(disk, "{\"limits\": {\"max_everything\": 1}}", &json, &err);
    expect_status("unknown limit", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "max_everything");
    json = NULL, err = NULL;
    st = regnet_extract_path(disk, "{\"limits\": {\"max_bytes_read\": 65536}}", &json, &err);
    expect_status("a limit that trips", st, REGNET_LIMIT_EXCEEDED, json, err, "limit_exceeded", "max_bytes_read");
    json = NULL, err = NULL;
    st = regnet_extract_path(in_dir(1, dir, "plan.json"), NULL, &json, &err);
    expect_status("not an image", st, REGNET_IMAGE, json, err, "image", NULL);

    json = NULL, err = NULL;
    st = regnet_extract_path(NULL, NULL, &json, &err);
    expect_status("NULL path", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "path is NULL");
    err = NULL;
    st = regnet_extract_path(disk, NULL, NULL, &err);
    expect_status("NULL report_json_out", st, REGNET_INVALID_ARGUMENT, NULL, err, "invalid_argument", "report_json_out");
    CHECK(regnet_extract_path(NULL, NULL, NULL, NULL) == REGNET_INVALID_ARGUMENT, "all NULL");
    json = NULL, err = NULL;
    st = regnet_extract_path("/tmp/\xff\xfe", NULL, &json, &err);
    expect_status("path not UTF-8", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "UTF-8");

    CHECK(regnet_error_code(NULL) == REGNET_INVALID_ARGUMENT, "code of NULL");
    CHECK(regnet_error_message(NULL) == NULL && regnet_error_kind(NULL) == NULL, "message and kind of NULL");
    regnet_error_free(NULL);
    regnet_string_free(NULL);
}

static void read_at(const char *dir) {
    const char *disk = in_dir(0, dir, "disk.qcow2");
    int fd = open(disk, O_RDONLY);
    CHECK(fd >= 0, "open %s", disk);
    if (fd < 0) return;
    uint64_t size = file_size(fd);

    struct file_stream s = {fd, 7, 0, (size_t)-1, 0, 0};
    char *json = NULL;
    regnet_error *err = NULL;
    regnet_status st = regnet_extract_read_at(file_read_at, &s, size, "callback:disk.qcow2", NULL, &json, &err);
    json = expect_status("read-at, 1..7 bytes a call", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "\"hostname\":\"APP-SRV-07\"") && contains(json, "\"image\":\"callback:disk.qcow2\""),
          "the report through the callback");
    CHECK(s.calls > 1000, "short reads: %zu calls", s.calls);
    printf("  read-at with 1..7 bytes a call: %zu calls\n", s.calls);
    regnet_string_free(json);

    struct file_stream failing = {fd, 0, 0, 4, 77, 0};
    json = NULL, err = NULL;
    st = regnet_extract_read_at(file_read_at, &failing, size, "failing", NULL, &json, &err);
    expect_status("a callback failing midway", st, REGNET_CALLBACK, json, err, "callback", "error code 77");

    struct file_stream liar = {fd, 0, 0, (size_t)-1, 0, 1};
    json = NULL, err = NULL;
    st = regnet_extract_read_at(file_read_at, &liar, size, NULL, NULL, &json, &err);
    expect_status("a callback claiming too much", st, REGNET_CALLBACK, json, err, "callback", "claimed");

    struct file_stream plain = {fd, 0, 0, (size_t)-1, 0, 0};
    json = NULL, err = NULL;
    st = regnet_extract_read_at(file_read_at, &plain, size / 2, NULL, NULL, &json, &err);
    expect_status("a stream cut in half", st, REGNET_IMAGE, json, err, "image", NULL);

    json = NULL, err = NULL;
    st = regnet_extract_read_at(NULL, NULL, 0, NULL, NULL, &json, &err);
    expect_status("NULL callback", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "read_at");
    json = NULL, err = NULL;
    st = regnet_extract_read_at(file_read_at, &plain, size, NULL, "{\"limits\": {\"nope\": 1}}", &json, &err);
    expect_status("read-at, unknown limit", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "nope");
    close(fd);
}

static void hive(const char *dir) {
    size_t n0, n1, n2;
    char *primary = read_file(in_dir(0, dir, "SYSTEM"), &n0);
    char *log1 = read_file(in_dir(1, dir, "SYSTEM.LOG1"), &n1);
    char *log2 = read_file(in_dir(2, dir, "SYSTEM.LOG2"), &n2);
    const uint8_t *logs[2] = {(const uint8_t *)log1, (const uint8_t *)log2};
    size_t lens[2] = {n1, n2};

    char *json = NULL;
    regnet_error *err = NULL;
    regnet_status st = regnet_report_from_hive((const uint8_t *)primary, n0, logs, lens, 2, NULL, &json, &err);
    json = expect_status("hive with both logs", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "\"logs_applied\":[\"SYSTEM.LOG1\",\"SYSTEM.LOG2\"]") &&
              contains(json, "\"address\":\"10.41.7.21\""),
          "the logs are replayed: the second address is there");
    regnet_string_free(json);

    json = NULL, err = NULL;
    st = regnet_report_from_hive((const uint8_t *)primary, n0, NULL, NULL, 0, NULL, &json, &err);
    json = expect_status("hive without logs", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "dirty_not_recovered") && !contains(json, "10.41.7.21"), "the stale hive");
    regnet_string_free(json);

    json = NULL, err = NULL;
    st = regnet_report_from_hive((const uint8_t *)primary, n0, logs, lens, 2, "{\"logs\": false}", &json, &err);
    json = expect_status("hive, logs off by option", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "dirty_not_recovered"), "logs off");
    regnet_string_free(json);

    json = NULL, err = NULL;
    st = regnet_report_from_hive((const uint8_t *)primary, n0, logs, lens, 2,
                                 "{\"limits\": {\"max_hive_size\": 4096}}", &json, &err);
    expect_status("hive over max_hive_size", st, REGNET_LIMIT_EXCEEDED, json, err, "limit_exceeded", "max_hive_size");
    json = NULL, err = NULL;
    st = regnet_report_from_hive((const uint8_t *)"regf and nothing", 16, NULL, NULL, 0, NULL, &json, &err);
    expect_status("not a hive", st, REGNET_HIVE, json, err, "hive", NULL);
    json = NULL, err = NULL;
    st = regnet_report_from_hive((const uint8_t *)primary, n0, NULL, lens, 1, NULL, &json, &err);
    expect_status("n_logs without logs", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "NULL");
    json = NULL, err = NULL;
    st = regnet_report_from_hive(NULL, 0, NULL, NULL, 0, NULL, &json, &err);
    expect_status("NULL hive", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "hive is NULL");
    json = NULL, err = NULL;
    st = regnet_report_from_hive((const uint8_t *)primary, n0, NULL, NULL, 0, "{\"volume\": \"a/b\"}", &json, &err);
    expect_status("hive, an extract-only option", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "volume");
    free(primary);
    free(log1);
    free(log2);
}

static void map(const char *dir) {
    char *report = NULL;
    regnet_error *err = NULL;
    regnet_status st = regnet_extract_path(in_dir(0, dir, "disk.qcow2"), NULL, &report, &err);
    report = expect_status("extract for map", st, REGNET_OK, report, err, NULL, NULL);
    if (!report) return;
    char *plan = read_file(in_dir(1, dir, "plan.json"), NULL);
    size_t n = strlen(report) + 64;
    char *vms = malloc(n);
    snprintf(vms, n, "[{\"image\": \"disk.qcow2\", \"report\": %s}]", report);

    char *json = NULL;
    err = NULL;
    st = regnet_map(vms, plan, NULL, "{\"include_absent\": false}", &json, &err);
    json = expect_status("map", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "\"cloud_network\":\"cn-prod\"") && contains(json, "\"cloud_network\":\"cn-backup\""),
          "both NICs mapped: %s", json ? json : "");
    regnet_string_free(json);

    json = NULL, err = NULL;
    st = regnet_map(vms, "{\"networks\": [{\"name\": \"only-one\"}]}", NULL, NULL, &json, &err);
    expect_status("map, a plan too small", st, REGNET_MAP, json, err, "map", "give a mapping table");
    json = NULL, err = NULL;
    st = regnet_map("{\"not\": \"an array\"}", plan, NULL, NULL, &json, &err);
    expect_status("map, VMs not an array", st, REGNET_MAP, json, err, "map", "vms_json");
    json = NULL, err = NULL;
    st = regnet_map("[{\"hello\": 1}]", plan, NULL, NULL, &json, &err);
    expect_status("map, a VM of nothing", st, REGNET_MAP, json, err, "map", "vms_json[0]");
    json = NULL, err = NULL;
    st = regnet_map(vms, plan, "{\"map\": [{\"production\": \"10.41.7.0/24\", \"cloud\": \"cn-nowhere\"}]}", NULL,
                    &json, &err);
    expect_status("map, a table naming an unknown cloud network", st, REGNET_MAP, json, err, "map", "cn-nowhere");
    json = NULL, err = NULL;
    st = regnet_map(vms, plan, NULL, "{\"absent\": true}", &json, &err);
    expect_status("map, unknown option", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "absent");
    json = NULL, err = NULL;
    st = regnet_map(NULL, plan, NULL, NULL, &json, &err);
    expect_status("map, NULL VMs", st, REGNET_INVALID_ARGUMENT, json, err, "invalid_argument", "vms_json");

    /* A VM file and a table (TOML), the other inputs regnet map takes. */
    const char *vm_files = "[{\"name\": \"web01\", \"os\": \"linux\", \"nics\": [{\"network\": \"DMZ\"}]}]";
    const char *table = "[[map]]\nproduction = \"DMZ\"\ncloud = \"cn-prod\"\n";
    json = NULL, err = NULL;
    st = regnet_map(vm_files, plan, table, NULL, &json, &err);
    json = expect_status("map a VM file with a TOML table", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "\"vm\":\"web01\""), "the VM file is mapped: %s", json ? json : "");
    regnet_string_free(json);
    free(vms);
    free(plan);
    regnet_string_free(report);
}

static void linux_image(const char *image) {
    char *json = NULL;
    regnet_error *err = NULL;
    regnet_status st = regnet_extract_path(image, NULL, &json, &err);
    json = expect_status("extract a Linux image", st, REGNET_OK, json, err, NULL, NULL);
    CHECK(contains(json, "\"family\":\"linux\""), "a Linux guest");
    regnet_string_free(json);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s EXAMPLE_DIR [LINUX_IMAGE]\n", argv[0]);
        return 2;
    }
    versions();
    by_path(argv[1]);
    path_errors(argv[1]);
    read_at(argv[1]);
    hive(argv[1]);
    map(argv[1]);
    if (argc > 2) {
        linux_image(argv[2]);
    } else {
        printf("skipped: no Linux image given (target/testdata is built by testdata/build.sh)\n");
    }
    printf("test_capi: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
