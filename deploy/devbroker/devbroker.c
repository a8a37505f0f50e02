/* cairn-devbroker: an in-memory Kafka-protocol broker for development and
 * tests, hosting librdkafka's mock cluster in its own process. It keeps
 * everything in memory (about 5 MiB per partition), loses it all on exit and
 * is not Apache Kafka: production runs on a real Kafka cluster.
 *
 * SIGTERM/SIGINT stop it; SIGUSR1 takes every broker down (connections are
 * dropped and refused) and SIGUSR2 brings them back, for fault tests. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t down_requested;
static volatile sig_atomic_t up_requested;

static void on_signal(int sig)
{
        if (sig == SIGUSR1)
                down_requested = 1;
        else if (sig == SIGUSR2)
                up_requested = 1;
        else
                stop_requested = 1;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "usage: cairn-devbroker [-b BROKERS] [-p PARTITIONS] [-f FILE] [-t TOPIC[:N]]...\n"
                "  -b, --brokers N          brokers in the cluster (default 3)\n"
                "  -p, --partitions N       partitions of pre-created topics (default 4)\n"
                "  -f, --bootstrap-file F   write the bootstrap servers to F once ready\n"
                "  -t, --topic NAME[:N]     pre-create a topic (repeatable)\n"
                "  -d, --debug CONTEXTS     librdkafka debug contexts on stderr (e.g. mock)\n"
                "In-memory, for development and tests only; production uses Apache Kafka.\n");
}

static int write_atomic(const char *path, const char *text)
{
        char tmp[4096];
        FILE *fp;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fp = fopen(tmp, "w");
        if (!fp)
                return -1;
        fprintf(fp, "%s\n", text);
        if (fclose(fp) != 0)
                return -1;
        return rename(tmp, path);
}

static int parse_count(const char *s, int min, int max, const char *what)
{
        char *end;
        long v = strtol(s, &end, 10);

        if (*s == '\0' || *end != '\0' || v < min || v > max) {
                fprintf(stderr, "cairn-devbroker: %s must be %d..%d, got \"%s\"\n", what, min, max,
                        s);
                exit(2);
        }
        return (int)v;
}

static void set_all(rd_kafka_mock_cluster_t *mc, int brokers, int up)
{
        for (int id = 1; id <= brokers; id++) {
                if (up)
                        rd_kafka_mock_broker_set_up(mc, id);
                else
                        rd_kafka_mock_broker_set_down(mc, id);
        }
        fprintf(stderr, "cairn-devbroker: brokers %s\n", up ? "up" : "down");
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "brokers", required_argument, NULL, 'b' },
                { "partitions", required_argument, NULL, 'p' },
                { "bootstrap-file", required_argument, NULL, 'f' },
                { "topic", required_argument, NULL, 't' },
                { "debug", required_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int brokers = 3, partitions = 4, opt;
        const char *bootstrap_file = NULL, *debug = NULL;
        char *topics[256];
        int ntopics = 0;
        char errstr[512];

        while ((opt = getopt_long(argc, argv, "b:p:f:t:d:h", longopts, NULL)) != -1) {
                switch (opt) {
                case 'b':
                        brokers = parse_count(optarg, 1, 16, "--brokers");
                        break;
                case 'p':
                        partitions = parse_count(optarg, 1, 1024, "--partitions");
                        break;
                case 'f':
                        bootstrap_file = optarg;
                        break;
                case 't':
                        if (ntopics == (int)(sizeof(topics) / sizeof(topics[0]))) {
                                fprintf(stderr, "cairn-devbroker: too many --topic\n");
                                return 2;
                        }
                        topics[ntopics++] = optarg;
                        break;
                case 'd':
                        debug = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", debug ? "7" : "3", NULL, 0);
        if (debug &&
            rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "cairn-devbroker: --debug: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 2;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "cairn-devbroker: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mc) {
                fprintf(stderr, "cairn-devbroker: could not start the mock cluster\n");
                rd_kafka_destroy(rk);
                return 1;
        }
        for (int i = 0; i < ntopics; i++) {
                char *colon = strrchr(topics[i], ':');
                int n = partitions;

                if (colon) {
                        *colon = '\0';
                        n = parse_count(colon + 1, 1, 1024, "topic partitions");
                }
                int rf = brokers < 3 ? brokers : 3;
                rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topics[i], n, rf);
                if (err) {
                        fprintf(stderr, "cairn-devbroker: topic %s: %s\n", topics[i],
                                rd_kafka_err2str(err));
                        return 1;
                }
        }

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGUSR2, &sa, NULL);

        const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
        if (bootstrap_file && write_atomic(bootstrap_file, bootstraps) != 0) {
                fprintf(stderr, "cairn-devbroker: cannot write %s\n", bootstrap_file);
                return 1;
        }
        printf("%s\n", bootstraps);
        fflush(stdout);
        fprintf(stderr, "cairn-devbroker: %d in-memory broker(s) at %s (dev/test only)\n", brokers,
                bootstraps);

        while (!stop_requested) {
                if (down_requested) {
                        down_requested = 0;
                        set_all(mc, brokers, 0);
                }
                if (up_requested) {
                        up_requested = 0;
                        set_all(mc, brokers, 1);
                }
                usleep(20000);
        }
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        if (bootstrap_file)
                unlink(bootstrap_file);
        return 0;
}
