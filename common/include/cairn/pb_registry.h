/* Every protobuf message type compiled into libcairn, by full name: the
 * registry is generated at build time from the headers protoc-c writes for
 * the Makefile's PROTOS, so a new .proto joins it by being listed there. */
#ifndef CAIRN_PB_REGISTRY_H
#define CAIRN_PB_REGISTRY_H

#include <protobuf-c/protobuf-c.h>

/* The descriptor of the message type named @p full_name
 * ("cairn.embedding.v1.EmbedRequest", "google.protobuf.Timestamp"), map
 * entry types included; NULL when libcairn holds no such type. The result
 * is static. */
const ProtobufCMessageDescriptor *cairn_pb_message_find(const char *full_name);

/* The registry itself, for tests and fuzzers: NULL-terminated, in the order
 * of PROTOS and of each generated header. */
extern const ProtobufCMessageDescriptor *const cairn_pb_messages[];

#endif
