/* The secrets service's handler table: one row per request type. */
#include "handlers.h"

#define ROW(type, fn)                                         \
        {                                                     \
                &cairn__secrets__v1__##type##__descriptor, fn \
        }

const struct cairn_handler secrets_handlers[] = {
        ROW(write_request, secrets_write_handle),
        ROW(patch_request, secrets_patch_handle),
        ROW(read_request, secrets_read_handle),
        ROW(subkeys_request, secrets_subkeys_handle),
        ROW(delete_request, secrets_delete_handle),
        ROW(undelete_request, secrets_undelete_handle),
        ROW(destroy_request, secrets_destroy_handle),
        ROW(read_metadata_request, secrets_read_metadata_handle),
        ROW(write_metadata_request, secrets_write_metadata_handle),
        ROW(delete_metadata_request, secrets_delete_metadata_handle),
        ROW(list_request, secrets_list_handle),
        ROW(get_config_request, secrets_get_config_handle),
        ROW(set_config_request, secrets_set_config_handle),
        ROW(get_service_key_request, secrets_service_key_handle),
        ROW(rotate_key_request, secrets_rotate_handle),
        ROW(key_status_request, secrets_key_status_handle),
        ROW(put_policy_request, secrets_put_policy_handle),
        ROW(get_policy_request, secrets_get_policy_handle),
        ROW(list_policies_request, secrets_list_policies_handle),
        ROW(delete_policy_request, secrets_delete_policy_handle),
        ROW(verify_audit_request, secrets_verify_audit_handle),
        { NULL, NULL },
};
