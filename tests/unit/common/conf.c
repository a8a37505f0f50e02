/* Unit tests for configuration loading: file, environment, validation,
 * the kafka passthrough and the generated reference. */
#include <check.h>
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/conf.h"
#include "../unit.h"

extern char **environ;

struct test_bus {
        long long workers;
        double ratio;
        bool verbose;
        const char *topic;
};

struct test_embedding {
        const char *model;
        const char *api_key;
        long long timeout_ms;
        long long pin;
        const char *label;
};

static const struct cairn_conf_item bus_items[] = {
        { "bus.workers", CAIRN_CONF_INT, "4", 1, 256, 0, offsetof(struct test_bus, workers),
          "handler threads" },
        { "bus.ratio", CAIRN_CONF_DOUBLE, "0.5", 0, 1, CAIRN_CONF_RELOAD,
          offsetof(struct test_bus, ratio), "share of something | with a pipe" },
        { "bus.verbose", CAIRN_CONF_BOOL, "false", 0, -1, 0, offsetof(struct test_bus, verbose),
          "chatty" },
        { "bus.topic", CAIRN_CONF_STRING, "", 0, -1, 0, offsetof(struct test_bus, topic),
          "topic; empty means the default" },
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static const struct cairn_conf_item embedding_items[] = {
        { "embedding.model", CAIRN_CONF_STRING, NULL, 0, -1, CAIRN_CONF_REQUIRED,
          offsetof(struct test_embedding, model), "model name" },
        { "embedding.api_key", CAIRN_CONF_STRING, "sk-default-secret", 0, -1, CAIRN_CONF_SECRET,
          offsetof(struct test_embedding, api_key), "provider key" },
        { "embedding.timeout_ms", CAIRN_CONF_INT, "1000", 0, -1, 0,
          offsetof(struct test_embedding, timeout_ms), "provider timeout" },
        { "embedding.pin", CAIRN_CONF_INT, NULL, 1000, 9999, CAIRN_CONF_SECRET,
          offsetof(struct test_embedding, pin), "a secret number" },
        { "embedding.label", CAIRN_CONF_STRING, NULL, 0, -1, 0,
          offsetof(struct test_embedding, label), "optional label" },
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static struct test_bus bus;
static struct test_embedding emb;
static char dir[64];
static char file[128];
static char errstr[512];

static struct cairn_conf_section sections[] = {
        { "Bus", bus_items, &bus, NULL },
        { "Embedding", embedding_items, &emb, NULL },
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static void setup(void)
{
        strcpy(dir, "/tmp/cairn-conf-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(file, sizeof(file), "%s/cairn.yaml", dir);
        memset(&bus, 0, sizeof(bus));
        memset(&emb, 0, sizeof(emb));
        errstr[0] = '\0';
}

static void teardown(void)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char path[512];

        if (d) {
                while ((de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                        unlink(path);
                }
                closedir(d);
        }
        rmdir(dir);
}

static void write_file(const char *text)
{
        FILE *fp = fopen(file, "w");

        ck_assert_ptr_nonnull(fp);
        fputs(text, fp);
        fclose(fp);
}

/* Loads @p yaml (NULL: no file) with @p env (NULL-terminated). */
static struct cairn_conf *load(const char *yaml, char **env)
{
        static char *empty[] = { NULL };

        if (yaml)
                write_file(yaml);
        return cairn_conf_load(yaml ? file : NULL, sections, NSECTIONS, env ? env : empty, errstr,
                               sizeof(errstr));
}

/* Asserts that loading fails with exactly @p want. */
static void load_fails(const char *yaml, char **env, const char *want)
{
        struct cairn_conf *conf = load(yaml, env);

        ck_assert_msg(conf == NULL, "loaded, wanted: %s", want);
        ck_assert_str_eq(errstr, want);
}

#define MODEL "embedding: {model: m}\n"

START_TEST(test_cairn_conf_load_applies_defaults)
{
        char *env[] = { "CAIRN_EMBEDDING_MODEL=lexical", NULL };
        struct cairn_conf *conf = load(NULL, env);

        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_int_eq(bus.workers, 4);
        ck_assert_double_eq(bus.ratio, 0.5);
        ck_assert(!bus.verbose);
        ck_assert_str_eq(bus.topic, "");
        ck_assert_str_eq(emb.model, "lexical");
        ck_assert_str_eq(emb.api_key, "sk-default-secret");
        ck_assert_int_eq(emb.timeout_ms, 1000);
        ck_assert_int_eq(emb.pin, 0);
        ck_assert_ptr_null(emb.label);
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_load_reads_nested_and_dotted_keys)
{
        struct cairn_conf *conf = load("# a comment\n"
                                       "bus:\n"
                                       "  workers: 8\n"
                                       "  ratio: 0.25\n"
                                       "  verbose: yes\n"
                                       "bus.topic: \"t1\"\n"
                                       "embedding:\n"
                                       "  model: 'bge'\n"
                                       "  timeout_ms: -5\n"
                                       "  label: |\n"
                                       "    two words\n",
                                       NULL);

        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_int_eq(bus.workers, 8);
        ck_assert_double_eq(bus.ratio, 0.25);
        ck_assert(bus.verbose);
        ck_assert_str_eq(bus.topic, "t1");
        ck_assert_str_eq(emb.model, "bge");
        ck_assert_int_eq(emb.timeout_ms, -5); /* no bounds when min > max */
        ck_assert_str_eq(emb.label, "two words\n");
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_load_env_overrides_file)
{
        char *env[] = { "PATH=/usr/bin", "CAIRN_BUS_WORKERS=16", "CAIRN_EMBEDDING_LABEL=from env",
                        "CAIRN_CONFIG=/ignored.yaml", NULL };
        struct cairn_conf *conf = load("bus: {workers: 8, ratio: 1}\n" MODEL, env);

        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_int_eq(bus.workers, 16);      /* env over file */
        ck_assert_double_eq(bus.ratio, 1.0);    /* file over default */
        ck_assert_int_eq(emb.timeout_ms, 1000); /* default */
        ck_assert_str_eq(emb.label, "from env");
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_load_null_envp_reads_environ)
{
        struct cairn_conf *conf;

        /* Start from an environment without CAIRN_* variables. */
        for (size_t i = 0; environ[i];) {
                char name[256];
                const char *eq = strchr(environ[i], '=');

                if (strncmp(environ[i], "CAIRN_", 6) != 0 || !eq ||
                    (size_t)(eq - environ[i]) >= sizeof(name)) {
                        i++;
                        continue;
                }
                memcpy(name, environ[i], (size_t)(eq - environ[i]));
                name[eq - environ[i]] = '\0';
                unsetenv(name);
        }
        setenv("CAIRN_EMBEDDING_MODEL", "from-environ", 1);
        setenv("CAIRN_BUS_WORKERS", "3", 1);
        conf = cairn_conf_load(NULL, sections, NSECTIONS, NULL, errstr, sizeof(errstr));
        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_str_eq(emb.model, "from-environ");
        ck_assert_int_eq(bus.workers, 3);
        cairn_conf_free(conf);

        setenv("CAIRN_BUS_WRKERS", "3", 1);
        conf = cairn_conf_load(NULL, sections, NSECTIONS, NULL, errstr, sizeof(errstr));
        ck_assert_ptr_null(conf);
        ck_assert_str_eq(errstr, "config: CAIRN_BUS_WRKERS: unknown setting");
}
END_TEST

START_TEST(test_cairn_conf_load_unknown_key_names_key_and_line)
{
        load_fails(MODEL "bus:\n  wrkers: 4\n", NULL,
                   "config: unknown key \"bus.wrkers\" (line 3)");
        load_fails("colour: blue\n", NULL, "config: unknown key \"colour\" (line 1)");
        load_fails("\nfoo:\n  bar: 1\n", NULL, "config: unknown key \"foo\" (line 2)");
        load_fails("foo: [1, 2]\n", NULL, "config: unknown key \"foo\" (line 1)");
        load_fails("kafka:\n  \"\": x\n", NULL, "config: kafka: empty or invalid key (line 2)");
}
END_TEST

START_TEST(test_cairn_conf_load_unknown_env_fails)
{
        char *env[] = { "CAIRN_EMBEDDING_MODEL=m", "CAIRN_BUS_WRKERS=4", NULL };
        char *env2[] = { "CAIRN_EMBEDDING_MODEL=m", "CAIRN_KAFKA_=x", NULL };
        char *env3[] = { "CAIRN_EMBEDDING_MODEL=m", "CAIRN_CONFIG=/x.yaml", "CAIRNX=1",
                         "XCAIRN_BUS_WRKERS=1", NULL };
        struct cairn_conf *conf;

        load_fails(NULL, env, "config: CAIRN_BUS_WRKERS: unknown setting");
        load_fails(NULL, env2, "config: CAIRN_KAFKA_: unknown setting");
        conf = load(NULL, env3);
        ck_assert_msg(conf != NULL, "%s", errstr);
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_load_int_is_strict_decimal)
{
        char *env[] = { "CAIRN_BUS_WORKERS=4 ", NULL };

        load_fails(MODEL "bus:\n  workers: four\n", NULL,
                   "config: bus.workers: expected an integer, got \"four\" (line 3)");
        load_fails(MODEL "bus: {workers: 4x}\n", NULL,
                   "config: bus.workers: expected an integer, got \"4x\" (line 2)");
        load_fails(MODEL "bus: {workers: 0x10}\n", NULL,
                   "config: bus.workers: expected an integer, got \"0x10\" (line 2)");
        load_fails(MODEL "bus: {workers: 1.5}\n", NULL,
                   "config: bus.workers: expected an integer, got \"1.5\" (line 2)");
        load_fails(MODEL "bus: {workers: \" 4\"}\n", NULL,
                   "config: bus.workers: expected an integer, got \" 4\" (line 2)");
        load_fails(MODEL "bus: {workers: }\n", NULL,
                   "config: bus.workers: expected an integer, got \"\" (line 2)");
        load_fails(MODEL, env,
                   "config: bus.workers: expected an integer, got \"4 \" (from CAIRN_BUS_WORKERS)");
        load_fails(MODEL "embedding.timeout_ms: 99999999999999999999\n", NULL,
                   "config: embedding.timeout_ms: 99999999999999999999 is out of range (line 2)");
}
END_TEST

START_TEST(test_cairn_conf_load_checks_bounds)
{
        struct cairn_conf *conf;

        load_fails(MODEL "bus: {workers: 0}\n", NULL,
                   "config: bus.workers: 0 is below the minimum 1 (line 2)");
        load_fails(MODEL "bus: {workers: 257}\n", NULL,
                   "config: bus.workers: 257 is above the maximum 256 (line 2)");
        load_fails(MODEL "bus: {ratio: 1.01}\n", NULL,
                   "config: bus.ratio: 1.01 is above the maximum 1 (line 2)");
        load_fails(MODEL "bus: {ratio: -0.5}\n", NULL,
                   "config: bus.ratio: -0.5 is below the minimum 0 (line 2)");

        conf = load(MODEL "bus: {workers: 1, ratio: 0}\n", NULL);
        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_int_eq(bus.workers, 1);
        cairn_conf_free(conf);
        conf = load(MODEL "bus: {workers: +256, ratio: 1e0}\n", NULL);
        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_int_eq(bus.workers, 256);
        ck_assert_double_eq(bus.ratio, 1.0);
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_load_double_is_strict)
{
        load_fails(MODEL "bus: {ratio: half}\n", NULL,
                   "config: bus.ratio: expected a number, got \"half\" (line 2)");
        load_fails(MODEL "bus: {ratio: 0.5x}\n", NULL,
                   "config: bus.ratio: expected a number, got \"0.5x\" (line 2)");
        load_fails(MODEL "bus: {ratio: nan}\n", NULL,
                   "config: bus.ratio: expected a number, got \"nan\" (line 2)");
        load_fails(MODEL "bus: {ratio: \" 0.5\"}\n", NULL,
                   "config: bus.ratio: expected a number, got \" 0.5\" (line 2)");
}
END_TEST

START_TEST(test_cairn_conf_load_bool_spellings)
{
        static const char *const yes[] = { "true", "yes", "on", "1", "True", "YES" };
        static const char *const no[] = { "false", "no", "off", "0", "False", "OFF" };
        char yaml[128];

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                struct cairn_conf *conf;

                snprintf(yaml, sizeof(yaml), MODEL "bus: {verbose: %s}\n", yes[i]);
                conf = load(yaml, NULL);
                ck_assert_msg(conf != NULL, "%s", errstr);
                ck_assert_msg(bus.verbose, "%s", yes[i]);
                cairn_conf_free(conf);

                snprintf(yaml, sizeof(yaml), MODEL "bus: {verbose: %s}\n", no[i]);
                bus.verbose = true;
                conf = load(yaml, NULL);
                ck_assert_msg(conf != NULL, "%s", errstr);
                ck_assert_msg(!bus.verbose, "%s", no[i]);
                cairn_conf_free(conf);
        }
        load_fails(MODEL "bus: {verbose: maybe}\n", NULL,
                   "config: bus.verbose: expected true or false (or yes/no, on/off, 1/0), "
                   "got \"maybe\" (line 2)");
}
END_TEST

START_TEST(test_cairn_conf_load_required)
{
        char *empty_env[] = { "CAIRN_EMBEDDING_MODEL=", NULL };
        const char *want = "config: embedding.model is required (set it in the file or "
                           "CAIRN_EMBEDDING_MODEL)";

        load_fails(NULL, NULL, want);
        load_fails("bus: {workers: 2}\n", NULL, want);
        load_fails(NULL, empty_env, want);
        load_fails("embedding: {model: \"\"}\n", NULL, want);
}
END_TEST

START_TEST(test_cairn_conf_load_redacts_secrets_in_errors)
{
        char *env[] = { "CAIRN_EMBEDDING_PIN=hunter2", NULL };
        char *env2[] = { "CAIRN_EMBEDDING_PIN=12", NULL };

        load_fails(MODEL, env,
                   "config: embedding.pin: expected an integer, got <redacted> "
                   "(from CAIRN_EMBEDDING_PIN)");
        load_fails(MODEL, env2,
                   "config: embedding.pin: <redacted> is below the minimum 1000 "
                   "(from CAIRN_EMBEDDING_PIN)");
        load_fails(MODEL "embedding.pin: 123456\n", NULL,
                   "config: embedding.pin: <redacted> is above the maximum 9999 (line 2)");
        ck_assert_ptr_null(strstr(errstr, "123456"));
}
END_TEST

START_TEST(test_cairn_conf_load_rejects_non_scalar_values)
{
        load_fails(MODEL "bus:\n  workers: [1, 2]\n", NULL,
                   "config: bus.workers: expected a scalar, got a sequence (line 3)");
        load_fails(MODEL "bus:\n  workers:\n    a: 1\n", NULL,
                   "config: bus.workers: expected a scalar, got a mapping (line 3)");
        load_fails(MODEL "bus: [workers]\n", NULL,
                   "config: bus: expected a mapping, got a sequence (line 2)");
        load_fails(MODEL "bus: 4\n", NULL, "config: bus: expected a mapping (line 2)");
        load_fails(MODEL "kafka:\n  bootstrap.servers: [a, b]\n", NULL,
                   "config: kafka.bootstrap.servers: expected a scalar, got a sequence (line 3)");
        load_fails("- a\n- b\n", NULL, "config: expected a mapping at the top level (line 1)");
        load_fails("just text\n", NULL, "config: expected a mapping at the top level (line 1)");
        load_fails(MODEL "? [a, b]\n: c\n", NULL, "config: keys must be scalars (line 2)");
}
END_TEST

START_TEST(test_cairn_conf_load_rejects_duplicate_keys)
{
        load_fails(MODEL "bus:\n  workers: 2\n  workers: 3\n", NULL,
                   "config: duplicate key \"bus.workers\" (line 4, first on line 3)");
        load_fails(MODEL "bus: {workers: 2}\nbus: {ratio: 1}\n", NULL,
                   "config: duplicate key \"bus\" (line 3, first on line 2)");
        load_fails(MODEL "bus: {workers: 2}\nbus.workers: 3\n", NULL,
                   "config: duplicate key \"bus.workers\" (line 3, first on line 2)");
        load_fails(MODEL "kafka:\n  acks: all\n  acks: 1\n", NULL,
                   "config: duplicate key \"kafka.acks\" (line 4, first on line 3)");
        load_fails(MODEL "kafka: {linger.ms: 5}\nkafka.linger.ms: 6\n", NULL,
                   "config: duplicate key \"kafka.linger.ms\" (line 3, first on line 2)");
}
END_TEST

START_TEST(test_cairn_conf_load_missing_file_names_path)
{
        char want[512];
        struct cairn_conf *conf;

        snprintf(want, sizeof(want),
                 "config: cannot open %s/absent.yaml: No such file or directory", dir);
        snprintf(file, sizeof(file), "%s/absent.yaml", dir);
        conf = cairn_conf_load(file, sections, NSECTIONS, (char *[]){ NULL }, errstr,
                               sizeof(errstr));
        ck_assert_ptr_null(conf);
        ck_assert_str_eq(errstr, want);
}
END_TEST

START_TEST(test_cairn_conf_load_reports_yaml_errors)
{
        char want[512];
        struct cairn_conf *conf;

        conf = load(MODEL "bus:\n  workers: 4\n   ratio: [1\n", NULL);
        ck_assert_ptr_null(conf);
        snprintf(want, sizeof(want), "config: %s: ", file);
        ck_assert_msg(strncmp(errstr, want, strlen(want)) == 0, "%s", errstr);
        ck_assert_msg(strstr(errstr, "(line ") != NULL, "%s", errstr);

        conf = load("a: \"unterminated\n", NULL);
        ck_assert_ptr_null(conf);
        ck_assert_msg(strstr(errstr, "found unexpected end of stream") != NULL, "%s", errstr);
        ck_assert_msg(strstr(errstr, "(line 2)") != NULL, "%s", errstr);

        conf = load("bus: {workers: 2}\n\tratio: 1\n", NULL);
        ck_assert_ptr_null(conf);
        ck_assert_msg(strstr(errstr, "(line 2)") != NULL, "%s", errstr);

        conf = load(MODEL "---\nbus: {}\n", NULL);
        ck_assert_ptr_null(conf);
        snprintf(want, sizeof(want), "config: %s: more than one YAML document", file);
        ck_assert_str_eq(errstr, want);
}
END_TEST

START_TEST(test_cairn_conf_load_rejects_aliases)
{
        struct cairn_conf *conf = load(MODEL "bus:\n  workers: &w 4\n  ratio: *w\n", NULL);

        ck_assert_ptr_null(conf);
        ck_assert_str_eq(errstr, "config: bus.ratio: YAML aliases are not supported (line 4)");
}
END_TEST

START_TEST(test_cairn_conf_load_accepts_empty_files_and_sections)
{
        static const char *const texts[] = { "", "# nothing\n", "---\n", "~\n",
                                             MODEL "bus:\n  # workers: 2\nkafka:\n" };

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                char *env[] = { "CAIRN_EMBEDDING_MODEL=m", NULL };
                struct cairn_conf *conf = load(texts[i], env);

                ck_assert_msg(conf != NULL, "text %zu: %s", i, errstr);
                ck_assert_int_eq(bus.workers, 4);
                cairn_conf_free(conf);
        }
}
END_TEST

START_TEST(test_cairn_conf_load_failure_leaves_targets_alone)
{
        struct cairn_conf *conf;

        bus.workers = 77;
        emb.model = "untouched";
        conf = load("bus: {workers: 2}\nembedding: {model: x, timeout_ms: nope}\n", NULL);
        ck_assert_ptr_null(conf);
        ck_assert_int_eq(bus.workers, 77);
        ck_assert_str_eq(emb.model, "untouched");
}
END_TEST

START_TEST(test_cairn_conf_load_owns_strings)
{
        char var[] = "CAIRN_EMBEDDING_MODEL=from-env";
        char *env[] = { var, NULL };
        struct cairn_conf *conf = load("embedding: {label: from-file}\n", env);

        ck_assert_msg(conf != NULL, "%s", errstr);
        /* The environment and the file may change after loading. */
        memset(var + strlen("CAIRN_EMBEDDING_MODEL="), 'x', strlen("from-env"));
        unlink(file);
        ck_assert_str_eq(emb.model, "from-env");
        ck_assert_str_eq(emb.label, "from-file");
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_load_rejects_keys_declared_twice)
{
        const struct cairn_conf_section twice[] = {
                { "Bus", bus_items, &bus, NULL },
                { "Again", bus_items + 1, &bus, NULL },
        };

        ck_assert_ptr_null(
                cairn_conf_load(NULL, twice, 2, (char *[]){ NULL }, errstr, sizeof(errstr)));
        ck_assert_str_eq(errstr, "config: bus.ratio is declared twice");
}
END_TEST

START_TEST(test_cairn_conf_load_allows_no_errstr)
{
        ck_assert_ptr_null(cairn_conf_load(NULL, sections, NSECTIONS, (char *[]){ NULL }, NULL, 0));
}
END_TEST

struct kafka_seen {
        char text[512];
        int calls;
        int stop_after;
};

static int kafka_collect(const char *name, const char *value, void *opaque)
{
        struct kafka_seen *seen = opaque;
        size_t n = strlen(seen->text);

        snprintf(seen->text + n, sizeof(seen->text) - n, "%s=%s;", name, value);
        seen->calls++;
        return seen->calls == seen->stop_after ? 42 : 0;
}

START_TEST(test_cairn_conf_foreach_kafka_keeps_file_order)
{
        char *env[] = { "CAIRN_KAFKA_LINGER_MS=10", "CAIRN_KAFKA_CLIENT_ID=env-client", NULL };
        struct kafka_seen seen = { .stop_after = -1 };
        struct cairn_conf *conf = load(MODEL "kafka:\n"
                                             "  security.protocol: plaintext\n"
                                             "  bootstrap.servers: \"b1:9092,b2:9092\"\n"
                                             "  linger.ms: 5\n"
                                             "  sasl:\n"
                                             "    mechanism: PLAIN\n",
                                       env);

        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_int_eq(cairn_conf_foreach_kafka(conf, kafka_collect, &seen), 0);
        ck_assert_str_eq(seen.text, "security.protocol=plaintext;bootstrap.servers=b1:9092,b2:9092;"
                                    "linger.ms=10;sasl.mechanism=PLAIN;client.id=env-client;");
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_foreach_kafka_stops_on_nonzero)
{
        struct kafka_seen seen = { .stop_after = 2 };
        struct cairn_conf *conf = load(MODEL "kafka: {a: 1, b: 2, c: 3}\n", NULL);

        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_int_eq(cairn_conf_foreach_kafka(conf, kafka_collect, &seen), 42);
        ck_assert_int_eq(seen.calls, 2);
        ck_assert_str_eq(seen.text, "a=1;b=2;");
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_kafka_get_maps_env_names)
{
        char *env[] = { "CAIRN_KAFKA_BOOTSTRAP_SERVERS=env:9092", "CAIRN_KAFKA_SASL_PASSWORD=pw",
                        NULL };
        struct cairn_conf *conf = load(MODEL "kafka:\n  bootstrap.servers: file:9092\n"
                                             "  acks: all\n",
                                       env);

        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_str_eq(cairn_conf_kafka_get(conf, "bootstrap.servers"), "env:9092");
        ck_assert_str_eq(cairn_conf_kafka_get(conf, "sasl.password"), "pw");
        ck_assert_str_eq(cairn_conf_kafka_get(conf, "acks"), "all");
        ck_assert_ptr_null(cairn_conf_kafka_get(conf, "linger.ms"));
        ck_assert_ptr_null(cairn_conf_kafka_get(conf, "kafka.acks"));
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_kafka_get_without_kafka_keys)
{
        struct cairn_conf *conf = load(MODEL, NULL);

        ck_assert_msg(conf != NULL, "%s", errstr);
        ck_assert_ptr_null(cairn_conf_kafka_get(conf, "bootstrap.servers"));
        cairn_conf_free(conf);
}
END_TEST

START_TEST(test_cairn_conf_env_name_upper_cases_path)
{
        char buf[64];

        cairn_conf_env_name("bus.workers", buf, sizeof(buf));
        ck_assert_str_eq(buf, "CAIRN_BUS_WORKERS");
        cairn_conf_env_name("embedding.max_inputs", buf, sizeof(buf));
        ck_assert_str_eq(buf, "CAIRN_EMBEDDING_MAX_INPUTS");
        cairn_conf_env_name("", buf, sizeof(buf));
        ck_assert_str_eq(buf, "CAIRN_");
}
END_TEST

START_TEST(test_cairn_conf_env_name_truncates)
{
        char buf[10];

        cairn_conf_env_name("bus.workers", buf, sizeof(buf));
        ck_assert_str_eq(buf, "CAIRN_BUS");
        cairn_conf_env_name("bus.workers", buf, 4);
        ck_assert_str_eq(buf, "CAI");
        buf[0] = 'z';
        cairn_conf_env_name("bus.workers", buf, 0);
        ck_assert_int_eq(buf[0], 'z');
}
END_TEST

static char *doc_render(const struct cairn_conf_section *secs, size_t n)
{
        char *text = NULL;
        size_t size = 0;
        FILE *fp = open_memstream(&text, &size);

        ck_assert_ptr_nonnull(fp);
        cairn_conf_doc(secs, n, fp);
        fclose(fp);
        return text;
}

START_TEST(test_cairn_conf_doc_renders_tables)
{
        char *text = doc_render(sections, NSECTIONS);
        static const char *const want[] = {
                "## Bus\n\n| Key | Type | Default | Range | Environment | Reload | Description |\n"
                "|-----|------|---------|-------|-------------|--------|-------------|\n"
                "| `bus.workers` | integer | `4` | 1 to 256 | `CAIRN_BUS_WORKERS` | restart | "
                "handler threads |\n",
                "| `bus.ratio` | number | `0.5` | 0 to 1 | `CAIRN_BUS_RATIO` | runtime | "
                "share of something \\| with a pipe |\n",
                "| `bus.verbose` | boolean | `false` | — | `CAIRN_BUS_VERBOSE` | restart | "
                "chatty |\n",
                "| `bus.topic` | string | `\"\"` | — |",
                "|\n\n## Embedding\n\n| Key |",
                "| `embedding.model` | string | required | — | `CAIRN_EMBEDDING_MODEL` | restart | "
                "model name |\n",
                "| `embedding.api_key` | string | (secret) | — |",
                "| `embedding.timeout_ms` | integer | `1000` | — |",
                "| `embedding.pin` | integer | — | 1000 to 9999 |",
                "| `embedding.label` | string | — | — | `CAIRN_EMBEDDING_LABEL` | restart | "
                "optional label |\n",
        };

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                ck_assert_msg(strstr(text, want[i]) != NULL, "missing %s in:\n%s", want[i], text);
        ck_assert_ptr_null(strstr(text, "sk-default-secret"));
        ck_assert_int_eq(strncmp(text, "## Bus\n", 7), 0);
        ck_assert_int_eq(text[strlen(text) - 1], '\n');
        free(text);
}
END_TEST

START_TEST(test_cairn_conf_doc_is_deterministic)
{
        static const struct cairn_conf_item items[] = {
                { "a.b", CAIRN_CONF_INT, "1", 0, 10, 0, 0, "d" },
                { NULL, 0, NULL, 0, 0, 0, 0, NULL },
        };
        const struct cairn_conf_section one = { "A", items, NULL, NULL };
        char *first = doc_render(sections, NSECTIONS);
        char *second = doc_render(sections, NSECTIONS);
        char *small = doc_render(&one, 1);

        ck_assert_str_eq(first, second);
        ck_assert_str_eq(small,
                         "## A\n\n"
                         "| Key | Type | Default | Range | Environment | Reload | Description |\n"
                         "|-----|------|---------|-------|-------------|--------|-------------|\n"
                         "| `a.b` | integer | `1` | 0 to 10 | `CAIRN_A_B` | restart | d |\n");
        free(first);
        free(second);
        free(small);
}
END_TEST

static Suite *conf_suite(void)
{
        Suite *s = suite_create("conf");
        TCase *tc;

        tc = tcase_create("cairn_conf_load");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_conf_load_applies_defaults);
        tcase_add_test(tc, test_cairn_conf_load_reads_nested_and_dotted_keys);
        tcase_add_test(tc, test_cairn_conf_load_env_overrides_file);
        tcase_add_test(tc, test_cairn_conf_load_null_envp_reads_environ);
        tcase_add_test(tc, test_cairn_conf_load_unknown_key_names_key_and_line);
        tcase_add_test(tc, test_cairn_conf_load_unknown_env_fails);
        tcase_add_test(tc, test_cairn_conf_load_int_is_strict_decimal);
        tcase_add_test(tc, test_cairn_conf_load_checks_bounds);
        tcase_add_test(tc, test_cairn_conf_load_double_is_strict);
        tcase_add_test(tc, test_cairn_conf_load_bool_spellings);
        tcase_add_test(tc, test_cairn_conf_load_required);
        tcase_add_test(tc, test_cairn_conf_load_redacts_secrets_in_errors);
        tcase_add_test(tc, test_cairn_conf_load_rejects_non_scalar_values);
        tcase_add_test(tc, test_cairn_conf_load_rejects_duplicate_keys);
        tcase_add_test(tc, test_cairn_conf_load_missing_file_names_path);
        tcase_add_test(tc, test_cairn_conf_load_reports_yaml_errors);
        tcase_add_test(tc, test_cairn_conf_load_rejects_aliases);
        tcase_add_test(tc, test_cairn_conf_load_accepts_empty_files_and_sections);
        tcase_add_test(tc, test_cairn_conf_load_failure_leaves_targets_alone);
        tcase_add_test(tc, test_cairn_conf_load_owns_strings);
        tcase_add_test(tc, test_cairn_conf_load_rejects_keys_declared_twice);
        tcase_add_test(tc, test_cairn_conf_load_allows_no_errstr);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_conf_foreach_kafka");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_conf_foreach_kafka_keeps_file_order);
        tcase_add_test(tc, test_cairn_conf_foreach_kafka_stops_on_nonzero);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_conf_kafka_get");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_conf_kafka_get_maps_env_names);
        tcase_add_test(tc, test_cairn_conf_kafka_get_without_kafka_keys);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_conf_env_name");
        tcase_add_test(tc, test_cairn_conf_env_name_upper_cases_path);
        tcase_add_test(tc, test_cairn_conf_env_name_truncates);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_conf_doc");
        tcase_add_test(tc, test_cairn_conf_doc_renders_tables);
        tcase_add_test(tc, test_cairn_conf_doc_is_deterministic);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(conf_suite());
}
