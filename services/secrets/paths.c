/* Secret paths (paths.h). */
#include "paths.h"

#include <stdio.h>
#include <string.h>

#include "cairn/utf8.h"

bool secrets_path_check(const char *path, size_t max, char *why, size_t why_size)
{
        size_t len = strlen(path);
        const char *seg = path;

        if (len == 0) {
                snprintf(why, why_size, "path is empty");
                return false;
        }
        if (len > max) {
                snprintf(why, why_size, "path is %zu bytes, over the limit of %zu", len, max);
                return false;
        }
        if (!cairn_utf8_valid(path, len)) {
                snprintf(why, why_size, "path is not valid UTF-8");
                return false;
        }
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
                        snprintf(why, why_size, "path has a control character at byte %zu", i);
                        return false;
                }
        for (;;) {
                const char *slash = strchr(seg, '/');
                size_t n = slash ? (size_t)(slash - seg) : strlen(seg);

                if (n == 0) {
                        snprintf(why, why_size, "path has an empty segment%s",
                                 seg == path ? " (it starts with '/')"
                                 : !slash    ? " (it ends with '/')"
                                             : " ('//')");
                        return false;
                }
                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
                        snprintf(why, why_size, "path has a '%.*s' segment", (int)n, seg);
                        return false;
                }
                if (!slash)
                        return true;
                seg = slash + 1;
        }
}

bool secrets_folder(const char *folder, size_t max, char *out, char *why, size_t why_size)
{
        size_t len = strlen(folder);

        if (len == 0) {
                out[0] = '\0';
                return true;
        }
        if (len > max + 1) {
                snprintf(why, why_size, "path is %zu bytes, over the limit of %zu", len, max);
                return false;
        }
        memcpy(out, folder, len);
        out[len] = '\0';
        if (out[len - 1] == '/')
                out[--len] = '\0';
        if (!secrets_path_check(out, max, why, why_size))
                return false;
        out[len] = '/';
        out[len + 1] = '\0';
        return true;
}
