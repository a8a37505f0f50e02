#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, combined controller and broker)
# on 127.0.0.1, for the integration tests, the benchmarks and
# `make up KAFKA=apache`. Its jars come from Maven Central once and are kept
# in the cache outside the checkout (${XDG_CACHE_HOME:-~/.cache}/cairn/kafka/<version>/,
# or $CAIRN_CACHE_DIR/kafka); nothing is downloaded again after that.
#   apache.sh fetch          resolve the broker's jars into the cache
#   apache.sh check          exit 0 when java and mvn (or cached jars) are there, else say what is missing
#   apache.sh start DIR      format DIR, start the broker in the background, wait until it
#                            answers metadata requests; writes DIR/bootstrap and DIR/pid
#   apache.sh restart DIR    start it again on the same ports and data (after stop)
#   apache.sh stop DIR       stop it cleanly by PID (SIGTERM, then SIGKILL after 30 s)
# The settings are tuned for tests (small heap, no rebalance delay, replication
# factor 1, auto-created topics with 4 partitions): never a production broker.
# CAIRN_KAFKA_AUTO_CREATE=false turns topic auto-creation off.
# CAIRN_KAFKA_JIT=quick (default) compiles with C1 only: the broker starts and
# settles sooner, which the tests want. CAIRN_KAFKA_JIT=full adds C2 as a
# production JVM does: slower to warm up, about half the CPU per request once
# warm, which the benchmarks want.
set -euo pipefail

KAFKA_VERSION=4.1.1
LOG4J_VERSION=2.24.3
CACHE=${CAIRN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn}/kafka
JARS=$CACHE/$KAFKA_VERSION/libs

log() { printf 'apache-kafka: %s\n' "$*" >&2; }
die() { printf 'apache-kafka: %s\n' "$*" >&2; exit 1; }

need_java() {
        command -v java >/dev/null ||
                die "java is missing: Apache Kafka $KAFKA_VERSION needs Java 17 (apt-get install openjdk-17-jre-headless)"
        local v
        v=$(java -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')
        [[ ${v%%.*} -ge 17 ]] || die "java $v is too old: Apache Kafka $KAFKA_VERSION needs Java 17"
}

fetched() { [[ -s $JARS/.complete ]]; }

fetch() {
        fetched && return 0
        command -v mvn >/dev/null ||
                die "mvn is missing: it fetches Apache Kafka's jars from Maven Central once (apt-get install maven)"
        need_java
        mkdir -p "$CACHE"
        # one fetch at a time: test runs in parallel share the cache
        exec 9>"$CACHE/.lock"
        flock 9
        fetched && return 0
        local work
        work=$(mktemp -d)
        cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cairn.deploy</groupId>
  <artifactId>apache-kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
        log "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $JARS (once)"
        rm -rf "$JARS"
        if ! mvn -q -B -f "$work/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
                dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$JARS" \
                >"$work/mvn.log" 2>&1; then
                cat "$work/mvn.log" >&2
                rm -rf "$work"
                die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
        fi
        rm -rf "$work"
        ls "$JARS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null || die "no kafka_2.13 jar in $JARS"
        echo "$KAFKA_VERSION" >"$JARS/.complete"
}

check() {
        command -v java >/dev/null || { echo "java is missing (Java 17 runs Apache Kafka)"; return 1; }
        fetched || command -v mvn >/dev/null ||
                { echo "mvn is missing (Maven fetches Apache Kafka's jars once)"; return 1; }
        return 0
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below Linux's ephemeral range (32768-60999), so no outgoing connection
# takes the port while a test has the broker stopped.
free_port() {
        local p
        for _ in $(seq 100); do
                p=$((20000 + RANDOM % 12000))
                if port_free "$p"; then
                        echo "$p"
                        return
                fi
        done
        die "no free port found"
}

java_run() { # main-class args... (foreground)
        java -Xms64m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
                -Dlog4j2.configurationFile="$1" -cp "$JARS/*" "${@:2}"
}

write_config() { # dir
        local dir=$1 bport cport auto=${CAIRN_KAFKA_AUTO_CREATE:-true}
        bport=$(free_port)
        cport=$(free_port)
        while [[ $cport == "$bport" ]]; do cport=$(free_port); done
        mkdir -p "$dir/data"
        cat >"$dir/server.properties" <<EOF
# Written by deploy/kafka/apache.sh: a single-node test broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=4
auto.create.topics.enable=$auto
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=500
message.max.bytes=1048588
num.network.threads=2
num.io.threads=2
log.flush.interval.ms=9223372036854775807
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
EOF
        cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = warn
logger.clients.name = org.apache.kafka
logger.clients.level = warn
EOF
        echo "127.0.0.1:$bport" >"$dir/address"
}

alive() { [[ -s $1/pid ]] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

launch() { # dir: start the JVM on an already formatted dir and wait for it
        local dir=$1 boot i jit=()
        case ${CAIRN_KAFKA_JIT:-quick} in
        quick) jit=(-XX:TieredStopAtLevel=1) ;;
        full) ;;
        *) die "CAIRN_KAFKA_JIT must be quick or full, not \"$CAIRN_KAFKA_JIT\"" ;;
        esac
        boot=$(cat "$dir/address")
        rm -f "$dir/bootstrap"
        # setsid: a terminal's ^C or the caller's process group must not reach it
        setsid java -Xms128m -Xmx512m "${jit[@]}" -XX:+UseSerialGC \
                -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.properties" \
                -cp "$JARS/*" kafka.Kafka "$dir/server.properties" \
                >>"$dir/stdout.log" 2>&1 </dev/null &
        echo $! >"$dir/pid"
        for ((i = 0; i < 1200; i++)); do
                if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
                        tail -n 20 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
                        die "the broker exited during start (logs in $dir)"
                fi
                if kcat -L -b "$boot" -m 1 2>/dev/null | grep -q '1 brokers:'; then
                        echo "$boot" >"$dir/bootstrap"
                        return 0
                fi
                sleep 0.1
        done
        stop "$dir"
        die "the broker did not answer metadata requests within 120 s (logs in $dir)"
}

start() { # dir
        local dir=${1:?usage: apache.sh start DIR}
        command -v kcat >/dev/null || die "kcat is missing: run make deps"
        need_java
        fetch
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        alive "$dir" && die "a broker already runs from $dir (pid $(cat "$dir/pid"))"
        write_config "$dir"
        local id
        # A cluster id is 16 random bytes in URL-safe base64; one that starts
        # with "-" would read as an option to the storage tool (1 in 64).
        id=-
        while [[ $id == -* ]]; do
                id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
        done
        java_run "$dir/log4j2.properties" kafka.tools.StorageTool format -t "$id" \
                -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
                { cat "$dir/format.log" >&2; die "formatting $dir/data failed"; }
        launch "$dir"
        log "broker $(cat "$dir/bootstrap") pid $(cat "$dir/pid") (Apache Kafka $KAFKA_VERSION, data in $dir)"
}

restart() { # dir
        local dir=${1:?usage: apache.sh restart DIR}
        [[ -s $dir/server.properties ]] || die "$dir holds no broker: use start"
        alive "$dir" && die "a broker already runs from $dir (pid $(cat "$dir/pid"))"
        [[ -s $dir/address ]] || die "$dir/address is missing"
        launch "$dir"
}

stop() { # dir
        local dir=${1:?usage: apache.sh stop DIR} pid i
        [[ -s $dir/pid ]] || return 0
        pid=$(cat "$dir/pid")
        if kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid"
                for ((i = 0; i < 300; i++)); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                if kill -0 "$pid" 2>/dev/null; then
                        log "pid $pid did not stop in 30 s: killing it"
                        kill -KILL "$pid" 2>/dev/null || true
                fi
        fi
        rm -f "$dir/pid" "$dir/bootstrap"
}

case ${1:-} in
fetch) fetch ;;
check) check ;;
start) start "${2:-}" ;;
restart) restart "${2:-}" ;;
stop) stop "${2:-}" ;;
version) echo "$KAFKA_VERSION" ;;
*) die "usage: apache.sh fetch|check|version|start DIR|restart DIR|stop DIR" ;;
esac
