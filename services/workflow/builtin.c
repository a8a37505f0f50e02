/* The built-in workflows: what Cairn's services do together, registered at
 * start (workflow.builtin) as definitions like any other, so they can be
 * read, listed and replaced by a newer version. docs/workflow.md explains
 * each one's input and output. */
#include <string.h>

#include "cairn/log.h"
#include "cairn/pbjson.h"
#include "workflow.h"

/* Speech to text, the text translated, the translation remembered for the
 * user with the transcript beside it. */
static const char transcribe_translate_remember[] =
        "{\"type\": \"transcribe-translate-remember\","
        " \"description\": \"Transcribe audio, translate the transcript, store the translation "
        "in the user's memory with the transcript and languages as metadata. Input: user_id, "
        "audio (a cairn.speech.v1.Audio: data in base64 or a claim), target, and optionally "
        "source (default auto) and metadata.\","
        " \"steps\": ["
        "  {\"id\": \"transcribe\", \"call\": {\"service\": \"speech\","
        "   \"type\": \"cairn.speech.v1.TranscribeRequest\","
        "   \"request\": {\"audio\": \"${input.audio}\"},"
        "   \"retry\": {\"maximumAttempts\": 3}, \"startToCloseTimeout\": \"300s\"}},"
        "  {\"id\": \"translate\", \"after\": [\"transcribe\"], \"call\": {\"service\": "
        "\"translation\", \"type\": \"cairn.translation.v1.TranslateRequest\","
        "   \"request\": {\"texts\": [\"${steps.transcribe.output.text}\"],"
        "    \"source\": \"${steps.transcribe.output.language}\", \"target\": "
        "\"${input.target}\"},"
        "   \"retry\": {\"maximumAttempts\": 5}, \"startToCloseTimeout\": \"60s\"}},"
        "  {\"id\": \"remember\", \"after\": [\"translate\"], \"call\": {\"service\": \"memory\","
        "   \"type\": \"cairn.memory.v1.StoreRequest\","
        "   \"key\": \"${run.tenant}/${input.user_id}\","
        "   \"request\": {\"userId\": \"${input.user_id}\","
        "    \"content\": \"${steps.translate.output.translations[0].text}\","
        "    \"metadata\": {\"transcript\": \"${steps.transcribe.output.text}\","
        "     \"source_language\": \"${steps.transcribe.output.language}\","
        "     \"language\": \"${input.target}\", \"workflow_id\": \"${run.workflow_id}\","
        "     \"kind\": \"transcript\"}},"
        "   \"retry\": {\"maximumAttempts\": 5}, \"startToCloseTimeout\": \"60s\"}}"
        " ],"
        " \"output\": {\"transcript\": \"${steps.transcribe.output.text}\","
        "  \"language\": \"${steps.transcribe.output.language}\","
        "  \"translation\": \"${steps.translate.output.translations[0].text}\","
        "  \"memory\": \"${steps.remember.output.results[0].memory}\"}}";

/* A list of documents, each translated by its own call, joined in order. */
static const char translate_batch[] =
        "{\"type\": \"translate-batch\","
        " \"description\": \"Translate each of a list of documents, several at a time, and "
        "join the results in order. Input: documents (a list of texts), source (a language or "
        "auto), target.\","
        " \"steps\": ["
        "  {\"id\": \"translate\", \"fanOut\": {\"items\": \"${input.documents}\","
        "   \"call\": {\"service\": \"translation\","
        "    \"type\": \"cairn.translation.v1.TranslateRequest\","
        "    \"request\": {\"texts\": [\"${item}\"], \"source\": \"${input.source}\","
        "     \"target\": \"${input.target}\"},"
        "    \"retry\": {\"maximumAttempts\": 5}, \"startToCloseTimeout\": \"60s\"}}}"
        " ],"
        " \"output\": {\"translations\": \"${steps.translate.output}\"}}";

/* Each turn of a conversation stored in the user's memory, in order, in
 * the conversation's scope, each linked to the turn before it. */
static const char remember_conversation[] =
        "{\"type\": \"remember-conversation\","
        " \"description\": \"Store each turn of a conversation in the user's memory (scope "
        "run_id: the workflow id), then link each turn to the one before it (kind next). "
        "Input: user_id, turns (a list of {role, content}).\","
        " \"steps\": ["
        "  {\"id\": \"store\", \"fanOut\": {\"items\": \"${input.turns}\", \"maxParallel\": 1,"
        "   \"call\": {\"service\": \"memory\", \"type\": \"cairn.memory.v1.StoreRequest\","
        "    \"key\": \"${run.tenant}/${input.user_id}\","
        "    \"request\": {\"userId\": \"${input.user_id}\", \"runId\": \"${run.workflow_id}\","
        "     \"content\": \"${item.content}\","
        "     \"metadata\": {\"role\": \"${item.role}\", \"turn\": \"${index}\","
        "      \"conversation\": \"${run.workflow_id}\"}},"
        "    \"retry\": {\"maximumAttempts\": 5}, \"startToCloseTimeout\": \"60s\"}}},"
        "  {\"id\": \"link\", \"after\": [\"store\"], \"fanOut\": {\"items\": "
        "\"${steps.store.output}\","
        "   \"when\": {\"ref\": \"index\", \"op\": \"OP_GREATER\", \"value\": 0},"
        "   \"call\": {\"service\": \"memory\", \"type\": \"cairn.memory.v1.LinkRequest\","
        "    \"key\": \"${run.tenant}/${input.user_id}\","
        "    \"request\": {\"userId\": \"${input.user_id}\","
        "     \"fromId\": \"${previous.results[0].memory.id}\","
        "     \"toId\": \"${item.results[0].memory.id}\", \"kind\": \"next\"},"
        "    \"retry\": {\"maximumAttempts\": 5}, \"startToCloseTimeout\": \"60s\"}}}"
        " ],"
        " \"output\": {\"memories\": \"${steps.store.output}\", \"links\": "
        "\"${steps.link.output}\"}}";

cairn_err_t wf_builtin_register(struct wf_service *svc, struct cairn_status *st)
{
        static const char *const all[] = { transcribe_translate_remember, translate_batch,
                                           remember_conversation };

        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
                ProtobufCMessage *m = NULL;
                struct cairn_pbjson_error jerr = { 0 };
                const struct wf_def *d;
                bool created;
                cairn_err_t err;

                if (cairn_pbjson_parse(&cairn__workflow__v1__workflow_definition__descriptor,
                                       all[i], strlen(all[i]), 32, &m, &jerr) != CAIRN_OK)
                        return cairn_status_set(st, CAIRN_ERR_INTERNAL, jerr.field, NULL,
                                                "built-in definition %zu: %s", i, jerr.message);
                /* services not deployed here: the workflow cannot run, so it is left out */
                err = wf_def_register(svc, (wf_definition *)m, true, &d, &created, st);
                protobuf_c_message_free_unpacked(m, NULL);
                if (err == CAIRN_ERR_INVALID)
                        cairn_log(WARN, "WORKFLOW", "built-in workflow %zu left out: %s", i,
                                  st->message);
                else if (err)
                        return err;
        }
        return CAIRN_OK;
}
