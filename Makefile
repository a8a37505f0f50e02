# Cairn: one Makefile builds libcairn, the protobuf-c code, every service,
# the dev tools and the tests. `make SAN=1 ...` builds with ASan+UBSan into
# build/san. See README.md for the two commands that matter: make up, make test.

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2

ifeq ($(SAN),1)
BUILD    := build/san
OPT      := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
endif
# `make coverage` builds with gcov counters into build/cov (COV=1).
ifeq ($(COV),1)
BUILD    := build/cov
OPT      := -O0 --coverage
LDCOV    := --coverage
endif

VERSION  := 0.1.0
PKGS     := rdkafka libprotobuf-c yaml-0.1 libmicrohttpd jansson uuid libxxhash libutf8proc libcurl \
            libjwt hiredis libcrypto libpq openblas libsodium libexttextcat \
            sndfile samplerate speexdsp libavformat libavcodec libavutil libswresample espeak-ng zlib
CFLAGS   := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -pthread -MMD -MP \
            -Icommon/include -I$(BUILD)/gen -Iservices \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -DCAIRN_VERSION=\"$(VERSION)\" $(EXTRA_CFLAGS)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lrdkafka -lprotobuf-c -lyaml -lmicrohttpd -ljansson -luuid -lxxhash -lutf8proc -lcurl -ljwt -lhiredis -lcrypto -lpq -lopenblas -lsodium -lexttextcat-2.0 -lsndfile -lsamplerate -lspeexdsp -lavformat -lavcodec -lavutil -lswresample -lespeak-ng) -lcld2 -lm -lpthread
# flite has no pkg-config file: its core, the US English front end, and the voices the speech service ships
LDLIBS   += -lflite_cmu_us_slt -lflite_cmu_us_kal16 -lflite_cmu_us_awb -lflite_cmu_us_rms -lflite_cmu_us_kal \
            -lflite_usenglish -lflite_cmulex -lflite
# libsonic (no pkg-config file either): the speech service's tempo change past its engines' own range
LDLIBS   += -lsonic
# C++ only where a C++ library is the one to use (memory's HNSW graph, hnswlib)
CXX      ?= g++
CXXFLAGS := -std=gnu++17 $(OPT) -g -Wall -Wextra -Werror -pthread -MMD -MP -Iservices $(EXTRA_CXXFLAGS)
LDLIBS   += -lstdc++
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
# --as-needed: a binary records only the libraries it uses (OpenBLAS, with its
# thread pool, stays out of everything but the embedding service)
LDFLAGS  := -pthread -Wl,--as-needed $(LDSAN) $(LDCOV)

# ---- protobuf-c, generated at build time ----
PROTOS   := cairn/v1/common.proto \
            cairn/embedding/v1/embedding.proto \
            cairn/memory/v1/memory.proto \
            cairn/secrets/v1/secrets.proto \
            cairn/translation/v1/translation.proto \
            cairn/speech/v1/speech.proto \
            cairn/workflow/v1/workflow.proto \
            google/protobuf/timestamp.proto google/protobuf/duration.proto \
            google/protobuf/struct.proto google/protobuf/wrappers.proto \
            google/protobuf/empty.proto google/protobuf/field_mask.proto
GEN_C    := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.c)
GEN_H    := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.h)
# google/protobuf/*.proto (the well-known types) come from Debian's libprotobuf-dev.
WKT_PROTO_DIR ?= /usr/include
# Every message type of PROTOS by name (cairn/pb_registry.h), generated below.
PB_REGISTRY_C := $(BUILD)/gen/pb_registry.c
# Protos only the tests compile in (tests/proto/), never libcairn.
TEST_PROTOS   := cairn/testing/v1/kinds.proto cairn/testing/v1/paging.proto
TEST_GEN_C    := $(TEST_PROTOS:%.proto=$(BUILD)/gen/%.pb-c.c)
TEST_GEN_H    := $(TEST_PROTOS:%.proto=$(BUILD)/gen/%.pb-c.h)
TEST_GEN_OBJS := $(TEST_GEN_C:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)

# ---- libcairn ----
COMMON_SRCS := common/src/err.c common/src/arena.c common/src/buf.c common/src/base64.c common/src/clock.c common/src/utf8.c \
               common/src/strlist.c common/src/hex.c common/src/file.c common/src/yaml.c common/src/seal.c common/src/json.c common/src/secret_ref.c \
               common/src/kafka_conf.c \
               common/src/headers.c common/src/status.c common/src/conf.c common/src/log.c \
               common/src/metrics.c common/src/admin.c common/src/offsets.c \
               common/src/bus_conf.c common/src/bus_kafka.c common/src/bus.c \
               common/src/bus_client.c common/src/events.c common/src/periodic.c common/src/app.c \
               common/src/retry.c common/src/breaker.c common/src/bulkhead.c \
               common/src/resilience.c common/src/http_client.c common/src/bus_call.c common/src/kafka_stats.c common/src/random.c common/src/trace.c common/src/otlp.c \
               common/src/redis.c common/src/rcache.c common/src/service.c common/src/pg.c common/src/pg_err.c common/src/pg_bytea.c common/src/pg_reply.c common/src/pg_migrate.c \
               common/src/claims.c common/src/nn.c common/src/blas.c \
               common/src/pbjson_desc.c common/src/pbjson_scalar.c common/src/pbjson_wkt.c \
               common/src/pbjson_parse.c common/src/pbjson_render.c common/src/pbjson_bind.c \
               common/src/pbjson_schema.c common/src/pb_registry.c
LIBCAIRN := $(BUILD)/lib/libcairn.a

# ---- services ----
# A service is one word in this list (admin ports follow its order in the dev
# stack: the first gets 9100). Its library is every services/NAME/*.c but
# main.c, its binary is cairn-NAME, its unit tests are tests/unit/NAME/*.c, and
# the rules below (service_rules) are the same for all. docs/architecture.md
# has the checklist for adding one.
SERVICES := gateway embedding memory secrets translation speech workflow

svc_lib_srcs = $(filter-out services/$(1)/main.c,$(sort $(wildcard services/$(1)/*.c services/$(1)/*.cc)))
$(foreach s,$(SERVICES),$(eval $(s)_LIB_SRCS := $(call svc_lib_srcs,$(s))))
# Files a service generates at build time, compiled into its library.
gateway_GEN_SRCS   := $(BUILD)/gen/gateway/openapi_base.c
# A service with a migrations/ folder gets its numbered SQL files compiled in
# as <name>_migrations (cairn/pg_migrate.h); cairn-admin links every set.
MIGRATION_SERVICES := $(sort $(patsubst services/%/migrations,%,$(wildcard services/*/migrations)))
$(foreach s,$(MIGRATION_SERVICES),$(eval $(s)_GEN_SRCS += $(BUILD)/gen/migrations/$(s).c))
# libcairn's own sets (common/migrations/NAME) are compiled into libcairn
# as cairn_NAME_migrations; cairn-admin migrate knows them as NAME.
COMMON_MIGRATION_SETS := claims
MIGRATION_OBJS := $(MIGRATION_SERVICES:%=$(BUILD)/obj/gen/migrations/%.o) \
                  $(COMMON_MIGRATION_SETS:%=$(BUILD)/obj/gen/migrations/cairn_%.o) \
                  $(BUILD)/obj/gen/migrations/registry.o

# ---- tools ----
DEVBROKER_SRCS := deploy/devbroker/devbroker.c
ADMIN_LIB_SRCS := deploy/admin/topics.c
# audit verify walks the secrets service's chain with the service's own code,
# workflow validate|register checks a definition with the workflow service's
ADMIN_SRCS     := deploy/admin/main.c deploy/admin/migrate.c deploy/admin/audit.c \
                  deploy/admin/workflow.c $(ADMIN_LIB_SRCS) \
                  services/secrets/audit_verify.c services/secrets/audit_chain.c \
                  services/workflow/definition.c services/workflow/template.c

BINS := $(SERVICES:%=$(BUILD)/bin/cairn-%) $(BUILD)/bin/cairn-devbroker $(BUILD)/bin/cairn-admin

# ---- tests ----
UNIT_COMMON    := err arena buf base64 headers utf8 status conf log metrics admin offsets \
                  strlist hex file yaml kafka_conf \
                  retry breaker bulkhead resilience kafka_stats trace pg pg_err pg_migrate \
                  pbjson periodic seal secret_ref http_client
UNIT_BINS := $(UNIT_COMMON:%=$(BUILD)/tests/unit/common_%) \
             $(foreach s,$(SERVICES),$(patsubst tests/unit/$(s)/%.c,$(BUILD)/tests/unit/$(s)_%,$(sort $(wildcard tests/unit/$(s)/*.c)))) \
             $(BUILD)/tests/unit/admin_topics
INTEG_SRCS := $(sort $(wildcard tests/integration/[0-9]*.c))
INTEG_BINS := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
INTEG_HARNESS := tests/integration/harness.c tests/integration/otlp_receiver.c \
                 tests/integration/fake_openai.c tests/integration/gw_fixture.c \
                 tests/integration/fake_service.c tests/integration/secrets_fixture.c \
                 tests/integration/fake_libretranslate.c tests/integration/fake_http.c \
                 tests/integration/fake_openai_audio.c tests/integration/fake_target.c \
                 tests/integration/workflow_client.c
BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/bench/%)
# What the benchmark programs share (running wrk and reading its report).
BENCH_LIB  := $(sort $(wildcard tests/bench/lib/*.c))

obj = $(patsubst %.cc,$(BUILD)/obj/%.o,$(patsubst %.c,$(BUILD)/obj/%.o,$(1)))

.PHONY: all deps build test test-unit test-integration up down status bench fuzz \
        docs check-docs clean lint image deploy-check
.DEFAULT_GOAL := build
# Keep generated headers and objects that make would otherwise treat as
# intermediate and delete.
.SECONDARY:

all build: $(BINS)

# Debian packages, then the embedding model's weights into the user's cache
# (once; offline without a cache deploy/models.sh says so and exits 75, which
# only the dev stack and CI treat as fatal: the model's tests skip loudly).
deps:
	@deploy/deps.sh
	@deploy/models.sh fetch all || { rc=$$?; [ $$rc -eq 75 ] && [ "$$CI" != true ] && \
	  echo "deps: going on without the embedding model: its tests are skipped, make up stops" >&2; }

# ---- compile ----
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --proto_path=$(WKT_PROTO_DIR) --c_out=$(BUILD)/gen $<

$(BUILD)/gen/google/protobuf/%.pb-c.c $(BUILD)/gen/google/protobuf/%.pb-c.h: \
                $(WKT_PROTO_DIR)/google/protobuf/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=$(WKT_PROTO_DIR) --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: tests/proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=tests/proto --proto_path=$(WKT_PROTO_DIR) --c_out=$(BUILD)/gen $<

# The registry lists every message descriptor the headers of PROTOS declare
# (map entries and well-known types too); it follows PROTOS, which lives here.
$(PB_REGISTRY_C): $(GEN_H) Makefile
	@mkdir -p $(dir $@)
	{ echo '#include <stddef.h>'; echo '#include <protobuf-c/protobuf-c.h>'; \
	  sed -n 's/^extern const ProtobufCMessageDescriptor \([a-z0-9_]*\);$$/extern const ProtobufCMessageDescriptor \1;/p' $(GEN_H); \
	  echo 'const ProtobufCMessageDescriptor *const cairn_pb_messages[] = {'; \
	  sed -n 's/^extern const ProtobufCMessageDescriptor \([a-z0-9_]*\);$$/        \&\1,/p' $(GEN_H); \
	  echo '        NULL'; echo '};'; } >$@.tmp && mv $@.tmp $@

# Generated headers must exist before anything that may include them compiles.
$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

# Generated code is not ours to keep warning-clean under -Wextra (protoc-c
# initialises a oneof whose first member is bytes with {0}: GCC's
# -Wmissing-braces).
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter -Wno-missing-braces -c $< -o $@

# Tests may reach libcairn's private headers (offsets.h, bus_kafka.h).
$(BUILD)/obj/tests/%.o: CFLAGS += -Icommon/src -Itests/integration
$(BUILD)/obj/tests/unit/admin/%.o: CFLAGS += -Ideploy/admin

GEN_OBJS := $(GEN_C:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)

$(LIBCAIRN): $(call obj,$(COMMON_SRCS)) $(GEN_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBCAIRN): $(BUILD)/obj/gen/pb_registry.o

# Tests of the JSON mapping link the test protos (tests/proto/) in.
PBJSON_TEST_BINS := $(BUILD)/tests/unit/common_pbjson $(BUILD)/tests/integration/0030-pbjson_python \
                    $(BUILD)/tests/integration/0015-gateway_paged
$(PBJSON_TEST_BINS): $(TEST_GEN_OBJS)
$(PBJSON_TEST_BINS): LDLIBS := $(LIBCAIRN) $(LDLIBS) # the test protos need libcairn's WKTs
$(BUILD)/obj/tests/unit/common/pbjson.o $(BUILD)/obj/tests/integration/0030-pbjson_python.o \
$(BUILD)/obj/tests/integration/0015-gateway_paged.o: \
                | $(TEST_GEN_H)

$(BUILD)/bin/cairn-devbroker: $(call obj,$(DEVBROKER_SRCS)) $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/cairn-admin: $(call obj,$(ADMIN_SRCS)) $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/admin_topics: $(BUILD)/obj/tests/unit/admin/topics.o \
                                  $(call obj,$(ADMIN_LIB_SRCS)) $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(BUILD)/tests/unit/common_%: $(BUILD)/obj/tests/unit/common/%.o $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# The shared parts of the gateway's OpenAPI document, compiled in as bytes;
# the routes' parts are generated from the route table at start.
$(BUILD)/gen/gateway/openapi_base.c: services/gateway/openapi_base.json
	@mkdir -p $(dir $@)
	{ echo '#include <stddef.h>'; echo 'const char gw_openapi_base_json[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '0x00 };'; \
	  echo 'const size_t gw_openapi_base_json_len = sizeof(gw_openapi_base_json) - 1;'; } >$@

# Numbered SQL migrations compiled in as bytes (deploy/gen-migrations.sh
# refuses a malformed name or a version used twice, naming the file). The
# registry lists every service's set for cairn-admin migrate; it depends on
# the service folders, whose times change when a migrations/ folder appears.
MIGRATION_FILES := $(wildcard services/*/migrations/*)
$(BUILD)/gen/migrations/%.c: services/%/migrations $(MIGRATION_FILES) deploy/gen-migrations.sh
	@mkdir -p $(dir $@)
	deploy/gen-migrations.sh set $* $< >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
$(BUILD)/gen/migrations/registry.c: $(wildcard services/*) deploy/gen-migrations.sh
	@mkdir -p $(dir $@)
	deploy/gen-migrations.sh registry migration_sets $(MIGRATION_SERVICES) $(COMMON_MIGRATION_SETS:%=cairn_%) >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
$(BUILD)/bin/cairn-admin: $(MIGRATION_OBJS)
$(BUILD)/gen/migrations/cairn_%.c: common/migrations/% $(wildcard common/migrations/*/*) deploy/gen-migrations.sh
	@mkdir -p $(dir $@)
	deploy/gen-migrations.sh set $* $< cairn_$* >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
$(LIBCAIRN): $(COMMON_MIGRATION_SETS:%=$(BUILD)/obj/gen/migrations/cairn_%.o)
# The integration tests' own set (tests/integration/migrations), testsvc_migrations.
$(BUILD)/gen/migrations/testsvc.c: tests/integration/migrations \
                                   $(wildcard tests/integration/migrations/*) deploy/gen-migrations.sh
	@mkdir -p $(dir $@)
	deploy/gen-migrations.sh set testsvc $< >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
$(INTEG_BINS): $(BUILD)/obj/gen/migrations/testsvc.o
# 0026 runs cairn-admin's migrate command over that set (linked after
# libcairn, so libcairn comes again).
$(BUILD)/tests/integration/0026-admin_migrate: $(BUILD)/obj/deploy/admin/migrate.o
$(BUILD)/tests/integration/0026-admin_migrate: LDLIBS := $(LIBCAIRN) $(LDLIBS)

# Every service: its binary and its unit tests, linked against its library.
svc_lib_objs = $(call obj,$($(1)_LIB_SRCS)) $($(1)_GEN_SRCS:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
define service_rules
$$(BUILD)/bin/cairn-$(1): $$(call obj,services/$(1)/main.c) $$(call svc_lib_objs,$(1)) $$(LIBCAIRN)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)

$$(BUILD)/tests/unit/$(1)_%: $$(BUILD)/obj/tests/unit/$(1)/%.o $$(call svc_lib_objs,$(1)) $$(LIBCAIRN)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(CHECK_LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

# The remote translation provider's unit test talks to the fake LibreTranslate server.
$(BUILD)/tests/unit/translation_remote: $(BUILD)/obj/tests/integration/fake_libretranslate.o \
                                        $(BUILD)/obj/tests/integration/fake_http.o
# The remote speech provider against the fake OpenAI audio server, with
# only the provider's files of the speech service (linked after libcairn,
# so libcairn comes again).
SPEECH_REMOTE_SRCS := services/speech/remote.c services/speech/remote_conf.c \
                      services/speech/remote_wire.c
$(BUILD)/tests/integration/0062-speech_remote: $(call obj,$(SPEECH_REMOTE_SRCS))
$(BUILD)/tests/integration/0062-speech_remote: LDLIBS := $(LIBCAIRN) $(LDLIBS)

# Whisper against faster-whisper, with only the engine's files of the speech
# service (linked after libcairn, so libcairn comes again).
SPEECH_WHISPER_SRCS := services/speech/ct2_model.c services/speech/whisper_mel.c \
                       services/speech/whisper_vocab.c services/speech/whisper_model.c \
                       services/speech/whisper_net.c services/speech/whisper_transcribe.c \
                       services/speech/whisper_bpe.c services/speech/whisper_align.c
$(BUILD)/tests/integration/0060-speech_whisper_reference: $(call obj,$(SPEECH_WHISPER_SRCS))
$(BUILD)/tests/integration/0060-speech_whisper_reference: LDLIBS := $(LIBCAIRN) $(LDLIBS)
$(BUILD)/tests/bench/speech_whisper: $(call obj,$(SPEECH_WHISPER_SRCS))
# The word error rate benchmark runs the service's recogniser itself
# (recognise.c: voice activity detection, the noise suppressor, Whisper).
$(BUILD)/tests/bench/speech_wer: $(call obj,$(SPEECH_WHISPER_SRCS) services/speech/audio_vad.c \
                                             services/speech/audio_denoise.c \
                                             services/speech/recognise.c)

# Tests that run a gateway in their own process, over a route table of theirs.
$(BUILD)/tests/integration/0015-gateway_paged: $(call svc_lib_objs,gateway)
# Tests that run the embedding service's modules in their own process, to
# check them against a reference implementation or the service against them
# (linked after libcairn, so libcairn comes again).
$(BUILD)/tests/integration/0031-bert_reference $(BUILD)/tests/integration/0032-embedding_bert: \
                $(call svc_lib_objs,embedding)
$(BUILD)/tests/integration/0031-bert_reference $(BUILD)/tests/integration/0032-embedding_bert: \
                LDLIBS := $(LIBCAIRN) $(LDLIBS)

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o \
                              $(call obj,$(INTEG_HARNESS)) $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# The language detection benchmark runs the translation service's detector
# in its own process (the detector needs nothing of libcairn).
$(BUILD)/tests/bench/translation_detect: $(call obj,services/translation/detect.c \
                                                     services/translation/cld2_shim.cc)

$(BUILD)/tests/bench/%: $(BUILD)/obj/tests/bench/%.o $(call obj,$(BENCH_LIB)) $(call svc_lib_objs,embedding) \
                        $(call obj,$(INTEG_HARNESS)) $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# ---- tests ----
# TEST_PARTS: a part of the run only (tests/run.sh: unit integration apache
# sanitizers secrets docs); all of them when empty
test: deps
	@$(MAKE) --no-print-directory build-tests
	@tests/run.sh $(BUILD) $(TEST_PARTS)

build-tests: $(BINS) $(UNIT_BINS) $(INTEG_BINS)

# the unit tests only (they run no service binary): the sanitizer pass
# (make SAN=1 test-unit) builds nothing it would not run
test-unit: $(UNIT_BINS)
	@tests/run.sh $(BUILD) unit

test-integration: build-tests
	@tests/run.sh $(BUILD) integration sanitizers

# Line, function and branch coverage of the unit suites and the dev-broker
# integration pass, built into build/cov; the report goes to build/coverage
# (tests/coverage.sh, docs/quality.md).
.PHONY: coverage
coverage: deps
	@$(MAKE) --no-print-directory COV=1 build-tests
	@tests/coverage.sh build/cov build/coverage

bench: deps
	@deploy/deps.sh bench
	@$(MAKE) --no-print-directory $(BINS) $(BENCH_BINS)
	@tests/bench/run.sh $(BUILD)

# ---- deploy: the container image, compose.yaml, the Helm chart, the rules ----
# make image: builds cairn:$(VERSION) with podman (no Docker engine needed;
# deploy/image/) and runs the services from it (tests/deploy/image.sh).
image: deps
	@deploy/deps.sh image
	@deploy/image/build.sh
	@tests/deploy/image.sh

# compose.yaml, the Helm chart and the alert rules and dashboards, validated
# offline against the build's binaries (tests/deploy/run.sh).
deploy-check: deps
	@deploy/deps.sh deploy
	@$(MAKE) --no-print-directory build
	@tests/deploy/run.sh $(BUILD)

# ---- docs generated from the code: docs/config.md from the config tables ----
docs: $(BINS)
	@tests/docs.sh $(BUILD) write

check-docs: $(BINS)
	@tests/docs.sh $(BUILD) check

# ---- dev stack ----
up: deps
	@$(MAKE) --no-print-directory build
	@deploy/dev/stack.sh up

down:
	@deploy/dev/stack.sh down

status:
	@deploy/dev/stack.sh status

fuzz: deps
	@tests/fuzz/run.sh

# ---- lint: every .c/.h of ours, tracked or new, against .clang-format and cppcheck ----
lint:
	@deploy/deps.sh lint
	@tests/lint/run.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# For scripts that build from the same lists (tests/fuzz/run.sh): make print-COMMON_SRCS
print-%:
	@echo $($*)
