/* The gateway's route table and its classes: the one place a route is
 * declared. A Cairn-native route is a request/reply message pair in proto/
 * plus one row here; everything else (permissions, limits, deadlines,
 * topics, the OpenAPI document, docs/api.md's permission table) follows. */
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/secrets/v1/secrets.pb-c.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "cairn/translation/v1/translation.pb-c.h"
#include "cairn/workflow/v1/workflow.pb-c.h"
#include "libretranslate.h"
#include "openai.h"
#include "openai_audio.h"
#include "openai_models.h"
#include "route.h"
#include "server.h"
#include "vault.h"

/* ---- classes: who may call, and how often ---- */

/*                                              owner admin member viewer */
static const struct gw_class public_class = {
        .name = "public",
        .public_route = true,
        .allowed = { true, true, true, true },
};
static const struct gw_class models_read = {
        .name = "models.read",
        .allowed = { true, true, true, true },
        .limits_key = "models",
};
static const struct gw_class embeddings_create = {
        .name = "embeddings.create",
        .allowed = { true, true, true, false },
        .limits_key = "embeddings",
};
static const struct gw_class memories_read = {
        .name = "memories.read",
        .allowed = { true, true, true, true },
        .limits_key = "memories_read",
};
/* erasing and exporting all of a user: the tenant's owners and admins */
static const struct gw_class memories_admin = {
        .name = "memories.admin",
        .allowed = { true, true, false, false },
        .limits_key = "memories_admin",
};
static const struct gw_class memories_write = {
        .name = "memories.write",
        .allowed = { true, true, true, false },
        .limits_key = "memories_write",
};

/* Secrets: every role reaches the service, whose policies decide (deny by
 * default); reads and writes are limited apart. */
static const struct gw_class secrets_read = {
        .name = "secrets.read",
        .allowed = { true, true, true, true },
        .limits_key = "secrets_read",
};
static const struct gw_class secrets_write = {
        .name = "secrets.write",
        .allowed = { true, true, true, true },
        .limits_key = "secrets_write",
};
/* keys, policies and the audit chain: the tenant's owners and admins */
static const struct gw_class secrets_admin = {
        .name = "secrets.admin",
        .allowed = { true, true, false, false },
        .limits_key = "secrets_admin",
};

/* Translation: translating and detecting is work done for the caller, as
 * embedding is (no viewers); the language list is for every role. */
static const struct gw_class translations_create = {
        .name = "translations.create",
        .allowed = { true, true, true, false },
        .limits_key = "translations",
};
static const struct gw_class languages_read = {
        .name = "languages.read",
        .allowed = { true, true, true, true },
        .limits_key = "languages",
};

/* Speech: transcribing and speaking are work done for the caller, as
 * embedding is (no viewers). */
static const struct gw_class audio_transcriptions_create = {
        .name = "audio.transcriptions.create",
        .allowed = { true, true, true, false },
        .limits_key = "audio_transcriptions",
};
static const struct gw_class audio_speech_create = {
        .name = "audio.speech.create",
        .allowed = { true, true, true, false },
        .limits_key = "audio_speech",
};

/* Workflows: reading definitions, runs and histories is for every role;
 * starting, signalling and cancelling runs is work done for the caller
 * (no viewers); registering definitions and terminating runs (no
 * compensations) is for the tenant's owners and admins. */
static const struct gw_class workflows_read = {
        .name = "workflows.read",
        .allowed = { true, true, true, true },
        .limits_key = "workflows_read",
};
static const struct gw_class workflows_run = {
        .name = "workflows.run",
        .allowed = { true, true, true, false },
        .limits_key = "workflows_run",
};
static const struct gw_class workflows_admin = {
        .name = "workflows.admin",
        .allowed = { true, true, false, false },
        .limits_key = "workflows_admin",
};

#define MERGE_PATCH   "application/merge-patch+json"
#define SECRETS(desc) &cairn__secrets__v1__##desc##__descriptor

/* A row of the secrets service; of Vault's KV v2 API (the mount "secret")
 * with an adapter, a JSON merge patch body with media type MERGE_PATCH. */
#define SECRETS_ROW(m, p, c, op, sum, req, rep, ad, mt)                                         \
        {                                                                                       \
                .method = m, .path = p, .cls = &c, .operation = op, .summary = sum,             \
                .service = "secrets", .request = SECRETS(req), .reply = SECRETS(rep),           \
                .timeout_key = "secrets", .timeout_ms = 10000, .adapter = ad, .media_type = mt, \
        }

#define WORKFLOW(desc) &cairn__workflow__v1__##desc##__descriptor

#define TRANSLATION(desc) &cairn__translation__v1__##desc##__descriptor

/* A row of the translation service: LibreTranslate's API with an adapter,
 * or the service's own messages (the proto3 JSON mapping). */
#define TRANSLATION_ROW(m, p, c, op, sum, req, rep, tk, tms, ad)                                  \
        {                                                                                         \
                .method = m, .path = p, .cls = &c, .operation = op, .summary = sum,               \
                .service = "translation", .request = TRANSLATION(req), .reply = TRANSLATION(rep), \
                .timeout_key = tk, .timeout_ms = tms, .adapter = ad,                              \
        }

/* ---- routes ---- */

const struct gw_route gw_routes[] = {
        {
                .method = "POST",
                .path = "/v1/embeddings",
                .cls = &embeddings_create,
                .operation = "createEmbedding",
                .summary = "Embed one text or a batch of texts (OpenAI-compatible)",
                .service = "embedding",
                .request = &cairn__embedding__v1__embed_request__descriptor,
                .reply = &cairn__embedding__v1__embed_reply__descriptor,
                .timeout_key = "embeddings",
                .timeout_ms = 10000,
                .adapter = &gw_openai_embeddings,
        },
        {
                .method = "GET",
                .path = "/v1/models",
                .cls = &models_read,
                .operation = "listModels",
                .summary = "Models the embedding and speech services serve, OpenAI's "
                           "aliases too (OpenAI-compatible)",
                .service = "embedding",
                .request = &cairn__embedding__v1__list_models_request__descriptor,
                .reply = &cairn__embedding__v1__list_models_reply__descriptor,
                .timeout_key = "models",
                .timeout_ms = 5000,
                .adapter = &gw_openai_models,
        },
        /* The speech service as OpenAI's audio API (docs/api.md). */
        {
                .method = "POST",
                .path = "/v1/audio/transcriptions",
                .cls = &audio_transcriptions_create,
                .operation = "createTranscription",
                .summary = "Transcribe an audio file (OpenAI-compatible, multipart upload)",
                .service = "speech",
                .request = &cairn__speech__v1__transcribe_request__descriptor,
                .reply = &cairn__speech__v1__transcribe_reply__descriptor,
                .timeout_key = "transcriptions",
                .timeout_ms = 120000,
                .max_body_bytes = 25 * 1024 * 1024, /* OpenAI's */
                .adapter = &gw_openai_transcriptions,
                .media_type = "multipart/form-data",
        },
        {
                .method = "POST",
                .path = "/v1/audio/speech",
                .cls = &audio_speech_create,
                .operation = "createSpeech",
                .summary = "Speak a text: the audio file's bytes (OpenAI-compatible)",
                .service = "speech",
                .request = &cairn__speech__v1__synthesize_request__descriptor,
                .reply = &cairn__speech__v1__synthesize_reply__descriptor,
                .timeout_key = "speech",
                .timeout_ms = 60000,
                .adapter = &gw_openai_speech,
        },
        /* The embedding service in its own shapes (the proto3 JSON mapping). */
        {
                .method = "POST",
                .path = "/v1/embedding/embed",
                .cls = &embeddings_create,
                .operation = "embed",
                .summary = "Embed a batch of texts (cairn.embedding.v1.EmbedRequest)",
                .service = "embedding",
                .request = &cairn__embedding__v1__embed_request__descriptor,
                .reply = &cairn__embedding__v1__embed_reply__descriptor,
                .timeout_key = "embeddings",
                .timeout_ms = 10000,
        },
        {
                .method = "GET",
                .path = "/v1/embedding/models",
                .cls = &models_read,
                .operation = "listEmbeddingModels",
                .summary = "Models of the embedding service (cairn.embedding.v1.ListModelsReply)",
                .service = "embedding",
                .request = &cairn__embedding__v1__list_models_request__descriptor,
                .reply = &cairn__embedding__v1__list_models_reply__descriptor,
                .timeout_key = "models",
                .timeout_ms = 5000,
        },
        /* The memory service, keyed by user: one user's memories change in
         * order. user_id may come in the query on every route. */
        {
                .method = "POST",
                .path = "/v1/memories",
                .cls = &memories_write,
                .operation = "storeMemories",
                .summary = "Store a memory, or a batch of one user's memories",
                .service = "memory",
                .request = &cairn__memory__v1__store_request__descriptor,
                .reply = &cairn__memory__v1__store_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "POST",
                .path = "/v1/memories/search",
                .cls = &memories_read,
                .operation = "searchMemories",
                .summary = "Search a user's memories by meaning and by keywords",
                .service = "memory",
                .request = &cairn__memory__v1__search_request__descriptor,
                .reply = &cairn__memory__v1__search_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/memories",
                .cls = &memories_read,
                .operation = "listMemories",
                .summary = "A user's current memories, newest first, a page at a time",
                .service = "memory",
                .request = &cairn__memory__v1__list_request__descriptor,
                .reply = &cairn__memory__v1__list_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/memories/{id}",
                .cls = &memories_read,
                .operation = "getMemory",
                .summary = "A memory's current version",
                .service = "memory",
                .request = &cairn__memory__v1__get_request__descriptor,
                .reply = &cairn__memory__v1__get_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "PATCH",
                .path = "/v1/memories/{id}",
                .cls = &memories_write,
                .operation = "updateMemory",
                .summary = "Change a memory's content, metadata or expiry (a new version)",
                .service = "memory",
                .request = &cairn__memory__v1__update_request__descriptor,
                .reply = &cairn__memory__v1__update_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "DELETE",
                .path = "/v1/memories/{id}",
                .cls = &memories_write,
                .operation = "deleteMemory",
                .summary = "Forget a memory (its current version is closed)",
                .service = "memory",
                .request = &cairn__memory__v1__delete_request__descriptor,
                .reply = &cairn__memory__v1__delete_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/memories/{id}/history",
                .cls = &memories_read,
                .operation = "getMemoryHistory",
                .summary = "The changes made to a memory, oldest first",
                .service = "memory",
                .request = &cairn__memory__v1__history_request__descriptor,
                .reply = &cairn__memory__v1__history_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "POST",
                .path = "/v1/memories/{from_id}/links",
                .cls = &memories_write,
                .operation = "linkMemories",
                .summary = "Link a memory to another of the same user",
                .service = "memory",
                .request = &cairn__memory__v1__link_request__descriptor,
                .reply = &cairn__memory__v1__link_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "DELETE",
                .path = "/v1/memories/{from_id}/links/{to_id}",
                .cls = &memories_write,
                .operation = "unlinkMemories",
                .summary = "Remove the links between two memories (of one kind, or all)",
                .service = "memory",
                .request = &cairn__memory__v1__unlink_request__descriptor,
                .reply = &cairn__memory__v1__unlink_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "DELETE",
                .path = "/v1/users/{user_id}/memories",
                .cls = &memories_admin,
                .operation = "eraseUserMemories",
                .summary = "Erase everything held about a user (memories, versions, history)",
                .service = "memory",
                .request = &cairn__memory__v1__erase_user_request__descriptor,
                .reply = &cairn__memory__v1__erase_user_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
        },
        {
                .method = "GET",
                .path = "/v1/users/{user_id}/memories/export",
                .cls = &memories_admin,
                .operation = "exportUserMemories",
                .summary = "Everything held about a user, as NDJSON: every version, then the "
                           "history",
                .service = "memory",
                .request = &cairn__memory__v1__export_user_request__descriptor,
                .reply = &cairn__memory__v1__export_user_reply__descriptor,
                .timeout_key = "memories",
                .timeout_ms = 10000,
                .key_field = "user_id",
                .page_field = "items",
        },
        /* The secrets service as Vault's KV v2 API (docs/api.md): values
         * sealed on their way, the mount fixed at "secret". */
        SECRETS_ROW("GET", "/v1/secret/data/{path*}", secrets_read, "readSecret",
                    "Read a secret's version (Vault KV v2)", read_request, read_reply,
                    &gw_vault_read, NULL),
        SECRETS_ROW("POST", "/v1/secret/data/{path*}", secrets_write, "writeSecret",
                    "Write a secret's new version (Vault KV v2)", write_request, write_reply,
                    &gw_vault_write, NULL),
        SECRETS_ROW("PUT", "/v1/secret/data/{path*}", secrets_write, "putSecret",
                    "Write a secret's new version, as POST (Vault KV v2)", write_request,
                    write_reply, &gw_vault_write, NULL),
        SECRETS_ROW("PATCH", "/v1/secret/data/{path*}", secrets_write, "patchSecret",
                    "Write a new version merging a JSON merge patch into the current one "
                    "(Vault KV v2)",
                    patch_request, write_reply, &gw_vault_patch, MERGE_PATCH),
        SECRETS_ROW("DELETE", "/v1/secret/data/{path*}", secrets_write, "deleteSecretLatest",
                    "Soft-delete a secret's current version (Vault KV v2)", delete_request,
                    delete_reply, &gw_vault_delete_latest, NULL),
        SECRETS_ROW("POST", "/v1/secret/delete/{path*}", secrets_write, "deleteSecretVersions",
                    "Soft-delete versions of a secret (Vault KV v2)", delete_request, delete_reply,
                    &gw_vault_delete, NULL),
        SECRETS_ROW("POST", "/v1/secret/undelete/{path*}", secrets_write, "undeleteSecretVersions",
                    "Restore soft-deleted versions of a secret (Vault KV v2)", undelete_request,
                    undelete_reply, &gw_vault_undelete, NULL),
        SECRETS_ROW("POST", "/v1/secret/destroy/{path*}", secrets_write, "destroySecretVersions",
                    "Destroy versions of a secret for good (Vault KV v2)", destroy_request,
                    destroy_reply, &gw_vault_destroy, NULL),
        SECRETS_ROW("GET", "/v1/secret/metadata/{path*}", secrets_read, "readSecretMetadata",
                    "A secret's metadata and versions (Vault KV v2)", read_metadata_request,
                    metadata_reply, &gw_vault_metadata_read, NULL),
        SECRETS_ROW("POST", "/v1/secret/metadata/{path*}", secrets_write, "writeSecretMetadata",
                    "Set a secret's settings and custom metadata (Vault KV v2)",
                    write_metadata_request, write_metadata_reply, &gw_vault_metadata_write, NULL),
        SECRETS_ROW("PUT", "/v1/secret/metadata/{path*}", secrets_write, "putSecretMetadata",
                    "Set a secret's settings and custom metadata, as POST (Vault KV v2)",
                    write_metadata_request, write_metadata_reply, &gw_vault_metadata_write, NULL),
        SECRETS_ROW("PATCH", "/v1/secret/metadata/{path*}", secrets_write, "patchSecretMetadata",
                    "Change some of a secret's settings; a null custom_metadata value removes "
                    "its key (Vault KV v2)",
                    write_metadata_request, write_metadata_reply, &gw_vault_metadata_patch,
                    MERGE_PATCH),
        SECRETS_ROW("DELETE", "/v1/secret/metadata/{path*}", secrets_write, "deleteSecretMetadata",
                    "Remove a secret: its metadata and every version (Vault KV v2)",
                    delete_metadata_request, delete_metadata_reply, &gw_vault_metadata_delete,
                    NULL),
        SECRETS_ROW("LIST", "/v1/secret/metadata/{path*}", secrets_read, "listSecrets",
                    "The keys under a folder (Vault KV v2: LIST, or GET with list=true)",
                    list_request, list_reply, &gw_vault_list, NULL),
        SECRETS_ROW("LIST", "/v1/secret/metadata", secrets_read, "listSecretsTop",
                    "The keys at the top of the mount (Vault KV v2: LIST, or GET with "
                    "list=true)",
                    list_request, list_reply, &gw_vault_list, NULL),
        SECRETS_ROW("GET", "/v1/secret/subkeys/{path*}", secrets_read, "readSecretSubkeys",
                    "The keys of a version's data, every value null (Vault KV v2)", subkeys_request,
                    subkeys_reply, &gw_vault_subkeys, NULL),
        SECRETS_ROW("GET", "/v1/secret/config", secrets_read, "readSecretsConfig",
                    "The tenant's defaults for its secrets (Vault KV v2)", get_config_request,
                    config_reply, &gw_vault_config_read, NULL),
        SECRETS_ROW("POST", "/v1/secret/config", secrets_write, "writeSecretsConfig",
                    "Set the tenant's defaults for its secrets (Vault KV v2)", set_config_request,
                    config_reply, &gw_vault_config_write, NULL),
        /* The secrets service's own administration (the proto3 JSON mapping). */
        SECRETS_ROW("POST", "/v1/secrets/keys/rotate", secrets_admin, "rotateSecretsKey",
                    "Make a new key-encryption key current and rewrap every data key to it",
                    rotate_key_request, key_status_reply, NULL, NULL),
        SECRETS_ROW("GET", "/v1/secrets/keys", secrets_admin, "getSecretsKeyStatus",
                    "The key-encryption keys, and how far a rewrap has come", key_status_request,
                    key_status_reply, NULL, NULL),
        SECRETS_ROW("GET", "/v1/secrets/policies", secrets_admin, "listSecretsPolicies",
                    "The tenant's secrets policies, the defaults first", list_policies_request,
                    list_policies_reply, NULL, NULL),
        SECRETS_ROW("GET", "/v1/secrets/policies/{name}", secrets_admin, "getSecretsPolicy",
                    "One secrets policy", get_policy_request, policy_reply, NULL, NULL),
        {
                .method = "PUT",
                .path = "/v1/secrets/policies/{policy.name}",
                .cls = &secrets_admin,
                .operation = "putSecretsPolicy",
                .summary = "Create or replace a secrets policy: the body is the policy, its "
                           "name the path's",
                .service = "secrets",
                .request = SECRETS(put_policy_request),
                .reply = SECRETS(policy_reply),
                .timeout_key = "secrets",
                .timeout_ms = 10000,
                .body_field = "policy",
        },
        SECRETS_ROW("DELETE", "/v1/secrets/policies/{name}", secrets_admin, "deleteSecretsPolicy",
                    "Remove a secrets policy", delete_policy_request, delete_policy_reply, NULL,
                    NULL),
        SECRETS_ROW("POST", "/v1/secrets/audit/verify", secrets_admin, "verifySecretsAudit",
                    "Walk the audit chain from its first row and say where it breaks",
                    verify_audit_request, verify_audit_reply, NULL, NULL),
        /* The translation service as LibreTranslate's API (docs/api.md), its
         * api_key read from the body or the query as well as the headers. */
        TRANSLATION_ROW("POST", "/translate", translations_create, "ltTranslate",
                        "Translate a text or a batch (LibreTranslate)", translate_request,
                        translate_reply, "translations", 10000, &gw_lt_translate),
        TRANSLATION_ROW("POST", "/detect", translations_create, "ltDetect",
                        "Detect a text's language (LibreTranslate)", detect_request, detect_reply,
                        "translations", 10000, &gw_lt_detect),
        TRANSLATION_ROW("GET", "/languages", languages_read, "ltLanguages",
                        "The languages and what each translates into (LibreTranslate)",
                        list_languages_request, list_languages_reply, "languages", 5000,
                        &gw_lt_languages),
        TRANSLATION_ROW("POST", "/languages", languages_read, "ltLanguagesPost",
                        "The languages, as GET (LibreTranslate before 1.4)", list_languages_request,
                        list_languages_reply, "languages", 5000, &gw_lt_languages),
        /* The translation service in its own shapes (the proto3 JSON mapping). */
        TRANSLATION_ROW("POST", "/v1/translations", translations_create, "translate",
                        "Translate texts (cairn.translation.v1.TranslateRequest)",
                        translate_request, translate_reply, "translations", 10000, NULL),
        TRANSLATION_ROW("POST", "/v1/translations:detect", translations_create, "detectLanguage",
                        "Detect the language of texts (cairn.translation.v1.DetectRequest)",
                        detect_request, detect_reply, "translations", 10000, NULL),
        TRANSLATION_ROW("GET", "/v1/languages", languages_read, "listLanguages",
                        "The languages the service translates, with their targets and routes "
                        "(cairn.translation.v1.ListLanguagesReply)",
                        list_languages_request, list_languages_reply, "languages", 5000, NULL),
        /* The workflow service (docs/api.md#workflows). A workflow id may
         * hold '/': sent as %2F, it stays one segment. */
        {
                .method = "POST",
                .path = "/v1/workflows",
                .cls = &workflows_admin,
                .operation = "registerWorkflow",
                .summary = "Register a workflow definition: version 1 of a new type, or the "
                           "next version (the body is the definition)",
                .service = "workflow",
                .request = WORKFLOW(register_definition_request),
                .reply = WORKFLOW(register_definition_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
                .body_field = "definition",
        },
        {
                .method = "GET",
                .path = "/v1/workflows",
                .cls = &workflows_read,
                .operation = "listWorkflows",
                .summary =
                        "The latest version of every workflow type, by type name, a page at a time",
                .service = "workflow",
                .request = WORKFLOW(list_definitions_request),
                .reply = WORKFLOW(list_definitions_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
        },
        {
                .method = "GET",
                .path = "/v1/workflows/{type}",
                .cls = &workflows_read,
                .operation = "getWorkflow",
                .summary = "A workflow type's definition: the latest version, or ?version=",
                .service = "workflow",
                .request = WORKFLOW(get_definition_request),
                .reply = WORKFLOW(get_definition_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
        },
        {
                .method = "POST",
                .path = "/v1/workflows/{type}/runs",
                .cls = &workflows_run,
                .operation = "startWorkflowRun",
                .summary = "Start a run of a workflow type, under the caller's workflow id or "
                           "a new one",
                .service = "workflow",
                .request = WORKFLOW(start_run_request),
                .reply = WORKFLOW(start_run_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
        },
        {
                .method = "GET",
                .path = "/v1/workflows/{type}/runs",
                .cls = &workflows_read,
                .operation = "listWorkflowRuns",
                .summary = "The tenant's runs of a workflow type (\"-\": of every type), newest "
                           "first, a page at a time",
                .service = "workflow",
                .request = WORKFLOW(list_runs_request),
                .reply = WORKFLOW(list_runs_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
        },
        {
                .method = "GET",
                .path = "/v1/workflows/{type}/runs/{workflow_id}",
                .cls = &workflows_read,
                .operation = "getWorkflowRun",
                .summary = "A run and its steps: the latest run of the workflow id, or ?run_id=",
                .service = "workflow",
                .request = WORKFLOW(get_run_request),
                .reply = WORKFLOW(get_run_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
                .slash_capture = "workflow_id",
        },
        {
                .method = "GET",
                .path = "/v1/workflows/{type}/runs/{workflow_id}/history",
                .cls = &workflows_read,
                .operation = "getWorkflowRunHistory",
                .summary = "A run's history as NDJSON, one event per line, oldest first",
                .service = "workflow",
                .request = WORKFLOW(get_history_request),
                .reply = WORKFLOW(get_history_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
                .page_field = "events",
                .slash_capture = "workflow_id",
        },
        {
                .method = "POST",
                .path = "/v1/workflows/{type}/runs/{workflow_id}/signals/{name}",
                .cls = &workflows_run,
                .operation = "signalWorkflowRun",
                .summary = "Send a run a signal: the body is its payload, any JSON value",
                .service = "workflow",
                .request = WORKFLOW(signal_run_request),
                .reply = WORKFLOW(signal_run_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
                .body_field = "payload",
                .slash_capture = "workflow_id",
        },
        {
                .method = "POST",
                .path = "/v1/workflows/{type}/runs/{workflow_id}/cancel",
                .cls = &workflows_run,
                .operation = "cancelWorkflowRun",
                .summary = "Ask a run to stop: steps in flight finish, then compensations run",
                .service = "workflow",
                .request = WORKFLOW(cancel_run_request),
                .reply = WORKFLOW(cancel_run_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
                .slash_capture = "workflow_id",
        },
        {
                .method = "POST",
                .path = "/v1/workflows/{type}/runs/{workflow_id}/terminate",
                .cls = &workflows_admin,
                .operation = "terminateWorkflowRun",
                .summary = "Stop a run at once, without compensations",
                .service = "workflow",
                .request = WORKFLOW(terminate_run_request),
                .reply = WORKFLOW(terminate_run_reply),
                .timeout_key = "workflows",
                .timeout_ms = 10000,
                .slash_capture = "workflow_id",
        },
        {
                .method = "GET",
                .path = "/v1/version",
                .cls = &public_class,
                .operation = "getVersion",
                .summary = "The gateway's version",
                .local = gw_serve_version,
                .local_schema = "{\"$ref\":\"#/components/schemas/Version\"}",
        },
        {
                .method = "GET",
                .path = "/openapi.json",
                .cls = &public_class,
                .operation = "getOpenAPI",
                .summary = "This document",
                .local = gw_serve_openapi,
                .local_schema = "{\"type\":\"object\"}",
        },
        { .method = NULL },
};
