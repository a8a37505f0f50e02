/* Message types by full name. The table itself, cairn_pb_messages, is
 * generated at build time ($(BUILD)/gen/pb_registry.c) from the headers
 * protoc-c writes for the Makefile's PROTOS. */
#include <string.h>

#include "cairn/pb_registry.h"

const ProtobufCMessageDescriptor *cairn_pb_message_find(const char *full_name)
{
        /* A few dozen types, looked up once per route or command: a scan will do. */
        for (size_t i = 0; cairn_pb_messages[i]; i++)
                if (strcmp(cairn_pb_messages[i]->name, full_name) == 0)
                        return cairn_pb_messages[i];
        return NULL;
}
