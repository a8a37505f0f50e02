/* Telling what a file holds from its first bytes, so that audio goes to the
 * right decoder and anything else is refused with a message naming what it
 * is ("a PNG image"), never trusting the file's name. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "speech/audio_impl.h"

static bool starts(const unsigned char *p, size_t len, const void *sig, size_t n)
{
        return len >= n && memcmp(p, sig, n) == 0;
}

static bool at(const unsigned char *p, size_t len, size_t off, const void *sig, size_t n)
{
        return len >= off + n && memcmp(p + off, sig, n) == 0;
}

/* An MPEG audio frame header: sync, a valid version, layer, bitrate and rate. */
static bool mpeg_frame(const unsigned char *p, size_t len)
{
        if (len < 4 || p[0] != 0xff || (p[1] & 0xe0) != 0xe0)
                return false;
        if (((p[1] >> 3) & 3) == 1 || ((p[1] >> 1) & 3) == 0)
                return false; /* reserved version, reserved layer */
        if ((p[2] >> 4) == 15 || ((p[2] >> 2) & 3) == 3)
                return false; /* bad bitrate, reserved rate */
        return true;
}

/* ADTS (raw AAC): sync 0xFFF, layer 0. */
static bool adts_frame(const unsigned char *p, size_t len)
{
        return len >= 7 && p[0] == 0xff && (p[1] & 0xf6) == 0xf0;
}

/* Printable text in the first bytes (UTF-8 counts as printable); @p len > 0. */
static bool texty(const unsigned char *p, size_t len)
{
        size_t bad = 0;

        for (size_t i = 0; i < len && i < 512; i++)
                if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t' && p[i] != '\f')
                        bad++;
        return bad == 0;
}

static void set(struct audio_sniff *s, const char *kind, const char *what, bool audio, bool sndfile)
{
        s->kind = kind;
        s->what = what;
        s->audio = audio;
        s->sndfile = sndfile;
}

/* Ogg goes to FFmpeg, not libsndfile: libsndfile 1.2.0 leaks libvorbis's
 * state on a malformed Vorbis header (found by the fuzzer). */
static void sniff_ogg(const unsigned char *p, size_t len, struct audio_sniff *s)
{
        /* the first page's packet starts after 27 bytes and the segment table */
        size_t off = len > 26 ? 27 + (size_t)p[26] : len;

        if (at(p, len, off, "\x01vorbis", 7))
                set(s, "ogg", "Ogg Vorbis audio", true, false);
        else if (at(p, len, off, "OpusHead", 8))
                set(s, "ogg", "Ogg Opus audio", true, false);
        else if (at(p, len, off, "\177FLAC", 5))
                set(s, "ogg", "Ogg FLAC audio", true, false);
        else if (at(p, len, off, "Speex   ", 8))
                set(s, "ogg", "Ogg Speex audio", true, false);
        else if (at(p, len, off, "\x80theora", 7))
                set(s, "ogg", "an Ogg Theora video", true, false);
        else
                set(s, "ogg", "an Ogg file", true, false);
}

static void sniff_text(const unsigned char *p, size_t len, struct audio_sniff *s)
{
        size_t i = 0;

        if (starts(p, len, "\xef\xbb\xbf", 3))
                i = 3;
        while (i < len && isspace(p[i]))
                i++;
        if (i < len && (p[i] == '{' || p[i] == '['))
                set(s, "json", "JSON text", false, false);
        else if (i + 5 <= len && (strncasecmp((const char *)p + i, "<!doc", 5) == 0 ||
                                  strncasecmp((const char *)p + i, "<html", 5) == 0))
                set(s, "html", "an HTML page", false, false);
        else if (i + 5 <= len && strncmp((const char *)p + i, "<?xml", 5) == 0)
                set(s, "xml", "an XML document", false, false);
        else
                set(s, "text", "text", false, false);
}

void audio_sniff(const void *bytes, size_t len, struct audio_sniff *s)
{
        const unsigned char *p = bytes;

        set(s, "", "an unknown format", true, false);
        if (len == 0)
                return;
        if (starts(p, len, "RIFF", 4) && at(p, len, 8, "WAVE", 4))
                set(s, "wav", "WAV audio", true, true);
        else if (starts(p, len, "RIFF", 4) && at(p, len, 8, "AVI ", 4))
                set(s, "avi", "an AVI video", true, false);
        else if (starts(p, len, "RIFF", 4) && at(p, len, 8, "WEBP", 4))
                set(s, "webp", "a WebP image", false, false);
        else if (starts(p, len, "RF64", 4) || starts(p, len, "riff", 4))
                set(s, "wav", "WAV audio", true, true);
        else if (starts(p, len, "FORM", 4) &&
                 (at(p, len, 8, "AIFF", 4) || at(p, len, 8, "AIFC", 4)))
                set(s, "aiff", "AIFF audio", true, true);
        else if (starts(p, len, "caff", 4))
                set(s, "caf", "CAF audio", true, true);
        else if (starts(p, len, ".snd", 4))
                set(s, "au", "Sun audio", true, true);
        else if (starts(p, len, "fLaC", 4))
                set(s, "flac", "FLAC audio", true, true);
        else if (starts(p, len, "OggS", 4))
                sniff_ogg(p, len, s);
        else if (starts(p, len, "ID3", 3) || mpeg_frame(p, len))
                /* FFmpeg, not libsndfile: its mpg123 writes warnings about
                 * truncated files to stderr, with no way to quiet it */
                set(s, "mp3", "MP3 audio", true, false);
        else if (adts_frame(p, len))
                set(s, "aac", "AAC audio", true, false);
        else if (at(p, len, 4, "ftyp", 4))
                set(s, "mp4", "MP4 audio", true, false);
        else if (starts(p, len, "\x1a\x45\xdf\xa3", 4))
                set(s, "webm", "WebM/Matroska audio", true, false);
        else if (starts(p, len, "\x00\x00\x01\xba", 4))
                set(s, "mpeg", "an MPEG program stream", true, false);
        else if (len >= 189 && p[0] == 0x47 && p[188] == 0x47)
                set(s, "mpegts", "an MPEG transport stream", true, false);
        else if (starts(p, len, "#!AMR", 5))
                set(s, "amr", "AMR audio", true, false);
        else if (starts(p, len, "\x30\x26\xb2\x75\x8e\x66\xcf\x11", 8))
                set(s, "asf", "WMA/ASF audio", true, false);
        else if (starts(p, len, "\x89PNG", 4))
                set(s, "png", "a PNG image", false, false);
        else if (starts(p, len, "\xff\xd8\xff", 3))
                set(s, "jpeg", "a JPEG image", false, false);
        else if (starts(p, len, "GIF8", 4))
                set(s, "gif", "a GIF image", false, false);
        else if (starts(p, len, "BM", 2) && len >= 14 && at(p, len, 6, "\0\0\0\0", 4))
                set(s, "bmp", "a BMP image", false, false);
        else if (starts(p, len, "II*\0", 4) || starts(p, len, "MM\0*", 4))
                set(s, "tiff", "a TIFF image", false, false);
        else if (starts(p, len, "%PDF", 4))
                set(s, "pdf", "a PDF document", false, false);
        else if (starts(p, len, "PK\x03\x04", 4) || starts(p, len, "PK\x05\x06", 4))
                set(s, "zip", "a ZIP archive", false, false);
        else if (starts(p, len, "\x1f\x8b", 2))
                set(s, "gzip", "a gzip archive", false, false);
        else if (starts(p, len,
                        "\x7f"
                        "ELF",
                        4))
                set(s, "elf", "a program (ELF)", false, false);
        else if (texty(p, len))
                sniff_text(p, len, s);
}

/* clang-format off */
static const struct { const char *ext, *kind; } extensions[] = {
        { "wav", "wav" }, { "wave", "wav" }, { "flac", "flac" }, { "ogg", "ogg" },
        { "oga", "ogg" }, { "opus", "ogg" }, { "mp3", "mp3" }, { "mp4", "mp4" },
        { "m4a", "mp4" }, { "webm", "webm" }, { "mkv", "webm" }, { "mka", "webm" },
        { "mpeg", "mpeg" }, { "mpg", "mpeg" }, { "mpga", "mp3" }, { "aac", "aac" },
};
/* clang-format on */

const char *audio_sniff_extension_kind(const char *filename)
{
        const char *dot = filename ? strrchr(filename, '.') : NULL;

        if (!dot)
                return NULL;
        for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++)
                if (strcasecmp(dot + 1, extensions[i].ext) == 0)
                        return extensions[i].kind;
        return NULL;
}
