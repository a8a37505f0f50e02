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

VERSION  := 0.1.0
PKGS     := rdkafka libprotobuf-c yaml-0.1 libmicrohttpd jansson uuid libxxhash libutf8proc libcurl \
            libjwt hiredis libcrypto
CFLAGS   := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -pthread -MMD -MP \
            -Icommon/include -I$(BUILD)/gen -Iservices \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -DCAIRN_VERSION=\"$(VERSION)\" $(EXTRA_CFLAGS)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lrdkafka -lprotobuf-c -lyaml -lmicrohttpd -ljansson -luuid -lxxhash -lutf8proc -lcurl -ljwt -lhiredis -lcrypto) -lm -lpthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
LDFLAGS  := -pthread $(LDSAN)

# ---- protobuf-c, generated at build time ----
PROTOS   := cairn/v1/common.proto \
            cairn/embedding/v1/embedding.proto
GEN_C    := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.c)
GEN_H    := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.h)

# ---- libcairn ----
COMMON_SRCS := common/src/err.c common/src/arena.c common/src/buf.c common/src/base64.c common/src/clock.c common/src/utf8.c \
               common/src/headers.c common/src/status.c common/src/conf.c common/src/log.c \
               common/src/metrics.c common/src/admin.c common/src/offsets.c \
               common/src/bus_conf.c common/src/bus_kafka.c common/src/bus.c \
               common/src/bus_client.c common/src/app.c \
               common/src/retry.c common/src/breaker.c common/src/bulkhead.c \
               common/src/resilience.c common/src/bus_call.c common/src/kafka_stats.c common/src/random.c common/src/trace.c common/src/otlp.c \
               common/src/redis.c
LIBCAIRN := $(BUILD)/lib/libcairn.a

# ---- services ----
# A service is one word in this list (admin ports follow its order in the dev
# stack: the first gets 9100). Its library is every services/NAME/*.c but
# main.c, its binary is cairn-NAME, its unit tests are tests/unit/NAME/*.c, and
# the rules below (service_rules) are the same for all. docs/architecture.md
# has the checklist for adding one.
SERVICES := gateway embedding

svc_lib_srcs = $(filter-out services/$(1)/main.c,$(sort $(wildcard services/$(1)/*.c)))
embedding_LIB_SRCS := $(call svc_lib_srcs,embedding)
gateway_LIB_SRCS   := $(call svc_lib_srcs,gateway)
# Files a service generates at build time, compiled into its library.
gateway_GEN_SRCS   := $(BUILD)/gen/gateway/openapi.c

# ---- tools ----
DEVBROKER_SRCS := deploy/devbroker/devbroker.c
ADMIN_LIB_SRCS := deploy/admin/topics.c
ADMIN_SRCS     := deploy/admin/main.c $(ADMIN_LIB_SRCS)

BINS := $(SERVICES:%=$(BUILD)/bin/cairn-%) $(BUILD)/bin/cairn-devbroker $(BUILD)/bin/cairn-admin

# ---- tests ----
UNIT_COMMON    := err arena buf base64 headers utf8 status conf log metrics admin offsets \
                  retry breaker bulkhead resilience kafka_stats trace
UNIT_BINS := $(UNIT_COMMON:%=$(BUILD)/tests/unit/common_%) \
             $(foreach s,$(SERVICES),$(patsubst tests/unit/$(s)/%.c,$(BUILD)/tests/unit/$(s)_%,$(sort $(wildcard tests/unit/$(s)/*.c)))) \
             $(BUILD)/tests/unit/admin_topics
INTEG_SRCS := $(sort $(wildcard tests/integration/[0-9]*.c))
INTEG_BINS := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
INTEG_HARNESS := tests/integration/harness.c tests/integration/otlp_receiver.c \
                 tests/integration/fake_openai.c
BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/bench/%)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.PHONY: all deps build test test-unit test-integration up down status bench fuzz \
        docs check-docs clean lint
.DEFAULT_GOAL := build
# Keep generated headers and objects that make would otherwise treat as
# intermediate and delete.
.SECONDARY:

all build: $(BINS)

deps:
	@deploy/deps.sh

# ---- compile ----
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

# Generated headers must exist before anything that may include them compiles.
$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Generated code is not ours to keep warning-clean under -Wextra.
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

# Tests may reach libcairn's private headers (offsets.h, bus_kafka.h).
$(BUILD)/obj/tests/%.o: CFLAGS += -Icommon/src -Itests/integration
$(BUILD)/obj/tests/unit/admin/%.o: CFLAGS += -Ideploy/admin

GEN_OBJS := $(GEN_C:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)

$(LIBCAIRN): $(call obj,$(COMMON_SRCS)) $(GEN_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

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

# openapi.json is served by the gateway: compiled in as a byte array.
$(BUILD)/gen/gateway/openapi.c: services/gateway/openapi.json
	@mkdir -p $(dir $@)
	{ echo '#include <stddef.h>'; echo 'const char gw_openapi_json[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '0x00 };'; \
	  echo 'const size_t gw_openapi_json_len = sizeof(gw_openapi_json) - 1;'; } >$@


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

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o \
                              $(call obj,$(INTEG_HARNESS)) $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(BUILD)/tests/bench/%: $(BUILD)/obj/tests/bench/%.o $(call svc_lib_objs,embedding) \
                        $(call obj,$(INTEG_HARNESS)) $(LIBCAIRN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# ---- tests ----
test: deps
	@$(MAKE) --no-print-directory build-tests
	@tests/run.sh $(BUILD)

build-tests: $(BINS) $(UNIT_BINS) $(INTEG_BINS)

test-unit: build-tests
	@tests/run.sh $(BUILD) unit

test-integration: build-tests
	@tests/run.sh $(BUILD) integration sanitizers

bench: deps
	@deploy/deps.sh bench
	@$(MAKE) --no-print-directory $(BINS) $(BENCH_BINS)
	@tests/bench/run.sh $(BUILD)

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

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# For scripts that build from the same lists (tests/fuzz/run.sh): make print-COMMON_SRCS
print-%:
	@echo $($*)
