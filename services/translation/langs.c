/* ISO 639-3 to ISO 639-1 for the languages Debian's Apertium pairs use, with
 * their English names (as LibreTranslate's /languages gives them). */
#include <string.h>

#include "langs.h"

struct lang {
        const char *iso3, *iso1, *name;
};

/* Sorted by iso1 for people; looked up linearly (a few dozen rows). */
static const struct lang langs[] = {
        { "afr", "af", "Afrikaans" },
        { "arg", "an", "Aragonese" },
        { "ast", "ast", "Asturian" },
        { "bel", "be", "Belarusian" },
        { "bul", "bg", "Bulgarian" },
        { "bre", "br", "Breton" },
        { "cat", "ca", "Catalan" },
        { "dan", "da", "Danish" },
        { "deu", "de", "German" },
        { "eng", "en", "English" },
        { "epo", "eo", "Esperanto" },
        { "spa", "es", "Spanish" },
        { "eus", "eu", "Basque" },
        { "fra", "fr", "French" },
        { "frp", "frp", "Arpitan" },
        { "glg", "gl", "Galician" },
        { "hbs", "sh", "Serbo-Croatian" },
        { "hin", "hi", "Hindi" },
        { "ind", "id", "Indonesian" },
        { "isl", "is", "Icelandic" },
        { "ita", "it", "Italian" },
        { "mkd", "mk", "Macedonian" },
        { "zlm", "ms", "Malay" },
        { "nld", "nl", "Dutch" },
        { "nno", "nn", "Norwegian Nynorsk" },
        { "nob", "nb", "Norwegian Bokmål" },
        { "nor", "no", "Norwegian" },
        { "oci", "oc", "Occitan" },
        { "pol", "pl", "Polish" },
        { "por", "pt", "Portuguese" },
        { "ron", "ro", "Romanian" },
        { "rus", "ru", "Russian" },
        { "srd", "sc", "Sardinian" },
        { "slv", "sl", "Slovenian" },
        { "swe", "sv", "Swedish" },
        { "szl", "szl", "Silesian" },
        { "ukr", "uk", "Ukrainian" },
        { "urd", "ur", "Urdu" },
};

#define NLANGS (sizeof(langs) / sizeof(langs[0]))

bool tr_lang_valid(const char *code)
{
        size_t n = strlen(code);

        if (n < 2 || n > 3)
                return false;
        for (size_t i = 0; i < n; i++)
                if (code[i] < 'a' || code[i] > 'z')
                        return false;
        return true;
}

bool tr_lang_normalise(const char *code, size_t len, char out[TR_LANG_MAX])
{
        char c[4];

        if (len < 2 || len > 3)
                return false;
        memcpy(c, code, len);
        c[len] = '\0';
        if (!tr_lang_valid(c))
                return false;
        for (size_t i = 0; i < NLANGS; i++) {
                if (strcmp(langs[i].iso3, c) == 0) {
                        strcpy(out, langs[i].iso1);
                        return true;
                }
        }
        strcpy(out, c);
        return true;
}

const char *tr_lang_name(const char *code)
{
        for (size_t i = 0; i < NLANGS; i++)
                if (strcmp(langs[i].iso1, code) == 0)
                        return langs[i].name;
        return code;
}
