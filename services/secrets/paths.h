/* Secret paths: what a path may be, and a folder to list. */
#ifndef SECRETS_PATHS_H
#define SECRETS_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* A secret's path: 1..@p max bytes of UTF-8 segments separated by '/',
 * none empty (no leading, trailing or doubled '/'), none "." or "..", no
 * control character. False with the reason in @p why ("path has an empty
 * segment", ...). */
bool secrets_path_check(const char *path, size_t max, char *why, size_t why_size);

/* A folder to list as a prefix ending in '/' ("" for the root) into @p out
 * (max + 2 bytes): "app" and "app/" both give "app/". False with the
 * reason in @p why when what is before the '/' is not a valid path. */
bool secrets_folder(const char *folder, size_t max, char *out, char *why, size_t why_size);

#endif
