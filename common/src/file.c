/* Reading small files whole, and the one policy for files that hold secrets. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/file.h"

#define READ_CHUNK 4096

char *cairn_file_read(const char *path, size_t max, size_t *lenp, char *errstr, size_t errstr_size)
{
        FILE *fp = fopen(path, "rb");
        size_t len = 0, cap = max < READ_CHUNK ? max + 1 : READ_CHUNK;
        char *buf;

        if (!fp) {
                snprintf(errstr, errstr_size, "cannot open %s: %s", path, strerror(errno));
                return NULL;
        }
        buf = malloc(cap + 1);
        if (!buf)
                abort();
        /* The buffer grows up to max + 1 bytes: one more than allowed tells a
         * file that is too large from one that is exactly max. */
        for (;;) {
                len += fread(buf + len, 1, cap - len, fp);
                if (ferror(fp)) {
                        snprintf(errstr, errstr_size, "cannot read %s: %s", path, strerror(errno));
                        goto fail;
                }
                if (len > max) {
                        snprintf(errstr, errstr_size, "%s: larger than %zu bytes", path, max);
                        goto fail;
                }
                if (len < cap)
                        break;
                cap = cap > max / 2 ? max + 1 : cap * 2;
                buf = realloc(buf, cap + 1);
                if (!buf)
                        abort();
        }
        fclose(fp);
        buf[len] = '\0';
        *lenp = len;
        return buf;
fail:
        fclose(fp);
        free(buf);
        return NULL;
}

long cairn_secret_file_read(const char *path, char *out, size_t size, char *errstr,
                            size_t errstr_size)
{
        struct stat sb;
        size_t len = 0;
        int fd;

        if (size == 0) {
                snprintf(errstr, errstr_size, "%s: no room for a secret", path);
                return -1;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(errstr, errstr_size, "cannot open %s: %s", path, strerror(errno));
                return -1;
        }
        if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
                snprintf(errstr, errstr_size, "%s is not a regular file", path);
                goto fail;
        }
        /* Owner only; a file root owns may also be read by its group: how
         * Kubernetes mounts a Secret for a pod's fsGroup (0440). */
        mode_t open_bits = sb.st_uid == 0 ? (S_IWGRP | S_IXGRP | S_IRWXO) : (S_IRWXG | S_IRWXO);
        if (sb.st_mode & open_bits) {
                snprintf(errstr, errstr_size,
                         "%s has mode %04o, open to its group or others; a secret file must be "
                         "mode 0600 or 0400 (chmod 600 %s)",
                         path, (unsigned)(sb.st_mode & 07777), path);
                goto fail;
        }
        for (;;) {
                ssize_t n = read(fd, out + len, size - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        snprintf(errstr, errstr_size, "cannot read %s: %s", path, strerror(errno));
                        goto fail;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len == size) {
                        snprintf(errstr, errstr_size, "%s: larger than %zu bytes", path, size - 1);
                        goto fail;
                }
        }
        close(fd);
        while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
                len--;
        out[len] = '\0';
        return (long)len;
fail:
        close(fd);
        explicit_bzero(out, size);
        return -1;
}

char *cairn_secret_file_token(const char *key, const char *path, char *errstr, size_t errstr_size)
{
        char buf[4096], why[512];
        long n = cairn_secret_file_read(path, buf, sizeof(buf), why, sizeof(why));
        size_t len;
        char *out;

        if (n < 0) {
                snprintf(errstr, errstr_size, "config: %s: %s", key, why);
                return NULL;
        }
        /* A token is one word: blanks at its end go too, any other is refused. */
        len = (size_t)n;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                           buf[len - 1] == '\t'))
                len--;
        for (size_t i = 0; i < len; i++) {
                if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e) {
                        explicit_bzero(buf, sizeof(buf));
                        snprintf(errstr, errstr_size,
                                 "config: %s: %s holds more than one line or "
                                 "characters a key cannot have",
                                 key, path);
                        return NULL;
                }
        }
        if (len == 0) {
                snprintf(errstr, errstr_size, "config: %s: %s is empty", key, path);
                return NULL;
        }
        out = strndup(buf, len);
        explicit_bzero(buf, sizeof(buf));
        if (!out)
                snprintf(errstr, errstr_size, "config: %s: out of memory", key);
        return out;
}
