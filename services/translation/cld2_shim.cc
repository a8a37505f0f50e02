// The C face of CLD2 (cld2_shim.h): one call to ExtDetectLanguageSummary,
// the variant that checks the UTF-8 first and takes hints.
#include <climits>
#include <cstdio> // compact_lang_det.h uses FILE without including it
#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>

#include "cld2_shim.h"

extern "C" int tr_cld2_language(const char *code)
{
        CLD2::Language lang = CLD2::GetLanguageFromName(code);

        return lang == CLD2::UNKNOWN_LANGUAGE ? -1 : static_cast<int>(lang);
}

extern "C" int tr_cld2_detect(const char *text, size_t len, const char *hints, bool best_effort,
                              struct tr_cld2_result *r)
{
        CLD2::CLDHints cld_hints = { hints, nullptr, CLD2::UNKNOWN_ENCODING,
                                     CLD2::UNKNOWN_LANGUAGE };
        CLD2::Language lang[3];
        int percent[3], text_bytes = 0, valid_prefix = 0, n = 0;
        double score[3];
        bool reliable = false;

        *r = {};
        if (len == 0 || len > INT_MAX)
                return 0;
        try {
                CLD2::ExtDetectLanguageSummaryCheckUTF8(text, static_cast<int>(len), true,
                                                        &cld_hints,
                                                        best_effort ? CLD2::kCLDFlagBestEffort : 0,
                                                        lang, percent, score, nullptr, &text_bytes,
                                                        &reliable, &valid_prefix);
        } catch (...) {
                return 0;
        }
        if (valid_prefix < static_cast<int>(len))
                return 0;
        for (int i = 0; i < 3; i++) {
                if (lang[i] == CLD2::UNKNOWN_LANGUAGE || lang[i] == CLD2::TG_UNKNOWN_LANGUAGE ||
                    percent[i] <= 0)
                        continue;
                r->lang[n] = static_cast<int>(lang[i]);
                r->percent[n] = percent[i];
                r->score[n] = score[i];
                n++;
        }
        r->text_bytes = text_bytes;
        return n;
}
