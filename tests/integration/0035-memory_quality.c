/* Retrieval quality of cairn-memory with all-MiniLM-L6-v2: a labelled set
 * made for this test — memories, and questions each answered by one of
 * them, in three classes: paraphrases that share no word with their
 * memory (only meaning finds them), exact identifiers with no meaning a
 * model could embed (only keywords find them), and questions that share
 * both. hit@1 and hit@5 of vector, keyword and hybrid search per class are
 * printed; hybrid must be at least as good as the better of the other two
 * on every class. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/resilience.h"
#include "harness.h"

static struct harness_broker broker;
static struct harness_proc embedding, memory;
static struct harness_client client;
static char pg_url[512], mdir[1024];
static const char *topic;
static bool skipped;

static const char *const memories[] = {
        "Alice is allergic to peanuts",
        "Bob's flight to Tokyo leaves on March 3rd",
        "The office wifi password is rotated every Monday",
        "Carol prefers her coffee black without sugar",
        "The quarterly budget review moved to Thursday afternoon",
        "Dan adopted a golden retriever puppy named Max",
        "Eve is learning to play the violin",
        "The server room air conditioner failed last night",
        "Invoice INV-20931 was paid by wire transfer",
        "Order K7Q-55Z shipped from the Rotterdam warehouse",
        "Ticket ZX81Q4 was escalated to tier two",
        "Serial number 4471-AB-993 belongs to the spare router",
        "Frank's wedding anniversary is on June 12",
        "The team offsite will be held in Lisbon",
        "Grace switched her phone plan to unlimited data",
        "Henry's car needs new brake pads",
        /* the same facts but for one code: distinct memories (a number or
         * an id makes a different fact), and what meaning alone confuses */
        "Invoice INV-20913 was paid by wire transfer",
        "Order K7Q-55X shipped from the Rotterdam warehouse",
        "Ticket ZX81Q5 was escalated to tier two",
        "Serial number 4471-AB-939 belongs to the spare router",
};
#define N_MEMORIES (sizeof(memories) / sizeof(memories[0]))

enum qclass { PARAPHRASE, IDENTIFIER, SHARED, N_CLASSES };
static const char *const class_names[] = { "paraphrase", "identifier", "shared words" };

static const struct {
        enum qclass cls;
        const char *question;
        size_t answer; /* index into memories */
} questions[] = {
        { PARAPHRASE, "Which nuts must she avoid eating?", 0 },
        { PARAPHRASE, "When does he depart for Japan?", 1 },
        { PARAPHRASE, "How often does the network key change?", 2 },
        { PARAPHRASE, "How does she take her espresso?", 3 },
        { PARAPHRASE, "When is the financial planning meeting?", 4 },
        { PARAPHRASE, "What kind of dog does he own?", 5 },
        { PARAPHRASE, "Which instrument is she practising?", 6 },
        { PARAPHRASE, "Did the cooling in the data centre break down?", 7 },
        { IDENTIFIER, "INV-20931", 8 },
        { IDENTIFIER, "K7Q-55Z", 9 },
        { IDENTIFIER, "ZX81Q4", 10 },
        { IDENTIFIER, "4471-AB-993", 11 },
        { SHARED, "Frank wedding anniversary date", 12 },
        { SHARED, "where is the team offsite", 13 },
        { SHARED, "Grace phone plan", 14 },
        { SHARED, "Henry car brakes", 15 },
};
#define N_QUESTIONS (sizeof(questions) / sizeof(questions[0]))

static char ids[N_MEMORIES][37];

static void setup(void)
{
        char env_dir[1100];

        if (!harness_bert_model_dir("0035-memory_quality", mdir, sizeof(mdir))) {
                skipped = true;
                return;
        }
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        topic = harness_topic("cairn.memory.v1.requests");
        snprintf(env_dir, sizeof(env_dir), "CAIRN_EMBEDDING_MODELS_1_DIR=%s", mdir);
        harness_service_start(&embedding, &broker, "embedding",
                              (const char *const[]){ "CAIRN_EMBEDDING_MODELS_1_NAME="
                                                     "all-MiniLM-L6-v2",
                                                     "CAIRN_EMBEDDING_MODELS_1_PROVIDER=bert",
                                                     env_dir, NULL });
        harness_memory_start(&memory, &broker, pg_url,
                             (const char *const[]){ "CAIRN_MEMORY_EVENTS_INTERVAL_MS=0", NULL });
        ck_assert_msg(harness_wait_ready(&embedding, 30000), "embedding not ready (%s)",
                      embedding.log_path);
        ck_assert_msg(harness_wait_ready(&memory, 30000), "memory not ready (%s)", memory.log_path);
        harness_client_start(&client, &broker, "itest");
        harness_client_direct(&client, topic, 0);
}

static void teardown(void)
{
        if (skipped)
                return;
        harness_client_stop(&client);
        harness_service_stop(&memory, 10000);
        harness_service_stop(&embedding, 10000);
        harness_broker_stop(&broker);
}

/* The rank (1-based) of the answer among the top 5 of @p mode; 0: absent. */
static int rank_of(const char *question, size_t answer, Cairn__Memory__V1__SearchMode mode)
{
        Cairn__Memory__V1__SearchRequest in = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        Cairn__Memory__V1__SearchReply *r = NULL;
        struct cairn_status st;
        int rank = 0;

        in.user_id = "q1";
        in.query = (char *)question;
        in.mode = mode;
        in.top_k = 5;
        ck_assert_int_eq(cairn_bus_call(client.cli, topic, "t1/q1", &in.base, NULL,
                                        &cairn__memory__v1__search_reply__descriptor, NULL,
                                        (ProtobufCMessage **)&r, &st),
                         CAIRN_OK);
        for (size_t i = 0; i < r->n_results && !rank; i++)
                if (strcmp(r->results[i]->memory->id, ids[answer]) == 0)
                        rank = (int)i + 1;
        cairn__memory__v1__search_reply__free_unpacked(r, NULL);
        return rank;
}

START_TEST(test_hybrid_at_least_as_good_per_class)
{
        static const Cairn__Memory__V1__SearchMode modes[] = {
                CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR,
                CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_KEYWORD,
                CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID,
        };
        static const char *const mode_names[] = { "vector", "keyword", "hybrid" };
        int hit1[3][N_CLASSES] = { { 0 } }, hit5[3][N_CLASSES] = { { 0 } }, n[N_CLASSES] = { 0 };
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        Cairn__Memory__V1__MemoryInput items[N_MEMORIES], *ptrs[N_MEMORIES];
        Cairn__Memory__V1__StoreReply *r = NULL;
        struct cairn_status st;

        if (skipped)
                return;
        in.user_id = "q1";
        for (size_t i = 0; i < N_MEMORIES; i++) {
                cairn__memory__v1__memory_input__init(&items[i]);
                items[i].content = (char *)memories[i];
                ptrs[i] = &items[i];
        }
        in.items = ptrs;
        in.n_items = N_MEMORIES;
        ck_assert_int_eq(cairn_bus_call(client.cli, topic, "t1/q1", &in.base, NULL,
                                        &cairn__memory__v1__store_reply__descriptor, NULL,
                                        (ProtobufCMessage **)&r, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(r->n_results, N_MEMORIES);
        for (size_t i = 0; i < N_MEMORIES; i++) {
                /* distinct facts: none merged into another */
                ck_assert_int_eq(r->results[i]->outcome,
                                 CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED);
                snprintf(ids[i], sizeof(ids[i]), "%s", r->results[i]->memory->id);
        }
        cairn__memory__v1__store_reply__free_unpacked(r, NULL);

        for (size_t q = 0; q < N_QUESTIONS; q++) {
                n[questions[q].cls]++;
                for (int m = 0; m < 3; m++) {
                        int rank = rank_of(questions[q].question, questions[q].answer, modes[m]);

                        hit1[m][questions[q].cls] += rank == 1;
                        hit5[m][questions[q].cls] += rank >= 1;
                }
        }
        printf("0035-memory_quality: all-MiniLM-L6-v2, %zu memories, %zu questions\n", N_MEMORIES,
               N_QUESTIONS);
        printf("| class | questions | vector hit@1 | hit@5 | keyword hit@1 | hit@5 | hybrid hit@1 | "
               "hit@5 |\n");
        for (int c = 0; c < N_CLASSES; c++)
                printf("| %s | %d | %d | %d | %d | %d | %d | %d |\n", class_names[c], n[c],
                       hit1[0][c], hit5[0][c], hit1[1][c], hit5[1][c], hit1[2][c], hit5[2][c]);
        for (int c = 0; c < N_CLASSES; c++) {
                int best1 = hit1[0][c] > hit1[1][c] ? hit1[0][c] : hit1[1][c];
                int best5 = hit5[0][c] > hit5[1][c] ? hit5[0][c] : hit5[1][c];

                ck_assert_msg(hit1[2][c] >= best1 && hit5[2][c] >= best5,
                              "%s: hybrid hit@1 %d hit@5 %d, the better of %s and %s: %d, %d",
                              class_names[c], hit1[2][c], hit5[2][c], mode_names[0], mode_names[1],
                              best1, best5);
        }
        /* and the classes are what they claim: meaning finds paraphrases,
         * keywords find identifiers */
        ck_assert_int_ge(hit5[0][PARAPHRASE], n[PARAPHRASE] - 2);
        ck_assert_int_eq(hit1[1][IDENTIFIER], n[IDENTIFIER]);
        ck_assert_int_eq(hit1[2][IDENTIFIER], n[IDENTIFIER]);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0035-memory_quality");
        TCase *tc = tcase_create("quality");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_hybrid_at_least_as_good_per_class);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
