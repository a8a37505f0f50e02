/* Small files read whole: configuration and keys files, public keys, and
 * secrets. Secrets are read by one function with one permission policy, so
 * every service refuses the same files with the same message. */
#ifndef CAIRN_FILE_H
#define CAIRN_FILE_H

#include <stddef.h>

/* Reads the file @p path into a malloc'ed buffer (the caller frees it) with a
 * NUL after its last byte; its length goes to *@p lenp. A file larger than
 * @p max bytes is refused. Returns NULL with a message naming the file in
 * @p errstr ("cannot open /etc/cairn/x.yaml: No such file or directory",
 * "/etc/cairn/x.yaml: larger than 1048576 bytes"). */
char *cairn_file_read(const char *path, size_t max, size_t *lenp, char *errstr, size_t errstr_size);

/* Reads the secret held in the file @p path (an HS256 key, a provider's API
 * key) into @p out, @p size bytes, without the line endings at its end and
 * with a NUL after it. The policy: the file must be a regular file (a
 * symbolic link is followed) that neither its group nor others may read,
 * write or execute, i.e. mode 0600 or 0400 — except that a file owned by
 * root may be read by its group (0640, 0440: a Kubernetes Secret mounted for
 * the pod's fsGroup); otherwise it is refused with a
 * message that names the mode found and the one wanted. A file of @p size
 * bytes or more is refused too. Returns the secret's length, or -1 with a
 * message naming the file in @p errstr; the message never holds the secret,
 * and on error @p out is wiped. */
long cairn_secret_file_read(const char *path, char *out, size_t size, char *errstr,
                            size_t errstr_size);

/* Reads a token (a provider's API key) from @p path, the value of
 * configuration key @p key, with cairn_secret_file_read()'s policy. Blanks
 * at its end are dropped; what is left must be one non-empty line of
 * printable ASCII without spaces. Returns a malloc'ed copy (the caller
 * wipes and frees it), or NULL with "config: <key>: ..." in @p errstr (the
 * file refused, empty, or holding what a token cannot), never the value. */
char *cairn_secret_file_token(const char *key, const char *path, char *errstr, size_t errstr_size);

#endif
